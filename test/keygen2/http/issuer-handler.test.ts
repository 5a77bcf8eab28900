/** The issuer-side request handler of the HTTP binding (spec §2.2, §2.3). */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startIssuerServer, type IssuerStep, type RunningIssuerServer } from '../../../src/keygen2/http/issuer-handler.js';

const running: RunningIssuerServer[] = [];
afterEach(async () => {
  for (const runningIssuerServer of running.splice(0)) await runningIssuerServer.close();
});

async function serve(step: IssuerStep, maxBodyBytes?: number): Promise<RunningIssuerServer> {
  const runningIssuerServer = await startIssuerServer(maxBodyBytes === undefined ? { step, errorUrl: '/error' } : { step, errorUrl: '/error', maxBodyBytes });
  running.push(runningIssuerServer);
  return runningIssuerServer;
}

const noRedirect = { redirect: 'manual' } as const;

describe('issuer request handler', () => {
  it('GET calls the step without a body and answers 200 application/json with no-cache headers', async () => {
    const calls: Array<[string | undefined, string | null]> = [];
    const runningIssuerServer = await serve((cookie, body) => {
      calls.push([cookie, body]);
      return { message: '{"a":1}' };
    });
    const response = await fetch(`${runningIssuerServer.origin}/kg2?init=true`, { headers: { Cookie: 'JSESSIONID=1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('pragma')).toBe('No-Cache');
    expect(await response.text()).toBe('{"a":1}');
    expect(calls).toEqual([['JSESSIONID=1', null]]);
  });

  it('POST passes the body and answers the next message, or the final 302', async () => {
    const runningIssuerServer = await serve((_c, body) => (body === '"last"' ? { redirect: 'https://issuer.example/done' } : { message: `[${body ?? ''}]` }));
    const post = (body: string): Promise<Response> =>
      fetch(`${runningIssuerServer.origin}/kg2`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, ...noRedirect });
    const r1 = await post('"next"');
    expect([r1.status, await r1.text()]).toEqual([200, '["next"]']);
    const r2 = await post('"last"');
    expect([r2.status, r2.headers.get('location')]).toEqual([302, 'https://issuer.example/done']);
  });

  it('redirects-to-the-error-page-when-the-step-fails', async () => {
    const runningIssuerServer = await serve(() => {
      throw new Error('bad response');
    });
    const result = await fetch(`${runningIssuerServer.origin}/kg2`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
      ...noRedirect,
    });
    expect([result.status, result.headers.get('location')]).toEqual([302, '/error']);
  });

  it('refuses-post-without-exact-content-type', async () => {
    let called = false;
    const runningIssuerServer = await serve(() => {
      called = true;
      return { message: '{}' };
    });
    const response = await fetch(`${runningIssuerServer.origin}/kg2`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: '{}',
      ...noRedirect,
    });
    expect([response.status, response.headers.get('location'), called]).toEqual([302, '/error', false]);
  });

  it('refuses-a-post-that-is-not-strict-utf8 (invalid bytes, or a byte-order mark)', async () => {
    let called = false;
    const runningIssuerServer = await serve(() => {
      called = true;
      return { message: '{}' };
    });
    for (const body of [Buffer.from([0x22, 0xff, 0x22]), Buffer.from('\ufeff{}', 'utf8')]) {
      const response = await fetch(`${runningIssuerServer.origin}/kg2`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        ...noRedirect,
      });
      expect([response.status, response.headers.get('location')]).toEqual([302, '/error']);
    }
    expect(called).toBe(false);
  });

  it('refuses-oversize-post', async () => {
    const runningIssuerServer = await serve(() => ({ message: '{}' }), 100);
    const response = await fetch(`${runningIssuerServer.origin}/kg2`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `"${'x'.repeat(1000)}"`,
      ...noRedirect,
    });
    expect([response.status, response.headers.get('location')]).toEqual([302, '/error']);
  });

  it('closes-connection-after-oversize-post: answers with Connection: close and stops reading the body', async () => {
    let called = false;
    const runningIssuerServer = await serve(() => {
      called = true;
      return { message: '{}' };
    }, 100);
    const { port } = new URL(runningIssuerServer.origin);
    const socket = connect(Number(port), '127.0.0.1');
    // A body announced as 10 MB of which only 200 bytes are sent: the server must not wait for the rest.
    socket.write(`POST /kg2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 << 20}\r\n\r\n${'x'.repeat(200)}`);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    const ended = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('still open'), 3000);
      const done = (): void => {
        clearTimeout(timer);
        resolve('closed');
      };
      socket.on('close', done);
      socket.on('error', done);
    });
    socket.destroy();
    expect(ended).toBe('closed');
    expect(text).toMatch(/^HTTP\/1\.1 302 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(text).toMatch(/\r\nLocation: \/error\r\n/i);
    expect(called).toBe(false);
  });

  it('refuses-other-methods', async () => {
    const runningIssuerServer = await serve(() => ({ message: '{}' }));
    const response = await fetch(`${runningIssuerServer.origin}/kg2`, { method: 'PUT', body: '{}' });
    expect(response.status).toBe(405);
  });
});
