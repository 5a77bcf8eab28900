/**
 * Fresh (unrecorded) sessions against a minimal node:crypto device: default ids and limits,
 * E2ES and privacy mode, and a throughput figure for the issuer side
 * beside the raw node:crypto work one session needs (printed, not asserted: shared machines).
 */
import { createECDH, createHmac, createPrivateKey, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createIssuer, DeviceTrust, NodeIssuerCrypto, type IssuerConfig, type IssuerState } from '../../../src/keygen2/server/index.js';
import type { KeyGen2Message } from '../../../src/keygen2/messages/index.js';
import { MiniDevice } from './mini-device.js';
import { recordingFiles } from './recording.js';

const doc = JSON.parse(readFileSync(recordingFiles()[0], 'utf8')) as {
  test_keys: { device_attestation: { pkcs8_hex: string; certificate_der_hex: string; issuer_ca_certificate_der_hex: string } };
};
const deviceKey = createPrivateKey({ key: Buffer.from(doc.test_keys.device_attestation.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' });
const deviceCert = Buffer.from(doc.test_keys.device_attestation.certificate_der_hex, 'hex');
const deviceRoot = Buffer.from(doc.test_keys.device_attestation.issuer_ca_certificate_der_hex, 'hex');

const ISSUER_URI = 'http://127.0.0.1:8080/keygen2';
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
/** A stand-in "certificate": the issuer only checks that the end-entity DER carries the key. */
const fakeCertificate = (spki: Uint8Array): Uint8Array => Buffer.concat([Buffer.of(0x30, 0x82, 0, 0), spki]);

const oneKey: IssuerConfig = {
  issuerUri: ISSUER_URI,
  pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ keyAlgorithm: P256, appUsage: 'authentication' }] }],
};

function setup() {
  const crypto = new NodeIssuerCrypto({ sealingKey: randomBytes(32) });
  const issuer = createIssuer({
    crypto,
    deviceTrust: new DeviceTrust([deviceRoot]),
    certify: (k) => ({ certificatePath: [fakeCertificate(k.publicKey)] }),
  });
  return issuer;
}

async function run(issuer: ReturnType<typeof setup>, config: IssuerConfig, device: MiniDevice, persist = true) {
  let { state, request }: { state: IssuerState; request: KeyGen2Message | undefined } = await issuer.start(config);
  for (;;) {
    const response = device.answer(request);
    if (persist) state = JSON.parse(JSON.stringify(state)) as IssuerState;
    const step = await issuer.accept(state, response);
    state = step.state;
    if (step.outcome !== undefined) return { state, outcome: step.outcome };
    request = step.request;
  }
}

