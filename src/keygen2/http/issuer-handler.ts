/**
 * The issuer's side of the HTTP binding (spec §2.2, §2.3) as a plain node:http
 * request handler around a step function, so it does not depend on any issuer
 * state machine: GET (the `init` URL) calls the step with no body and answers
 * the InvocationRequest; POST (the transaction URL) passes the response text
 * and answers the next request, or the 302 that ends the session.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { decodeUtf8 } from '../json/parse.js';

/** What the issuer does next: send a KeyGen2 request, or redirect the browser (end of session or error page). */
export type IssuerStepResult = { readonly message: string } | { readonly redirect: string };

/**
 * One issuer step. `cookie` is the request's `Cookie` header verbatim (the
 * session binding of spec §2.3); `body` is null for the `init` GET and the
 * client's JSON text for a POST. A throw is answered with `errorUrl`'s 302.
 */
export type IssuerStep = (cookie: string | undefined, body: string | null) => Promise<IssuerStepResult> | IssuerStepResult;

export interface IssuerHandlerOptions {
  readonly step: IssuerStep;
  /** Where a failed step or a malformed POST is redirected (spec §2.2 step 5). Default `/keygen2-error`. */
  readonly errorUrl?: string;
  /** Largest accepted POST body. Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

function send(res: http.ServerResponse, issuerStepResult: IssuerStepResult): void {
  if ('redirect' in issuerStepResult) {
    res.writeHead(302, { Location: issuerStepResult.redirect, 'Cache-Control': 'no-store', Pragma: 'No-Cache', Expires: '0' });
    res.end();
    return;
  }
  const body = Buffer.from(issuerStepResult.message, 'utf8');
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-store',
    Pragma: 'No-Cache',
    Expires: '0',
  });
  res.end(body);
}

/**
 * A node:http request handler for the KeyGen2 binding.
 *
 * @example
 * ```ts
 * const server = http.createServer(createIssuerRequestHandler({ step: (cookie, body) => issuer.next(cookie, body) }));
 * ```
 */
export function createIssuerRequestHandler(options: IssuerHandlerOptions): http.RequestListener {
  const errorUrl = options.errorUrl ?? '/keygen2-error';
  const maxBody = options.maxBodyBytes ?? 1 << 20;
  const run = async (res: http.ServerResponse, cookie: string | undefined, body: string | null): Promise<void> => {
    let issuerStepResult: IssuerStepResult;
    try {
      issuerStepResult = await options.step(cookie, body);
    } catch {
      issuerStepResult = { redirect: errorUrl };
    }
    send(res, issuerStepResult);
  };
  return (req, res) => {
    const cookie = req.headers.cookie;
    if (req.method === 'GET') {
      req.resume();
      void run(res, cookie, null);
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { Allow: 'GET, POST' });
      res.end();
      return;
    }
    if (req.headers['content-type'] !== 'application/json') {
      req.resume();
      send(res, { redirect: errorUrl });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (bytes: Buffer) => {
      size += bytes.length;
      if (size > maxBody) {
        if (!refused) {
          // Answer at once and drop the connection once the answer is out: reading the rest of an
          // oversize body would let a client hold the server busy until node's request timeout.
          res.setHeader('Connection', 'close');
          res.once('finish', () => req.destroy());
          send(res, { redirect: errorUrl });
        }
        refused = true;
        return;
      }
      chunks.push(bytes);
    });
    req.on('end', () => {
      if (refused) return;
      let text: string;
      try {
        // Invalid UTF-8 and a byte-order mark are refused, never repaired or skipped (spec §4.2).
        text = decodeUtf8(Buffer.concat(chunks));
      } catch {
        send(res, { redirect: errorUrl });
        return;
      }
      void run(res, cookie, text);
    });
  };
}

export interface RunningIssuerServer {
  /** `http://127.0.0.1:<port>` (or `https://…` with `tls`) */
  readonly origin: string;
  readonly server: http.Server | https.Server;
  close(): Promise<void>;
}

/** Starts the handler on 127.0.0.1 on a free port (tests, demos); over TLS with `tls` (PEM certificate chain and key). */
export async function startIssuerServer(
  options: IssuerHandlerOptions & { readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } },
): Promise<RunningIssuerServer> {
  const handler = createIssuerRequestHandler(options);
  const server = options.tls === undefined ? http.createServer(handler) : https.createServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
