/**
 * One negative test per message rule (spec §4, §6, §11.1), each named after the rule and
 * asserting the error code and JSON path; recorded messages are the starting point.
 */
import { sign, constants } from 'node:crypto';
import { generateKeyPairSync } from '../../support/keygen.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KeyGen2ErrorCode } from '../../../src/keygen2/errors.js';
import {
  decodeMessage,
  encodeMessage,
  javaRegexToRegExp,
  lookupNonce,
  lookupSpecifierSignedData,
  utcDateTime,
  type CredentialDiscoveryRequest,
  type LookupSignatureAlgorithm,
  type LookupSpecifier,
  type SearchFilter,
} from '../../../src/keygen2/messages/index.js';
import { INTEROP_DIR, recordedMessages, type Json } from './recordings.js';

type Obj = Record<string, Json>;

const all = recordedMessages();
/**
 * A fresh mutable copy of the first recorded message with this qualifier that has the shape a
 * test needs (chosen by content, not by file name, so other recordings of the layout work too).
 */
function recorded(qualifier: string, shape: (o: Obj) => boolean = () => true): Obj {
  for (const recordedMessage of all) {
    if (recordedMessage.qualifier !== qualifier) continue;
    const parsed = JSON.parse(recordedMessage.wire) as Obj;
    if (shape(parsed)) return parsed;
  }
  throw new Error(`no recorded ${qualifier} of the needed shape`);
}

const list = (v: Json | undefined): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);
const indexOf = (items: Obj[], f: (o: Obj) => boolean): number => items.findIndex(f);
/** Shapes used below. */
const shape = {
  capabilityQuery: (o: Obj) => list(o.clientCapabilityQuery).length > 0,
  allAnswerKinds: (o: Obj) => ['supported', 'values', 'imageAttributes'].every((k) => list(o.clientCapabilities).some((c) => k in c)),
  rollOver: (o: Obj) => list(o.updatableKeyManagementKeys).length > 0,
  privacy: (o: Obj) => !('deviceId' in o),
  twoLookupsOneFiltered: (o: Obj) => list(o.lookupSpecifiers).length >= 2 && list(o.lookupSpecifiers).some((l) => 'searchFilter' in l),
  someMatch: (o: Obj) => list(list(o.lookupResults).at(0)?.matchingCredentials).length > 0,
  presetPins: (parsed: Obj) => {
    const pin = list(list(parsed.pukPolicySpecifiers).at(0)?.pinPolicySpecifiers).at(0);
    const keys = list(pin?.keyEntrySpecifiers);
    return pin?.inputMethod === 'trusted-gui' && keys.length >= 2 && keys.every((k) => 'encryptedPin' in k) && keys.at(0)?.enablePinCaching === true;
  },
  topKeysOnly: (o: Obj) => list(o.keyEntrySpecifiers).length > 0 && !('pinPolicySpecifiers' in o) && !('pukPolicySpecifiers' in o),
  twoKeys: (o: Obj) => list(o.generatedKeys).length >= 2,
  importsPrivateKey: (o: Obj) => list(o.issuedCredentials).some((c) => 'importPrivateKey' in c),
  updateCloneUnlock: (o: Obj) =>
    list(o.issuedCredentials).some((c) => 'cloneKeyProtection' in c) &&
    list(o.issuedCredentials).some((c) => 'updateKey' in c) &&
    list(o.unlockKeys).length > 0,
  eeOnly: (o: Obj) => list(list(o.issuedCredentials).at(0)?.certificatePath).length === 1,
  bagAndExtension: (parsed: Obj) => {
    const item = list(parsed.issuedCredentials).at(0);
    return list(list(item?.propertyBags).at(0)?.properties).length >= 2 && list(item?.extensions).length > 0;
  },
};

const text = (v: Json | string): string => (typeof v === 'string' ? v : JSON.stringify(v));
function rejects(json: Json | string, code: KeyGen2ErrorCode, params: string): void {
  expect(() => decodeMessage(text(json))).toThrow(expect.objectContaining({ code, path: params }));
}
const accepts = (v: Json | string): void => void decodeMessage(text(v));

/** Navigation without non-null assertions: `at(o, 'a', 0, 'b')`. */
function at(root: Json, ...steps: Array<string | number>): Obj {
  let json: Json = root;
  for (const state of steps) json = (json as Record<string | number, Json>)[state];
  return json as Obj;
}

const b64 = (n: number, fill = 1): string => Buffer.alloc(n, fill).toString('base64url');

