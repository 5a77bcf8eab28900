/** Public, unauthenticated routes: health, the CA certificates and the CRL. */
import type { FastifyPluginAsync } from 'fastify';
import { X509Certificate } from 'node:crypto';
import type { IssuerService } from '../service/issuer-service.js';
import { jsonErrorHandler } from './errors.js';

// eslint-disable-next-line @typescript-eslint/require-await -- async so a throw while registering is a rejection, as Fastify expects of a FastifyPluginAsync
export const publicRoutes: FastifyPluginAsync<{ readonly service: IssuerService }> = async (app, { service }) => {
  app.setErrorHandler(jsonErrorHandler);
  const health = { type: 'object', properties: { status: { type: 'string' }, database: { type: 'string' } } } as const;
  app.get('/healthz', { logLevel: 'warn', schema: { response: { 200: health, 503: health } } }, async (_req, reply) => {
    try {
      await service.db.schemaVersions();
      return { status: 'ok', database: service.db.dialect };
    } catch {
      return reply.code(503).send({ status: 'unavailable', database: service.db.dialect });
    }
  });
  app.get('/ca.pem', async (_req, reply) =>
    reply
      .type('application/x-pem-file')
      .send(new X509Certificate(service.ca.issuing.certificate).toString() + new X509Certificate(service.ca.root.certificate).toString()),
  );
  app.get('/crl', async (_req, reply) =>
    reply
      .type('application/pkix-crl')
      .header('cache-control', 'no-cache')
      .send((await service.crl()).der),
  );
};
