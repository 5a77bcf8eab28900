/**
 * The emulator's byte constructions against the worked vectors of spec §14,
 * which were checked against the Java reference. The emulator and the engine
 * share src/sks/crypto, so only these vectors prove the MAC layouts are right
 * on both sides rather than merely consistent with each other.
 */
import { describe, expect, it } from 'vitest';
import { MacMethod } from '../../src/sks/constants.js';
import { encryptForSks, encryptionKey, hmacSha256, methodMac, sessionKdfInput, targetKeyReference } from '../../src/sks/crypto/primitives.js';
import { MacData } from './issuer-emulator.js';

const handle = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

const bytes = handle('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const CLIENT_SESSION_ID = 'CSID-example-0123456789abcdefghi';
const SERVER_SESSION_ID = 'SSID.1';
const ISSUER_URI = 'https://issuer.example.com/prov';
const SESSION_KEY = handle('9abc3ec4c8c10b6b16bd60624761a253f89ed75555a99eefab601507d649b2f7');
const ENCRYPTED_PUK = handle('00112233445566778899aabbccddeeff 024c0999245610add46b2710138b6524');
const SPKI = handle(
  '3059301306072a8648ce3d020106082a8648ce3d03010703420004' +
    '71e9ec0f370c12482278fcfa0d707b703bb015e9ac840151f7450d55014283c4' +
    'c6af2bcdee9ec06d3e79571217bd89efb80a883d081e7ce9c07694eedea755e6',
);
const DUMMY_CERT = handle('3003020100');

describe('issuer emulator byte layouts (spec §14 vectors)', () => {
  it('derives the session and encryption keys (14.1)', () => {
    const kdf = sessionKdfInput(CLIENT_SESSION_ID, SERVER_SESSION_ID, ISSUER_URI, Buffer.from('Anonymous'));
    expect(hmacSha256(bytes, kdf).toString('hex')).toBe(SESSION_KEY.toString('hex'));
    expect(encryptionKey(SESSION_KEY).toString('hex')).toBe('c2d72cde13b1fb77429835455027f2c067fa81e8f6e6379258e385a81d20f4d7');
  });

  it('encrypts issuer data (14.2)', () => {
    expect(encryptForSks(encryptionKey(SESSION_KEY), Buffer.from('123456'), handle('00112233445566778899aabbccddeeff')).toString('hex')).toBe(
      ENCRYPTED_PUK.toString('hex'),
    );
  });

  it('MACs createPinPolicy (14.3)', () => {
    const data = MacData.createPinPolicy('PIN.1', '', {
      userDefined: true,
      userModifiable: false,
      format: 0,
      retryLimit: 3,
      grouping: 1,
      patternRestrictions: 0,
      minLength: 4,
      maxLength: 8,
      inputMethod: 0,
    });
    expect(data.toString('hex')).toBe('000550494e2e3100000100000003010000040008' + '00');
    expect(methodMac(SESSION_KEY, MacMethod.CREATE_PIN_POLICY, 0, data).toString('hex')).toBe(
      '43790106c1f37df0b08487334e99cc72547555d22541d5800088077e84e3dce4',
    );
  });

  it('MACs createPukPolicy (14.4)', () => {
    const data = MacData.createPukPolicy('PUK.1', ENCRYPTED_PUK, 0, 3);
    expect(methodMac(SESSION_KEY, MacMethod.CREATE_PUK_POLICY, 0, data).toString('hex')).toBe(
      '5fc9d997c1b9bf2227e48d1293c6f39f46990049660f55a180ac9091e79586c1',
    );
  });

  it('MACs createKeyEntry and its key attestation (14.5)', () => {
    const data = MacData.createKeyEntry({
      id: 'Key.1',
      keyEntryAlgorithm: 'https://webpki.github.io/sks/algorithm#key.1',
      serverSeed: handle('0102030405060708'),
      pinPolicyId: 'PIN.1',
      encryptedPin: undefined,
      devicePinProtection: false,
      enablePinCaching: false,
      biometricProtection: 0,
      exportProtection: 3,
      deleteProtection: 0,
      appUsage: 1,
      friendlyName: undefined,
      keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256',
      keyParameters: undefined,
      endorsedAlgorithms: ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256'],
    });
    const mac = methodMac(SESSION_KEY, MacMethod.CREATE_KEY_ENTRY, 1, data);
    expect(mac.toString('hex')).toBe('5c8af099118dbb91210f0757a99b327bcf6bd126af28ababc37c51bf3204e697');
    expect(methodMac(SESSION_KEY, MacMethod.DEVICE_ATTESTATION, 2, MacData.keyAttestation(SPKI, mac)).toString('hex')).toBe(
      '729092cbe6588c97d93fa2c0a69078e1c332b8f65e0eedeee324d08afa7beb8c',
    );
  });

  it('MACs setCertificatePath (14.6)', () => {
    const data = MacData.setCertificatePath(SPKI, 'Key.1', [DUMMY_CERT]);
    expect(methodMac(SESSION_KEY, MacMethod.SET_CERTIFICATE_PATH, 4, data).toString('hex')).toBe(
      '6ad642c3b0ded9957204321888fcdcee97d9fe0a7a8913a4adb6c491d4ad97a0',
    );
  });

  it('MACs addExtension with a property bag (14.7)', () => {
    const bag = handle('0007436f756e74657201000130000644696769747300000138');
    const data = MacData.addExtension(DUMMY_CERT, 'urn:ietf:rfc:4226', 2, '', bag);
    expect(methodMac(SESSION_KEY, MacMethod.ADD_EXTENSION, 3, data).toString('hex')).toBe('705cabce29af49cefcde3cbe3af63cf28b67f224b2aaea0ef9a262219f3520cc');
  });

  it('computes the target key reference and MACs postDeleteKey (14.8)', () => {
    expect(targetKeyReference(SESSION_KEY, Buffer.from('Anonymous'), DUMMY_CERT).toString('hex')).toBe(
      '6b262882f4607617004cfa75977e105c101e88afc3b5e87fc68a7986df4d180d',
    );
    expect(methodMac(SESSION_KEY, MacMethod.POST_DELETE_KEY, 5, MacData.postDeleteOrUnlock(handle('aabbcc'))).toString('hex')).toBe(
      '162d7814ef121d6ff1bb46f8610d970013cc97487926153e4e4e43efb7a62b6a',
    );
  });

  it('MACs closeProvisioningSession and its attestation (14.9)', () => {
    const nonce = handle('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
    const data = MacData.closeProvisioningSession(CLIENT_SESSION_ID, SERVER_SESSION_ID, ISSUER_URI, nonce);
    expect(methodMac(SESSION_KEY, MacMethod.CLOSE_PROVISIONING_SESSION, 1, data).toString('hex')).toBe(
      '45c3189e1cc325c453f3f460c8c75e506d2ec6bb51ba496b2cc89a9e58380263',
    );
    expect(methodMac(SESSION_KEY, MacMethod.DEVICE_ATTESTATION, 2, MacData.closeAttestation(nonce)).toString('hex')).toBe(
      '311ee9092f048f1be3d0c99fd50c41c7ef2bf45771408bbf8d3c41451bbb9f76',
    );
  });
});
