/**
 * The client transport of spec §2.2/§2.3 against real node:http(s) servers on
 * 127.0.0.1: cookie and content type, the final 302, and each way an answer
 * is refused (coded TRANSPORT errors).
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import { selfSignedCertificate } from '../../support/self-signed.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import { parseInvocationUrl, type Invocation } from '../../../src/keygen2/http/invocation-url.js';

const servers: Array<http.Server | https.Server> = [];
afterEach(async () => {
  for (const state of servers.splice(0)) {
    state.closeAllConnections();
    await new Promise<void>((r) => state.close(() => r()));
  }
});

async function listen(server: http.Server | https.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

const invocationFor = (origin: string, cookie = 'JSESSIONID=abc; x=1'): Invocation =>
  parseInvocationUrl(
    `webpkiproxy://keygen2?init=${encodeURIComponent(`${origin}/kg2?init=true`)}&url=${encodeURIComponent(`${origin}/kg2`)}&cookie=${encodeURIComponent(cookie)}`,
  );

async function expectCode(promise: Promise<unknown>, code: string): Promise<KeyGen2Error> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(KeyGen2Error);
  expect((error as KeyGen2Error).code).toBe(code);
  return error as KeyGen2Error;
}

describe('HTTP transport (spec §2.2)', () => {
  it('gets init and posts responses with the cookie and Content-Type application/json exactly', async () => {
    const seen: Array<{ method: string; url: string; cookie: string | undefined; type: string | undefined; body: string }> = [];
    const port = await listen(
      http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ method: req.method!, url: req.url!, cookie: req.headers.cookie, type: req.headers['content-type'], body });
          if (req.method === 'POST' && body === '"last"') {
            res.writeHead(302, { Location: '/done' }).end();
            return;
          }
          res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(`{"n":${seen.length}}`);
        });
      }),
    );
    const inv = invocationFor(`http://127.0.0.1:${port}`);
    const keyGen2Transport = createHttpTransport();
    expect(await keyGen2Transport.fetchInvocation(inv)).toEqual({ kind: 'message', text: '{"n":1}' });
    expect(await keyGen2Transport.postResponse(inv, '"next"')).toEqual({ kind: 'message', text: '{"n":2}' });
    expect(await keyGen2Transport.postResponse(inv, '"last"')).toEqual({ kind: 'redirect', location: `http://127.0.0.1:${port}/done` });
    expect(seen.map((s) => [s.method, s.url, s.cookie, s.type])).toEqual([
      ['GET', '/kg2?init=true', 'JSESSIONID=abc; x=1', undefined],
      ['POST', '/kg2', 'JSESSIONID=abc; x=1', 'application/json'],
      ['POST', '/kg2', 'JSESSIONID=abc; x=1', 'application/json'],
    ]);
    expect(seen[1].body).toBe('"next"');
  });

  it('rejects-non-json-answer', async () => {
    const port = await listen(http.createServer((_q, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html></html>')));
    await expectCode(createHttpTransport().fetchInvocation(invocationFor(`http://127.0.0.1:${port}`)), 'TRANSPORT');
  });

  it('rejects-http-error-status', async () => {
    const port = await listen(http.createServer((_q, res) => res.writeHead(500, { 'Content-Type': 'application/json' }).end('{}')));
    await expectCode(createHttpTransport().postResponse(invocationFor(`http://127.0.0.1:${port}`), '{}'), 'TRANSPORT');
  });

  it('rejects-oversize-answer (declared and streamed)', async () => {
    const big = 'x'.repeat(5000);
    const declared = await listen(http.createServer((_q, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(`"${big}"`)));
    await expectCode(createHttpTransport({ maxResponseBytes: 1000 }).fetchInvocation(invocationFor(`http://127.0.0.1:${declared}`)), 'TRANSPORT');
    const streamed = await listen(
      http.createServer((_q, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' }); // chunked, no Content-Length
        res.write(`"${big}`);
        res.end('"');
      }),
    );
    await expectCode(createHttpTransport({ maxResponseBytes: 1000 }).fetchInvocation(invocationFor(`http://127.0.0.1:${streamed}`)), 'TRANSPORT');
  });

  it('rejects-slow-answer (timeout)', async () => {
    const port = await listen(
      http.createServer((_q, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{'); // never finishes
      }),
    );
    const started = Date.now();
    await expectCode(createHttpTransport({ timeoutMs: 300 }).fetchInvocation(invocationFor(`http://127.0.0.1:${port}`)), 'TRANSPORT');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects-redirect-without-location', async () => {
    const port = await listen(http.createServer((_q, res) => res.writeHead(302).end()));
    await expectCode(createHttpTransport().postResponse(invocationFor(`http://127.0.0.1:${port}`), '{}'), 'TRANSPORT');
  });

  it('rejects-redirect-to-a-non-web-url', async () => {
    const port = await listen(http.createServer((_q, res) => res.writeHead(302, { Location: 'javascript:alert(1)' }).end()));
    await expectCode(createHttpTransport().postResponse(invocationFor(`http://127.0.0.1:${port}`), '{}'), 'TRANSPORT');
  });

  it('closes-the-connection-of-a-redirect-whose-body-never-ends', async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const port = await listen(
      http.createServer((_q, res) => {
        res.on('close', () => closed());
        res.writeHead(302, { Location: '/done' });
        const drip = setInterval(() => res.write('x'.repeat(64)), 5);
        res.on('close', () => clearInterval(drip));
      }),
    );
    const reply = await createHttpTransport({ timeoutMs: 60_000 }).fetchInvocation(invocationFor(`http://127.0.0.1:${port}`));
    expect(reply).toEqual({ kind: 'redirect', location: `http://127.0.0.1:${port}/done` });
    await connectionClosed; // without the fix this waits for the 60 s timeout that never comes (it was cleared)
  });

  it('rejects-unreachable-issuer', async () => {
    const port = await listen(http.createServer());
    const inv = invocationFor(`http://127.0.0.1:${port}`);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    await expectCode(createHttpTransport({ timeoutMs: 2000 }).fetchInvocation(inv), 'TRANSPORT');
  });

  it('reports the TLS leaf certificate of the connection as serverCertificate (spec §2.2 step 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kg2-tls-'));
    try {
      const { cert, key } = selfSignedCertificate(dir);
      const port = await listen(https.createServer({ cert, key }, (_q, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}')));
      const reply = await createHttpTransport({ tls: { ca: cert, rejectUnauthorized: false } }).fetchInvocation(invocationFor(`https://127.0.0.1:${port}`));
      expect(reply.kind).toBe('message');
      if (reply.kind !== 'message') return;
      expect(reply.text).toBe('{"ok":true}');
      expect(Buffer.from(reply.serverCertificate!).equals(new X509Certificate(cert).raw)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports no serverCertificate over plain http', async () => {
    const port = await listen(http.createServer((_q, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')));
    const reply = await createHttpTransport().fetchInvocation(invocationFor(`http://127.0.0.1:${port}`));
    expect(reply).toEqual({ kind: 'message', text: '{}' });
  });
});
