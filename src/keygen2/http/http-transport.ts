/**
 * The client side of the HTTP binding (spec §2.2 with the decisions of §2.3):
 * GET `init` for the InvocationRequest, POST every response to the transaction
 * URL with `Content-Type: application/json` and the invocation's cookie, take
 * each next request from a 200 `application/json` answer, and the final 302.
 * Over TLS the issuer's leaf certificate of each connection is reported, so the
 * client can use the one of the `init` GET as `serverCertificate`.
 *
 * node:http / node:https rather than `fetch`: `fetch` hides the peer certificate.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import { KeyGen2Error } from '../errors.js';
import type { KeyGen2Transport, TransportReply } from '../client/ports.js';
import type { Invocation } from './invocation-url.js';

export interface HttpTransportOptions {
  /** Whole-exchange limit per request (connect, send, headers, body). Default 30 s. */
  readonly timeoutMs?: number;
  /** Largest accepted response body. Default 1 MiB. */
  readonly maxResponseBytes?: number;
  /** TLS settings for https URLs (trust anchors; `rejectUnauthorized: false` only in tests). */
  readonly tls?: {
    readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
    readonly rejectUnauthorized?: boolean;
  };
  /** Extra headers on every request (e.g. `User-Agent`). Never `Cookie` or `Content-Type`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Connection pool (e.g. a keep-alive `http.Agent`). Default: a new connection per request. */
  readonly agent?: http.Agent;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1 << 20;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** How long a cancel (GET `cncl`) may take before the client stops waiting. */
const CANCEL_TIMEOUT_MS = 5_000;

function sameOrigin(text: string, bytes: string): boolean {
  try {
    return new URL(text).origin === new URL(bytes).origin;
  } catch {
    return false;
  }
}

const transportError = (message: string, cause?: unknown): KeyGen2Error => new KeyGen2Error('TRANSPORT', message, cause === undefined ? {} : { cause });

/** `application/json`, ignoring parameters and case (spec §2.2 step 3). */
function isJsonMediaType(value: string | undefined): boolean {
  if (value === undefined) return false;
  return value.split(';')[0].trim().toLowerCase() === 'application/json';
}

interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly cookie: string | undefined;
  readonly body?: Buffer;
  /** Overrides the transport's timeout for this exchange. */
  readonly timeoutMs?: number;
}

/**
 * The HTTP(S) transport of spec §2.2.
 *
 * @example
 * ```ts
 * const transport = createHttpTransport({ timeoutMs: 10_000 });
 * await runEnrollment({ sks, ui, transport, invocationUrl });
 * ```
 */
export function createHttpTransport(options: HttpTransportOptions = {}): KeyGen2Transport {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  const exchange = (x: Exchange): Promise<TransportReply> =>
    new Promise<TransportReply>((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(x.url);
      } catch (error) {
        reject(transportError('invalid URL', error));
        return;
      }
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(transportError(`unsupported URL scheme "${url.protocol}"`));
        return;
      }
      const headers: Record<string, string> = { ...options.headers, Accept: 'application/json' };
      if (x.cookie !== undefined) headers['Cookie'] = x.cookie;
      if (x.body !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = String(x.body.length);
      }
      let settled = false;
      const fail = (error: KeyGen2Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const done = (transportReply: TransportReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(transportReply);
      };
      const requestOptions: https.RequestOptions = { method: x.method, headers, agent: options.agent ?? false };
      if (secure && options.tls !== undefined) {
        if (options.tls.ca !== undefined) requestOptions.ca = options.tls.ca as https.RequestOptions['ca'];
        if (options.tls.rejectUnauthorized !== undefined) requestOptions.rejectUnauthorized = options.tls.rejectUnauthorized;
      }
      const onResponse = (res: http.IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        let serverCertificate: Uint8Array | undefined;
        if (secure) {
          // An https response comes on a TLSSocket; its peer certificate is `{}` when there is none.
          const cert: Partial<PeerCertificate> | undefined = res.socket instanceof TLSSocket ? res.socket.getPeerCertificate(true) : undefined;
          if (cert?.raw === undefined) {
            fail(transportError('the TLS connection has no server certificate'));
            return;
          }
          serverCertificate = new Uint8Array(cert.raw);
        }
        if (REDIRECTS.has(status)) {
          const location = res.headers.location;
          if (location === undefined || location === '') {
            fail(transportError(`HTTP ${status} without a Location`));
            return;
          }
          let absolute: URL;
          try {
            absolute = new URL(location, url);
          } catch (error) {
            fail(transportError(`HTTP ${status} with an invalid Location`, error));
            return;
          }
          // The caller opens it in a browser: only web URLs, never javascript:, file: or custom schemes.
          if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:') {
            fail(transportError(`HTTP ${status} to a non-http(s) Location`));
            return;
          }
          done({ kind: 'redirect', location: absolute.toString() });
          // The body of a redirect is never read: a server that keeps sending one must not keep
          // the connection (and with it the process) alive.
          req.destroy();
          return;
        }
        if (status !== 200) {
          res.resume();
          fail(transportError(`HTTP ${status} where a KeyGen2 message was expected`));
          return;
        }
        if (!isJsonMediaType(res.headers['content-type'])) {
          res.resume();
          fail(transportError('the answer is not application/json: not a KeyGen2 message'));
          return;
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        if (Number.isFinite(declared) && declared > maxBytes) {
          fail(transportError(`the answer exceeds ${maxBytes} bytes`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            fail(transportError(`the answer exceeds ${maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (e) => fail(transportError('the connection failed while reading the answer', e)));
        res.on('aborted', () => fail(transportError('the connection was closed while reading the answer')));
        res.on('end', () => {
          if (settled) return;
          let text: string;
          try {
            text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
          } catch (error) {
            fail(new KeyGen2Error('SYNTAX', 'the answer is not UTF-8', { path: '$', cause: error }));
            return;
          }
          done(serverCertificate === undefined ? { kind: 'message', text } : { kind: 'message', text, serverCertificate });
        });
      };
      const req = secure ? https.request(url, requestOptions, onResponse) : http.request(url, requestOptions, onResponse);
      const limit = x.timeoutMs ?? timeoutMs;
      const timer = setTimeout(() => fail(transportError(`no complete answer within ${limit} ms`)), limit);
      req.on('error', (e) => fail(transportError(`the request to ${url.host} failed`, e)));
      req.end(x.body);
    });

  return {
    fetchInvocation: (inv: Invocation) => exchange({ method: 'GET', url: inv.initUrl, cookie: inv.cookie }),
    postResponse: (inv: Invocation, text: string) => exchange({ method: 'POST', url: inv.transactionUrl, cookie: inv.cookie, body: Buffer.from(text, 'utf8') }),
    // The answer is a web page (or a redirect to one), not a KeyGen2 message: whatever comes back
    // is ignored, and the user is not kept waiting long. The session cookie only goes to the
    // transaction URL's origin: a cncl elsewhere is not opened at all.
    cancel: async (inv: Invocation) => {
      if (inv.cancelUrl === undefined || !sameOrigin(inv.cancelUrl, inv.transactionUrl)) return;
      await exchange({ method: 'GET', url: inv.cancelUrl, cookie: inv.cookie, timeoutMs: Math.min(timeoutMs, CANCEL_TIMEOUT_MS) }).catch(() => undefined);
    },
  };
}
