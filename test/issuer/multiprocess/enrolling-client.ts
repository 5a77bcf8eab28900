/**
 * The device side of the multi-process and crash tests: our client and a
 * memory SKS over createHttpTransport, wrapped so that each request may go to
 * another issuer process (same path and cookie, another origin) and a request
 * that failed on the connection (refused, reset: the issuer died) is sent again
 * with the same body and cookie until the issuer is back. Every answer the
 * client received is recorded, so the test can check afterwards that the
 * issuer's database still holds each acknowledged step.
 *
 * Retrying lives here, in the test's transport, not in createHttpTransport:
 * it is safe against this issuer (a retried POST with the same body gets the
 * recorded answer), but a KeyGen2 issuer is not required to be idempotent, so
 * the library leaves the policy to the caller.
 */
import { createHash } from 'node:crypto';
import type { KeyGen2Transport, TransportReply } from '../../../src/keygen2/client/ports.js';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import { isKeyGen2Error } from '../../../src/keygen2/errors.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import type { Invocation } from '../../../src/keygen2/http/invocation-url.js';
import type { IssuerDatabase, StoredResponse } from '../../../src/issuer/db/port.js';
import type { SecureKeyStore } from '../../../src/sks/index.js';
import { device, ui } from '../service/harness.js';
import { sleep } from './issuer-process.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** Whether a transport failure is the connection's (the issuer process is gone or restarting), so the same request may be sent again. */
export function isConnectionFailure(error: unknown): boolean {
  if (!isKeyGen2Error(error) || error.code !== 'TRANSPORT') return false;
  if (/closed while reading the answer|no complete answer within/.test(error.message)) return true;
  for (let link: unknown = error.cause; link !== undefined && link !== null; link = (link as { cause?: unknown }).cause) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (link instanceof Error && link.message.includes('socket hang up')) return true;
  }
  return false;
}

const refused = (error: unknown): boolean => {
  for (let link: unknown = error; link !== undefined && link !== null; link = (link as { cause?: unknown }).cause)
    if ((link as { code?: unknown }).code === 'ECONNREFUSED') return true;
  return false;
};

/** One answer the client received: the GET's (index 0) or the n-th POST's. */
export interface Acknowledged {
  readonly index: number;
  readonly reply: TransportReply;
}

export interface SessionLog {
  readonly acknowledged: Acknowledged[];
  /** Requests sent again after a connection failure. */
  retries: number;
  /** Of those, the ones the issuer may have received (reset or cut off rather than refused). */
  inFlight: number;
  /** Requests per origin. */
  readonly origins: Map<string, number>;
}

/**
 * createHttpTransport, with the origin of each request chosen by `origin(n)`
 * (n counts this session's requests from 0) and connection failures retried
 * with backoff until `deadline`.
 */
export function resilientTransport(
  log: SessionLog,
  options: { readonly origin?: (n: number) => string | undefined; readonly deadline: number },
): KeyGen2Transport {
  const http = createHttpTransport({ timeoutMs: 20_000 });
  let count = 0;
  let posts = 0;
  const at = (url: string, origin: string | undefined): string => {
    if (origin === undefined) return url;
    const parsed = new URL(url);
    return `${origin}${parsed.pathname}${parsed.search}`;
  };
  const send = async (call: (inv: Invocation) => Promise<TransportReply>, inv: Invocation, index: number): Promise<TransportReply> => {
    for (let attempt = 0; ; attempt++) {
      const origin = options.origin?.(count++);
      log.origins.set(origin ?? '', (log.origins.get(origin ?? '') ?? 0) + 1);
      const routed: Invocation = { ...inv, initUrl: at(inv.initUrl, origin), transactionUrl: at(inv.transactionUrl, origin) };
      try {
        const reply = await call(routed);
        log.acknowledged.push({ index, reply });
        return reply;
      } catch (error) {
        if (!isConnectionFailure(error) || Date.now() > options.deadline) throw error;
        log.retries++;
        if (!refused(error)) log.inFlight++;
        await sleep(Math.min(40 * 2 ** Math.min(attempt, 4), 400) * (0.5 + Math.random()));
      }
    }
  };
  return {
    fetchInvocation: (inv) => send((r) => http.fetchInvocation(r), inv, 0),
    postResponse: (inv, text) => {
      const index = ++posts;
      return send((r) => http.postResponse(r, text), inv, index);
    },
  };
}