describe('envelope (§4.1)', () => {
  it('rejects-unknown-context', () => {
    const parsed = recorded('InvocationRequest');
    parsed['@context'] = 'https://webpki.github.io/keygen2#20190317';
    rejects(parsed, 'SCHEMA', "$['@context']");
  });
  it('rejects-unknown-qualifier', () => {
    const parsed = recorded('InvocationRequest');
    parsed['@qualifier'] = 'InvocationRequests';
    rejects(parsed, 'SCHEMA', "$['@qualifier']");
  });
  it('rejects-non-object-message', () => rejects('[]', 'SCHEMA', '$'));
  it('rejects-unexpected-qualifier (PROTOCOL)', () => {
    expect(() => decodeMessage(text(recorded('InvocationRequest')), ['InvocationResponse'])).toThrow(
      expect.objectContaining({ code: 'PROTOCOL', path: "$['@qualifier']" }),
    );
  });
  it('rejects-top-level-signature (never sent, §4.2 quirk 18)', () => {
    const parsed = recorded('KeyCreationRequest');
    parsed.signature = { algorithm: 'ES256' };
    rejects(parsed, 'SCHEMA', '$.signature');
  });
});

describe('InvocationRequest (§6.1)', () => {
  it('rejects-unknown-action', () => {
    const parsed = recorded('InvocationRequest');
    parsed.action = 'Manage';
    rejects(parsed, 'SCHEMA', '$.action');
  });
  it('rejects-bad-id (too long, space)', () => {
    const parsed = recorded('InvocationRequest');
    parsed.serverSessionId = 'x'.repeat(33);
    rejects(parsed, 'SCHEMA', '$.serverSessionId');
    parsed.serverSessionId = 'a b';
    rejects(parsed, 'SCHEMA', '$.serverSessionId');
  });
  it('rejects-empty-clientCapabilityQuery', () => {
    const parsed = recorded('InvocationRequest', shape.capabilityQuery);
    parsed.clientCapabilityQuery = [];
    rejects(parsed, 'SCHEMA', '$.clientCapabilityQuery');
  });
  it('rejects-duplicate-capability-query', () => {
    const parsed = recorded('InvocationRequest', shape.capabilityQuery);
    parsed.clientCapabilityQuery = ['urn:a', 'urn:a'];
    rejects(parsed, 'SCHEMA', '$.clientCapabilityQuery[1]');
  });
  it('rejects-relative-capability-uri', () => {
    const parsed = recorded('InvocationRequest', shape.capabilityQuery);
    parsed.clientCapabilityQuery = ['feature#x'];
    rejects(parsed, 'SCHEMA', '$.clientCapabilityQuery[0]');
  });
  it('rejects-unknown-duplicate-or-empty-targetKeyContainers', () => {
    const parsed = recorded('InvocationRequest');
    parsed.targetKeyContainers = ['software', 'Software'];
    rejects(parsed, 'SCHEMA', '$.targetKeyContainers[1]');
    parsed.targetKeyContainers = ['software', 'software'];
    rejects(parsed, 'SCHEMA', '$.targetKeyContainers[1]');
    parsed.targetKeyContainers = [];
    rejects(parsed, 'SCHEMA', '$.targetKeyContainers');
  });
  it('round-trips every optional member (§13 scenarios 29, 30)', () => {
    const wire = encodeMessage({
      qualifier: 'InvocationRequest',
      serverSessionId: 'S.1',
      action: 'unlock',
      privacyEnabled: false,
      preferredLanguages: ['en', 'de', 'fr'],
      targetKeyContainers: ['software', 'embedded'],
      clientCapabilityQuery: ['https://webpki.github.io/keygen2/feature#device-pin-support'],
    });
    expect(wire).toBe(
      '{"@context":"https://webpki.github.io/keygen2#20190318","@qualifier":"InvocationRequest","serverSessionId":"S.1","action":"unlock","privacyEnabled":false,"preferredLanguages":["en","de","fr"],"targetKeyContainers":["software","embedded"],"clientCapabilityQuery":["https://webpki.github.io/keygen2/feature#device-pin-support"]}',
    );
    expect(encodeMessage(decodeMessage(wire))).toBe(wire);
  });
});

