/**
 * Spec §13.2 scenarios 1-17, 22-25 and 28-30 (openkeystore's KeyGen2Test): one session each,
 * our issuer ↔ our client ↔ our SKS on the SQLite store, every MAC checked by the SKS and every
 * attestation by the issuer; then what each scenario checks, read back through the SKS user API.
 */
import 'reflect-metadata';
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  randomBytes,
  sign as nodeSign,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { generateKeyPairSync } from '../../support/keygen.js';
import * as x509 from '@peculiar/x509';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IssuerState } from '../../../src/keygen2/server/index.js';
import { BiometricProtection, ExportDeleteProtection, InputMethod, PinPattern, ProtectionStatus, PassphraseFormat } from '../../../src/sks/constants.js';
import { parsePropertyBag } from '../../../src/sks/extensions/property-bag.js';
import { DEVICE_PIN, verifySignature } from '../../support/fixtures.js';
import { openHarness, SCENARIO_PIN, type Harness } from '../../support/keygen2-harness.js';
import { ALG, CLIENT_ATTRIBUTE, expectNoOpenSession, FEATURE, handleOf, LOGOTYPE, pinPolicy, rsaKey, SESSION, signsWith, wireMessage } from './common.js';

let harnessValue: Harness;
beforeEach(async () => {
  harnessValue = await openHarness({ store: 'sqlite' });
});
afterEach(async () => {
  await expectNoOpenSession(harnessValue.sks);
  await harnessValue.close();
});

const b64u = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');
const seq = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i + 1));
const supported = (state: IssuerState, type: string): boolean | undefined => {
  const args = state.capabilities?.find((c) => c.type === type);
  return args !== undefined && 'supported' in args ? args.supported : undefined;
};
/** Rewrites every planned key (the issuer's plan after the capabilities are known). */
const reviseKeys = (state: IssuerState, f: (k: IssuerState['plan']['keys'][number]) => IssuerState['plan']['keys'][number]): IssuerState => ({
  ...state,
  plan: {
    ...state.plan,
    keys: state.plan.keys.map(f),
    pinPolicies: state.plan.pinPolicies.map((p) => ({ ...p, keys: p.keys.map(f) })),
  },
});
const PROPERTY_BAG = {
  type: 'http://host/prop',
  properties: [
    { name: 'main', value: '234' },
    { name: 'a', value: 'fun', writable: true },
  ],
};