export type SessionOutcome =
  | { readonly kind: 'completed'; readonly serverSessionId: string; readonly keys: ReadonlyArray<{ readonly id: string; readonly certificate: Uint8Array }> }
  /** The issuer refused (error page) and the device holds nothing of the session. */
  | { readonly kind: 'failed-cleanly'; readonly location: string }
  /** Anything else: a failure the tests report (retries exhausted, a refusal that left the device half-done, …). */
  | { readonly kind: 'unclean'; readonly error: string };

export interface EnrolledSession {
  readonly log: SessionLog;
  readonly sks: SecureKeyStore;
  readonly outcome: SessionOutcome;
}

/** Runs one enrollment on a fresh memory SKS of the trusted test device, and classifies how it ended. */
export async function enrollOnce(
  invocationUrl: string,
  options: {
    readonly origin?: (n: number) => string | undefined;
    readonly deadline: number;
    /** Spoil the device attestation of the ProvisioningInitializationResponse, so the issuer refuses the session (after the SKS opened one). */
    readonly tamper?: boolean;
  },
): Promise<EnrolledSession> {
  const log: SessionLog = { acknowledged: [], retries: 0, inFlight: 0, origins: new Map() };
  const sks = device();
  const http = resilientTransport(log, options);
  const transport: KeyGen2Transport =
    options.tamper !== true
      ? http
      : {
          fetchInvocation: (inv) => http.fetchInvocation(inv),
          postResponse: (inv, text) => {
            if (!text.includes('"ProvisioningInitializationResponse"')) return http.postResponse(inv, text);
            const finalization = JSON.parse(text) as { attestation: string };
            const bad = Buffer.from(finalization.attestation, 'base64url');
            bad[0] = bad[0] ^ 1;
            return http.postResponse(inv, JSON.stringify({ ...finalization, attestation: bad.toString('base64url') }));
          },
        };
  try {
    const summary = await runEnrollment({ sks, ui: ui(), transport, invocationUrl });
    if (!summary.redirectUrl.endsWith('/keygen2/done')) return { log, sks, outcome: { kind: 'unclean', error: `ended at ${summary.redirectUrl}` } };
    return {
      log,
      sks,
      outcome: {
        kind: 'completed',
        serverSessionId: summary.serverSessionId,
        keys: summary.keys.map((k) => ({ id: k.id, certificate: k.certificatePath[0] })),
      },
    };
  } catch (failure) {
    const last = log.acknowledged.at(-1)?.reply;
    const refused = last?.kind === 'redirect' && last.location.includes('/keygen2/error?reason=');
    const leftovers = await deviceLeftovers(sks);
    if (refused && leftovers === '') return { log, sks, outcome: { kind: 'failed-cleanly', location: last.location } };
    return { log, sks, outcome: { kind: 'unclean', error: `${String(failure)}${leftovers === '' ? '' : `; device holds ${leftovers}`}` } };
  }
}

/** What a device holds after a refused session ('' when nothing: no open provisioning session, no key). */
async function deviceLeftovers(sks: SecureKeyStore): Promise<string> {
  const open = await sks.enumerateProvisioningSessions(0, true);
  const key = await sks.enumerateKeys(0);
  return [open === undefined ? '' : 'an open provisioning session', key === undefined ? '' : 'a key'].filter((s) => s !== '').join(' and ');
}

