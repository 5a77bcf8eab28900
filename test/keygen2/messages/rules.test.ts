/**
 * One negative test per message rule (spec §4, §6, §11.1), each named after the rule and
 * asserting the error code and JSON path; recorded messages are the starting point.
 */
import { generateKeyPairSync, sign, constants } from 'node:crypto';
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

type Obj = { [k: string]: Json };

const all = recordedMessages();
/**
 * A fresh mutable copy of the first recorded message with this qualifier that has the shape a
 * test needs (chosen by content, not by file name, so other recordings of the layout work too).
 */
function recorded(qualifier: string, shape: (o: Obj) => boolean = () => true): Obj {
  for (const x of all) {
    if (x.qualifier !== qualifier) continue;
    const o = JSON.parse(x.wire) as Obj;
    if (shape(o)) return o;
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
  someMatch: (o: Obj) => list(list(o.lookupResults)[0]?.matchingCredentials).length > 0,
  presetPins: (o: Obj) => {
    const pin = list(list(o.pukPolicySpecifiers)[0]?.pinPolicySpecifiers)[0];
    const keys = list(pin?.keyEntrySpecifiers);
    return pin?.inputMethod === 'trusted-gui' && keys.length >= 2 && keys.every((k) => 'encryptedPin' in k) && keys[0]?.enablePinCaching === true;
  },
  topKeysOnly: (o: Obj) => list(o.keyEntrySpecifiers).length > 0 && !('pinPolicySpecifiers' in o) && !('pukPolicySpecifiers' in o),
  twoKeys: (o: Obj) => list(o.generatedKeys).length >= 2,
  importsPrivateKey: (o: Obj) => list(o.issuedCredentials).some((c) => 'importPrivateKey' in c),
  updateCloneUnlock: (o: Obj) =>
    list(o.issuedCredentials).some((c) => 'cloneKeyProtection' in c) && list(o.issuedCredentials).some((c) => 'updateKey' in c) && list(o.unlockKeys).length > 0,
  eeOnly: (o: Obj) => list(list(o.issuedCredentials)[0]?.certificatePath).length === 1,
  bagAndExtension: (o: Obj) => {
    const c = list(o.issuedCredentials)[0];
    return list(list(c?.propertyBags)[0]?.properties).length >= 2 && list(c?.extensions).length > 0;
  },
};

const text = (v: Json | string): string => (typeof v === 'string' ? v : JSON.stringify(v));
function rejects(v: Json | string, code: KeyGen2ErrorCode, p: string): void {
  expect(() => decodeMessage(text(v))).toThrowError(expect.objectContaining({ code, path: p }));
}
const accepts = (v: Json | string): void => void decodeMessage(text(v));

/** Navigation without non-null assertions: `at(o, 'a', 0, 'b')`. */
function at(root: Json, ...steps: (string | number)[]): Obj {
  let v: Json = root;
  for (const s of steps) v = (v as Record<string | number, Json>)[s] as Json;
  return v as Obj;
}

const b64 = (n: number, fill = 1): string => Buffer.alloc(n, fill).toString('base64url');

describe('envelope (§4.1)', () => {
  it('rejects-unknown-context', () => {
    const m = recorded('InvocationRequest');
    m['@context'] = 'https://webpki.github.io/keygen2#20190317';
    rejects(m, 'SCHEMA', "$['@context']");
  });
  it('rejects-unknown-qualifier', () => {
    const m = recorded('InvocationRequest');
    m['@qualifier'] = 'InvocationRequests';
    rejects(m, 'SCHEMA', "$['@qualifier']");
  });
  it('rejects-non-object-message', () => rejects('[]', 'SCHEMA', '$'));
  it('rejects-unexpected-qualifier (PROTOCOL)', () => {
    expect(() => decodeMessage(text(recorded('InvocationRequest')), ['InvocationResponse'])).toThrowError(
      expect.objectContaining({ code: 'PROTOCOL', path: "$['@qualifier']" }),
    );
  });
  it('rejects-top-level-signature (never sent, §4.2 quirk 18)', () => {
    const m = recorded('KeyCreationRequest');
    m.signature = { algorithm: 'ES256' };
    rejects(m, 'SCHEMA', '$.signature');
  });
});

describe('InvocationRequest (§6.1)', () => {
  it('rejects-unknown-action', () => {
    const m = recorded('InvocationRequest');
    m.action = 'Manage';
    rejects(m, 'SCHEMA', '$.action');
  });
  it('rejects-bad-id (too long, space)', () => {
    const m = recorded('InvocationRequest');
    m.serverSessionId = 'x'.repeat(33);
    rejects(m, 'SCHEMA', '$.serverSessionId');
    m.serverSessionId = 'a b';
    rejects(m, 'SCHEMA', '$.serverSessionId');
  });
  it('rejects-empty-clientCapabilityQuery', () => {
    const m = recorded('InvocationRequest', shape.capabilityQuery);
    m.clientCapabilityQuery = [];
    rejects(m, 'SCHEMA', '$.clientCapabilityQuery');
  });
  it('rejects-duplicate-capability-query', () => {
    const m = recorded('InvocationRequest', shape.capabilityQuery);
    m.clientCapabilityQuery = ['urn:a', 'urn:a'];
    rejects(m, 'SCHEMA', '$.clientCapabilityQuery[1]');
  });
  it('rejects-relative-capability-uri', () => {
    const m = recorded('InvocationRequest', shape.capabilityQuery);
    m.clientCapabilityQuery = ['feature#x'];
    rejects(m, 'SCHEMA', '$.clientCapabilityQuery[0]');
  });
  it('rejects-unknown-duplicate-or-empty-targetKeyContainers', () => {
    const m = recorded('InvocationRequest');
    m.targetKeyContainers = ['software', 'Software'];
    rejects(m, 'SCHEMA', '$.targetKeyContainers[1]');
    m.targetKeyContainers = ['software', 'software'];
    rejects(m, 'SCHEMA', '$.targetKeyContainers[1]');
    m.targetKeyContainers = [];
    rejects(m, 'SCHEMA', '$.targetKeyContainers');
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
    const m = withKinds();
    const i = kind(m, 'supported');
    at(caps(m), i).values = ['x'];
    rejects(m, 'SCHEMA', `$.clientCapabilities[${i}].values`);
  });
  it('rejects-capability-without-answer', () => {
    const m = withKinds();
    const i = kind(m, 'supported');
    delete at(caps(m), i).supported;
    rejects(m, 'SCHEMA', `$.clientCapabilities[${i}].supported`);
  });
  it('rejects-duplicate-capability-answer', () => {
    const m = withKinds();
    at(caps(m), 1).type = at(caps(m), 0).type as string;
    rejects(m, 'SCHEMA', '$.clientCapabilities[1].type');
  });
  it('rejects-empty-values', () => {
    const m = withKinds();
    const i = kind(m, 'values');
    at(caps(m), i).values = [];
    rejects(m, 'SCHEMA', `$.clientCapabilities[${i}].values`);
  });
  it('rejects-image-size-that-is-not-an-integer', () => {
    const m = withKinds();
    const i = kind(m, 'imageAttributes');
    const wire = text(m);
    const p = `$.clientCapabilities[${i}].imageAttributes.width`;
    rejects(wire.replace(/"width":(\d+)/, '"width":$1.0'), 'SCHEMA', p);
    rejects(wire.replace(/"width":(\d+)/, '"width":$1e0'), 'SCHEMA', p);
  });
  it('rejects-nonce-member (quirk 1: the reference issuer rejects it)', () => {
    const m = recorded('InvocationResponse');
    m.nonce = b64(32);
    rejects(m, 'SCHEMA', '$.nonce');
  });
  it('rejects-empty-clientCapabilities', () => {
    const m = recorded('InvocationResponse');
    m.clientCapabilities = [];
    rejects(m, 'SCHEMA', '$.clientCapabilities');
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
    const m = recorded('ProvisioningInitializationRequest');
    m[name] = value;
    rejects(m, 'SCHEMA', `$.${name}`);
  });
  it('rejects-integer-with-fraction-or-exponent', () => {
    const wire = text(recorded('ProvisioningInitializationRequest'));
    rejects(wire.replace('"sessionKeyLimit":50', '"sessionKeyLimit":50.0'), 'SCHEMA', '$.sessionKeyLimit');
    rejects(wire.replace('"sessionKeyLimit":50', '"sessionKeyLimit":5e1'), 'SCHEMA', '$.sessionKeyLimit');
    rejects(wire.replace('"sessionKeyLimit":50', '"sessionKeyLimit":99999999999999999999'), 'SCHEMA', '$.sessionKeyLimit');
  });
  it('rejects-serverTime-with-offset', () => {
    const m = recorded('ProvisioningInitializationRequest');
    m.serverTime = '2026-11-27T17:21:15+00:00';
    rejects(m, 'SCHEMA', '$.serverTime');
  });
  it('rejects-rsa-ephemeral-key', () => {
    const m = recorded('ProvisioningInitializationRequest', shape.rollOver);
    m.serverEphemeralKey = at(m, 'updatableKeyManagementKeys', 0, 'publicKey');
    rejects(m, 'SCHEMA', '$.serverEphemeralKey.kty');
  });
  it('rejects-updatableKeyManagementKeys-without-keyManagementKey', () => {
    const m = recorded('ProvisioningInitializationRequest', shape.rollOver);
    delete m.keyManagementKey;
    rejects(m, 'SCHEMA', '$.updatableKeyManagementKeys');
  });
  it('rejects-empty-updatableKeyManagementKeys (nested)', () => {
    const m = recorded('ProvisioningInitializationRequest', shape.rollOver);
    at(m, 'updatableKeyManagementKeys', 0).updatableKeyManagementKeys = [];
    rejects(m, 'SCHEMA', '$.updatableKeyManagementKeys[0].updatableKeyManagementKeys');
  });
});

describe('ProvisioningInitializationResponse (§6.4)', () => {
  it('rejects-clientTime-in-Z-form (quirk 7) and with a fraction', () => {
    const m = recorded('ProvisioningInitializationResponse');
    m.clientTime = '2026-11-27T17:21:15Z';
    rejects(m, 'SCHEMA', '$.clientTime');
    m.clientTime = '2026-11-27T18:21:15.5+01:00';
    rejects(m, 'SCHEMA', '$.clientTime');
  });
  it('keeps clientTime text and offset', () => {
    const r = decodeMessage(text(recorded('ProvisioningInitializationResponse')), ['ProvisioningInitializationResponse']);
    expect(r.clientTime.text).toMatch(/\+01:00$/);
    expect(r.clientTime.offsetMinutes).toBe(60);
    expect(r.serverTime.text).toMatch(/Z$/);
  });
  it('rejects-certificate-path-out-of-order', () => {
    const m = recorded('ProvisioningInitializationResponse');
    const [device] = at(m, 'deviceId').certificatePath as string[];
    at(m, 'deviceId').certificatePath = [device ?? '', device ?? ''];
    rejects(m, 'SCHEMA', '$.deviceId.certificatePath[0]');
  });
  it('rejects-non-certificate and empty certificate path', () => {
    const m = recorded('ProvisioningInitializationResponse');
    at(m, 'deviceId').certificatePath = [b64(100)];
    rejects(m, 'SCHEMA', '$.deviceId.certificatePath[0]');
    at(m, 'deviceId').certificatePath = [];
    rejects(m, 'SCHEMA', '$.deviceId.certificatePath');
  });
  it('accepts-privacy-mode-without-deviceId', () => {
    const r = decodeMessage(text(recorded('ProvisioningInitializationResponse', shape.privacy)), ['ProvisioningInitializationResponse']);
    expect(r.deviceId).toBeUndefined();
    expect(r.attestation.length).toBe(32);
  });
});

describe('CredentialDiscoveryRequest (§6.5)', () => {
  const specs = (m: Obj): Obj[] => m.lookupSpecifiers as Obj[];
  it('rejects-lookup-nonce-mismatch (PROTOCOL)', () => {
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    m.clientSessionId = 'OtherClientSession';
    rejects(m, 'PROTOCOL', '$.lookupSpecifiers[0].nonce');
  });
  it('rejects-tampered-lookup-signature (VERIFICATION)', () => {
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    const sig = at(specs(m), 0, 'signature');
    const v = Buffer.from(sig.value as string, 'base64url');
    v[5] = (v[5] ?? 0) ^ 1;
    sig.value = v.toString('base64url');
    rejects(m, 'VERIFICATION', '$.lookupSpecifiers[0].signature.value');
  });
  it('rejects-tampered-search-filter (VERIFICATION)', () => {
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    const i = indexOf(specs(m), (l) => 'searchFilter' in l);
    const filter = at(specs(m), i, 'searchFilter');
    filter.appUsage = filter.appUsage === 'signature' ? 'encryption' : 'signature';
    rejects(m, 'VERIFICATION', `$.lookupSpecifiers[${i}].signature.value`);
  });
  it('rejects-duplicate-lookup-id', () => {
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(m), 1).id = at(specs(m), 0).id as string;
    rejects(m, 'SCHEMA', '$.lookupSpecifiers[1].id');
  });
  it('rejects-non-sha256-signature-algorithm', () => {
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(m), 0, 'signature').algorithm = 'ES384';
    rejects(m, 'SCHEMA', '$.lookupSpecifiers[0].signature.algorithm');
  });
  it('rejects-sks-curve-uri-in-jsf-key', () => {
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(m), 0, 'signature', 'publicKey').crv = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
    rejects(m, 'SCHEMA', '$.lookupSpecifiers[0].signature.publicKey.crv');
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
    const m = recorded('CredentialDiscoveryRequest', shape.twoLookupsOneFiltered);
    at(specs(m), 0).searchFilter = filter;
    rejects(m, 'SCHEMA', `$.lookupSpecifiers[0].searchFilter${suffix}`);
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
    const { publicKey, privateKey } = algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const unsigned = { id: 'Lookup.1', nonce: lookupNonce(clientSessionId, serverSessionId), ...(searchFilter === undefined ? {} : { searchFilter }), signature: { algorithm, publicKey: spki } };
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
    const m = JSON.parse(signedRequest('RS256')) as Obj;
    at(m, 'lookupSpecifiers', 0, 'signature').algorithm = 'ES256';
    rejects(m, 'VERIFICATION', '$.lookupSpecifiers[0].signature.value');
  });
});

