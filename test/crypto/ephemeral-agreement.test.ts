/**
 * createProvisioningSession's raw-ECDH path (canonical named-curve uncompressed server keys, with
 * systemEntropy) against the KeyObject path (any other form): the same refusals at the same step,
 * and the same session secret, checked by the session attestation an issuer can verify.
 */
import { createECDH, createPublicKey } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_SESSION_ATTEST_1 } from '../../src/sks/algorithms.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { IssuerSession } from '../support/issuer-emulator.js';
import { expectSksError, testDevice } from '../support/fixtures.js';

const P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

async function sks() {
  const device = await testDevice();
  return openSecureKeyStore({ store: createMemoryKeyStore(), device });
}

const args = (serverEphemeralKey: Uint8Array) => ({
  sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
  privacyEnabled: false,
  serverSessionId: 'S-1',
  serverEphemeralKey,
  issuerUri: 'http://issuer.example.com/provsess',
  clientTime: Math.floor(Date.now() / 1000),
  sessionLifeTime: 10000,
  sessionKeyLimit: 50,
  serverCertificate: Buffer.of(1, 2, 3),
});

describe('createProvisioningSession ephemeral agreement', () => {
  it('rejects-a-canonical-server-key-off-the-curve as ERROR_CRYPTO', async () => {
    const secureKeyStore = await sks();
    const point = createECDH('prime256v1');
    point.generateKeys();
    const bad = Buffer.concat([P256_PREFIX, point.getPublicKey()]);
    bad[bad.length - 1] ^= 1; // y no longer matches x
    await expectSksError(secureKeyStore.createProvisioningSession(args(bad)), 'CRYPTO', /not a valid SubjectPublicKeyInfo/);
  });
  it('refuses-a-later-bad-argument-after-agreeing (serverSessionId syntax), as the KeyObject path does', async () => {
    const secureKeyStore = await sks();
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await expectSksError(
      secureKeyStore.createProvisioningSession({ ...args(pair.publicKey.export({ type: 'spki', format: 'der' })), serverSessionId: 'S 1' }),
      'OPTION',
    );
  });
  it('agrees-over-raw-ecdh-on-a-canonical-key (the session attestation verifies)', async () => {
    const secureKeyStore = await sks();
    // IssuerSession.open verifies the device's session attestation over the SKS's session key.
    const session = await IssuerSession.open(secureKeyStore, { serverEphemeralKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) });
    expect(session.clientEphemeralKey.length).toBe(91);
  });
  it('accepts-a-compressed-server-key through the KeyObject path', async () => {
    const secureKeyStore = await sks();
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = Buffer.concat([
      Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
      ecdhOf(pair.privateKey).getPublicKey(null, 'compressed'),
    ]);
    expect(createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ec');
    const session = await secureKeyStore.createProvisioningSession(args(spki));
    expect(session.clientEphemeralKey.length).toBe(91);
  });
});

function ecdhOf(privateKey: import('node:crypto').KeyObject) {
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url'));
  return ecdh;
}