describe('InvocationResponse (§6.2)', () => {
  const caps = (m: Obj): Obj[] => m.clientCapabilities as Obj[];
  const withKinds = (): Obj => recorded('InvocationResponse', shape.allAnswerKinds);
  const kind = (m: Obj, k: string): number => indexOf(caps(m), (c) => k in c);
  it('rejects-capability-with-two-answers', () => {
    const parsed = withKinds();
    const index = kind(parsed, 'supported');
    at(caps(parsed), index).values = ['x'];
    rejects(parsed, 'SCHEMA', `$.clientCapabilities[${index}].values`);
  });
  it('rejects-capability-without-answer', () => {
    const parsed = withKinds();
    const index = kind(parsed, 'supported');
    delete at(caps(parsed), index).supported;
    rejects(parsed, 'SCHEMA', `$.clientCapabilities[${index}].supported`);
  });
  it('rejects-duplicate-capability-answer', () => {
    const parsed = withKinds();
    at(caps(parsed), 1).type = at(caps(parsed), 0).type;
    rejects(parsed, 'SCHEMA', '$.clientCapabilities[1].type');
  });
  it('rejects-empty-values', () => {
    const parsed = withKinds();
    const index = kind(parsed, 'values');
    at(caps(parsed), index).values = [];
    rejects(parsed, 'SCHEMA', `$.clientCapabilities[${index}].values`);
  });
  it('rejects-image-size-that-is-not-an-integer', () => {
    const parsed = withKinds();
    const index = kind(parsed, 'imageAttributes');
    const wire = text(parsed);
    const params = `$.clientCapabilities[${index}].imageAttributes.width`;
    rejects(wire.replace(/"width":(\d+)/, '"width":$1.0'), 'SCHEMA', params);
    rejects(wire.replace(/"width":(\d+)/, '"width":$1e0'), 'SCHEMA', params);
  });
  it('rejects-nonce-member (quirk 1: the reference issuer rejects it)', () => {
    const parsed = recorded('InvocationResponse');
    parsed.nonce = b64(32);
    rejects(parsed, 'SCHEMA', '$.nonce');
  });
  it('rejects-empty-clientCapabilities', () => {
    const parsed = recorded('InvocationResponse');
    parsed.clientCapabilities = [];
    rejects(parsed, 'SCHEMA', '$.clientCapabilities');
  });
});

describe('ProvisioningInitializationRequest (§6.3)', () => {
  it.each([
    ['sessionKeyLimit', 0],
    ['sessionKeyLimit', 32768],
    ['sessionLifeTime', 0],
    ['sessionLifeTime', 32768],
    ['sessionLifeTime', -1],
  ])('rejects-%s-out-of-range (%i)', (name, value) => {
    const parsed = recorded('ProvisioningInitializationRequest');
    parsed[name] = value;
    rejects(parsed, 'SCHEMA', `$.${name}`);
  });
  it('rejects-integer-with-fraction-or-exponent', () => {
    const wire = text(recorded('ProvisioningInitializationRequest'));
    rejects(wire.replace('"sessionKeyLimit":50', '"sessionKeyLimit":50.0'), 'SCHEMA', '$.sessionKeyLimit');
    rejects(wire.replace('"sessionKeyLimit":50', '"sessionKeyLimit":5e1'), 'SCHEMA', '$.sessionKeyLimit');
    rejects(wire.replace('"sessionKeyLimit":50', '"sessionKeyLimit":99999999999999999999'), 'SCHEMA', '$.sessionKeyLimit');
  });
  it('rejects-serverTime-with-offset', () => {
    const parsed = recorded('ProvisioningInitializationRequest');
    parsed.serverTime = '2026-11-27T17:21:15+00:00';
    rejects(parsed, 'SCHEMA', '$.serverTime');
  });
  it('rejects-rsa-ephemeral-key', () => {
    const parsed = recorded('ProvisioningInitializationRequest', shape.rollOver);
    parsed.serverEphemeralKey = at(parsed, 'updatableKeyManagementKeys', 0, 'publicKey');
    rejects(parsed, 'SCHEMA', '$.serverEphemeralKey.kty');
  });
  it('rejects-updatableKeyManagementKeys-without-keyManagementKey', () => {
    const parsed = recorded('ProvisioningInitializationRequest', shape.rollOver);
    delete parsed.keyManagementKey;
    rejects(parsed, 'SCHEMA', '$.updatableKeyManagementKeys');
  });
  it('rejects-empty-updatableKeyManagementKeys (nested)', () => {
    const parsed = recorded('ProvisioningInitializationRequest', shape.rollOver);
    at(parsed, 'updatableKeyManagementKeys', 0).updatableKeyManagementKeys = [];
    rejects(parsed, 'SCHEMA', '$.updatableKeyManagementKeys[0].updatableKeyManagementKeys');
  });
});