describe('CredentialDiscoveryResponse (§6.6)', () => {
  it('accepts-empty-matchingCredentials', () => {
    const m = recorded('CredentialDiscoveryResponse', shape.someMatch);
    at(m, 'lookupResults', 0).matchingCredentials = [];
    accepts(m);
  });
  it('rejects-empty-lookupResults', () => {
    const m = recorded('CredentialDiscoveryResponse', shape.someMatch);
    m.lookupResults = [];
    rejects(m, 'SCHEMA', '$.lookupResults');
  });
  it('rejects-locked-as-string', () => {
    const m = recorded('CredentialDiscoveryResponse', shape.someMatch);
    at(m, 'lookupResults', 0, 'matchingCredentials', 0).locked = 'true';
    rejects(m, 'SCHEMA', '$.lookupResults[0].matchingCredentials[0].locked');
  });
});

describe('KeyCreationRequest (§6.7)', () => {
  const puk = (m: Obj): Obj => at(m, 'pukPolicySpecifiers', 0);
  const pin = (m: Obj): Obj => at(m, 'pukPolicySpecifiers', 0, 'pinPolicySpecifiers', 0);
  const key = (m: Obj, i = 0): Obj => at(m, 'pukPolicySpecifiers', 0, 'pinPolicySpecifiers', 0, 'keyEntrySpecifiers', i);
  const P = '$.pukPolicySpecifiers[0].pinPolicySpecifiers[0]';
  const K = `${P}.keyEntrySpecifiers`;
  const kcr = (): Obj => recorded('KeyCreationRequest', shape.presetPins);
  const top = (): Obj => recorded('KeyCreationRequest', shape.topKeysOnly);

  it('rejects-mac-not-32-bytes', () => {
    const m = kcr();
    key(m, 1).mac = b64(31);
    rejects(m, 'SCHEMA', `${K}[1].mac`);
    pin(m).mac = b64(33);
    rejects(m, 'SCHEMA', `${P}.mac`);
  });
  it('rejects-encryptedPin-or-encryptedPuk-outside-32..160-bytes', () => {
    const m = kcr();
    key(m).encryptedPin = b64(16);
    rejects(m, 'SCHEMA', `${K}[0].encryptedPin`);
    const n = kcr();
    puk(n).encryptedPuk = b64(176);
    rejects(n, 'SCHEMA', '$.pukPolicySpecifiers[0].encryptedPuk');
  });
  it('rejects-minLength-greater-than-maxLength', () => {
    const m = kcr();
    pin(m).minLength = 9;
    rejects(m, 'SCHEMA', `${P}.maxLength`);
  });
  it('rejects-pin-length-outside-0..128', () => {
    const m = kcr();
    pin(m).maxLength = 129;
    rejects(m, 'SCHEMA', `${P}.maxLength`);
    pin(m).maxLength = 8;
    pin(m).minLength = -1;
    rejects(m, 'SCHEMA', `${P}.minLength`);
  });
  it('rejects-retry-limits-out-of-range (PIN 1..10000, PUK 0..10000)', () => {
    const m = kcr();
    pin(m).retryLimit = 0;
    rejects(m, 'SCHEMA', `${P}.retryLimit`);
    const n = kcr();
    puk(n).retryLimit = 10001;
    rejects(n, 'SCHEMA', '$.pukPolicySpecifiers[0].retryLimit');
    puk(n).retryLimit = 0;
    accepts(n);
  });
  it('rejects-mixed-preset-and-user-defined-pins (§6.7.2)', () => {
    const m = kcr();
    delete key(m, 1).encryptedPin;
    rejects(m, 'SCHEMA', `${K}[1]`);
  });
  it('rejects-devicePinProtection-inside-a-pin-policy', () => {
    const m = kcr();
    key(m).devicePinProtection = true;
    rejects(m, 'SCHEMA', `${K}[0].devicePinProtection`);
  });
  it('rejects-encryptedPin-at-top-level', () => {
    const m = top();
    at(m, 'keyEntrySpecifiers', 0).encryptedPin = b64(32);
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].encryptedPin');
  });
  it('accepts-devicePinProtection-at-top-level and round-trips it', () => {
    const m = top();
    const k = at(m, 'keyEntrySpecifiers', 0);
    const rebuilt = { id: k.id, devicePinProtection: true, ...Object.fromEntries(Object.entries(k).filter(([n]) => n !== 'id')) };
    (m.keyEntrySpecifiers as Json[])[0] = rebuilt;
    expect(encodeMessage(decodeMessage(text(m)))).toBe(text(m));
  });
  it('tolerates-legacy-userModifiable-next-to-encryptedPin (reference client)', () => {
    const m = kcr();
    key(m).userModifiable = false;
    accepts(m);
    const n = top();
    at(n, 'keyEntrySpecifiers', 0).userModifiable = false;
    rejects(n, 'SCHEMA', '$.keyEntrySpecifiers[0].userModifiable');
  });
  it('rejects-enablePinCaching-without-trusted-gui', () => {
    const m = kcr();
    delete pin(m).inputMethod;
    rejects(m, 'SCHEMA', `${K}[0].enablePinCaching`);
    const n = top();
    at(n, 'keyEntrySpecifiers', 0).enablePinCaching = true;
    rejects(n, 'SCHEMA', '$.keyEntrySpecifiers[0].enablePinCaching');
  });
  it('rejects-endorsedAlgorithms-not-strictly-ascending', () => {
    const m = top();
    const k = at(m, 'keyEntrySpecifiers', 0);
    k.endorsedAlgorithms = ['http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', 'http://www.w3.org/2000/09/xmldsig#hmac-sha1'];
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[1]');
    k.endorsedAlgorithms = ['urn:a', 'urn:a'];
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[1]');
    k.endorsedAlgorithms = [];
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms');
    k.endorsedAlgorithms = ['relative'];
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[0]');
  });
  it('rejects-endorsed-none-not-alone', () => {
    const m = top();
    at(m, 'keyEntrySpecifiers', 0).endorsedAlgorithms = ['https://webpki.github.io/sks/algorithm#ecdh.raw', 'https://webpki.github.io/sks/algorithm#none'];
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].endorsedAlgorithms[1]');
  });
  it('rejects-unknown-keyAlgorithm and wrong-case enumerations', () => {
    const m = top();
    at(m, 'keyEntrySpecifiers', 0).keyAlgorithm = 'https://webpki.github.io/sks/algorithm#ec.nist.p255';
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].keyAlgorithm');
    const n = top();
    at(n, 'keyEntrySpecifiers', 0).appUsage = 'Authentication';
    rejects(n, 'SCHEMA', '$.keyEntrySpecifiers[0].appUsage');
  });
  it('keyParameters-only-and-always-with-the-exp-algorithms', () => {
    const m = top();
    const k = at(m, 'keyEntrySpecifiers', 0);
    k.keyParameters = 'Aw';
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].keyParameters');
    k.keyAlgorithm = 'https://webpki.github.io/sks/algorithm#rsa2048.exp';
    accepts(m);
    delete k.keyParameters;
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].keyParameters');
    k.keyParameters = b64(9);
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].keyParameters');
  });
  it('rejects-serverSeed-over-64-bytes', () => {
    const m = top();
    at(m, 'keyEntrySpecifiers', 0).serverSeed = b64(65);
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers[0].serverSeed');
  });
  it('rejects-duplicate-ids (PUK, PIN and key IDs share one namespace)', () => {
    const m = kcr();
    key(m, 1).id = 'PIN.1';
    rejects(m, 'SCHEMA', `${K}[1].id`);
  });
  it('rejects-request-without-keys', () => {
    const m = top();
    delete m.keyEntrySpecifiers;
    rejects(m, 'SCHEMA', '$.keyEntrySpecifiers');
  });
  it('rejects-empty-nested-lists', () => {
    const m = kcr();
    pin(m).keyEntrySpecifiers = [];
    rejects(m, 'SCHEMA', `${P}.keyEntrySpecifiers`);
    const n = kcr();
    puk(n).pinPolicySpecifiers = [];
    rejects(n, 'SCHEMA', '$.pukPolicySpecifiers[0].pinPolicySpecifiers');
    const o = kcr();
    pin(o).patternRestrictions = [];
    rejects(o, 'SCHEMA', `${P}.patternRestrictions`);
  });
});

