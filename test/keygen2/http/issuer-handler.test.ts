/** The issuer-side request handler of the HTTP binding (spec §2.2, §2.3). */
import { afterEach, describe, expect, it } from 'vitest';
import { startIssuerServer, type IssuerStep, type RunningIssuerServer } from '../../../src/keygen2/http/issuer-handler.js';

const running: RunningIssuerServer[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

async function serve(step: IssuerStep, maxBodyBytes?: number): Promise<RunningIssuerServer> {
  const s = await startIssuerServer(maxBodyBytes === undefined ? { step, errorUrl: '/error' } : { step, errorUrl: '/error', maxBodyBytes });
  running.push(s);
  return s;
}

const noRedirect = { redirect: 'manual' } as const;

describe('issuer request handler', () => {
  it('GET calls the step without a body and answers 200 application/json with no-cache headers', async () => {
    const calls: [string | undefined, string | null][] = [];
    const s = await serve((cookie, body) => {
      calls.push([cookie, body]);
      return { message: '{"a":1}' };
    });
    const r = await fetch(`${s.origin}/kg2?init=true`, { headers: { Cookie: 'JSESSIONID=1' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('pragma')).toBe('No-Cache');
    expect(await r.text()).toBe('{"a":1}');
    expect(calls).toEqual([['JSESSIONID=1', null]]);
  });

  it('POST passes the body and answers the next message, or the final 302', async () => {
    const s = await serve((_c, body) => (body === '"last"' ? { redirect: 'https://issuer.example/done' } : { message: `[${body ?? ''}]` }));
    const post = (body: string): Promise<Response> => fetch(`${s.origin}/kg2`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, ...noRedirect });
    const r1 = await post('"next"');
    expect([r1.status, await r1.text()]).toEqual([200, '["next"]']);
    const r2 = await post('"last"');
    expect([r2.status, r2.headers.get('location')]).toEqual([302, 'https://issuer.example/done']);
  });

  it('redirects-to-the-error-page-when-the-step-fails', async () => {
    const s = await serve(() => {
      throw new Error('bad response');
    });
    const r = await fetch(`${s.origin}/kg2`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', ...noRedirect });
    expect([r.status, r.headers.get('location')]).toEqual([302, '/error']);
  });

  it('refuses-post-without-exact-content-type', async () => {
    let called = false;
    const s = await serve(() => {
      called = true;
      return { message: '{}' };
    });
    const r = await fetch(`${s.origin}/kg2`, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{}', ...noRedirect });
    expect([r.status, r.headers.get('location'), called]).toEqual([302, '/error', false]);
  });

  it('refuses-oversize-post', async () => {
    const s = await serve(() => ({ message: '{}' }), 100);
    const r = await fetch(`${s.origin}/kg2`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `"${'x'.repeat(1000)}"`, ...noRedirect });
    expect([r.status, r.headers.get('location')]).toEqual([302, '/error']);
  });

  it('refuses-other-methods', async () => {
    const s = await serve(() => ({ message: '{}' }));
    const r = await fetch(`${s.origin}/kg2`, { method: 'PUT', body: '{}' });
    expect(r.status).toBe(405);
  });
});
