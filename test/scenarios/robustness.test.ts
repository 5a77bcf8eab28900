/**
 * What the spec leaves to the implementation and a serious product must do:
 * session expiry, EC device attestation, hostile argument shapes, and errors
 * that never carry a secret.
 */
import { randomBytes } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { keyHandle, provisioningHandle, type SecureKeyStore } from '../../src/sks/api.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { SksError } from '../../src/sks/errors.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { describeStores, expectSksError, testDevice, TEST_PROFILE } from '../support/fixtures.js';
import { IssuerSession } from '../support/issuer-emulator.js';
import { getTestCa } from '../support/test-ca.js';
import { createEnroller } from '../support/keygen2-harness.js';

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';

describe('session lifetime (spec §7.3: a device may clean up sessions past their lifetime)', () => {
  it('drops an open session once sessionLifeTime has passed, leaving no trace', async () => {
    let now = 1_000_000;
    const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device: await testDevice(), profile: TEST_PROFILE, clock: () => now });
    const issuerSession = await IssuerSession.open(sks, { ca: await getTestCa(), sessionLifeTime: 60 });
    await issuerSession.provisionKey();
    now += 59_000;
    expect((await sks.enumerateProvisioningSessions(0, true))?.provisioningHandle).toBe(issuerSession.provisioningHandle);
    now += 1_000;
    await expectSksError(issuerSession.closeSession(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
    expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
    expect(await sks.enumerateKeys(0)).toBeUndefined();
  });

  it('lets a session that closes within its lifetime commit', async () => {
    let now = 5_000;
    const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device: await testDevice(), profile: TEST_PROFILE, clock: () => now });
    const issuerSession = await IssuerSession.open(sks, { ca: await getTestCa(), sessionLifeTime: 10 });
    const key = await issuerSession.provisionKey();
    now += 9_999;
    await issuerSession.closeSession();
    now += 1_000_000; // a closed session never expires
    expect((await sks.enumerateKeys(0))?.keyHandle).toBe(key.keyHandle);
  });
});

describe('device attestation with EC device keys (spec §5.3: raw R||S ECDSA-SHA256)', () => {
  for (const [curve, nodeName] of [
    ['P-256', 'prime256v1'],
    ['P-384', 'secp384r1'],
    ['P-521', 'secp521r1'],
  ] as const) {
    it(`produces a session attestation the issuer verifies with a ${curve} device key`, async () => {
      const ca = await getTestCa();
      const pair = generateKeyPairSync('ec', { namedCurve: nodeName });
      const device = { privateKey: pair.privateKey, certificatePath: [await ca.issue(pair.publicKey, { commonName: 'EC device' })] };
      const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device });
      // The real issuer verifies the session attestation with the device key and refuses the session otherwise.
      const { enroll, issuerUri } = await createEnroller({ sks, deviceRoots: [ca.certificate] });
      const { wire, outcome } = await enroll({
        config: { issuerUri, keys: [{ keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256', appUsage: 'authentication' }] },
      });
      const response = wire.map((w) => JSON.parse(w.text) as Record<string, unknown>).find((m) => m['@qualifier'] === 'ProvisioningInitializationResponse');
      const coordinate = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }[curve];
      expect(Buffer.from(response?.['attestation'] as string, 'base64url').length).toBe(2 * coordinate);
      expect(outcome.keys).toHaveLength(1);
    });
  }
});

describeStores('hostile arguments', (ctx) => {
  it('rejects arguments of the wrong JavaScript type with ERROR_OPTION naming the field', async () => {
    const sks = ctx.sks as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const issuerSession = await ctx.issuer();
    const e1 = await expectSksError(sks['createPinPolicy']({ provisioningHandle: issuerSession.provisioningHandle, id: 'PIN', mac: 'not bytes' }), 'OPTION');
    expect(e1.field).toBeDefined();
    ctx.allowOpenSessions();
    const e2 = await expectSksError(sks['signData']({ keyHandle: 1.5, algorithm: ECDSA_SHA256, data: Buffer.alloc(1) }), 'OPTION');
    expect(e2.field).toBe('keyHandle');
    const e3 = await expectSksError(sks['createProvisioningSession']({ sessionKeyAlgorithm: 'x', privacyEnabled: false, issuerUri: 42 }), 'OPTION');
    expect(e3.field).toBe('serverSessionId');
    await expectSksError(sks['enumerateKeys'](-1), 'OPTION');
    await expectSksError(sks['createProvisioningSession'](null), 'OPTION');
  });

  it('answers unknown handles with NO_KEY / NO_SESSION and changes nothing', async () => {
    await expectSksError(ctx.sks.signData({ keyHandle: keyHandle(999), algorithm: ECDSA_SHA256, data: Buffer.alloc(1) }), 'NO_KEY', 'Key not found #999');
    await expectSksError(ctx.sks.closeProvisioningSession(provisioningHandle(999), Buffer.alloc(16), Buffer.alloc(32)), 'NO_SESSION');
    await expectSksError(ctx.sks.abortProvisioningSession(provisioningHandle(0)), 'NO_SESSION');
  });

  it('refuses calls after close() with NOT_AVAILABLE', async () => {
    const sks: SecureKeyStore = openSecureKeyStore({ store: createMemoryKeyStore(), device: ctx.device });
    await sks.close();
    await expectSksError(sks.getDeviceInfo(), 'NOT_AVAILABLE');
  });
});