describe('ProvisioningInitializationResponse (§6.4)', () => {
  it('rejects-clientTime-in-Z-form (quirk 7) and with a fraction', () => {
    const parsed = recorded('ProvisioningInitializationResponse');
    parsed.clientTime = '2026-11-27T17:21:15Z';
    rejects(parsed, 'SCHEMA', '$.clientTime');
    parsed.clientTime = '2026-11-27T18:21:15.5+01:00';
    rejects(parsed, 'SCHEMA', '$.clientTime');
  });
  it('keeps clientTime text and offset', () => {
    const provisioningInitializationResponse = decodeMessage(text(recorded('ProvisioningInitializationResponse')), ['ProvisioningInitializationResponse']);
    expect(provisioningInitializationResponse.clientTime.text).toMatch(/\+01:00$/);
    expect(provisioningInitializationResponse.clientTime.offsetMinutes).toBe(60);
    expect(provisioningInitializationResponse.serverTime.text).toMatch(/Z$/);
  });
  it('rejects-certificate-path-out-of-order', () => {
    const parsed = recorded('ProvisioningInitializationResponse');
    const [device] = at(parsed, 'deviceId').certificatePath as Array<string | undefined>;
    at(parsed, 'deviceId').certificatePath = [device ?? '', device ?? ''];
    rejects(parsed, 'SCHEMA', '$.deviceId.certificatePath[0]');
  });
  it('rejects-non-certificate and empty certificate path', () => {
    const parsed = recorded('ProvisioningInitializationResponse');
    at(parsed, 'deviceId').certificatePath = [b64(100)];
    rejects(parsed, 'SCHEMA', '$.deviceId.certificatePath[0]');
    at(parsed, 'deviceId').certificatePath = [];
    rejects(parsed, 'SCHEMA', '$.deviceId.certificatePath');
  });
  it('accepts-privacy-mode-without-deviceId', () => {
    const provisioningInitializationResponse = decodeMessage(text(recorded('ProvisioningInitializationResponse', shape.privacy)), [
      'ProvisioningInitializationResponse',
    ]);
    expect(provisioningInitializationResponse.deviceId).toBeUndefined();
    expect(provisioningInitializationResponse.attestation.length).toBe(32);
  });
});

describe('CredentialDiscoveryRequest (§6.5)', () => {
  const specs = (m: Obj): Obj[] => m.lookupSpecifiers as Obj[];
  it('rejects-lookup-nonce-mismatch (PROTOCOL)', () => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    parsed.clientSessionId = 'OtherClientSession';
    rejects(parsed, 'PROTOCOL', '$.lookupSpecifiers[0].nonce');
  });
  it('rejects-tampered-lookup-signature (VERIFICATION)', () => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    const sig = at(specs(parsed), 0, 'signature');
    const bytes = Buffer.from(sig.value as string, 'base64url');
    bytes[5] ^= 1;
    sig.value = bytes.toString('base64url');
    rejects(parsed, 'VERIFICATION', '$.lookupSpecifiers[0].signature.value');
  });
  it('rejects-tampered-search-filter (VERIFICATION)', () => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    const index = indexOf(specs(parsed), (l) => 'searchFilter' in l);
    const filter = at(specs(parsed), index, 'searchFilter');
    filter.appUsage = filter.appUsage === 'signature' ? 'encryption' : 'signature';
    rejects(parsed, 'VERIFICATION', `$.lookupSpecifiers[${index}].signature.value`);
  });
  it('rejects-duplicate-lookup-id', () => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(parsed), 1).id = at(specs(parsed), 0).id;
    rejects(parsed, 'SCHEMA', '$.lookupSpecifiers[1].id');
  });
  it('rejects-non-sha256-signature-algorithm', () => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(parsed), 0, 'signature').algorithm = 'ES384';
    rejects(parsed, 'SCHEMA', '$.lookupSpecifiers[0].signature.algorithm');
  });
  it('rejects-sks-curve-uri-in-jsf-key', () => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(parsed), 0, 'signature', 'publicKey').crv = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
    rejects(parsed, 'SCHEMA', '$.lookupSpecifiers[0].signature.publicKey.crv');
  });
  it.each<[string, Json, string]>([
    ['rejects-empty-searchFilter', {}, ''],
    ['rejects-fingerPrint-not-32-bytes', { fingerPrint: b64(31) }, '.fingerPrint'],
    ['rejects-malformed-oid-rule (0 arc)', { policyRules: ['1.0.5'] }, '.policyRules[0]'],
    ['rejects-duplicate-rule (either sign)', { policyRules: ['5.4.8', '-5.4.8'] }, '.policyRules[1]'],
    ['rejects-empty-rule-list', { extendedKeyUsageRules: [] }, '.extendedKeyUsageRules'],
    ['rejects-unknown-key-usage-name', { keyUsageRules: ['-keycertsign'] }, '.keyUsageRules[0]'],
    ['rejects-malformed-serialNumber', { serialNumber: '0123' }, '.serialNumber'],
    ['rejects-serialNumber-as-number', { serialNumber: 123 }, '.serialNumber'],
    ['rejects-uncompilable-regex', { subjectRegEx: '(CN=x' }, '.subjectRegEx'],
    ['rejects-issuedBefore-with-offset', { issuedBefore: '2026-01-01T00:00:00+00:00' }, '.issuedBefore'],
    ['rejects-unknown-grouping', { grouping: 'Shared' }, '.grouping'],
  ])('%s', (_, filter, suffix) => {
    const parsed = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(parsed), 0).searchFilter = filter;
    rejects(parsed, 'SCHEMA', `$.lookupSpecifiers[0].searchFilter${suffix}`);
  });

  it('accepts-java-regex-syntax (\\Q…\\E with hyphens, a literal brace)', () => {
    expect(javaRegexToRegExp('\\Qjohn-doe@example.com\\E').test('john-doe@example.com')).toBe(true);
    expect(javaRegexToRegExp('\\Qjohn-doe@example.com\\E').test('johnXdoe@example.com')).toBe(false);
    expect(javaRegexToRegExp('CN=.*,O=a{').test('CN=x,O=a{')).toBe(true);
    expect(javaRegexToRegExp('\\QCN=Root CA\\E').test('CN=Root CA,O=x')).toBe(false);
  });

  /** Builds and signs a request the way an issuer does (§5.7): sign the JCS bytes, then encode. */
  function signedRequest(algorithm: LookupSignatureAlgorithm, searchFilter?: SearchFilter): string {
    const serverSessionId = 'Srv.Test.1';
    const clientSessionId = 'Cli.Test.1';
    const { publicKey, privateKey } =
      algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const unsigned = {
      id: 'Lookup.1',
      nonce: lookupNonce(clientSessionId, serverSessionId),
      ...(searchFilter === undefined ? {} : { searchFilter }),
      signature: { algorithm, publicKey: spki },
    };
    const data = lookupSpecifierSignedData(unsigned);
    const key =
      algorithm === 'ES256'
        ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
        : algorithm === 'PS256'
          ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : privateKey;
    const spec: LookupSpecifier = { ...unsigned, signature: { ...unsigned.signature, value: new Uint8Array(sign('sha256', data, key)) } };
    const message: CredentialDiscoveryRequest = { qualifier: 'CredentialDiscoveryRequest', serverSessionId, clientSessionId, lookupSpecifiers: [spec] };
    return encodeMessage(message);
  }

  it.each(['ES256', 'RS256', 'PS256'] as const)('accepts-a-%s-lookup-signature with every search-filter member', (algorithm) => {
    const filter: SearchFilter = {
      fingerPrint: new Uint8Array(32),
      issuerRegEx: '\\QCN=Root CA\\E',
      serialNumber: '123',
      subjectRegEx: '\\QCN=John,2.5.4.5=#1303313233\\E',
      emailRegEx: '\\Qjohn-doe@example.com\\E',
      policyRules: ['5.4.8', '-5.4.9'],
      keyUsageRules: ['-keyCertSign'],
      extendedKeyUsageRules: ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.4'],
      issuedBefore: utcDateTime(Date.parse('2026-01-01T00:00:00Z')),
      issuedAfter: utcDateTime(Date.parse('2026-01-02T00:00:00Z')),
      grouping: 'shared',
      appUsage: 'universal',
    };
    const wire = signedRequest(algorithm, filter);
    const decoded = decodeMessage(wire, ['CredentialDiscoveryRequest']);
    expect(decoded.lookupSpecifiers[0]?.searchFilter).toEqual(filter);
    expect(encodeMessage(decoded)).toBe(wire);
  });

  it('rejects-es256-signature-by-an-rsa-key', () => {
    const parsed = JSON.parse(signedRequest('RS256')) as Obj;
    at(parsed, 'lookupSpecifiers', 0, 'signature').algorithm = 'ES256';
    rejects(parsed, 'VERIFICATION', '$.lookupSpecifiers[0].signature.value');
  });
});