describe('KeyGen2 scenarios (spec §13.2), one session, SQLite store', () => {
  it('01 StrongRSAPreferences: negotiates RSA-4096 or RSA-2048 through feature queries', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        capabilityQueries: [
          { type: ALG.RSA4096, kind: 'feature' },
          { type: ALG.RSA2048, kind: 'feature' },
        ],
        keys: [rsaKey()],
      },
      revisePlan: (s) => reviseKeys(s, (k) => ({ ...k, keyAlgorithm: supported(s, ALG.RSA4096) === true ? ALG.RSA4096 : ALG.RSA2048 })),
    });
    const device = await harnessValue.sks.getDeviceInfo();
    const want4096 = device.supportedAlgorithms.includes(ALG.RSA4096);
    expect(supported(enrollResult.state, ALG.RSA4096)).toBe(want4096);
    expect(supported(enrollResult.state, ALG.RSA2048)).toBe(true);
    const bits = want4096 ? 4096 : 2048;
    expect(enrollResult.outcome.keys[0]?.keyAlgorithm).toBe(want4096 ? ALG.RSA4096 : ALG.RSA2048);
    const cert = new X509Certificate((await harnessValue.sks.getKeyAttributes(handleOf(enrollResult, 'Key.1'))).certificatePath[0]);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(bits);
  });

  it('02 RSAExponentPreferences: generates an RSA-2048 key with explicit exponent 3', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        capabilityQueries: [{ type: ALG.RSA2048_EXP, kind: 'feature' }],
        keys: [{ keyAlgorithm: ALG.RSA2048_EXP, keyParameters: 'Aw', appUsage: 'authentication' }],
      },
    });
    expect(supported(enrollResult.state, ALG.RSA2048_EXP)).toBe(true);
    const kc = wireMessage(enrollResult, 'KeyCreationRequest') as { keyEntrySpecifiers: Array<{ keyAlgorithm: string; keyParameters: string }> };
    expect(kc.keyEntrySpecifiers[0]).toMatchObject({ keyAlgorithm: ALG.RSA2048_EXP, keyParameters: 'Aw' });
    const pub = createPublicKey({ key: Buffer.from(enrollResult.outcome.keys[0].publicKey, 'base64url'), format: 'der', type: 'spki' });
    expect(pub.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 3n });
    await signsWith(harnessValue.sks, handleOf(enrollResult, 'Key.1'), ALG.RSA_SHA256);
  });

  it('03 P521Option: runs the session key agreement on P-521', async () => {
    const enrollResult = await harnessValue.enroll({ config: { issuerUri: harnessValue.issuerUri, ...SESSION, ephemeralCurve: 'P-521', keys: [rsaKey()] } });
    const init = wireMessage(enrollResult, 'ProvisioningInitializationRequest') as { serverEphemeralKey: { crv: string; x: string; y: string } };
    const resp = wireMessage(enrollResult, 'ProvisioningInitializationResponse') as { clientEphemeralKey: { crv: string; x: string; y: string } };
    for (const key of [init.serverEphemeralKey, resp.clientEphemeralKey]) {
      expect(key.crv).toBe('P-521');
      expect(Buffer.from(key.x, 'base64url')).toHaveLength(66);
      expect(Buffer.from(key.y, 'base64url')).toHaveLength(66);
    }
    expect(enrollResult.outcome.keys).toHaveLength(1);
  });

  it('04 ClientAttributes: values answers (IMEI, two IP addresses), MAC address not supported, IMEI in the subject', async () => {
    const IMEI = '490154203237518';
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        capabilityQueries: ['imei-number', 'ip-address', 'mac-address'].map((a) => ({ type: `${CLIENT_ATTRIBUTE}${a}`, kind: 'values' as const })),
        keys: [rsaKey()],
      },
      platform: {
        clientAttributes: { [`${CLIENT_ATTRIBUTE}imei-number`]: [IMEI], [`${CLIENT_ATTRIBUTE}ip-address`]: ['192.168.0.202', 'fe80::4465:62dc:5fa5:4766%10'] },
      },
      certify: async (attestedKey) => {
        const imei = attestedKey.capabilities.find((c) => c.type === `${CLIENT_ATTRIBUTE}imei-number`);
        const serial = imei !== undefined && 'values' in imei ? imei.values[0] : undefined;
        return { certificatePath: [await harnessValue.ca.issue(attestedKey.publicKey, { commonName: `KeyGen2 ClientAttributes ${serial ?? 'none'}` })] };
      },
    });
    expect(enrollResult.state.capabilities).toEqual([
      { type: `${CLIENT_ATTRIBUTE}imei-number`, values: [IMEI] },
      { type: `${CLIENT_ATTRIBUTE}ip-address`, values: ['192.168.0.202', 'fe80::4465:62dc:5fa5:4766%10'] },
      { type: `${CLIENT_ATTRIBUTE}mac-address`, supported: false },
    ]);
    expect(enrollResult.summary.keys[0]?.certificateSubject).toContain(IMEI);
  });

  it('05 ImagePreferences: image answers and a card logotype in the MIME type the client asked for', async () => {
    const logo = Buffer.from([1, 2, 3, 4]);
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        capabilityQueries: [
          { type: `${LOGOTYPE}card`, kind: 'image' },
          { type: `${LOGOTYPE}list`, kind: 'image' },
        ],
        pinPolicies: [pinPolicy([rsaKey()])],
      },
      platform: { imagePreferences: { [`${LOGOTYPE}card`]: { mimeType: 'image/png', width: 200, height: 120 } } },
      revisePlan: (issuerState) => {
        const card = issuerState.capabilities?.find((c) => c.type === `${LOGOTYPE}card`);
        if (card === undefined || !('imageAttributes' in card)) throw new Error('no card preference');
        return reviseKeys(issuerState, (k) => ({
          ...k,
          logotypes: [{ type: `${LOGOTYPE}card`, mimeType: card.imageAttributes.mimeType, data: logo.toString('base64url') }],
        }));
      },
    });
    expect(enrollResult.state.capabilities).toEqual([
      { type: `${LOGOTYPE}card`, imageAttributes: { mimeType: 'image/png', width: 200, height: 120 } },
      { type: `${LOGOTYPE}list`, supported: false },
    ]);
    const extensionValue = await harnessValue.sks.getExtension(handleOf(enrollResult, 'Key.1'), `${LOGOTYPE}card`);
    expect(extensionValue.subType).toBe(3);
    expect(extensionValue.qualifier).toBe('image/png');
    expect(Buffer.from(extensionValue.extensionData)).toEqual(logo);
  });

  it('06 PINPatterns: three-in-a-row and sequence restrictions reach the SKS; 015354 passes both checks', async () => {
    const config = {
      issuerUri: harnessValue.issuerUri,
      ...SESSION,
      pinPolicies: [pinPolicy([{ keyAlgorithm: ALG.P256, appUsage: 'authentication' as const }], { patternRestrictions: ['three-in-a-row', 'sequence'] })],
    };
    // A PIN breaking a rule is asked for again; giving up aborts the whole session, committing nothing.
    const failed = await harnessValue.enrollFailing({ config, pins: ['1234'] });
    expect(failed.error).toMatchObject({ code: 'USER_ABORT' });
    expect(failed.prompts.map((p) => p.rejected)).toEqual([undefined, 'sequence']);
    expect(await harnessValue.sks.enumerateKeys(0)).toBeUndefined();
    await expectNoOpenSession(harnessValue.sks);

    const enrollResult = await harnessValue.enroll({ config });
    expect(enrollResult.prompts).toHaveLength(1);
    expect(enrollResult.prompts[0]?.patternRestrictions).toEqual(['three-in-a-row', 'sequence']);
    const handle = handleOf(enrollResult, 'Key.1');
    const info = await harnessValue.sks.getKeyProtectionInfo(handle);
    expect(info.patternRestrictions).toBe(PinPattern.THREE_IN_A_ROW | PinPattern.SEQUENCE);
    await signsWith(harnessValue.sks, handle, ALG.ECDSA_SHA256, SCENARIO_PIN);
  });

  it('07 BiometricSupport: biometric protection "alternative" when supported; signs with the PIN, then biometrically', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        capabilityQueries: [{ type: `${FEATURE}biometric-support`, kind: 'feature' }],
        pinPolicies: [pinPolicy([{ keyAlgorithm: ALG.P256, appUsage: 'authentication' }])],
      },
      revisePlan: (s) => (supported(s, `${FEATURE}biometric-support`) === true ? reviseKeys(s, (k) => ({ ...k, biometricProtection: 'alternative' })) : s),
    });
    const biometric = (await harnessValue.sks.getDeviceInfo()).biometricSupport;
    expect(supported(enrollResult.state, `${FEATURE}biometric-support`)).toBe(biometric);
    expect(biometric, 'the test profile supports biometrics').toBe(true);
    const handle = handleOf(enrollResult, 'Key.1');
    expect((await harnessValue.sks.getKeyProtectionInfo(handle)).biometricProtection).toBe(BiometricProtection.ALTERNATIVE);
    await signsWith(harnessValue.sks, handle, ALG.ECDSA_SHA256, SCENARIO_PIN);
    const data = Buffer.from('biometric');
    const sig = await harnessValue.sks.signData({ keyHandle: handle, algorithm: ALG.ECDSA_SHA256, biometricAuth: true, data });
    const cert = new X509Certificate((await harnessValue.sks.getKeyAttributes(handle)).certificatePath[0]);
    expect(verifySignature(cert.publicKey, ALG.ECDSA_SHA256, data, sig), 'the biometric signature verifies').toBe(true);
  });

  it('08 ServerSeed: a 32-byte server seed in the key MAC; the PIN is not user-modifiable', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [pinPolicy([rsaKey({ serverSeed: randomBytes(32).toString('base64url') })], { userModifiable: false })],
      },
    });
    const kc = wireMessage(enrollResult, 'KeyCreationRequest') as { pinPolicySpecifiers: Array<{ keyEntrySpecifiers: Array<{ serverSeed?: string }> }> };
    expect(Buffer.from(kc.pinPolicySpecifiers[0].keyEntrySpecifiers[0].serverSeed!, 'base64url')).toHaveLength(32);
    const handle = handleOf(enrollResult, 'Key.1');
    expect((await harnessValue.sks.getKeyProtectionInfo(handle)).userModifiable).toBe(false);
    await expect(harnessValue.sks.changePin(handle, Buffer.from(SCENARIO_PIN), Buffer.from('1111'))).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
    await signsWith(harnessValue.sks, handle, ALG.RSA_SHA256, SCENARIO_PIN);
  });

  it.each([
    ['09 MultipleKeys', 'Key.2'],
    ['10 CustomNamedKey', 'MyKeyName'],
  ])('%s: two keys under one PIN policy (grouping none), two prompts, attestations and credentials in order', async (_name, secondId) => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [
          pinPolicy([rsaKey(), { ...(secondId === 'Key.2' ? {} : { id: secondId }), keyAlgorithm: ALG.P256, appUsage: 'signature' }], { grouping: 'none' }),
        ],
      },
    });
    expect(enrollResult.prompts.map((p) => p.keys.map((k) => k.id))).toEqual([['Key.1'], [secondId]]);
    const kcResp = wireMessage(enrollResult, 'KeyCreationResponse') as { generatedKeys: Array<{ id: string }> };
    expect(kcResp.generatedKeys.map((k) => k.id)).toEqual(['Key.1', secondId]);
    const fin = wireMessage(enrollResult, 'ProvisioningFinalizationRequest') as { issuedCredentials: Array<{ id: string }> };
    expect(fin.issuedCredentials.map((c) => c.id)).toEqual(['Key.1', secondId]);
    expect(enrollResult.outcome.keys.map((k) => [k.id, k.keyAlgorithm, k.appUsage])).toEqual([
      ['Key.1', ALG.RSA2048, 'authentication'],
      [secondId, ALG.P256, 'signature'],
    ]);
    const [first, second] = [handleOf(enrollResult, 'Key.1'), handleOf(enrollResult, secondId)];
    const [i1, i2] = [await harnessValue.sks.getKeyProtectionInfo(first), await harnessValue.sks.getKeyProtectionInfo(second)];
    expect(i1).toEqual(i2);
    expect(i1.grouping).toBe(0);
    await signsWith(harnessValue.sks, first, ALG.RSA_SHA256, SCENARIO_PIN);
    await signsWith(harnessValue.sks, second, ALG.ECDSA_SHA256, SCENARIO_PIN);
    // Grouping none: each key has its own PIN entry; a wrong PIN counts against the key used.
    await expect(
      harnessValue.sks.signData({ keyHandle: first, algorithm: ALG.RSA_SHA256, authorization: Buffer.from('9999'), data: Buffer.from('x') }),
    ).rejects.toMatchObject({
      code: 'AUTHORIZATION',
    });
    expect((await harnessValue.sks.getKeyProtectionInfo(first)).pinErrorCount).toBe(1);
  });

  it('11 EncryptedExtension: a property bag and an encrypted extension decrypted by the SKS', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [
          pinPolicy([
            {
              keyAlgorithm: ALG.P256,
              appUsage: 'authentication',
              serverSeed: randomBytes(32).toString('base64url'),
              propertyBags: [PROPERTY_BAG],
              encryptedExtensions: [{ type: 'http://host/ee', data: b64u('0005') }],
            },
          ]),
        ],
      },
    });
    const handle = handleOf(enrollResult, 'Key.1');
    const fin = JSON.stringify(wireMessage(enrollResult, 'ProvisioningFinalizationRequest'));
    expect(fin).toContain('encryptedExtensions');
    const ee = await harnessValue.sks.getExtension(handle, 'http://host/ee');
    expect(ee.subType).toBe(1);
    expect(Buffer.from(ee.extensionData).toString('hex')).toBe('0005');
    const bag = await harnessValue.sks.getExtension(handle, 'http://host/prop');
    expect(bag.subType).toBe(2);
    expect(parsePropertyBag(bag.extensionData)).toEqual([
      { name: 'main', value: '234', writable: false },
      { name: 'a', value: 'fun', writable: true },
    ]);
    expect((await harnessValue.sks.getKeyAttributes(handle)).extensionTypes.slice().sort()).toEqual(['http://host/ee', 'http://host/prop']);
  });

  it('12 StandardExtension: a plain extension (subType 0)', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [
          pinPolicy([
            {
              keyAlgorithm: ALG.P256,
              appUsage: 'authentication',
              serverSeed: randomBytes(32).toString('base64url'),
              extensions: [{ type: 'http://host/ee', data: b64u('0005') }],
            },
          ]),
        ],
      },
    });
    const extensionValue = await harnessValue.sks.getExtension(handleOf(enrollResult, 'Key.1'), 'http://host/ee');
    expect(extensionValue.subType).toBe(0);
    expect(extensionValue.qualifier).toBe('');
    expect(Buffer.from(extensionValue.extensionData).toString('hex')).toBe('0005');
  });

  it('13 InputMethod: a PUK policy holding a programmatic-input PIN policy; the PUK unblocks the key', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pukPolicies: [{ puk: '0123456789', format: 'numeric', retryLimit: 3, pinPolicies: [pinPolicy([rsaKey()], { inputMethod: 'programmatic' })] }],
      },
    });
    const kc = wireMessage(enrollResult, 'KeyCreationRequest') as {
      pukPolicySpecifiers: Array<{ encryptedPuk: string; pinPolicySpecifiers: Array<{ inputMethod: string }> }>;
    };
    expect(kc.pukPolicySpecifiers[0]?.encryptedPuk).toBeDefined();
    expect(JSON.stringify(kc)).not.toContain('0123456789');
    expect(kc.pukPolicySpecifiers[0]?.pinPolicySpecifiers[0]?.inputMethod).toBe('programmatic');
    const handle = handleOf(enrollResult, 'Key.1');
    const info = await harnessValue.sks.getKeyProtectionInfo(handle);
    expect(info).toMatchObject({ inputMethod: InputMethod.PROGRAMMATIC, pukFormat: PassphraseFormat.NUMERIC, pukRetryLimit: 3, pukErrorCount: 0 });
    expect(info.protectionStatus).toBe(ProtectionStatus.PIN_PROTECTED | ProtectionStatus.PUK_PROTECTED);
    for (let i = 0; i < 3; i++) {
      await expect(
        harnessValue.sks.signData({ keyHandle: handle, algorithm: ALG.RSA_SHA256, authorization: Buffer.from('9999'), data: Buffer.from('x') }),
      ).rejects.toMatchObject({ code: 'AUTHORIZATION' });
    }
    expect((await harnessValue.sks.getKeyProtectionInfo(handle)).protectionStatus & ProtectionStatus.PIN_BLOCKED).toBe(ProtectionStatus.PIN_BLOCKED);
    await harnessValue.sks.unlockKey(handle, Buffer.from('0123456789'));
    await signsWith(harnessValue.sks, handle, ALG.RSA_SHA256, SCENARIO_PIN);
  });

  it('14 PropertyBag: an imported HMAC-SHA1 seed; properties read back, one updated and restored; performHmac', async () => {
    const seed = seq(20);
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [pinPolicy([rsaKey({ endorsedAlgorithms: [ALG.HMAC_SHA1], propertyBags: [PROPERTY_BAG] })])],
      },
      certify: async (k) => ({ certificatePath: [await harnessValue.ca.issue(k.publicKey, { commonName: 'OTP Key' })], importSymmetricKey: seed }),
    });
    const handle = handleOf(enrollResult, 'Key.1');
    expect(enrollResult.summary.keys[0]?.imported).toBe('symmetric');
    const attrs = await harnessValue.sks.getKeyAttributes(handle);
    expect(attrs.symmetricKeyLength).toBe(20);
    expect(attrs.endorsedAlgorithms).toEqual([ALG.HMAC_SHA1]);
    const read = async () => parsePropertyBag((await harnessValue.sks.getExtension(handle, PROPERTY_BAG.type)).extensionData);
    expect(await read()).toEqual([
      { name: 'main', value: '234', writable: false },
      { name: 'a', value: 'fun', writable: true },
    ]);
    await harnessValue.sks.setProperty(handle, PROPERTY_BAG.type, 'a', 'dodo');
    expect(await read()).toEqual([
      { name: 'main', value: '234', writable: false },
      { name: 'a', value: 'dodo', writable: true },
    ]);
    await expect(harnessValue.sks.setProperty(handle, PROPERTY_BAG.type, 'main', '235')).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
    await harnessValue.sks.setProperty(handle, PROPERTY_BAG.type, 'a', 'fun');
    expect((await read())[1]?.value).toBe('fun');
    const data = Buffer.from('Success or not?');
    const mac = await harnessValue.sks.performHmac({ keyHandle: handle, algorithm: ALG.HMAC_SHA1, authorization: Buffer.from(SCENARIO_PIN), data });
    expect(Buffer.from(mac)).toEqual(createHmac('sha1', seed).update(data).digest());
  });

  it('15 ImportSymmetricKey: an imported AES-256 key encrypts and decrypts; PIN caching is off by default', async () => {
    const aes = seq(32);
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [pinPolicy([rsaKey({ appUsage: 'encryption', endorsedAlgorithms: [ALG.AES256_CBC] })])],
      },
      certify: async (k) => ({
        certificatePath: [await harnessValue.ca.issue(k.publicKey, { commonName: 'KeyGen2 ImportSymmetricKey' })],
        importSymmetricKey: aes,
      }),
    });
    const handle = handleOf(enrollResult, 'Key.1');
    expect((await harnessValue.sks.getKeyProtectionInfo(handle)).enablePinCaching).toBe(false);
    const plain = Buffer.from('Hello encrypted world!');
    const pin = Buffer.from(SCENARIO_PIN);
    const enc = await harnessValue.sks.symmetricKeyEncrypt({ keyHandle: handle, algorithm: ALG.AES256_CBC, authorization: pin, mode: true, data: plain });
    const dec = await harnessValue.sks.symmetricKeyEncrypt({ keyHandle: handle, algorithm: ALG.AES256_CBC, authorization: pin, mode: false, data: enc });
    expect(Buffer.from(dec)).toEqual(plain);
    // The SKS used the imported key: IV ‖ AES-256-CBC(key, PKCS#7).
    const bytes = Buffer.from(enc);
    const decipher = createDecipheriv('aes-256-cbc', aes, bytes.subarray(0, 16));
    expect(Buffer.concat([decipher.update(bytes.subarray(16)), decipher.final()])).toEqual(plain);
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', aes, iv);
    const ours = Buffer.concat([iv, cipher.update(plain), cipher.final()]);
    expect(
      Buffer.from(await harnessValue.sks.symmetricKeyEncrypt({ keyHandle: handle, algorithm: ALG.AES256_CBC, authorization: pin, mode: false, data: ours })),
    ).toEqual(plain);
  });

  it('16 DevicePIN: device-PIN support is reported; a top-level key protected by the device PIN', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        capabilityQueries: [{ type: `${FEATURE}device-pin-support`, kind: 'feature' }],
        keys: [rsaKey({ devicePinProtection: true })],
      },
    });
    expect(supported(enrollResult.state, `${FEATURE}device-pin-support`)).toBe(true);
    expect(enrollResult.prompts).toEqual([]);
    const handle = handleOf(enrollResult, 'Key.1');
    expect((await harnessValue.sks.getKeyProtectionInfo(handle)).protectionStatus).toBe(ProtectionStatus.DEVICE_PIN);
    await signsWith(harnessValue.sks, handle, ALG.RSA_SHA256, DEVICE_PIN.toString('ascii'));
    await expect(
      harnessValue.sks.signData({ keyHandle: handle, algorithm: ALG.RSA_SHA256, authorization: Buffer.from('4321'), data: Buffer.from('x') }),
    ).rejects.toMatchObject({
      code: 'AUTHORIZATION',
    });
  });

  it('16 DevicePIN (unsupported): a device without device PIN answers false', async () => {
    const other = await openHarness({ store: 'sqlite', profile: { devicePinSupport: false } });
    try {
      // The reference test stops after the InvocationResponse; our issuer then plans an unprotected key.
      const enrollResult = await other.enroll({
        config: { issuerUri: other.issuerUri, ...SESSION, capabilityQueries: [{ type: `${FEATURE}device-pin-support`, kind: 'feature' }], keys: [rsaKey()] },
      });
      expect(supported(enrollResult.state, `${FEATURE}device-pin-support`)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('17 PresetPIN: an issuer-set PIN (trusted-gui, caching on); no prompt; SKS reports not user-defined, user-modifiable, caching', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [pinPolicy([rsaKey({ presetPin: '312589', enablePinCaching: true })], { inputMethod: 'trusted-gui' })],
      },
    });
    expect(enrollResult.prompts).toEqual([]);
    const kc = JSON.stringify(wireMessage(enrollResult, 'KeyCreationRequest'));
    expect(kc).toContain('encryptedPin');
    expect(kc).not.toContain('312589');
    const handle = handleOf(enrollResult, 'Key.1');
    expect(await harnessValue.sks.getKeyProtectionInfo(handle)).toMatchObject({
      userDefined: false,
      userModifiable: true,
      enablePinCaching: true,
      inputMethod: InputMethod.TRUSTED_GUI,
    });
    await signsWith(harnessValue.sks, handle, ALG.RSA_SHA256, '312589');
  });

  it('22 ImportPrivateKey: an issuer-generated RSA-1024 key replaces the generated one', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const enrollResult = await harnessValue.enroll({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, pinPolicies: [pinPolicy([rsaKey()])] },
      certify: async () => ({
        certificatePath: [await harnessValue.ca.issue(pair.publicKey, { commonName: 'KeyGen2 ImportPrivateKey' })],
        importPrivateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
      }),
    });
    expect(enrollResult.summary.keys[0]?.imported).toBe('private');
    const data = Buffer.from('Some data to sign');
    const ours = await harnessValue.sks.signData({
      keyHandle: handleOf(enrollResult, 'Key.1'),
      algorithm: ALG.RSA_SHA256,
      authorization: Buffer.from(SCENARIO_PIN),
      data,
    });
    expect(Buffer.from(ours)).toEqual(nodeSign('sha256', data, pair.privateKey));
  });

  describe.each([
    ['none', 'exportProtection', ExportDeleteProtection.NONE],
    ['pin', 'exportProtection', ExportDeleteProtection.PIN],
    ['puk', 'exportProtection', ExportDeleteProtection.PUK],
    ['non-exportable', 'exportProtection', ExportDeleteProtection.NOT_ALLOWED],
    ['none', 'deleteProtection', ExportDeleteProtection.NONE],
    ['pin', 'deleteProtection', ExportDeleteProtection.PIN],
    ['puk', 'deleteProtection', ExportDeleteProtection.PUK],
    ['non-deletable', 'deleteProtection', ExportDeleteProtection.NOT_ALLOWED],
  ] as const)('%s %s', (value, field, expected) => {
    const scenario = field === 'exportProtection' ? '23 ExportProtection' : '24 DeleteProtection';
    it(`${scenario}: the SKS reports ${value} and enforces it`, async () => {
      const key = { keyAlgorithm: ALG.P256, appUsage: 'authentication' as const, [field]: value };
      const pin = value === 'pin' || value === 'puk' ? [pinPolicy([key])] : undefined;
      const enrollResult = await harnessValue.enroll({
        config: {
          issuerUri: harnessValue.issuerUri,
          ...SESSION,
          ...(value === 'puk'
            ? { pukPolicies: [{ puk: '0123456789', format: 'numeric' as const, retryLimit: 3, pinPolicies: pin ?? [] }] }
            : pin !== undefined
              ? { pinPolicies: pin }
              : { keys: [key] }),
        },
      });
      const handle = handleOf(enrollResult, 'Key.1');
      expect((await harnessValue.sks.getKeyProtectionInfo(handle))[field]).toBe(expected);
      const auth = value === 'pin' ? Buffer.from(SCENARIO_PIN) : value === 'puk' ? Buffer.from('0123456789') : undefined;
      const act = (a: Uint8Array | undefined): Promise<unknown> =>
        field === 'exportProtection' ? harnessValue.sks.exportKey(handle, a) : harnessValue.sks.deleteKey(handle, a);
      if (expected === ExportDeleteProtection.NOT_ALLOWED) {
        await expect(act(undefined)).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
      } else {
        if (auth !== undefined) await expect(act(Buffer.from('9999'))).rejects.toMatchObject({ code: 'AUTHORIZATION' });
        await act(auth);
        if (field === 'deleteProtection') expect(await harnessValue.sks.enumerateKeys(0)).toBeUndefined();
      }
    });
  });

  it('25 KeyAgreement: SKS ECDH with a fresh peer key equals the peer side', async () => {
    const enrollResult = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        pinPolicies: [pinPolicy([{ keyAlgorithm: ALG.P256, appUsage: 'encryption', endorsedAlgorithms: [ALG.ECDH_RAW] }])],
      },
    });
    const handle = handleOf(enrollResult, 'Key.1');
    const peer = createECDH('prime256v1');
    peer.generateKeys();
    const peerSpki = createPublicKey({ key: { kty: 'EC', crv: 'P-256', ...ecXy(peer.getPublicKey()) }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
    const bytes = await harnessValue.sks.keyAgreement({
      keyHandle: handle,
      algorithm: ALG.ECDH_RAW,
      authorization: Buffer.from(SCENARIO_PIN),
      publicKey: peerSpki,
    });
    const certKey = new X509Certificate((await harnessValue.sks.getKeyAttributes(handle)).certificatePath[0]).publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(certKey.x!, 'base64url'), Buffer.from(certKey.y!, 'base64url')]);
    expect(Buffer.from(bytes)).toEqual(peer.computeSecret(point));
  });

  it('28 TrustAnchor: the stored path is EE + sub-CA + a self-signed root', async () => {
    const chain = await caChain();
    const enrollResult = await harnessValue.enroll({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, keys: [{ keyAlgorithm: ALG.P256, appUsage: 'authentication', trustAnchor: true }] },
      certify: async (k) => ({ certificatePath: [await chain.issue(k.publicKey), chain.sub, chain.root] }),
    });
    const path = (await harnessValue.sks.getKeyAttributes(handleOf(enrollResult, 'Key.1'))).certificatePath.map((c) => new X509Certificate(c));
    expect(path).toHaveLength(3);
    const root = path[2];
    expect(root.ca).toBe(true);
    expect(root.subject).toBe(root.issuer);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(path[1].verify(root.publicKey)).toBe(true);
    expect(path[0].verify(path[1].publicKey)).toBe(true);
  });

  it('29 PreferredLanguages: the client sees en, de, fr', async () => {
    const enrollResult = await harnessValue.enroll({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, preferredLanguages: ['en', 'de', 'fr'], keys: [rsaKey()] },
    });
    expect(wireMessage(enrollResult, 'InvocationRequest')['preferredLanguages']).toEqual(['en', 'de', 'fr']);
    expect(enrollResult.consents[0]?.preferredLanguages).toEqual(['en', 'de', 'fr']);
  });

  it('30 TargetKeyContainers: the InvocationRequest carries software, embedded', async () => {
    const enrollResult = await harnessValue.enroll({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, targetKeyContainers: ['software', 'embedded'], keys: [rsaKey()] },
    });
    expect(wireMessage(enrollResult, 'InvocationRequest')['targetKeyContainers']).toEqual(['software', 'embedded']);
    expect(enrollResult.outcome.keys).toHaveLength(1);
  });
});