describe('KeyCreationResponse (§6.8)', () => {
  it('rejects-duplicate-generated-key-ids', () => {
    const m = recorded('KeyCreationResponse', shape.twoKeys);
    at(m, 'generatedKeys', 1).id = at(m, 'generatedKeys', 0).id as string;
    rejects(m, 'SCHEMA', '$.generatedKeys[1].id');
  });
});

describe('ProvisioningFinalizationRequest (§6.9)', () => {
  const cred = (m: Obj, i = 0): Obj => at(m, 'issuedCredentials', i);
  it('rejects-both-import-objects', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.importsPrivateKey);
    const i = indexOf(list(m.issuedCredentials), (c) => 'importPrivateKey' in c);
    cred(m, i).importSymmetricKey = cred(m, i).importPrivateKey as Json;
    rejects(m, 'SCHEMA', `$.issuedCredentials[${i}].importPrivateKey`);
  });
  it('rejects-both-updateKey-and-cloneKeyProtection', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.updateCloneUnlock);
    const c = indexOf(list(m.issuedCredentials), (x) => 'cloneKeyProtection' in x);
    const u = indexOf(list(m.issuedCredentials), (x) => 'updateKey' in x);
    cred(m, c).updateKey = cred(m, u).updateKey as Json;
    rejects(m, 'SCHEMA', `$.issuedCredentials[${c}].cloneKeyProtection`);
  });
  it('rejects-fingerPrint-not-32-bytes', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.updateCloneUnlock);
    at(m, 'unlockKeys', 0).fingerPrint = b64(20);
    rejects(m, 'SCHEMA', '$.unlockKeys[0].fingerPrint');
  });
  it('rejects-trustAnchor-with-a-non-CA-last-certificate', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.eeOnly);
    cred(m).trustAnchor = true;
    rejects(m, 'SCHEMA', '$.issuedCredentials[0].trustAnchor');
  });
  it('accepts-trustAnchor-with-a-CA-last-certificate (§13 scenario 28)', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.eeOnly);
    const file = JSON.parse(readFileSync(path.join(INTEROP_DIR, all[0]?.file ?? ''), 'utf8')) as {
      test_keys: { certificate_issuer_ca: { certificate_path_der_hex: string[] } };
    };
    const caPath = file.test_keys.certificate_issuer_ca.certificate_path_der_hex.map((h) => Buffer.from(h, 'hex').toString('base64url'));
    const entries = Object.entries(cred(m));
    const c: Obj = {};
    for (const [k, v] of entries) {
      c[k] = k === 'certificatePath' ? [...(v as string[]), ...caPath] : v;
      if (k === 'mac') c.trustAnchor = true;
    }
    (m.issuedCredentials as Json[])[0] = c;
    expect(encodeMessage(decodeMessage(text(m)))).toBe(text(m));
  });
  it('rejects-duplicate-property-name and empty properties', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.bagAndExtension);
    const bag = at(m, 'issuedCredentials', 0, 'propertyBags', 0);
    at(bag, 'properties', 1).name = 'main';
    rejects(m, 'SCHEMA', '$.issuedCredentials[0].propertyBags[0].properties[1].name');
    bag.properties = [];
    rejects(m, 'SCHEMA', '$.issuedCredentials[0].propertyBags[0].properties');
  });
  it('rejects-empty-extension-type', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.bagAndExtension);
    at(m, 'issuedCredentials', 0, 'extensions', 0).type = '';
    rejects(m, 'SCHEMA', '$.issuedCredentials[0].extensions[0].type');
  });
  it('rejects-duplicate-extension-type across the four lists (§6.9.1)', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.bagAndExtension);
    at(m, 'issuedCredentials', 0, 'propertyBags', 0).type = at(m, 'issuedCredentials', 0, 'extensions', 0).type as string;
    rejects(m, 'SCHEMA', '$.issuedCredentials[0].propertyBags[0].type');
  });
  it('rejects-logotype-mime-type-over-128-bytes', () => {
    const m = recorded('ProvisioningFinalizationRequest', (o) => list(list(o.issuedCredentials)[0]?.logotypes).length > 0);
    at(m, 'issuedCredentials', 0, 'logotypes', 0).mimeType = 'image/' + 'x'.repeat(123);
    rejects(m, 'SCHEMA', '$.issuedCredentials[0].logotypes[0].mimeType');
  });
  it('rejects-top-level-nonce-and-mac (outdated sample, quirk 14)', () => {
    const m = recorded('ProvisioningFinalizationRequest');
    const close = at(m, 'sessionCloseData');
    delete m.sessionCloseData;
    m.nonce = close.nonce as Json;
    m.mac = close.mac as Json;
    rejects(m, 'SCHEMA', '$.sessionCloseData');
  });
  it('accepts-management-only-finalization-without-issuedCredentials', () => {
    const m = recorded('ProvisioningFinalizationRequest', shape.updateCloneUnlock);
    delete m.issuedCredentials;
    accepts(m);
  });
});