describe('CredentialDiscoveryResponse (§6.6)', () => {
  it('accepts-empty-matchingCredentials', () => {
    const parsed = recorded('CredentialDiscoveryResponse', shape.someMatch);
    at(parsed, 'lookupResults', 0).matchingCredentials = [];
    accepts(parsed);
  });
  it('rejects-empty-lookupResults', () => {
    const parsed = recorded('CredentialDiscoveryResponse', shape.someMatch);
    parsed.lookupResults = [];
    rejects(parsed, 'SCHEMA', '$.lookupResults');
  });
  it('rejects-locked-as-string', () => {
    const parsed = recorded('CredentialDiscoveryResponse', shape.someMatch);
    at(parsed, 'lookupResults', 0, 'matchingCredentials', 0).locked = 'true';
    rejects(parsed, 'SCHEMA', '$.lookupResults[0].matchingCredentials[0].locked');
  });
});

describe('KeyCreationRequest (§6.7)', () => {
  const puk = (m: Obj): Obj => at(m, 'pukPolicySpecifiers', 0);
  const pin = (m: Obj): Obj => at(m, 'pukPolicySpecifiers', 0, 'pinPolicySpecifiers', 0);
  const key = (m: Obj, i = 0): Obj => at(m, 'pukPolicySpecifiers', 0, 'pinPolicySpecifiers', 0, 'keyEntrySpecifiers', i);
  const pinPath = '$.pukPolicySpecifiers[0].pinPolicySpecifiers[0]';
  const Key = `${pinPath}.keyEntrySpecifiers`;
  const kcr = (): Obj => recorded('KeyCreationRequest', shape.presetPins);
  const top = (): Obj => recorded('KeyCreationRequest', shape.topKeysOnly);

  it('rejects-mac-not-32-bytes', () => {
    const parsed = kcr();
    key(parsed, 1).mac = b64(31);
    rejects(parsed, 'SCHEMA', `${Key}[1].mac`);
    pin(parsed).mac = b64(33);
    rejects(parsed, 'SCHEMA', `${pinPath}.mac`);
  });
  it('rejects-encryptedPin-or-encryptedPuk-outside-32..160-bytes', () => {
    const parsed = kcr();
    key(parsed).encryptedPin = b64(16);
    rejects(parsed, 'SCHEMA', `${Key}[0].encryptedPin`);
    const count = kcr();
    puk(count).encryptedPuk = b64(176);
    rejects(count, 'SCHEMA', '$.pukPolicySpecifiers[0].encryptedPuk');
  });
  it('rejects-minLength-greater-than-maxLength', () => {
    const parsed = kcr();
    pin(parsed).minLength = 9;
    rejects(parsed, 'SCHEMA', `${pinPath}.maxLength`);
  });
  it('rejects-pin-length-outside-0..128', () => {
    const parsed = kcr();
    pin(parsed).maxLength = 129;
    rejects(parsed, 'SCHEMA', `${pinPath}.maxLength`);
    pin(parsed).maxLength = 8;
    pin(parsed).minLength = -1;
    rejects(parsed, 'SCHEMA', `${pinPath}.minLength`);
  });
  it('rejects-retry-limits-out-of-range (PIN 1..10000, PUK 0..10000)', () => {
    const parsed = kcr();
    pin(parsed).retryLimit = 0;
    rejects(parsed, 'SCHEMA', `${pinPath}.retryLimit`);
    const count = kcr();
    puk(count).retryLimit = 10001;
    rejects(count, 'SCHEMA', '$.pukPolicySpecifiers[0].retryLimit');
    puk(count).retryLimit = 0;
    accepts(count);
  });
  it('rejects-mixed-preset-and-user-defined-pins (§6.7.2)', () => {
    const parsed = kcr();
    delete key(parsed, 1).encryptedPin;
    rejects(parsed, 'SCHEMA', `${Key}[1]`);
  });
  it('rejects-devicePinProtection-inside-a-pin-policy', () => {
    const parsed = kcr();
    key(parsed).devicePinProtection = true;
    rejects(parsed, 'SCHEMA', `${Key}[0].devicePinProtection`);
  });
  it('rejects-encryptedPin-at-top-level', () => {
    const parsed = top();
    at(parsed, 'keyEntrySpecifiers', 0).encryptedPin = b64(32);
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].encryptedPin');
  });
  it('accepts-devicePinProtection-at-top-level and round-trips it', () => {
    const parsed = top();
    const key = at(parsed, 'keyEntrySpecifiers', 0);
    const rebuilt = { id: key.id, devicePinProtection: true, ...Object.fromEntries(Object.entries(key).filter(([n]) => n !== 'id')) };
    (parsed.keyEntrySpecifiers as Json[])[0] = rebuilt;
    expect(encodeMessage(decodeMessage(text(parsed)))).toBe(text(parsed));
  });
  it('tolerates-legacy-userModifiable-next-to-encryptedPin (reference client)', () => {
    const parsed = kcr();
    key(parsed).userModifiable = false;
    accepts(parsed);
    const count = top();
    at(count, 'keyEntrySpecifiers', 0).userModifiable = false;
    rejects(count, 'SCHEMA', '$.keyEntrySpecifiers[0].userModifiable');
  });
  it('rejects-enablePinCaching-without-trusted-gui', () => {
    const parsed = kcr();
    delete pin(parsed).inputMethod;
    rejects(parsed, 'SCHEMA', `${Key}[0].enablePinCaching`);
    const count = top();
    at(count, 'keyEntrySpecifiers', 0).enablePinCaching = true;
    rejects(count, 'SCHEMA', '$.keyEntrySpecifiers[0].enablePinCaching');
  });
  it('rejects-endorsedAlgorithms-not-strictly-ascending', () => {
    const parsed = top();
    const key = at(parsed, 'keyEntrySpecifiers', 0);
    key.endorsedAlgorithms = ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'];
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[1]');
    key.endorsedAlgorithms = ['urn:a', 'urn:a'];
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[1]');
    key.endorsedAlgorithms = [];
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms');
    key.endorsedAlgorithms = ['relative'];
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[0]');
  });
  it('rejects-endorsed-none-not-alone', () => {
    const parsed = top();
    at(parsed, 'keyEntrySpecifiers', 0).endorsedAlgorithms = ['https://webpki.github.io/sks/algorithm#ecdh.raw', 'https://webpki.github.io/sks/algorithm#none'];
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[1]');
  });
  it('rejects-unknown-keyAlgorithm and wrong-case enumerations', () => {
    const parsed = top();
    at(parsed, 'keyEntrySpecifiers', 0).keyAlgorithm = 'https://webpki.github.io/sks/algorithm#ec.nist.p255';
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].keyAlgorithm');
    const count = top();
    at(count, 'keyEntrySpecifiers', 0).appUsage = 'Authentication';
    rejects(count, 'SCHEMA', '$.keyEntrySpecifiers[0].appUsage');
  });
  it('keyParameters-only-and-always-with-the-exp-algorithms', () => {
    const parsed = top();
    const key = at(parsed, 'keyEntrySpecifiers', 0);
    key.keyParameters = 'Aw';
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].keyParameters');
    key.keyAlgorithm = 'https://webpki.github.io/sks/algorithm#rsa2048.exp';
    accepts(parsed);
    delete key.keyParameters;
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].keyParameters');
    key.keyParameters = b64(9);
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].keyParameters');
  });
  it('rejects-serverSeed-over-64-bytes', () => {
    const parsed = top();
    at(parsed, 'keyEntrySpecifiers', 0).serverSeed = b64(65);
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers[0].serverSeed');
  });
  it('rejects-duplicate-ids (PUK, PIN and key IDs share one namespace)', () => {
    const parsed = kcr();
    key(parsed, 1).id = 'PIN.1';
    rejects(parsed, 'SCHEMA', `${Key}[1].id`);
  });
  it('rejects-request-without-keys', () => {
    const parsed = top();
    delete parsed.keyEntrySpecifiers;
    rejects(parsed, 'SCHEMA', '$.keyEntrySpecifiers');
  });
  it('rejects-empty-nested-lists', () => {
    const parsed = kcr();
    pin(parsed).keyEntrySpecifiers = [];
    rejects(parsed, 'SCHEMA', `${pinPath}.keyEntrySpecifiers`);
    const count = kcr();
    puk(count).pinPolicySpecifiers = [];
    rejects(count, 'SCHEMA', '$.pukPolicySpecifiers[0].pinPolicySpecifiers');
    const options = kcr();
    pin(options).patternRestrictions = [];
    rejects(options, 'SCHEMA', `${pinPath}.patternRestrictions`);
  });
});