/** Every text form an error can take on its way to a log. */
const renderings = (e: SksError): string => [e.message, String(e), JSON.stringify(e), inspect(e, { depth: 5 }), e.stack ?? ''].join('\n');

function expectNoSecret(errorValue: SksError, secrets: readonly Uint8Array[]): void {
  const text = renderings(errorValue);
  for (const secret of secrets) {
    const bytes = Buffer.from(secret);
    for (const form of [bytes.toString('utf8'), bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]) {
      if (form.length >= 4) expect(text.includes(form), `error text contains a secret (${form.slice(0, 2)}…)`).toBe(false);
    }
  }
}

describeStores('no secret in any error', (ctx) => {
  it('keeps PINs, PUKs, keys and MACs out of every error text', async () => {
    const pin = Buffer.from('7391');
    const puk = Buffer.from('918273645');
    const secret = randomBytes(32);
    const issuerSession = await ctx.issuer();
    const pukPolicy = await issuerSession.createPukPolicy('PUK.1', puk, 0, 3);
    const pinPolicy = await issuerSession.createPinPolicy({ id: 'PIN.1', pukPolicy, userModifiable: true, patternRestrictions: 0x08 });
    const key = await issuerSession.provisionKey({ pinPolicy, userPin: pin, exportProtection: 1 });
    const sym = await issuerSession.provisionKey({ id: 'Sym' });
    await issuerSession.importSymmetricKey(sym, secret);
    await issuerSession.closeSession();
    const errors: SksError[] = [];
    const collect = async (promise: Promise<unknown>): Promise<void> => {
      try {
        await promise;
      } catch (error) {
        expect(error).toBeInstanceOf(SksError);
        errors.push(error as SksError);
      }
    };
    const wrong = Buffer.from('1928');
    await collect(ctx.sks.signData({ keyHandle: key.keyHandle, algorithm: ECDSA_SHA256, authorization: wrong, data: Buffer.alloc(8) }));
    await collect(ctx.sks.changePin(key.keyHandle, pin, Buffer.from('5555')));
    await collect(ctx.sks.setPin(key.keyHandle, Buffer.from('000000000'), Buffer.from('2468')));
    await collect(ctx.sks.exportKey(key.keyHandle, wrong));
    await collect(
      ctx.sks.symmetricKeyEncrypt({
        keyHandle: sym.keyHandle,
        algorithm: 'https://webpki.github.io/sks/algorithm#aes.cbc',
        mode: false,
        data: Buffer.alloc(16),
      }),
    );
    // A session torn down by a bad MAC and by undecryptable issuer data.
    const s2 = await ctx.issuer();
    s2.corruptNextMac();
    await collect(s2.createPinPolicy({ id: 'X' }));
    const s3 = await ctx.issuer();
    await collect(
      ctx.sks.createPukPolicy({
        provisioningHandle: s3.provisioningHandle,
        id: 'P',
        encryptedPuk: randomBytes(33),
        format: 0,
        retryLimit: 3,
        mac: randomBytes(32),
      }),
    );
    expect(errors.length).toBe(7);
    for (const errorValue of errors)
      expectNoSecret(errorValue, [pin, puk, secret, wrong, Buffer.from('5555'), Buffer.from('000000000'), s2.sessionKey, s3.sessionKey]);
    expect(errors.map((e) => e.code)).toEqual(['AUTHORIZATION', 'OPTION', 'AUTHORIZATION', 'AUTHORIZATION', 'OPTION', 'MAC', 'CRYPTO']);
  });
});

describe('damaged store', () => {
  it('damages (not drops the PIN protection of) a key whose PIN policy is missing, and keeps the store open', async () => {
    const store = createMemoryKeyStore();
    const sks = openSecureKeyStore({ store, device: await testDevice(), profile: TEST_PROFILE });
    const issuerSession = await IssuerSession.open(sks, { ca: await getTestCa() });
    const pin = await issuerSession.createPinPolicy({ id: 'PIN' });
    const key = await issuerSession.provisionKey({ pinPolicy: pin, userPin: '1357' });
    await issuerSession.closeSession();
    store.apply([{ kind: 'deletePinPolicy', handle: pin }]);
    const again = openSecureKeyStore({ store, device: await testDevice() });
    let caught: unknown;
    try {
      await again.signData({ keyHandle: key.keyHandle, algorithm: ECDSA_SHA256, data: Buffer.from('x') });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SksError);
    expect((caught as SksError).code).toBe('STORAGE');
    expect((caught as SksError).message).toBe(`Key #${key.keyHandle} is damaged: its PIN policy ${pin} is missing`);
  });
});