describe('ProvisioningFinalizationResponse (§6.10)', () => {
  it('rejects-attestation-not-32-bytes', () => {
    const m = recorded('ProvisioningFinalizationResponse');
    m.attestation = b64(31);
    rejects(m, 'SCHEMA', '$.attestation');
  });
});

describe('encodeMessage', () => {
  it('refuses-to-encode-an-invalid-message with the decoder’s code and path', () => {
    expect(() => encodeMessage({ qualifier: 'ProvisioningFinalizationResponse', serverSessionId: 'S 1', clientSessionId: 'C', attestation: new Uint8Array(32) })).toThrowError(
      expect.objectContaining({ code: 'SCHEMA', path: '$.serverSessionId' }),
    );
    expect(() => encodeMessage({ qualifier: 'KeyCreationResponse', serverSessionId: 'S', clientSessionId: 'C', generatedKeys: [] })).toThrowError(
      expect.objectContaining({ code: 'SCHEMA', path: '$.generatedKeys' }),
    );
  });
  it('refuses-bytes-that-are-not-a-public-key', () => {
    const m = decodeMessage(text(recorded('KeyCreationResponse')), ['KeyCreationResponse']);
    const bad = { ...m, generatedKeys: m.generatedKeys.map((k) => ({ ...k, publicKey: new Uint8Array([1, 2, 3]) })) };
    expect(() => encodeMessage(bad)).toThrowError(expect.objectContaining({ code: 'SCHEMA', path: '$' }));
  });
  it('refuses-a-lone-surrogate', () => {
    const m = decodeMessage(text(recorded('KeyCreationRequest', shape.topKeysOnly)), ['KeyCreationRequest']);
    const bad = { ...m, keyEntrySpecifiers: (m.keyEntrySpecifiers ?? []).map((k) => ({ ...k, friendlyName: 'a\ud800' })) };
    expect(bad.keyEntrySpecifiers.length).toBeGreaterThan(0);
    expect(() => encodeMessage(bad)).toThrowError(expect.objectContaining({ code: 'SCHEMA' }));
  });
});