describe('KeyCreationResponse (§6.8)', () => {
  it('rejects-duplicate-generated-key-ids', () => {
    const parsed = recorded('KeyCreationResponse', shape.twoKeys);
    at(parsed, 'generatedKeys', 1).id = at(parsed, 'generatedKeys', 0).id;
    rejects(parsed, 'SCHEMA', '$.generatedKeys[1].id');
  });
});

describe('ProvisioningFinalizationRequest (§6.9)', () => {
  const cred = (m: Obj, i = 0): Obj => at(m, 'issuedCredentials', i);
  it('rejects-both-import-objects', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.importsPrivateKey);
    const index = indexOf(list(parsed.issuedCredentials), (c) => 'importPrivateKey' in c);
    cred(parsed, index).importSymmetricKey = cred(parsed, index).importPrivateKey;
    rejects(parsed, 'SCHEMA', `$.issuedCredentials[${index}].importPrivateKey`);
  });
  it('rejects-both-updateKey-and-cloneKeyProtection', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.updateCloneUnlock);
    const code = indexOf(list(parsed.issuedCredentials), (x) => 'cloneKeyProtection' in x);
    const value = indexOf(list(parsed.issuedCredentials), (x) => 'updateKey' in x);
    cred(parsed, code).updateKey = cred(parsed, value).updateKey;
    rejects(parsed, 'SCHEMA', `$.issuedCredentials[${code}].cloneKeyProtection`);
  });
  it('rejects-fingerPrint-not-32-bytes', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.updateCloneUnlock);
    at(parsed, 'unlockKeys', 0).fingerPrint = b64(20);
    rejects(parsed, 'SCHEMA', '$.unlockKeys[0].fingerPrint');
  });
  it('rejects-trustAnchor-with-a-non-CA-last-certificate', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.eeOnly);
    cred(parsed).trustAnchor = true;
    rejects(parsed, 'SCHEMA', '$.issuedCredentials[0].trustAnchor');
  });
  it('accepts-trustAnchor-with-a-CA-last-certificate (§13 scenario 28)', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.eeOnly);
    const file = JSON.parse(readFileSync(path.join(INTEROP_DIR, all[0]?.file ?? ''), 'utf8')) as {
      test_keys: { certificate_issuer_ca: { certificate_path_der_hex: string[] } };
    };
    const caPath = file.test_keys.certificate_issuer_ca.certificate_path_der_hex.map((h) => Buffer.from(h, 'hex').toString('base64url'));
    const entries = Object.entries(cred(parsed));
    const item: Obj = {};
    for (const [key, json] of entries) {
      item[key] = key === 'certificatePath' ? [...(json as string[]), ...caPath] : json;
      if (key === 'mac') item.trustAnchor = true;
    }
    (parsed.issuedCredentials as Json[])[0] = item;
    expect(encodeMessage(decodeMessage(text(parsed)))).toBe(text(parsed));
  });
  it('rejects-duplicate-property-name and empty properties', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.bagAndExtension);
    const bag = at(parsed, 'issuedCredentials', 0, 'propertyBags', 0);
    at(bag, 'properties', 1).name = 'main';
    rejects(parsed, 'SCHEMA', '$.issuedCredentials[0].propertyBags[0].properties[1].name');
    bag.properties = [];
    rejects(parsed, 'SCHEMA', '$.issuedCredentials[0].propertyBags[0].properties');
  });
  it('rejects-empty-extension-type', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.bagAndExtension);
    at(parsed, 'issuedCredentials', 0, 'extensions', 0).type = '';
    rejects(parsed, 'SCHEMA', '$.issuedCredentials[0].extensions[0].type');
  });
  it('rejects-duplicate-extension-type across the four lists (§6.9.1)', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.bagAndExtension);
    at(parsed, 'issuedCredentials', 0, 'propertyBags', 0).type = at(parsed, 'issuedCredentials', 0, 'extensions', 0).type;
    rejects(parsed, 'SCHEMA', '$.issuedCredentials[0].propertyBags[0].type');
  });
  it('rejects-logotype-mime-type-over-128-bytes', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', (o) => list(list(o.issuedCredentials)[0]?.logotypes).length > 0);
    at(parsed, 'issuedCredentials', 0, 'logotypes', 0).mimeType = 'image/' + 'x'.repeat(123);
    rejects(parsed, 'SCHEMA', '$.issuedCredentials[0].logotypes[0].mimeType');
  });
  it('rejects-top-level-nonce-and-mac (outdated sample, quirk 14)', () => {
    const parsed = recorded('ProvisioningFinalizationRequest');
    const close = at(parsed, 'sessionCloseData');
    delete parsed.sessionCloseData;
    parsed.nonce = close.nonce;
    parsed.mac = close.mac;
    rejects(parsed, 'SCHEMA', '$.sessionCloseData');
  });
  it('accepts-management-only-finalization-without-issuedCredentials', () => {
    const parsed = recorded('ProvisioningFinalizationRequest', shape.updateCloneUnlock);
    delete parsed.issuedCredentials;
    accepts(parsed);
  });
});

