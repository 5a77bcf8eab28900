/**
 * The client opens the invocation's `cncl` URL when the user cancels (spec §2.2: "URL opened in
 * the browser if the user cancels"). Found in live interop with the reference issuer
 * (scripts/live-interop): after `airtight enroll` gave up (declined, or a PIN it could not use),
 * the Java issuer kept the session `active`; it drops it on GET `cncl` (`/keygen2?abort=true`).
 * The InvocationRequest below is the one the Java issuer sent in that run.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnrollmentUi } from '../../../src/keygen2/client/ports.js';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import { buildInvocationUrl } from '../../../src/keygen2/http/invocation-url.js';
import type { SecureKeyStore } from '../../../src/sks/index.js';

const JAVA_INVOCATION_REQUEST =
  '{"@context":"https://webpki.github.io/keygen2#20190318","@qualifier":"InvocationRequest","serverSessionId":"1a231385d0cE0IW2S1P_meJ9j4smy3n_","action":"manage"}';
const COOKIE = 'JSESSIONID=mS_KSZvHpzhbk8_ftST-rVKq';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

let server: Server | undefined;
let other: Server | undefined;
afterEach(async () => {
  for (const state of [server, other]) {
    if (state === undefined) continue;
    state.closeAllConnections();
    await new Promise<void>((resolve) => state.close(() => resolve()));
  }
  server = undefined;
  other = undefined;
});

/** A second origin (another port), counting the requests it gets. */
async function otherServer(): Promise<{ origin: string; readonly hits: number }> {
  const state = { hits: 0 };
  other = createServer((req, res) => {
    state.hits++;
    req.resume();
    res.end();
  });
  const server = other;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get hits() {
      return state.hits;
    },
  };
}

/** An issuer like okspeer's: `?init=true` answers the InvocationRequest (or 302s), `?abort=true` a web page. */
async function issuer(init: 'message' | 'redirect', options: { hangOnAbort?: boolean } = {}): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    if (req.url === '/keygen2?abort=true' && options.hangOnAbort === true) return;
    if (req.url === '/keygen2?init=true' && init === 'message') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JAVA_INVOCATION_REQUEST);
    } else if (req.url === '/keygen2?abort=true') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>cancelled</html>');
    } else {
      res.writeHead(302, { Location: '/error' });
      res.end();
    }
  });
  const state = server;
  await new Promise<void>((resolve) => state.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(state.address() as AddressInfo).port}`, seen };
}

const urlOf = (origin: string, cancel: boolean): string =>
  buildInvocationUrl({
    initUrl: `${origin}/keygen2?init=true`,
    transactionUrl: `${origin}/keygen2`,
    cookie: COOKIE,
    ...(cancel ? { cancelUrl: `${origin}/keygen2?abort=true` } : {}),
  });

/** Consent is declined, so the SKS is never touched. */
const untouchedSks = new Proxy(
  {},
  {
    get: () => {
      throw new Error('the SKS must not be used');
    },
  },
) as unknown as SecureKeyStore;
const ui = (consent: boolean): EnrollmentUi => ({ consent: async () => consent, enterPin: async () => undefined });

describe('cancel URL (cncl)', () => {
  it('opens-the-cancel-url-with-the-cookie-when-the-user-declines', async () => {
    const { origin, seen } = await issuer('message');
    await expect(
      runEnrollment({ sks: untouchedSks, ui: ui(false), transport: createHttpTransport(), invocationUrl: urlOf(origin, true) }),
    ).rejects.toMatchObject({
      code: 'USER_ABORT',
    });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /keygen2?init=true', 'GET /keygen2?abort=true']);
    expect(seen[1]?.headers.cookie).toBe(COOKIE);
  });

  it('does-not-open-a-cancel-url-the-invocation-lacks', async () => {
    const { origin, seen } = await issuer('message');
    await expect(
      runEnrollment({ sks: untouchedSks, ui: ui(false), transport: createHttpTransport(), invocationUrl: urlOf(origin, false) }),
    ).rejects.toMatchObject({
      code: 'USER_ABORT',
    });
    expect(seen.map((r) => r.url)).toEqual(['/keygen2?init=true']);
  });

  it('does-not-open-the-cancel-url-when-the-issuer-ends-the-session', async () => {
    const { origin, seen } = await issuer('redirect');
    await expect(
      runEnrollment({ sks: untouchedSks, ui: ui(true), transport: createHttpTransport(), invocationUrl: urlOf(origin, true) }),
    ).rejects.toMatchObject({
      code: 'TRANSPORT',
    });
    expect(seen.map((r) => r.url)).toEqual(['/keygen2?init=true']);
  });

  it('never-sends-the-session-cookie-to-a-cancel-url-of-another-origin', async () => {
    const { origin, seen } = await issuer('message');
    const other = await otherServer();
    const url = buildInvocationUrl({
      initUrl: `${origin}/keygen2?init=true`,
      transactionUrl: `${origin}/keygen2`,
      cookie: COOKIE,
      cancelUrl: `${other.origin}/abort`,
    });
    await expect(runEnrollment({ sks: untouchedSks, ui: ui(false), transport: createHttpTransport(), invocationUrl: url })).rejects.toMatchObject({
      code: 'USER_ABORT',
    });
    expect(seen).toHaveLength(1);
    expect(other.hits).toBe(0);
  });

  it('keeps-the-user-abort-when-the-cancel-url-does-not-answer', async () => {
    // The issuer accepts the cancel GET but never answers: the client gives up on it after a while.
    const { origin, seen } = await issuer('message', { hangOnAbort: true });
    const started = Date.now();
    await expect(
      runEnrollment({ sks: untouchedSks, ui: ui(false), transport: createHttpTransport({ timeoutMs: 1000 }), invocationUrl: urlOf(origin, true) }),
    ).rejects.toMatchObject({ code: 'USER_ABORT' });
    expect(seen.map((r) => r.url)).toEqual(['/keygen2?init=true', '/keygen2?abort=true']);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('a store given as a function', () => {
  // `airtight enroll` opens (and so locks) the device store this way: not while the question waits.
  it('is-opened-only-once-the-user-consented', async () => {
    const { origin } = await issuer('message');
    const events: string[] = [];
    const open = (): SecureKeyStore => {
      events.push('open');
      return untouchedSks; // its first use fails the enrollment: enough to see when it was opened
    };
    const consenting = (answer: boolean): EnrollmentUi => ({
      consent: async () => {
        events.push('consent');
        return answer;
      },
      enterPin: async () => undefined,
    });
    await expect(
      runEnrollment({ sks: open, ui: consenting(false), transport: createHttpTransport(), invocationUrl: urlOf(origin, false) }),
    ).rejects.toMatchObject({
      code: 'USER_ABORT',
    });
    expect(events).toEqual(['consent']);
    events.length = 0;
    await expect(
      runEnrollment({ sks: open, ui: consenting(true), transport: createHttpTransport(), invocationUrl: urlOf(origin, false) }),
    ).rejects.toMatchObject({
      code: 'INTERNAL',
    });
    expect(events).toEqual(['consent', 'open']);
  });
});