/** `{x, y}` of an uncompressed P-256 point as JWK members. */
function ecXy(point: Buffer): { x: string; y: string } {
  return { x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') };
}

/** A root and a sub-CA (EC P-256) that issue end-entity certificates. */
async function caChain(): Promise<{ root: Buffer; sub: Buffer; issue: (spki: Uint8Array) => Promise<Buffer> }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  // Node's own type: @peculiar/x509 names the DOM's CryptoKeyPair, which this project's libs do not declare.
  type Pair = webcrypto.CryptoKeyPair;
  const gen = async (): Promise<Pair> => await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const [rootKeys, subKeys] = [await gen(), await gen()];
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 25 * 365 * 86400_000);
  const ca = (pathLength: number) => [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
  ];
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Root CA',
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: rootKeys,
    extensions: ca(1),
  });
  const sub = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=Sub CA',
    issuer: root.subject,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: subKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: ca(0),
  });
  return {
    root: Buffer.from(root.rawData),
    sub: Buffer.from(sub.rawData),
    issue: async (spki) =>
      Buffer.from(
        (
          await x509.X509CertificateGenerator.create({
            serialNumber: '03',
            subject: 'CN=KeyGen2 TrustAnchor, E=john.doe@example.com',
            issuer: sub.subject,
            notBefore,
            notAfter,
            signingAlgorithm: alg,
            publicKey: new Uint8Array(spki),
            signingKey: subKeys.privateKey,
            extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
          })
        ).rawData,
      ),
  };
}
