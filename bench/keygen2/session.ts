/**
 * One full in-process KeyGen2 session over wire text: our issuer (`keygen2/server`) answers our
 * client (`keygen2/client`), which drives an SKS. The issuer's state is persisted as JSON text
 * between requests, as a server would. Wall and CPU time inside the issuer (its steps, the wire
 * encoding and decoding it does, the state persistence) are counted apart from the client's.
 */
import { runEnrollment, type EnrollmentSummary } from '../../src/keygen2/client/run-enrollment.js';
import type { KeyGen2Transport } from '../../src/keygen2/client/ports.js';
import { buildInvocationUrl } from '../../src/keygen2/http/invocation-url.js';
import type { IssuerConfig, IssuerState, KeyGen2Issuer } from '../../src/keygen2/server/index.js';
import type { SecureKeyStore } from '../../src/sks/api.js';

const ORIGIN = 'http://issuer.bench';
const URL = `${ORIGIN}/kg2`;
const INVOCATION = buildInvocationUrl({ initUrl: `${URL}?init=true`, transactionUrl: URL, cookie: 'JSESSIONID=bench' });
export const ISSUER_URI = URL;

/** Wall and CPU milliseconds. */
export interface Cost {
  wallMs: number;
  cpuMs: number;
}

export interface SessionCost {
  readonly issuer: Cost;
  readonly total: Cost;
  readonly summary: EnrollmentSummary;
}

const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/**
 * Runs one enrollment and returns what each side cost. With `split` false nothing is timed (no
 * clock or CPU-usage calls), for the throughput figure.
 */
export async function runSession(issuer: KeyGen2Issuer, sks: SecureKeyStore, config: IssuerConfig, split = true, pin = '1357'): Promise<SessionCost> {
  const issuerCost: Cost = { wallMs: 0, cpuMs: 0 };
  let persisted = '';
  const progress = { done: false };
  const onIssuer = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!split) return fn();
    const started = performance.now();
    const code = cpuMs();
    try {
      return await fn();
    } finally {
      issuerCost.wallMs += performance.now() - started;
      issuerCost.cpuMs += cpuMs() - code;
    }
  };
  const transport: KeyGen2Transport = {
    fetchInvocation: () =>
      onIssuer(async () => {
        const { state, request } = await issuer.startText(config);
        persisted = JSON.stringify(state);
        return { kind: 'message', text: request };
      }),
    postResponse: (_inv, text) =>
      onIssuer(async () => {
        const step = await issuer.acceptText(JSON.parse(persisted) as IssuerState, text);
        persisted = JSON.stringify(step.state);
        if (step.outcome !== undefined) {
          progress.done = true;
          return { kind: 'redirect', location: `${ORIGIN}/done` };
        }
        return { kind: 'message', text: step.request };
      }),
  };
  const wallStart = split ? performance.now() : 0;
  const cpuStart = split ? cpuMs() : 0;
  const summary = await runEnrollment({
    sks,
    transport,
    ui: { consent: async () => true, enterPin: async () => pin },
    invocationUrl: INVOCATION,
  });
  const total = split ? { wallMs: performance.now() - wallStart, cpuMs: cpuMs() - cpuStart } : { wallMs: 0, cpuMs: 0 };
  if (!progress.done) throw new Error('the issuer did not finish the session');
  return { issuer: issuerCost, total, summary };
}