describe('fresh sessions', () => {
  it('runs-an-e2es-session-with-default-ids-and-limits', async () => {
    const { state, outcome } = await run(
      setup(),
      oneKey,
      new MiniDevice({ issuerUri: ISSUER_URI, device: { privateKey: deviceKey, certificatePath: [deviceCert] } }),
    );
    expect(state.phase).toBe('done');
    expect(state.serverSessionId).toMatch(/^[0-9a-f]+[A-Za-z0-9_-]+$/);
    expect(state.serverSessionId).toHaveLength(32);
    expect(outcome.keys).toHaveLength(1);
    expect(outcome.deviceCertificatePath).toEqual([deviceCert.toString('base64url')]);
  });

  it('runs-a-privacy-session', async () => {
    const { outcome } = await run(setup(), { ...oneKey, privacyEnabled: true }, new MiniDevice({ issuerUri: ISSUER_URI }));
    expect(outcome.deviceCertificatePath).toBeUndefined();
  });

  it('refuses-privacy-mode-when-the-issuer-does-not-allow-it', async () => {
    const issuer = createIssuer({
      crypto: new NodeIssuerCrypto(),
      deviceTrust: new DeviceTrust([deviceRoot]),
      certify: (k) => ({ certificatePath: [fakeCertificate(k.publicKey)] }),
      allowPrivacyMode: false,
    });
    await expect(issuer.start({ ...oneKey, privacyEnabled: true })).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('expires-a-session-after-its-life-time-and-checks-client-time-when-asked', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const make = (tolerance?: number) =>
      createIssuer({
        crypto: new NodeIssuerCrypto(),
        deviceTrust: new DeviceTrust([deviceRoot]),
        certify: (k) => ({ certificatePath: [fakeCertificate(k.publicKey)] }),
        clock: () => now,
        ...(tolerance === undefined ? {} : { clientTimeToleranceSeconds: tolerance }),
      });
    const dev = () => new MiniDevice({ issuerUri: ISSUER_URI, device: { privateKey: deviceKey, certificatePath: [deviceCert] }, clientTime: now / 1000 - 600 });
    const issuer = make();
    const { state, request } = await issuer.start({ ...oneKey, sessionLifeTime: 60 });
    now += 61_000;
    await expect(issuer.accept(state, dev().answer(request))).rejects.toMatchObject({ code: 'SESSION' });
    now = Date.parse('2030-01-01T00:00:00Z');
    const strict = make(300);
    const s0 = await strict.start(oneKey);
    const miniDevice = dev();
    const s1 = await strict.accept(s0.state, miniDevice.answer(s0.request));
    await expect(strict.accept(s1.state, miniDevice.answer(s1.request as KeyGen2Message))).rejects.toMatchObject({ code: 'PROTOCOL', path: '$.clientTime' });
  });

  it('refuses-an-i-p-f-configuration', async () => {
    await expect(setup().start({ issuerUri: ISSUER_URI })).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('runs-an-i-p-c-f-management-session', async () => {
    const kmk = createPrivateKey({ key: Buffer.from(doc.test_keys.device_attestation.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' });
    const issuer = createIssuer({
      crypto: new NodeIssuerCrypto({ keyManagementKeys: { kmk } }),
      deviceTrust: new DeviceTrust([deviceRoot]),
      certify: () => {
        throw new Error('no keys in this session');
      },
    });
    const { outcome } = await run(
      issuer,
      { issuerUri: ISSUER_URI, lookups: [{ kmk: 'kmk' }] },
      new MiniDevice({ issuerUri: ISSUER_URI, device: { privateKey: deviceKey, certificatePath: [deviceCert] } }),
    );
    expect(outcome.keys).toEqual([]);
  });

  it('prints-issuer-throughput-beside-the-raw-work', async () => {
    const count = Number(process.env['ISSUER_BENCH_SESSIONS'] ?? 300);
    const issuer = setup();
    const device = new MiniDevice({ issuerUri: ISSUER_URI, device: { privateKey: deviceKey, certificatePath: [deviceCert] } });
    for (let i = 0; i < 50; i++) await run(issuer, oneKey, device); // warm-up; the device path is verified once and cached
    // Raw work the issuer needs per session: ephemeral key, ECDH, the device signature check and
    // seven HMACs (PIN MAC, key MAC, key attestation, setCertificatePath, close MAC, close
    // attestation, KDF). Timed interleaved with the sessions so machine load hits both alike.
    const bytes = Buffer.alloc(600, 1);
    const deviceSig = sign('sha256', bytes, deviceKey);
    let issuerMs = 0;
    let rawMs = 0;
    for (let i = 0; i < count; i++) {
      let time = performance.now();
      let { state, request }: { state: IssuerState; request: KeyGen2Message | undefined } = await issuer.start(oneKey);
      issuerMs += performance.now() - time;
      for (;;) {
        const response = device.answer(request);
        time = performance.now();
        const step = await issuer.accept(JSON.parse(JSON.stringify(state)) as IssuerState, response);
        issuerMs += performance.now() - time;
        state = step.state;
        if (step.outcome !== undefined) break;
        request = step.request;
      }
      const peer = createECDH('prime256v1').generateKeys();
      time = performance.now();
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const nonSharedBuffer = ecdh.computeSecret(peer);
      verify('sha256', bytes, deviceKey, deviceSig);
      for (let j = 0; j < 7; j++) createHmac('sha256', nonSharedBuffer).update(bytes).digest();
      rawMs += performance.now() - time;
    }
    console.log(
      `issuer: ${(issuerMs / count).toFixed(3)} ms/session (state JSON round trip included), raw node:crypto ${(rawMs / count).toFixed(3)} ms/session, ratio ${(issuerMs / rawMs).toFixed(2)}`,
    );
    expect(issuerMs).toBeGreaterThan(0);
  }, 60_000);
});
