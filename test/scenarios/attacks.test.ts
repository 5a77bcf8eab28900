/**
 * A man in the middle of a provisioning session (spec §5): replays, tampered
 * fields, reordering, and brute force. Each attempt must end in a clear error
 * with nothing committed (ARCHITECTURE "Testing: attacks").
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NO_PIN_POLICY, NO_PUK_POLICY } from '../../src/sks/api.js';
import { MacMethod, PassphraseFormat } from '../../src/sks/constants.js';
import { MacData } from '../../src/sks/crypto/mac-data.js';
import { encryptionKey, methodMac } from '../../src/sks/crypto/primitives.js';
import { describeStores, expectSksError, testKmks } from '../support/fixtures.js';

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const EC_P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const KEY_1 = 'https://webpki.github.io/sks/algorithm#key.1';

describeStores('attacks on provisioning', (ctx) => {
  const nothingCommitted = async (): Promise<void> => {
    expect(await ctx.sks.enumerateKeys(0)).toBeUndefined();
    expect(await ctx.sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
    expect(await ctx.sks.enumerateProvisioningSessions(0, false)).toBeUndefined();
  };

  it('refuses a MAC replayed from another session (the session keys differ) and tears the session down', async () => {
    const first = await ctx.issuer();
    const policy = {
      userDefined: true,
      userModifiable: false,
      format: PassphraseFormat.NUMERIC,
      retryLimit: 3,
      grouping: 0,
      patternRestrictions: 0,
      minLength: 4,
      maxLength: 8,
      inputMethod: 0,
    };
    const policyData = MacData.createPinPolicy('PIN', '', policy);
    const recorded = first.macFor(MacMethod.CREATE_PIN_POLICY, policyData);
    await first.abort();
    const second = await ctx.issuer();
    await expectSksError(
      ctx.sks.createPinPolicy({
        provisioningHandle: second.provisioningHandle,
        id: 'PIN',
        pukPolicyHandle: NO_PUK_POLICY,
        ...policy,
        mac: recorded,
      }),
      'MAC',
      'MAC error',
    );
    await expectSksError(second.closeSession(), 'NO_SESSION');
    await nothingCommitted();
  });

  it('refuses a MAC replayed within the same session (the sequence counter moved on)', async () => {
    const issuerSession = await ctx.issuer();
    const pin = await issuerSession.createPinPolicy({ id: 'PIN' });
    const key = await issuerSession.provisionKey({ pinPolicy: pin, userPin: '1357' });
    // Replay the exact setCertificatePath call the issuer made: same data, same MAC (its sequence number was the last one used).
    const path = key.certificatePath!;
    const original = methodMac(
      issuerSession.sessionKey,
      MacMethod.SET_CERTIFICATE_PATH,
      issuerSession.macSequence - 1,
      MacData.setCertificatePath(key.generatedSpki, key.id, path),
    );
    await expectSksError(ctx.sks.setCertificatePath(key.keyHandle, path, original), 'MAC', 'MAC error');
    await nothingCommitted();
  });

  it('detects a changed field under an intact MAC (protection weakened by the middle man)', async () => {
    const issuerSession = await ctx.issuer();
    const data = MacData.createKeyEntry({
      id: 'Key.1',
      keyEntryAlgorithm: KEY_1,
      serverSeed: undefined,
      pinPolicyId: '',
      encryptedPin: undefined,
      devicePinProtection: false,
      enablePinCaching: false,
      biometricProtection: 0,
      exportProtection: 3,
      deleteProtection: 0,
      appUsage: 1,
      friendlyName: undefined,
      keyAlgorithm: EC_P256,
      keyParameters: undefined,
      endorsedAlgorithms: [],
    });
    const mac = issuerSession.macFor(MacMethod.CREATE_KEY_ENTRY, data);
    // The issuer said non-exportable (3); the attacker sends exportable (0).
    await expectSksError(
      ctx.sks.createKeyEntry({
        provisioningHandle: issuerSession.provisioningHandle,
        id: 'Key.1',
        keyEntryAlgorithm: KEY_1,
        devicePinProtection: false,
        pinPolicyHandle: NO_PIN_POLICY,
        enablePinCaching: false,
        biometricProtection: 0,
        exportProtection: 0,
        deleteProtection: 0,
        appUsage: 1,
        keyAlgorithm: EC_P256,
        endorsedAlgorithms: [],
        mac,
      }),
      'MAC',
      'MAC error',
    );
    await nothingCommitted();
  });

  it('refuses a substituted certificate and a tampered close nonce', async () => {
    const issuerSession = await ctx.issuer();
    const key = await issuerSession.createKeyEntry();
    const path = [await ctx.ca.issue(key.generatedPublicKey, { commonName: 'honest' })];
    const mac = issuerSession.macFor(MacMethod.SET_CERTIFICATE_PATH, MacData.setCertificatePath(key.generatedSpki, key.id, path));
    const forged = [await ctx.ca.issue(key.generatedPublicKey, { commonName: 'forged' })];
    await expectSksError(ctx.sks.setCertificatePath(key.keyHandle, forged, mac), 'MAC', 'MAC error');
    await nothingCommitted();

    const item = await ctx.issuer();
    await item.provisionKey();
    const nonce = randomBytes(16);
    const closeMac = item.macFor(
      MacMethod.CLOSE_PROVISIONING_SESSION,
      MacData.closeProvisioningSession(item.clientSessionId, item.serverSessionId, item.issuerUri, nonce),
    );
    nonce.writeUInt8(nonce.readUInt8(0) ^ 1, 0);
    await expectSksError(ctx.sks.closeProvisioningSession(item.provisioningHandle, nonce, closeMac), 'MAC', 'MAC error');
    await nothingCommitted();
  });

  it('refuses reordered calls: a MAC computed for a later step does not verify now', async () => {
    const issuerSession = await ctx.issuer();
    const key = await issuerSession.createKeyEntry();
    // The issuer computes MACs for the certificate (q) and the close (q+1), the attacker swaps them.
    const path = [await ctx.ca.issue(key.generatedPublicKey)];
    issuerSession.macFor(MacMethod.SET_CERTIFICATE_PATH, MacData.setCertificatePath(key.generatedSpki, key.id, path));
    const nonce = randomBytes(16);
    const closeMac = issuerSession.macFor(
      MacMethod.CLOSE_PROVISIONING_SESSION,
      MacData.closeProvisioningSession(issuerSession.clientSessionId, issuerSession.serverSessionId, issuerSession.issuerUri, nonce),
    );
    await expectSksError(ctx.sks.closeProvisioningSession(issuerSession.provisioningHandle, nonce, closeMac), 'MAC', 'MAC error');
    await nothingCommitted();
  });

  it('refuses a truncated or over-long MAC the same way as a wrong one', async () => {
    for (const length of [0, 31, 33, 64]) {
      const issuerSession = await ctx.issuer();
      await expectSksError(ctx.sks.closeProvisioningSession(issuerSession.provisioningHandle, randomBytes(16), randomBytes(length)), 'MAC', 'MAC error');
    }
    await nothingCommitted();
  });

  it('refuses garbage in place of issuer-encrypted data with ERROR_CRYPTO', async () => {
    // Random bytes decrypt to valid padding about once in 256 tries (and then fail the PUK's syntax
    // instead), so the 48-byte case is built to fail: a last block whose final byte, 0x00, is never padding.
    const badPadding = (sessionKey: Uint8Array): Buffer => {
      const iv = randomBytes(16);
      const cipher = createCipheriv('aes-256-cbc', encryptionKey(sessionKey), iv).setAutoPadding(false);
      return Buffer.concat([iv, cipher.update(Buffer.concat([randomBytes(31), Buffer.of(0)])), cipher.final()]);
    };
    for (const garbage of [() => new Uint8Array(0), () => randomBytes(15), () => randomBytes(16), badPadding]) {
      const issuerSession = await ctx.issuer();
      const encryptedPuk = garbage(issuerSession.sessionKey);
      await expectSksError(
        ctx.sks.createPukPolicy({
          provisioningHandle: issuerSession.provisioningHandle,
          id: 'PUK',
          encryptedPuk,
          format: 0,
          retryLimit: 3,
          mac: randomBytes(32),
        }),
        'CRYPTO',
      );
    }
    await nothingCommitted();
  });

  it("refuses a post-operation authorized by another issuer's key management key", async () => {
    const [kmk0, kmk1] = testKmks();
    const owner = await ctx.issuer({ kmk: kmk0 });
    const target = await owner.provisionKey();
    await owner.closeSession();
    const intruder = await ctx.issuer({ kmk: kmk1 });
    await expectSksError(
      intruder.postDeleteKey(target.keyHandle, { kmk: kmk1 }),
      'OPTION',
      `"authorization" signature did not verify for key #${target.keyHandle}`,
    );
    expect((await ctx.sks.enumerateKeys(0))?.keyHandle).toBe(target.keyHandle);
  });
});

describe('PIN brute force', () => {
  describeStores('lockout', (ctx) => {
    it('locks after retryLimit wrong PINs and then refuses even the right one, without trying it', async () => {
      const issuerSession = await ctx.issuer();
      const pin = await issuerSession.createPinPolicy({ id: 'PIN', retryLimit: 5 });
      const key = await issuerSession.provisionKey({ pinPolicy: pin, userPin: '7391' });
      await issuerSession.closeSession();
      const sign = (p: string): Promise<Uint8Array> =>
        ctx.sks.signData({ keyHandle: key.keyHandle, algorithm: ECDSA_SHA256, authorization: Buffer.from(p), data: Buffer.from('x') });
      for (let guess = 0; guess < 5; guess++) await expectSksError(sign(String(1000 + guess)), 'AUTHORIZATION');
      await expectSksError(sign('7391'), 'AUTHORIZATION', `"authorization" error for key #${key.keyHandle}`);
      expect((await ctx.sks.getKeyProtectionInfo(key.keyHandle)).pinErrorCount).toBe(5);
      // The lock survives a restart.
      const reopened = await ctx.reopen();
      await expectSksError(
        reopened.signData({ keyHandle: key.keyHandle, algorithm: ECDSA_SHA256, authorization: Buffer.from('7391'), data: Buffer.from('x') }),
        'AUTHORIZATION',
      );
    });
  });
});
