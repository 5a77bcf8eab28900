/**
 * The KeyGen2 HTTP binding (spec §2.2, §2.3, §11.2) as a fastify plugin:
 * GET `/keygen2/init` answers the InvocationRequest, POST `/keygen2` (the
 * transaction URL and issuerUri) each next request or the final 302; every
 * refusal is a 302 to `/keygen2/error?reason=…`, whose page says why.
 * Bodies are decoded strictly as UTF-8 for the strict KeyGen2 reader; the
 * exact `Content-Type: application/json` is required on POSTs.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { decodeUtf8 } from '../../keygen2/json/parse.js';
import type { StoredResponse } from '../db/port.js';
import type { IssuerService } from '../service/issuer-service.js';
import { isRefusalReason, REFUSAL_TEXT } from '../service/reasons.js';
import { httpError } from './errors.js';
import { page } from './pages.js';

const NO_CACHE = { 'cache-control': 'no-store', pragma: 'No-Cache', expires: '0' } as const;

function send(reply: FastifyReply, answer: StoredResponse): FastifyReply {
  void reply.headers(NO_CACHE);
  if (answer.kind === 'redirect') return reply.code(302).header('location', answer.location).send();
  return reply.code(200).type(answer.contentType).send(answer.body);
}

export interface Keygen2RoutesOptions {
  readonly service: IssuerService;
  readonly bodyLimit: number;
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so a throw while registering is a rejection, as Fastify expects of a FastifyPluginAsync
export const keygen2Routes: FastifyPluginAsync<Keygen2RoutesOptions> = async (app, { service, bodyLimit }) => {
  const errorUrl = (reason: string): string => `${service.publicUrl}/keygen2/error?reason=${reason}`;
  // Raw bytes in this scope only: the KeyGen2 reader is strict (duplicates, lone surrogates) and must see
  // exactly what was sent; fastify's `parseAs: 'string'` would turn invalid UTF-8 into U+FFFD silently.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => {
    let text: string;
    try {
      text = decodeUtf8(body as Buffer);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    done(null, text);
  });
  app.setErrorHandler((error, req, reply) => {
    // Oversize or undecodable bodies (4xx) and anything unexpected: the client aborts on the 302 (spec §2.2 step 5).
    req.log.warn({ code: (error as { code?: string }).code ?? 'ERROR' }, 'keygen2 request refused');
    void send(reply, { kind: 'redirect', location: errorUrl(httpError(error).status < 500 ? 'bad-request' : 'internal-error') });
  });

  app.get('/init', async (req, reply) => {
    const result = await service.init(req.headers.cookie);
    req.log.info({ session: result.sessionId, reason: result.reason }, result.reason === undefined ? 'keygen2 init' : 'keygen2 init refused');
    return send(reply, result.answer);
  });

  app.post('/', { bodyLimit }, async (req, reply) => {
    if (req.headers['content-type'] !== 'application/json' || typeof req.body !== 'string') {
      req.log.info('keygen2 post refused: content type');
      return send(reply, { kind: 'redirect', location: errorUrl('bad-request') });
    }
    const result = await service.post(req.headers.cookie, req.body);
    req.log.info(
      { session: result.sessionId, reason: result.reason, replayed: result.replayed },
      result.reason === undefined ? 'keygen2 step' : 'keygen2 step refused',
    );
    return send(reply, result.answer);
  });

  app.get<{ Querystring: { reason?: string } }>('/error', async (req, reply) => {
    const reason = req.query.reason !== undefined && isRefusalReason(req.query.reason) ? req.query.reason : 'internal-error';
    return reply
      .code(200)
      .headers(NO_CACHE)
      .type('text/html; charset=utf-8')
      .send(page('Enrollment failed', REFUSAL_TEXT[reason], reason));
  });
  app.get('/done', async (_req, reply) =>
    reply.code(200).headers(NO_CACHE).type('text/html; charset=utf-8').send(page('Enrollment complete', 'Your keys are installed. You may close this page.')),
  );
  app.get('/cancelled', async (_req, reply) =>
    reply
      .code(200)
      .headers(NO_CACHE)
      .type('text/html; charset=utf-8')
      .send(page('Enrollment cancelled', 'You cancelled the enrollment. Nothing was installed.')),
  );
};
