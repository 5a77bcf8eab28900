/**
 * Our client and our SKS against our issuer (src/keygen2/server) through the
 * HTTP binding on 127.0.0.1, over plain HTTP and over TLS: fresh sessions, no
 * recorded values. Over TLS the issuer attests with the certificate it serves
 * and the client takes it from the connection, so the session attestation
 * only verifies if both sides used the same bytes (spec §2.3).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import type { EnrollmentUi } from '../../../src/keygen2/client/ports.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import { buildInvocationUrl } from '../../../src/keygen2/http/invocation-url.js';
import { startIssuerServer, type IssuerStep, type RunningIssuerServer } from '../../../src/keygen2/http/issuer-handler.js';
import { decodeMessage, encodeMessage } from '../../../src/keygen2/messages/index.js';
import { createIssuer, DeviceTrust, NodeIssuerCrypto, type IssuerConfig, type IssuerState } from '../../../src/keygen2/server/index.js';
import { createMemoryKeyStore, openSecureKeyStore, type SecureKeyStore } from '../../../src/sks/index.js';
import { parsePkcs8 } from '../../../src/sks/session-crypto.js';
import { getTestCa } from '../../support/test-ca.js';
import { loadRecording, sessionFiles } from '../client/support/replay-harness.js';

const doc = loadRecording(sessionFiles()[0]);
const da = doc.get('test_keys').get('device_attestation');
const deviceRoot = da.get('issuer_ca_certificate_der_hex').hex();
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const RSA2048 = 'https://webpki.github.io/sks/algorithm#rsa2048';

const running: RunningIssuerServer[] = [];
afterEach(async () => {
  for (const runningIssuerServer of running.splice(0)) await runningIssuerServer.close();
});

const tlsDir = mkdtempSync(join(tmpdir(), 'kg2-live-'));
afterAll(() => rmSync(tlsDir, { recursive: true, force: true }));

function tlsMaterial(): { cert: Buffer; key: Buffer } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-days',
      '2',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(tlsDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(join(tlsDir, 'cert.pem')), key: readFileSync(join(tlsDir, 'key.pem')) };
}

function device(): SecureKeyStore {
  return openSecureKeyStore({
    store: createMemoryKeyStore(),
    device: { privateKey: parsePkcs8(da.get('pkcs8_hex').hex()), certificatePath: [da.get('certificate_der_hex').hex()] },
  });
}

const ui = (pin: string): EnrollmentUi => ({ consent: () => Promise.resolve(true), enterPin: () => Promise.resolve(pin) });

/** Our issuer behind the request handler: one issuer state per cookie. */
async function liveIssuer(configFor: (origin: string) => IssuerConfig, tls?: { cert: Buffer; key: Buffer }) {
  const ca = await getTestCa();
  const issuer = createIssuer({
    crypto: new NodeIssuerCrypto({ sealingKey: randomBytes(32) }),
    deviceTrust: new DeviceTrust([deviceRoot]),
    certify: async (k) => ({ certificatePath: [await ca.issue(k.publicKey, { commonName: `Live ${k.id}` })] }),
  });
  const states = new Map<string, IssuerState>();
  const outcomes: unknown[] = [];
  let origin = '';
  const step: IssuerStep = async (cookie, body) => {
    if (cookie === undefined) throw new Error('no cookie');
    if (body === null) {
      const { state, request } = await issuer.start(configFor(origin));
      states.set(cookie, state);
      return { message: encodeMessage(request) };
    }
    const state = states.get(cookie);
    if (state === undefined) throw new Error('unknown session');
    const next = await issuer.accept(state, decodeMessage(body));
    states.set(cookie, next.state);
    if (next.outcome !== undefined) {
      outcomes.push(next.outcome);
      return { redirect: `${origin}/done` };
    }
    return { message: encodeMessage(next.request) };
  };
  const server = await startIssuerServer(tls === undefined ? { step } : { step, tls });
  running.push(server);
  origin = server.origin;
  return { server, outcomes };
}

describe('client ↔ issuer over HTTP', () => {
  const config = (origin: string): IssuerConfig => ({
    issuerUri: `${origin}/kg2`,
    pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ keyAlgorithm: P256, appUsage: 'authentication' }] }],
    keys: [{ keyAlgorithm: RSA2048, appUsage: 'signature' }],
  });

  it('enrolls over plain http (serverCertificate empty on both sides)', async () => {
    const { server, outcomes } = await liveIssuer(config);
    const sks = device();
    const summary = await runEnrollment({
      sks,
      ui: ui('1357'),
      transport: createHttpTransport(),
      invocationUrl: buildInvocationUrl({ initUrl: `${server.origin}/kg2?init=true`, transactionUrl: `${server.origin}/kg2`, cookie: 'JSESSIONID=live-1' }),
    });
    expect(outcomes).toHaveLength(1);
    expect(summary.redirectUrl).toBe(`${server.origin}/done`);
    expect(summary.keys.map((k) => [k.keyAlgorithm, k.appUsage, k.certificateSubject])).toEqual([
      [P256, 'authentication', expect.stringMatching(/^CN=Live /)],
      [RSA2048, 'signature', expect.stringMatching(/^CN=Live /)],
    ]);
    for (const installedKey of summary.keys) {
      const stored = (await sks.getKeyAttributes(installedKey.keyHandle)).certificatePath[0];
      expect(Buffer.from(stored).equals(Buffer.from(installedKey.certificatePath[0]))).toBe(true);
    }
    expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
  });

  it('enrolls over https with the serverCertificate taken from the TLS connection', async () => {
    const tls = tlsMaterial();
    const der = new X509Certificate(tls.cert).raw;
    const { server, outcomes } = await liveIssuer((origin) => ({ ...config(origin), serverCertificate: der.toString('base64url') }), tls);
    const sks = device();
    const summary = await runEnrollment({
      sks,
      ui: ui('1357'),
      transport: createHttpTransport({ tls: { ca: tls.cert, rejectUnauthorized: false } }),
      invocationUrl: buildInvocationUrl({ initUrl: `${server.origin}/kg2?init=true`, transactionUrl: `${server.origin}/kg2`, cookie: 'JSESSIONID=live-2' }),
    });
    expect(outcomes).toHaveLength(1);
    expect(summary.keys).toHaveLength(2);
  });

  it('fails-attestation-when-the-issuer-attests-another-server-certificate: the client aborts', async () => {
    const tls = tlsMaterial();
    const other = Buffer.from(randomBytes(64)).toString('base64url');
    const { server, outcomes } = await liveIssuer((origin) => ({ ...config(origin), serverCertificate: other }), tls);
    const sks = device();
    const errorValue = await runEnrollment({
      sks,
      ui: ui('1357'),
      transport: createHttpTransport({ tls: { rejectUnauthorized: false } }),
      invocationUrl: buildInvocationUrl({ initUrl: `${server.origin}/kg2?init=true`, transactionUrl: `${server.origin}/kg2`, cookie: 'JSESSIONID=live-3' }),
    }).catch((x: unknown) => x);
    // The issuer refuses the session attestation and redirects to its error page; the client aborts.
    expect((errorValue as { code?: string }).code).toBe('TRANSPORT');
    expect(outcomes).toHaveLength(0);
    expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
    expect(await sks.enumerateKeys(0)).toBeUndefined();
  });
});