describe('ProvisioningFinalizationResponse (§6.10)', () => {
  it('rejects-attestation-not-32-bytes', () => {
    const parsed = recorded('ProvisioningFinalizationResponse');
    parsed.attestation = b64(31);
    rejects(parsed, 'SCHEMA', '$.attestation');
  });
});

describe('encodeMessage', () => {
  it('refuses-to-encode-an-invalid-message with the decoder’s code and path', () => {
    expect(() =>
      encodeMessage({ qualifier: 'ProvisioningFinalizationResponse', serverSessionId: 'S 1', clientSessionId: 'C', attestation: new Uint8Array(32) }),
    ).toThrow(expect.objectContaining({ code: 'SCHEMA', path: '$.serverSessionId' }));
    expect(() => encodeMessage({ qualifier: 'KeyCreationResponse', serverSessionId: 'S', clientSessionId: 'C', generatedKeys: [] })).toThrow(
      expect.objectContaining({ code: 'SCHEMA', path: '$.generatedKeys' }),
    );
  });
  it('refuses-bytes-that-are-not-a-public-key', () => {
    const keyCreationResponse = decodeMessage(text(recorded('KeyCreationResponse')), ['KeyCreationResponse']);
    const bad = { ...keyCreationResponse, generatedKeys: keyCreationResponse.generatedKeys.map((k) => ({ ...k, publicKey: new Uint8Array([1, 2, 3]) })) };
    expect(() => encodeMessage(bad)).toThrow(expect.objectContaining({ code: 'SCHEMA', path: '$' }));
  });
  it('refuses-a-lone-surrogate', () => {
    const keyCreationRequest = decodeMessage(text(recorded('KeyCreationRequest', shape.topKeysOnly)), ['KeyCreationRequest']);
    const bad = { ...keyCreationRequest, keyEntrySpecifiers: (keyCreationRequest.keyEntrySpecifiers ?? []).map((k) => ({ ...k, friendlyName: 'a\ud800' })) };
    expect(bad.keyEntrySpecifiers.length).toBeGreaterThan(0);
    expect(() => encodeMessage(bad)).toThrow(expect.objectContaining({ code: 'SCHEMA' }));
  });
});