/** Every key the device holds, with its end-entity certificate. */
export async function deviceKeys(sks: SecureKeyStore): Promise<Buffer[]> {
  const certs: Buffer[] = [];
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) {
    certs.push(Buffer.from((await sks.getKeyAttributes(k.keyHandle)).certificatePath[0]));
  }
  return certs;
}

const same = (a: StoredResponse, b: TransportReply): boolean =>
  a.kind === 'redirect' ? b.kind === 'redirect' && b.location === a.location : b.kind === 'message' && b.text === a.body;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * What the issuer's database must agree with after the sessions ran (empty
 * when it does): one certificate per (session, key), each credential from a
 * completed intent, completed sessions `done` with exactly the device's keys
 * and certificates, and every acknowledged step still recorded (the session
 * is at least at that step, and at exactly that step it holds that answer).
 */
export async function disagreements(
  db: IssuerDatabase,
  sessions: readonly EnrolledSession[],
): Promise<{ problems: string[]; duplicates: number; credentials: number }> {
  const problems: string[] = [];
  const credentials = await db.listCredentials();
  const byKey = new Map<string, number>();
  for (const credential of credentials) {
    const slot = `${credential.sessionId}/${credential.keyId}`;
    byKey.set(slot, (byKey.get(slot) ?? 0) + 1);
    const intent = await db.getIssuanceIntent(credential.sessionId, credential.keyId).catch(() => undefined);
    if (intent === undefined || intent.completedAt === null || intent.serial !== credential.serial)
      problems.push(`credential ${credential.fingerprint} without a completed intent`);
  }
  const duplicates = [...byKey.values()].filter((n) => n > 1).length;
  if (duplicates > 0) problems.push(`${duplicates} (session, key) pairs with more than one certificate`);

  for (const enrolledSession of sessions) {
    const sessionOutcome = enrolledSession.outcome;
    if (sessionOutcome.kind === 'completed') {
      const session = await db.getSession(sessionOutcome.serverSessionId);
      if (session.status !== 'done') problems.push(`session ${session.id}: completed on the device, ${session.status} at the issuer`);
      const issued = credentials.filter((c) => c.sessionId === sessionOutcome.serverSessionId);
      const held = (await deviceKeys(enrolledSession.sks)).map(sha).sort();
      const recorded = issued.map((c) => sha(c.certificateDer)).sort();
      if (JSON.stringify(held) !== JSON.stringify(recorded))
        problems.push(`session ${session.id}: device holds ${held.length} keys, issuer recorded ${recorded.length} (or other certificates)`);
      if (issued.some((c) => c.status !== 'issued')) problems.push(`session ${session.id}: a credential of a completed session is not issued`);
      if (JSON.stringify(sessionOutcome.keys.map((k) => sha(k.certificate)).sort()) !== JSON.stringify(recorded))
        problems.push(`session ${session.id}: summary and issuer disagree`);
    }
    // Acknowledged steps: the serverSessionId is known from the first answer (the InvocationRequest).
    const first = enrolledSession.log.acknowledged.find((a) => a.index === 0)?.reply;
    if (first?.kind !== 'message') continue;
    const id = (JSON.parse(first.text) as { serverSessionId?: string }).serverSessionId;
    if (id === undefined) continue;
    const session = await db.getSession(id).catch(() => undefined);
    if (session === undefined) {
      problems.push(`session ${id}: acknowledged by the issuer, missing from its database`);
      continue;
    }
    const last = enrolledSession.log.acknowledged.reduce((a, b) => (b.index > a.index ? b : a));
    if (sessionOutcome.kind === 'failed-cleanly') {
      if (session.status === 'active') problems.push(`session ${id}: refused to the device, still active at the issuer`);
      continue;
    }
    if (session.step < last.index) problems.push(`session ${id}: the client got the answer to step ${last.index}, the issuer is at step ${session.step}`);
    else if (session.step === last.index && !same(session.lastResponse, last.reply))
      problems.push(`session ${id}: step ${last.index} answered differently than recorded`);
  }
  return { problems, duplicates, credentials: credentials.length };
}
