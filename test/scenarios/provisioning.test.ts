/**
 * Provisioning scenarios of the reference suite (spec §15.2): session setup,
 * object creation, the close-time checks of §7.1 and the session-key budget.
 * Post-provisioning operations live in post-operations.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { Cap, hasCap, lookupAlgorithm } from '../../src/sks/algorithms.js';
import { AppUsage, ExtensionSubType, InputMethod, PassphraseFormat, PinGrouping, ProtectionStatus } from '../../src/sks/constants.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { IssuerSession, rollOverKmk } from '../support/issuer-emulator.js';
import {
  Alg,
  DEVICE_PIN,
  TEST_PROFILE,
  describeStores,
  expectSksError,
  expectTornDown,
  hex,
  listKeys,
  listSessions,
  signAndVerify,
} from '../support/fixtures.js';

const OPEN = true;

describeStores('provisioning scenarios', (ctx) => {
  describe('session creation', () => {
    it('creates sessions on P-256, P-384 and P-521 and closes them empty (t1)', async () => {
      const spkiLength: Record<string, number> = { prime256v1: 91, secp384r1: 120, secp521r1: 158 };
      for (const curve of ['prime256v1', 'secp384r1', 'secp521r1']) {
        const issuerSession = await ctx.issuer({ serverEphemeralCurve: curve });
        expect(issuerSession.clientEphemeralKey.length).toBe(spkiLength[curve]);
        expect(issuerSession.clientSessionId).toHaveLength(32);
        await issuerSession.closeSession();
        // Closing an empty session deletes it (spec §7.1 F).
        await expectTornDown(issuerSession);
      }
    });

    it('rejects a server ephemeral key on an unsupported curve (t1)', async () => {
      for (const curve of ['secp256k1', 'secp224r1']) {
        await expectSksError(ctx.issuer({ serverEphemeralCurve: curve }), 'OPTION', 'Unsupported EC key algorithm for: "serverEphemeralKey"');
      }
    });

    it('verifies the privacy-enabled session attestation and closes (privacy on)', async () => {
      const issuerSession = await ctx.issuer({ privacyEnabled: true });
      expect(issuerSession.deviceId.toString('ascii')).toBe('Anonymous');
      expect(issuerSession.sessionAttestation).toHaveLength(32);
      await issuerSession.provisionKey();
      await issuerSession.closeSession();
    });

    it('rejects a key management key of 512 bits (t66)', async () => {
      await expectSksError(ctx.issuer({ kmk: ctx.kmks[3] }), 'OPTION', 'Unsupported RSA key size 512 for: "keyManagementKey"');
    });

    it('accepts an EC P-256 key management key', async () => {
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[2] });
      expect(hex((await ctx.sks.enumerateProvisioningSessions(0, OPEN))?.keyManagementKey)).toBe(
        hex(ctx.kmks[2].publicKey.export({ type: 'spki', format: 'der' })),
      );
      await issuerSession.abort();
    });

    it('rejects an unknown session key algorithm (t80)', async () => {
      await expectSksError(ctx.issuer({ sessionKeyAlgorithm: 'http://blah' }), 'OPTION', 'Unknown "sessionKeyAlgorithm" : http://blah');
    });

    it('checks the syntax of serverSessionId (t70)', async () => {
      for (const bad of ['', ' ', 'x'.repeat(33), ' I_am_a_bad_name']) {
        await expectSksError(ctx.issuer({ serverSessionId: bad }), 'OPTION', `Malformed "serverSessionId" : ${bad}`);
      }
      for (const good of ['9', 'x'.repeat(32), '#9+/\\@,:_-.;=&%$"*']) {
        const issuerSession = await ctx.issuer({ serverSessionId: good });
        expect((await ctx.sks.enumerateProvisioningSessions(0, OPEN))?.serverSessionId).toBe(good);
        await issuerSession.abort();
      }
    });

    it('reports the session parameters through enumerateProvisioningSessions', async () => {
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0], clientTime: 1_700_000_000, sessionLifeTime: 1234 });
      const info = await ctx.sks.enumerateProvisioningSessions(0, OPEN);
      expect(info).toMatchObject({
        provisioningHandle: issuerSession.provisioningHandle,
        sessionKeyAlgorithm: 'https://webpki.github.io/sks/algorithm#session.1',
        privacyEnabled: false,
        clientTime: 1_700_000_000,
        sessionLifeTime: 1234,
        serverSessionId: issuerSession.serverSessionId,
        clientSessionId: issuerSession.clientSessionId,
        issuerUri: 'http://issuer.example.com/provsess',
      });
      expect(await ctx.sks.enumerateProvisioningSessions(0, false)).toBeUndefined();
      await issuerSession.abort();
      await expectTornDown(issuerSession);
    });

    it('deletes a session closed without keys, so a later abort finds nothing (t74)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.closeSession();
      expect(await ctx.sks.enumerateProvisioningSessions(0, false)).toBeUndefined();
      await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
    });
  });

  describe('unreferenced objects at close (spec §7.1 A)', () => {
    it('rejects close with an unreferenced PIN policy (t2)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.createPinPolicy({ id: 'PIN' });
      await issuerSession.provisionKey();
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'Unreferenced object "id" : PIN');
      await expectTornDown(issuerSession);
    });

    it('rejects close with an unused PIN policy and an unused PUK policy (t3)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.createPukPolicy('PUK', '123456');
      await issuerSession.createPinPolicy({ id: 'PIN' });
      await issuerSession.provisionKey();
      // Creation order decides which id is reported first.
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'Unreferenced object "id" : PUK');
      await expectTornDown(issuerSession);
    });

    it('rejects close with a PUK-governed PIN policy that no key uses (t4)', async () => {
      const issuerSession = await ctx.issuer();
      const puk = await issuerSession.createPukPolicy('PUK', '123456');
      await issuerSession.createPinPolicy({ id: 'PIN', pukPolicy: puk });
      await issuerSession.provisionKey();
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'Unreferenced object "id" : PIN');
      await expectTornDown(issuerSession);
    });
  });

  describe('key entry creation', () => {
    it('rejects close of a key without certificate (t5)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.createKeyEntry({ id: 'Key.1' });
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'Missing "setCertificatePath" for: Key.1');
      await expectTornDown(issuerSession);
    });

    it('rejects a PIN value for a key without PIN policy (t5)', async () => {
      const issuerSession = await ctx.issuer();
      await expectSksError(issuerSession.createKeyEntry({ userPin: '1234' }), 'OPTION', '"pinValue" expected to be empty');
      await expectTornDown(issuerSession);
    });

    it('generates, certifies and commits a key for every key-generation algorithm the device lists (t6)', async () => {
      const info = await ctx.sks.getDeviceInfo();
      const keyGen = info.supportedAlgorithms.filter((uri) => {
        const descriptor = lookupAlgorithm(uri);
        return descriptor !== undefined && hasCap(descriptor, Cap.KEY_GEN);
      });
      expect(keyGen).toEqual(expect.arrayContaining([Alg.EC_P256, Alg.RSA2048]));
      const issuerSession = await ctx.issuer();
      const handles = [];
      for (const [index, uri] of keyGen.entries()) {
        const input = lookupAlgorithm(uri);
        const keyParameters = input !== undefined && hasCap(input, Cap.KEY_PARM) ? Uint8Array.of(0, 0, 0, 3) : undefined;
        const key = await issuerSession.provisionKey({ id: `Key.${index + 1}`, keyAlgorithm: uri, ...(keyParameters === undefined ? {} : { keyParameters }) });
        if (keyParameters !== undefined) {
          expect(key.generatedPublicKey.asymmetricKeyDetails?.publicExponent).toBe(3n);
        }
        handles.push(key.keyHandle);
      }
      await issuerSession.closeSession();
      expect((await listKeys(ctx.sks)).map((k) => k.keyHandle)).toEqual(handles);
    });

    it('provisions a minimal P-256 key (t8)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1' });
      expect(key.generatedSpki).toHaveLength(91);
      await issuerSession.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: key.keyHandle, provisioningHandle: issuerSession.provisioningHandle }]);
      const attributes = await ctx.sks.getKeyAttributes(key.keyHandle);
      expect(attributes).toMatchObject({
        symmetricKeyLength: 0,
        appUsage: AppUsage.AUTHENTICATION,
        friendlyName: '',
        endorsedAlgorithms: [],
        extensionTypes: [],
      });
      expect(attributes.certificatePath.map(hex)).toEqual(key.certificatePath?.map(hex));
      await signAndVerify(ctx.sks, key.keyHandle);
    });

    it('rejects a corrupted createKeyEntry MAC (t75)', async () => {
      const issuerSession = await ctx.issuer();
      issuerSession.corruptNextMac();
      await expectSksError(issuerSession.createKeyEntry(), 'MAC', 'MAC error');
      await expectTornDown(issuerSession);
    });

    it('rejects an unknown key entry algorithm (t81)', async () => {
      const issuerSession = await ctx.issuer();
      await expectSksError(
        issuerSession.createKeyEntry({ keyEntryAlgorithm: 'http://somewhere' }),
        'ALGORITHM',
        'Unknown "keyEntryAlgorithm" : http://somewhere',
      );
      await expectTornDown(issuerSession);
    });

    it('accepts a 64-byte server seed (t77)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.provisionKey({ serverSeed: randomBytes(64) });
      await issuerSession.closeSession();
    });

    it('rejects a 65-byte server seed (t77)', async () => {
      const issuerSession = await ctx.issuer();
      await expectSksError(issuerSession.createKeyEntry({ serverSeed: randomBytes(65) }), 'OPTION', '"serverSeed" length error: 65');
      await expectTornDown(issuerSession);
    });

    it('accepts an absent server seed and an absent friendly name', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ serverSeed: null, friendlyName: null });
      await issuerSession.closeSession();
      expect((await ctx.sks.getKeyAttributes(key.keyHandle)).friendlyName).toBeUndefined();
    });

    it('creates a device-PIN protected key when the device supports device PINs (t83)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ devicePinProtection: true });
      await issuerSession.closeSession();
      expect((await ctx.sks.getKeyProtectionInfo(key.keyHandle)).protectionStatus).toBe(ProtectionStatus.DEVICE_PIN);
      await signAndVerify(ctx.sks, key.keyHandle, DEVICE_PIN);
      await expectSksError(
        ctx.sks.signData({ keyHandle: key.keyHandle, algorithm: Alg.ECDSA_SHA256, authorization: Buffer.from('4321'), data: Buffer.of(1) }),
        'AUTHORIZATION',
        `"authorization" error for key #${key.keyHandle}`,
      );
    });

    it('rejects device-PIN protection on a device without device-PIN support (t83)', async () => {
      const store = createMemoryKeyStore();
      try {
        const sks = openSecureKeyStore({ store, device: ctx.device, profile: { ...TEST_PROFILE, devicePinSupport: false } });
        expect((await sks.getDeviceInfo()).devicePinSupport).toBe(false);
        const issuerSession = await IssuerSession.open(sks, { ca: ctx.ca });
        await expectSksError(issuerSession.createKeyEntry({ devicePinProtection: true }), 'OPTION', 'Unsupported: "devicePinProtection"');
        await expectTornDown(issuerSession);
      } finally {
        store.close();
      }
    });
  });

  describe('PIN and PUK policies', () => {
    it('accepts retryLimit 10000 for PUK and PIN policies (t7)', async () => {
      const issuerSession = await ctx.issuer();
      const puk = await issuerSession.createPukPolicy('PUK', '123456', PassphraseFormat.NUMERIC, 10000);
      const pin = await issuerSession.createPinPolicy({ id: 'PIN', pukPolicy: puk, retryLimit: 10000 });
      const key = await issuerSession.provisionKey({ pinPolicy: pin, userPin: '1234' });
      await issuerSession.closeSession();
      expect(await ctx.sks.getKeyProtectionInfo(key.keyHandle)).toMatchObject({ retryLimit: 10000, pukRetryLimit: 10000 });
    });

    it('accepts retryLimit 0 for a PUK policy (t7)', async () => {
      const issuerSession = await ctx.issuer();
      const puk = await issuerSession.createPukPolicy('PUK', '123456', PassphraseFormat.NUMERIC, 0);
      const pin = await issuerSession.createPinPolicy({ id: 'PIN', pukPolicy: puk });
      await issuerSession.provisionKey({ pinPolicy: pin, userPin: '1234' });
      await issuerSession.closeSession();
    });

    it('rejects retryLimit 0 for a PIN policy (t7)', async () => {
      const issuerSession = await ctx.issuer();
      await expectSksError(issuerSession.createPinPolicy({ retryLimit: 0 }), 'OPTION', 'Invalid "retryLimit" value=0');
      await expectTornDown(issuerSession);
    });

    it('rejects retryLimit 10001 and -1 for PUK policies (t7)', async () => {
      for (const limit of [10001, -1]) {
        const issuerSession = await ctx.issuer();
        await expectSksError(issuerSession.createPukPolicy('PUK', '123456', PassphraseFormat.NUMERIC, limit), 'OPTION', `Invalid "retryLimit" value=${limit}`);
        await expectTornDown(issuerSession);
      }
    });

    it('rejects retryLimit 10001 and -1 for PIN policies (t7)', async () => {
      for (const limit of [10001, -1]) {
        const issuerSession = await ctx.issuer();
        await expectSksError(issuerSession.createPinPolicy({ retryLimit: limit }), 'OPTION', `Invalid "retryLimit" value=${limit}`);
        await expectTornDown(issuerSession);
      }
    });

    it('checks the syntax of PIN policy ids (t70)', async () => {
      for (const bad of ['', ' ', 'x'.repeat(33), ' I_am_a_bad_name']) {
        const issuerSession = await ctx.issuer();
        await expectSksError(issuerSession.createPinPolicy({ id: bad }), 'OPTION', `Malformed "id" : ${bad}`);
        await expectTornDown(issuerSession);
      }
      const state = await ctx.issuer();
      for (const good of ['9', 'y'.repeat(32), '#9+/\\@,:_-.;=&%$"*']) {
        await state.createPinPolicy({ id: good });
      }
      await state.abort();
    });

    it('rejects a duplicate id across policies and keys of one session', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.createPinPolicy({ id: 'Same' });
      await expectSksError(issuerSession.createKeyEntry({ id: 'Same' }), 'OPTION', 'Duplicate "id" : Same');
      await expectTornDown(issuerSession);
    });

    it('stores the PIN policy attributes reported by getKeyProtectionInfo', async () => {
      const issuerSession = await ctx.issuer();
      const puk = await issuerSession.createPukPolicy('PUK', 'AB12', PassphraseFormat.ALPHANUMERIC, 5);
      const pin = await issuerSession.createPinPolicy({
        id: 'PIN',
        pukPolicy: puk,
        userModifiable: true,
        format: PassphraseFormat.STRING,
        grouping: PinGrouping.SHARED,
        minLength: 5,
        maxLength: 12,
        inputMethod: InputMethod.TRUSTED_GUI,
      });
      const key = await issuerSession.provisionKey({ pinPolicy: pin, userPin: 'abcde', enablePinCaching: true });
      await issuerSession.closeSession();
      expect(await ctx.sks.getKeyProtectionInfo(key.keyHandle)).toMatchObject({
        protectionStatus: ProtectionStatus.PIN_PROTECTED | ProtectionStatus.PUK_PROTECTED,
        pukFormat: PassphraseFormat.ALPHANUMERIC,
        pukRetryLimit: 5,
        pukErrorCount: 0,
        userDefined: true,
        userModifiable: true,
        format: PassphraseFormat.STRING,
        retryLimit: 3,
        grouping: PinGrouping.SHARED,
        minLength: 5,
        maxLength: 12,
        inputMethod: InputMethod.TRUSTED_GUI,
        pinErrorCount: 0,
        enablePinCaching: true,
      });
    });
  });

  describe('session key budget (spec §5.4)', () => {
    // PIN policy 1 + key 2 (3 with an issuer-set PIN) + certificate 1 + close 2.
    const provision = async (limit: number, preset: boolean): Promise<IssuerSession> => {
      const issuerSession = await ctx.issuer({ sessionKeyLimit: limit });
      const pin = await issuerSession.createPinPolicy({ id: 'PIN', userDefined: !preset });
      await issuerSession.provisionKey(preset ? { pinPolicy: pin, presetPin: '1234' } : { pinPolicy: pin, userPin: '1234' });
      return issuerSession;
    };

    it('fails the close attestation when a user-PIN session has a budget of 5 (t47)', async () => {
      const issuerSession = await provision(5, false);
      await expectSksError(issuerSession.closeSession(), 'OPTION', '"sessionKeyLimit" exceeded');
      await expectTornDown(issuerSession);
      expect(await listKeys(ctx.sks)).toEqual([]);
    });

    it('closes a user-PIN session with a budget of exactly 6 (t47)', async () => {
      const issuerSession = await provision(6, false);
      await issuerSession.closeSession();
    });

    it('fails an issuer-set-PIN session with a budget of 6 (t47)', async () => {
      const issuerSession = await provision(6, true);
      await expectSksError(issuerSession.closeSession(), 'OPTION', '"sessionKeyLimit" exceeded');
      await expectTornDown(issuerSession);
      expect(await listKeys(ctx.sks)).toEqual([]);
    });

    it('closes an issuer-set-PIN session with a budget of 7 or 8 (t47)', async () => {
      for (const limit of [7, 8]) {
        const issuerSession = await provision(limit, true);
        await issuerSession.closeSession();
      }
      expect(await listKeys(ctx.sks)).toHaveLength(2);
    });

    // PUK 2 + PIN policies 2 + keys 5x2 + issuer-set PIN 1 + certificates 5 + import 2 + extensions 3 + encrypted 2 + close 2 = 29.
    const fullSession = async (limit: number): Promise<IssuerSession> => {
      const issuerSession = await ctx.issuer({ sessionKeyLimit: limit });
      const puk = await issuerSession.createPukPolicy('PUK', '123456');
      const userPin = await issuerSession.createPinPolicy({ id: 'PIN.1', pukPolicy: puk });
      const presetPin = await issuerSession.createPinPolicy({ id: 'PIN.2', userDefined: false });
      await issuerSession.provisionKey({ id: 'Key.1', pinPolicy: userPin, userPin: '1234' });
      await issuerSession.provisionKey({ id: 'Key.2', pinPolicy: presetPin, presetPin: '5678' });
      const k3 = await issuerSession.provisionKey({ id: 'Key.3' });
      await issuerSession.provisionKey({ id: 'Key.4' });
      const k5 = await issuerSession.provisionKey({ id: 'Key.5', endorsedAlgorithms: [Alg.HMAC_SHA256] });
      await issuerSession.importSymmetricKey(k5, randomBytes(32));
      await issuerSession.addExtension(k3, { type: 'http://example.com/ext', subType: ExtensionSubType.EXTENSION, data: Buffer.from('hello') });
      await issuerSession.addExtension(k3, { type: 'http://example.com/secret', subType: ExtensionSubType.ENCRYPTED_EXTENSION, data: Buffer.from('secret') });
      await issuerSession.addExtension(k3, {
        type: 'urn:ietf:rfc:4226',
        subType: ExtensionSubType.PROPERTY_BAG,
        data: Buffer.from('0007436f756e74657201000130000644696769747300000138', 'hex'),
      });
      await issuerSession.addExtension(k3, {
        type: 'http://example.com/logo',
        subType: ExtensionSubType.LOGOTYPE,
        qualifier: 'image/png',
        data: Buffer.of(0x89, 0x50),
      });
      return issuerSession;
    };

    it('consumes exactly 29 uses for a session with every kind of object (spec §14.10)', async () => {
      const issuerSession = await fullSession(29);
      await issuerSession.closeSession();
      expect(await listKeys(ctx.sks)).toHaveLength(5);
    });

    it('fails the same session with a budget of 28 (spec §14.10)', async () => {
      const issuerSession = await fullSession(28);
      await expectSksError(issuerSession.closeSession(), 'OPTION', '"sessionKeyLimit" exceeded');
      await expectTornDown(issuerSession);
      expect(await listKeys(ctx.sks)).toEqual([]);
    });

    it('allows no use at all with a budget of 0', async () => {
      const issuerSession = await ctx.issuer({ sessionKeyLimit: 0 });
      await expectSksError(issuerSession.createPinPolicy(), 'OPTION', '"sessionKeyLimit" exceeded');
      await expectTornDown(issuerSession);
    });
  });

  describe('certificates', () => {
    it('rejects an end-entity certificate larger than 16384 bytes (t76)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.createKeyEntry({ id: 'Key.1' });
      await expectSksError(issuerSession.setCertificatePath(key, { paddingBytes: 17000 }), 'OPTION', 'Certificate for: Key.1 exceeds 16384 bytes');
      await expectTornDown(issuerSession);
    });

    it('rejects a second setCertificatePath for one key', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1' });
      await expectSksError(issuerSession.setCertificatePath(key), 'OPTION', 'Multiple calls to "setCertificatePath" for: Key.1');
      await expectTornDown(issuerSession);
    });

    it('rejects two keys of one session with the same certificate (t58)', async () => {
      // Both keys hold the certified key pair, as in the reference: the duplicate is the only fault.
      const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const issuerSession = await ctx.issuer();
      const k1 = await issuerSession.provisionKey({ id: 'Key.1' }, { publicKey: pair.publicKey });
      await issuerSession.importPrivateKey(k1, pair.privateKey);
      const k2 = await issuerSession.provisionKey({ id: 'Key.2' }, { path: k1.certificatePath ?? [] });
      await issuerSession.importPrivateKey(k2, pair.privateKey);
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'Duplicate certificate in "setCertificatePath" for: Key.1');
      await expectTornDown(issuerSession);
    });

    it('rejects an end-entity certificate whose DER length is not minimal', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.createKeyEntry({ id: 'Key.1' });
      const der = await ctx.ca.issue(key.generatedPublicKey);
      // 30 82 hi lo → 30 83 00 hi lo: the same length in one octet too many (DER requires the fewest).
      expect(der.subarray(0, 2).equals(Buffer.of(0x30, 0x82))).toBe(true);
      const padded = Buffer.concat([Buffer.of(0x30, 0x83, 0x00), der.subarray(2)]);
      await expectSksError(issuerSession.setCertificatePath(key, { path: [padded, ctx.ca.certificate] }), 'CRYPTO', 'Crypto failure: malformed DER');
      await expectTornDown(issuerSession);
    });

    it('rejects a certificate already used by a key of an earlier session (t58)', async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const issuerSession = await ctx.issuer();
      const k3 = await issuerSession.provisionKey({ id: 'Key.3' }, { publicKey: pair.publicKey });
      await issuerSession.importPrivateKey(k3, pair.privateKey);
      await issuerSession.closeSession();

      const bytes = await ctx.issuer();
      const k4 = await bytes.provisionKey({ id: 'Key.4' }, { path: k3.certificatePath ?? [] });
      await bytes.importPrivateKey(k4, pair.privateKey);
      await expectSksError(bytes.closeSession(), 'OPTION', 'Duplicate certificate in "setCertificatePath" for: Key.4');
      await expectTornDown(bytes);
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: k3.keyHandle, provisioningHandle: issuerSession.provisioningHandle }]);
    });

    it('rejects a key whose certified public key is RSA while the generated key is EC (t63)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.provisionKey({ id: 'Key.1' }, { publicKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey });
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'RSA/EC mixup between public and private keys for: Key.1');
      await expectTornDown(issuerSession);
    });

    it('rejects an RSA key certified with another RSA public key of each supported size (t64)', async () => {
      for (const [uri, bits] of [
        [Alg.RSA1024, 1024],
        [Alg.RSA2048, 2048],
      ] as const) {
        const issuerSession = await ctx.issuer();
        const other = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey;
        await issuerSession.provisionKey({ id: 'Key.1', keyAlgorithm: uri }, { publicKey: other });
        await expectSksError(issuerSession.closeSession(), 'OPTION', 'Public/private key mismatch for: Key.1');
        await expectTornDown(issuerSession);
      }
    });

    it('rejects a P-256 key certified with another P-256 public key (t65)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.provisionKey({ id: 'Key.1' }, { publicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey });
      await expectSksError(issuerSession.closeSession(), 'OPTION', 'Public/private key mismatch for: Key.1');
      await expectTornDown(issuerSession);
    });
  });

  describe('key imports', () => {
    it('rejects importSymmetricKey before setCertificatePath (t71)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.createKeyEntry({ id: 'Key.1' });
      await expectSksError(issuerSession.importSymmetricKey(key, randomBytes(16)), 'OPTION', 'Missing "setCertificatePath" for: Key.1');
      await expectTornDown(issuerSession);
    });

    it('rejects importSymmetricKey on a key of a closed session (t52)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1' });
      await issuerSession.closeSession();
      await expectSksError(issuerSession.importSymmetricKey(key, randomBytes(16)), 'NO_KEY', `Key #${key.keyHandle} not belonging to open session`);
      expect(await listKeys(ctx.sks)).toHaveLength(1);
    });

    it('rejects a second importSymmetricKey (t60)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1', endorsedAlgorithms: [Alg.HMAC_SHA256] });
      await issuerSession.importSymmetricKey(key, randomBytes(16));
      await expectSksError(issuerSession.importSymmetricKey(key, randomBytes(16)), 'OPTION', 'Mutiple key imports for: Key.1');
      await expectTornDown(issuerSession);
    });

    it('rejects importPrivateKey after importSymmetricKey (t61)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1' });
      await issuerSession.importSymmetricKey(key, randomBytes(16));
      await expectSksError(
        issuerSession.importPrivateKey(key, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
        'OPTION',
        'Mutiple key imports for: Key.1',
      );
      await expectTornDown(issuerSession);
    });

    it('rejects an RSA private key imported under an EC certificate (t62)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1' });
      await expectSksError(
        issuerSession.importPrivateKey(key, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
        'OPTION',
        'RSA/EC mixup between public and private keys for: Key.1',
      );
      await expectTornDown(issuerSession);
    });

    it('commits an imported 16-byte HMAC key and marks it imported', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1', endorsedAlgorithms: [Alg.HMAC_SHA256] });
      await issuerSession.importSymmetricKey(key, randomBytes(16));
      await issuerSession.closeSession();
      expect((await ctx.sks.getKeyAttributes(key.keyHandle)).symmetricKeyLength).toBe(16);
      expect((await ctx.sks.getKeyProtectionInfo(key.keyHandle)).keyBackup).toBe(0x01);
    });
  });

  describe('endorsed algorithms', () => {
    it('rejects a 15-byte symmetric key endorsed for aes128-cbc at close (t43)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1', endorsedAlgorithms: [Alg.AES128_CBC] });
      await issuerSession.importSymmetricKey(key, randomBytes(15));
      await expectSksError(issuerSession.closeSession(), 'OPTION', `Key Key.1 has wrong size (15) for algorithm: ${Alg.AES128_CBC}`);
      await expectTornDown(issuerSession);
    });

    it('rejects a 16-byte symmetric key endorsed for aes192-cbc at close (t50)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1', endorsedAlgorithms: [Alg.AES192_CBC] });
      await issuerSession.importSymmetricKey(key, randomBytes(16));
      await expectSksError(issuerSession.closeSession(), 'OPTION', `Key Key.1 has wrong size (16) for algorithm: ${Alg.AES192_CBC}`);
      await expectTornDown(issuerSession);
    });

    it('rejects an RSA key endorsed for aes128-cbc at close (t45)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.provisionKey({ id: 'Key.1', keyAlgorithm: Alg.RSA2048, endorsedAlgorithms: [Alg.AES128_CBC] });
      await expectSksError(issuerSession.closeSession(), 'OPTION', `RSA key Key.1 does not match algorithm: ${Alg.AES128_CBC}`);
      await expectTornDown(issuerSession);
    });

    it('rejects an EC key endorsed for aes128-cbc at close (t46)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.provisionKey({ id: 'Key.1', endorsedAlgorithms: [Alg.AES128_CBC] });
      await expectSksError(issuerSession.closeSession(), 'OPTION', `EC key Key.1 does not match algorithm: ${Alg.AES128_CBC}`);
      await expectTornDown(issuerSession);
    });

    it('rejects a duplicated endorsed algorithm (t57)', async () => {
      const issuerSession = await ctx.issuer();
      await expectSksError(
        issuerSession.createKeyEntry({ keyAlgorithm: Alg.RSA2048, endorsedAlgorithms: [Alg.RSA_SHA512, Alg.RSA_SHA512] }),
        'OPTION',
        `Duplicate or incorrectly sorted algorithm: ${Alg.RSA_SHA512}`,
      );
      await expectTornDown(issuerSession);
    });

    it('rejects endorsed algorithms out of order (t57)', async () => {
      const issuerSession = await ctx.issuer();
      await expectSksError(
        issuerSession.createKeyEntry({ keyAlgorithm: Alg.RSA2048, endorsedAlgorithms: [Alg.RSA_SHA512, Alg.RSA_SHA256] }),
        'OPTION',
        `Duplicate or incorrectly sorted algorithm: ${Alg.RSA_SHA256}`,
      );
      await expectTornDown(issuerSession);
    });

    it('accepts endorsed algorithms in ascending order and reports them (t57)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ keyAlgorithm: Alg.RSA2048, endorsedAlgorithms: [Alg.RSA_SHA256, Alg.RSA_SHA512] });
      await issuerSession.closeSession();
      expect((await ctx.sks.getKeyAttributes(key.keyHandle)).endorsedAlgorithms).toEqual([Alg.RSA_SHA256, Alg.RSA_SHA512]);
      await signAndVerify(ctx.sks, key.keyHandle, undefined, Alg.RSA_SHA512);
    });
  });

  describe('key parameters (spec §15.5)', () => {
    const rejects = async (options: Parameters<IssuerSession['createKeyEntry']>[0], message: string): Promise<void> => {
      const issuerSession = await ctx.issuer();
      await expectSksError(issuerSession.createKeyEntry(options), 'OPTION', message);
      await expectTornDown(issuerSession);
    };

    it('rejects keyParameters for rsa2048 (t68)', async () => {
      await rejects({ keyAlgorithm: Alg.RSA2048, keyParameters: Uint8Array.of(0, 0, 0, 3) }, 'Unexpected "keyParameters"');
    });

    it('rejects keyParameters for ec.nist.p256 (t68)', async () => {
      await rejects({ keyAlgorithm: Alg.EC_P256, keyParameters: Uint8Array.of(0, 0, 0, 3) }, 'Unexpected "keyParameters"');
    });

    it('rejects an unknown key algorithm (t68)', async () => {
      await rejects({ keyAlgorithm: 'http://badcrypto/snakeoil-1' }, 'Unsupported "keyAlgorithm": http://badcrypto/snakeoil-1');
    });

    it('requires keyParameters for rsa2048.exp (t68)', async () => {
      await rejects({ keyAlgorithm: Alg.RSA2048_EXP }, 'Missing "keyParameters"');
    });

    it('rejects 9-byte keyParameters (t68)', async () => {
      await rejects({ keyAlgorithm: Alg.RSA2048_EXP, keyParameters: new Uint8Array(9).fill(1) }, '"keyParameters" length error: 9');
    });

    it('rejects zero-length keyParameters as present but malformed (t68)', async () => {
      await rejects({ keyAlgorithm: Alg.RSA2048_EXP, keyParameters: new Uint8Array(0) }, '"keyParameters" length error: 0');
    });

    it('accepts a certificate for an RSA key with exponent 3 and its imported private key (t68)', async () => {
      expect((await ctx.sks.getDeviceInfo()).supportedAlgorithms).toContain(Alg.RSA2048_EXP);
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1', keyAlgorithm: Alg.RSA2048 }, { publicKey: pair.publicKey });
      await issuerSession.importPrivateKey(key, pair.privateKey);
      await issuerSession.closeSession();
      await signAndVerify(ctx.sks, key.keyHandle, undefined, Alg.RSA_SHA256);
    });

    it('rejects an imported RSA private key that does not match the certificate (t68)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.provisionKey({ id: 'Key.1', keyAlgorithm: Alg.RSA2048 });
      await expectSksError(
        issuerSession.importPrivateKey(key, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
        'OPTION',
        'Imported RSA key does not match certificate for: Key.1',
      );
      await expectTornDown(issuerSession);
    });
  });

  describe('reference quirks (spec §17 recommendations)', () => {
    // §17 #3: a PIN policy without any PIN value fails like the reference (ERROR_INTERNAL) and tears down.
    it('tears down a key entry that names a PIN policy but supplies no PIN', async () => {
      const issuerSession = await ctx.issuer();
      const pin = await issuerSession.createPinPolicy();
      await expectSksError(issuerSession.createKeyEntry({ pinPolicy: pin }), 'INTERNAL');
      await expectTornDown(issuerSession);
    });

    // §17 #4: an empty certificate path is ERROR_OPTION (the reference: ERROR_INTERNAL), with tear-down.
    it('rejects an empty certificate path', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.createKeyEntry();
      await expectSksError(issuerSession.setCertificatePath(key, { path: [] }), 'OPTION');
      await expectTornDown(issuerSession);
    });

    // §17 #6: a KMK that is neither RSA nor EC is ERROR_OPTION (the reference crashes).
    it('rejects an Ed25519 key management key', async () => {
      const ed = generateKeyPairSync('ed25519');
      await expectSksError(ctx.issuer({ kmk: ed }), 'OPTION');
      expect(await ctx.sks.enumerateProvisioningSessions(0, OPEN)).toBeUndefined();
    });

    // §17 #7: the new KMK of a roll-over is validated like a session's KMK.
    it('rejects rolling over to a 512-bit RSA key management key', async () => {
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      await issuerSession.provisionKey();
      await issuerSession.closeSession();
      await expectSksError(
        rollOverKmk(ctx.sks, issuerSession.provisioningHandle, ctx.kmks[0], ctx.kmks[3]),
        'OPTION',
        'Unsupported RSA key size 512 for: "keyManagementKey"',
      );
    });
  });

  describe('key management key roll-over', () => {
    it('refuses updateKeyManagementKey on a session without KMK (t79)', async () => {
      const issuerSession = await ctx.issuer();
      await issuerSession.provisionKey();
      await issuerSession.closeSession();
      await expectSksError(
        rollOverKmk(ctx.sks, issuerSession.provisioningHandle, ctx.kmks[0], ctx.kmks[1]),
        'NOT_ALLOWED',
        `Session is not updatable: ${issuerSession.provisioningHandle}`,
      );
    });

    it('refuses updateKeyManagementKey on an open session', async () => {
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      await expectSksError(
        rollOverKmk(ctx.sks, issuerSession.provisioningHandle, ctx.kmks[0], ctx.kmks[1]),
        'NOT_ALLOWED',
        `Session is open: ${issuerSession.provisioningHandle}`,
      );
      await issuerSession.abort();
    });

    it('rejects a roll-over authorization not made by the current KMK', async () => {
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      await issuerSession.provisionKey();
      await issuerSession.closeSession();
      await expectSksError(
        rollOverKmk(ctx.sks, issuerSession.provisioningHandle, ctx.kmks[1], ctx.kmks[2]),
        'OPTION',
        `"authorization" signature did not verify for session: ${issuerSession.provisioningHandle}`,
      );
      const info = (await listSessions(ctx.sks, false)).at(0);
      expect(hex(info?.keyManagementKey)).toBe(hex(ctx.kmks[0].publicKey.export({ type: 'spki', format: 'der' })));
    });
  });
});
