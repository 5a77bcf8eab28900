/**
 * Our client and our SKS against our issuer (src/keygen2/server) through the
 * HTTP binding on 127.0.0.1, over plain HTTP and over TLS: fresh sessions, no
 * recorded values. Over TLS the issuer attests with the certificate it serves
 * and the client takes it from the connection, so the session attestation
 * only verifies if both sides used the same bytes (spec §2.3).
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import type { EnrollmentUi } from '../../../src/keygen2/client/ports.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import type { IssuerConfig } from '../../../src/keygen2/server/index.js';
import { createMemoryKeyStore, openSecureKeyStore, type SecureKeyStore } from '../../../src/sks/index.js';
import { parsePkcs8 } from '../../../src/sks/session-crypto.js';
import { startHttpIssuer, type HttpIssuer } from '../../support/http-issuer.js';
import { selfSignedCertificate } from '../../support/self-signed.js';
import { loadRecording, sessionFiles } from '../client/support/replay-harness.js';

const doc = loadRecording(sessionFiles()[0]);
const da = doc.get('test_keys').get('device_attestation');
const deviceRoot = da.get('issuer_ca_certificate_der_hex').hex();
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const RSA2048 = 'https://webpki.github.io/sks/algorithm#rsa2048';

const running: HttpIssuer[] = [];
afterEach(async () => {
  for (const issuer of running.splice(0)) await issuer.close();
});

const tlsDir = mkdtempSync(join(tmpdir(), 'kg2-live-'));
afterAll(() => rmSync(tlsDir, { recursive: true, force: true }));

function device(): SecureKeyStore {
  return openSecureKeyStore({
    store: createMemoryKeyStore(),
    device: { privateKey: parsePkcs8(da.get('pkcs8_hex').hex()), certificatePath: [da.get('certificate_der_hex').hex()] },
  });
}

const ui = (pin: string): EnrollmentUi => ({ consent: () => Promise.resolve(true), enterPin: () => Promise.resolve(pin) });

/**
 * Our issuer behind the request handler (test/support/http-issuer.ts): one issuer state per
 * cookie, certificates `CN=Live <key id>`. With `tls` it serves https and attests `leafDer`.
 */
async function liveIssuer(tls?: { cert: Buffer; key: Buffer; leafDer: Uint8Array }): Promise<HttpIssuer> {
  const issuer = await startHttpIssuer({
    deviceRoots: [deviceRoot],
    commonNamePrefix: 'Live',
    config: (issuerUri): IssuerConfig => ({
      issuerUri,
      pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ keyAlgorithm: P256, appUsage: 'authentication' }] }],
      keys: [{ keyAlgorithm: RSA2048, appUsage: 'signature' }],
    }),
    ...(tls === undefined ? {} : { tls }),
  });
  running.push(issuer);
  return issuer;
}

describe('client ↔ issuer over HTTP', () => {
  it('enrolls over plain http (serverCertificate empty on both sides)', async () => {
    const issuer = await liveIssuer();
    const sks = device();
    const summary = await runEnrollment({
      sks,
      ui: ui('1357'),
      transport: createHttpTransport(),
      invocationUrl: issuer.invocationUrl('JSESSIONID=live-1'),
    });
    expect(issuer.outcomes).toHaveLength(1);
    expect(summary.redirectUrl).toBe(`${issuer.origin}/done`);
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
    const tls = selfSignedCertificate(tlsDir);
    const issuer = await liveIssuer({ ...tls, leafDer: new X509Certificate(tls.cert).raw });
    const sks = device();
    const summary = await runEnrollment({
      sks,
      ui: ui('1357'),
      transport: createHttpTransport({ tls: { ca: tls.cert, rejectUnauthorized: false } }),
      invocationUrl: issuer.invocationUrl('JSESSIONID=live-2'),
    });
    expect(issuer.outcomes).toHaveLength(1);
    expect(summary.keys).toHaveLength(2);
  });

  it('fails-attestation-when-the-issuer-attests-another-server-certificate: the client aborts', async () => {
    const tls = selfSignedCertificate(tlsDir);
    const issuer = await liveIssuer({ ...tls, leafDer: randomBytes(64) });
    const sks = device();
    const errorValue = await runEnrollment({
      sks,
      ui: ui('1357'),
      transport: createHttpTransport({ tls: { rejectUnauthorized: false } }),
      invocationUrl: issuer.invocationUrl('JSESSIONID=live-3'),
    }).catch((x: unknown) => x);
    // The issuer refuses the session attestation and redirects to its error page; the client aborts.
    expect((errorValue as { code?: string }).code).toBe('TRANSPORT');
    expect(issuer.outcomes).toHaveLength(0);
    expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
    expect(await sks.enumerateKeys(0)).toBeUndefined();
  });
});
