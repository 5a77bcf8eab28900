/**
 * Wycheproof vectors (../shared/vectors/wycheproof) against the SKS.
 *
 * Decryption, key agreement, HMAC and AES go through the user API with the key
 * imported through a provisioning session (spec §6.10, §6.11, §10); signature
 * vectors go through `verifySignature`, the code that verifies KMK
 * authorizations and, in KeyGen2, attestations. Each file's counts are pinned
 * (`PINNED`), so a vector skipped silently or a result that moves fails here.
 */
import { createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeyHandle, SecureKeyStore } from '../../src/sks/api.js';
import { EC_CURVES, type EcCurve } from '../../src/sks/algorithms.js';
import { Limits } from '../../src/sks/constants.js';
import { parseSpki, SUPPORTED_RSA_SIZES } from '../../src/sks/crypto/keys.js';
import { SIGNATURE_ALGORITHM_NAMES, verifySignature, type SignatureAlgorithmName } from '../../src/sks/crypto/verify.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { expectSksError, testDevice, TEST_PROFILE } from '../support/fixtures.js';
import { createEnroller, type Enroller } from '../support/keygen2-harness.js';
import { Uri } from '../support/user-helpers.js';
import {
  accepted,
  errorOutcome,
  loadWycheproof,
  notApplicable,
  outcomeOf,
  rejected,
  runFile,
  testsOf,
  type Outcome,
  type Tally,
  type WycheproofFile,
  type WycheproofGroup,
  type WycheproofTest,
} from '../support/wycheproof.js';

// ------------------------------------------------------------------ the SKS

let sks: SecureKeyStore;
let enroller: Enroller;

beforeAll(async () => {
  sks = openSecureKeyStore({ store: createMemoryKeyStore(), device: await testDevice(), profile: TEST_PROFILE });
  enroller = await createEnroller({ sks });
});

/** Key material to import: a private key (certified with its public key) or a symmetric secret. */
type Import = { readonly kind: 'private'; readonly privateKey: KeyObject } | { readonly kind: 'symmetric'; readonly secret: Uint8Array };

/**
 * One provisioning session (our issuer and client) importing every key of `imports` over a
 * generated P-256 key each (spec §6.9.1, §6.9.3); returns their handles in order.
 */
async function provisionImports(imports: readonly Import[]): Promise<KeyHandle[]> {
  const id = (i: number): string => `W.${i}`;
  const byId = new Map(imports.map((imp, i) => [id(i), imp]));
  const { summary } = await enroller.enroll({
    config: {
      issuerUri: enroller.issuerUri,
      keys: imports.map((_, i) => ({
        id: id(i),
        keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256',
        appUsage: 'authentication',
        exportProtection: 'non-exportable',
      })),
    },
    certify: async (attestedKey) => {
      const imp = must(byId.get(attestedKey.id), attestedKey.id);
      if (imp.kind === 'symmetric')
        return { certificatePath: [await enroller.ca.issue(attestedKey.publicKey, { commonName: attestedKey.id })], importSymmetricKey: imp.secret };
      return {
        certificatePath: [await enroller.ca.issue(createPublicKey(imp.privateKey), { commonName: attestedKey.id })],
        importPrivateKey: imp.privateKey.export({ type: 'pkcs8', format: 'der' }),
      };
    },
  });
  return imports.map(
    (_, i) =>
      must(
        summary.keys.find((k) => k.id === id(i)),
        id(i),
      ).keyHandle,
  );
}

/**
 * Imports one SKS key per distinct Wycheproof key of `file` (`keyOf` gives a
 * stable identity and the material, or undefined when the vector needs none)
 * and returns the lookup from identity to handle.
 */
async function importKeysOf(
  file: WycheproofFile,
  keyOf: (g: WycheproofGroup, t: WycheproofTest) => { readonly id: string; readonly material: () => Import } | undefined,
): Promise<ReadonlyMap<string, KeyHandle>> {
  const wanted = new Map<string, () => Import>();
  for (const { group, test } of testsOf(file)) {
    const keyValue = keyOf(group, test);
    if (keyValue !== undefined && !wanted.has(keyValue.id)) wanted.set(keyValue.id, keyValue.material);
  }
  const ids = [...wanted.keys()];
  const handles = ids.length === 0 ? [] : await provisionImports(ids.map((id) => wanted.get(id)!()));
  return new Map(ids.map((id, i) => [id, handles[i]]));
}

const must = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw new Error(`wycheproof test: no ${what}`);
  return value;
};

// -------------------------------------------------------------- pinned counts

/**
 * What each file gave when last reviewed; a change here is a change in behaviour.
 * `rejectedAs` counts rejections of invalid and acceptable vectors by SKS error code,
 * `false` (a signature that did not verify) or `tag differs` (HMAC).
 */
const PINNED: Readonly<Record<string, Tally>> = {
  'ecdh_secp256r1_test.json': {
    numberOfTests: 612,
    iterated: 612,
    valid: { passed: 330 },
    invalid: { rejected: 52 },
    acceptable: { accepted: 1, rejected: 229 },
    acceptableByFlag: {
      CompressedPublic: { accepted: 1, rejected: 0 },
      CompressedPoint: { accepted: 1, rejected: 0 },
      WrongOrder: { accepted: 0, rejected: 2 },
      UnusedParam: { accepted: 0, rejected: 7 },
      UnnamedCurve: { accepted: 0, rejected: 7 },
      ModifiedGenerator: { accepted: 0, rejected: 2 },
      ModifiedCofactor: { accepted: 0, rejected: 1 },
      NoCofactor: { accepted: 0, rejected: 1 },
      ModifiedCurveParameter: { accepted: 0, rejected: 1 },
      InvalidAsn: { accepted: 0, rejected: 222 },
    },
    rejectedAs: { CRYPTO: 143, OPTION: 138 },
    notApplicable: {},
  },
  'ecdh_secp384r1_test.json': {
    numberOfTests: 1047,
    iterated: 1047,
    valid: { passed: 771 },
    invalid: { rejected: 46 },
    acceptable: { accepted: 1, rejected: 229 },
    acceptableByFlag: {
      CompressedPublic: { accepted: 1, rejected: 0 },
      CompressedPoint: { accepted: 1, rejected: 0 },
      WrongOrder: { accepted: 0, rejected: 2 },
      UnusedParam: { accepted: 0, rejected: 7 },
      UnnamedCurve: { accepted: 0, rejected: 7 },
      ModifiedGenerator: { accepted: 0, rejected: 2 },
      ModifiedCofactor: { accepted: 0, rejected: 1 },
      NoCofactor: { accepted: 0, rejected: 1 },
      ModifiedCurveParameter: { accepted: 0, rejected: 1 },
      InvalidAsn: { accepted: 0, rejected: 222 },
    },
    rejectedAs: { CRYPTO: 138, OPTION: 137 },
    notApplicable: {},
  },
  'ecdh_secp521r1_test.json': {
    numberOfTests: 916,
    iterated: 916,
    valid: { passed: 632 },
    invalid: { rejected: 56 },
    acceptable: { accepted: 1, rejected: 227 },
    acceptableByFlag: {
      CompressedPublic: { accepted: 1, rejected: 0 },
      CompressedPoint: { accepted: 1, rejected: 0 },
      WrongOrder: { accepted: 0, rejected: 2 },
      UnusedParam: { accepted: 0, rejected: 7 },
      UnnamedCurve: { accepted: 0, rejected: 7 },
      ModifiedGenerator: { accepted: 0, rejected: 2 },
      ModifiedCofactor: { accepted: 0, rejected: 1 },
      NoCofactor: { accepted: 0, rejected: 1 },
      ModifiedCurveParameter: { accepted: 0, rejected: 1 },
      InvalidAsn: { accepted: 0, rejected: 220 },
    },
    rejectedAs: { CRYPTO: 146, OPTION: 137 },
    notApplicable: {},
  },
  'rsa_pkcs1_2048_test.json': {
    numberOfTests: 67,
    iterated: 67,
    valid: { passed: 42 },
    invalid: { rejected: 25 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { CRYPTO: 25 },
    notApplicable: {},
  },
  'rsa_oaep_2048_sha1_mgf1sha1_test.json': {
    numberOfTests: 36,
    iterated: 36,
    valid: { passed: 10 },
    invalid: { rejected: 19 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { CRYPTO: 19 },
    notApplicable: { 'non-empty OAEP label': 7 },
  },
  'rsa_oaep_2048_sha256_mgf1sha256_test.json': {
    numberOfTests: 37,
    iterated: 37,
    valid: { passed: 10 },
    invalid: { rejected: 19 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { CRYPTO: 19 },
    notApplicable: { 'non-empty OAEP label': 8 },
  },
  'hmac_sha256_test.json': {
    numberOfTests: 174,
    iterated: 174,
    valid: { passed: 66 },
    invalid: { rejected: 108 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { 'tag differs': 108 },
    notApplicable: {},
  },
  'hmac_sha384_test.json': {
    numberOfTests: 174,
    iterated: 174,
    valid: { passed: 66 },
    invalid: { rejected: 108 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { 'tag differs': 108 },
    notApplicable: {},
  },
  'hmac_sha512_test.json': {
    numberOfTests: 174,
    iterated: 174,
    valid: { passed: 66 },
    invalid: { rejected: 108 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { 'tag differs': 108 },
    notApplicable: {},
  },
  'aes_cbc_pkcs5_test.json': {
    numberOfTests: 216,
    iterated: 216,
    valid: { passed: 72 },
    invalid: { rejected: 144 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { CRYPTO: 144 },
    notApplicable: {},
  },
  'ecdsa_secp256r1_sha256_p1363_test.json': {
    numberOfTests: 262,
    iterated: 262,
    valid: { passed: 173 },
    invalid: { rejected: 89 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { CRYPTO: 21, false: 68 },
    notApplicable: {},
  },
  'ecdsa_secp384r1_sha384_p1363_test.json': {
    numberOfTests: 280,
    iterated: 280,
    valid: { passed: 193 },
    invalid: { rejected: 87 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { CRYPTO: 19, false: 68 },
    notApplicable: {},
  },
  'ecdsa_secp521r1_sha512_p1363_test.json': {
    numberOfTests: 318,
    iterated: 318,
    valid: { passed: 231 },
    invalid: { rejected: 87 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { false: 73, CRYPTO: 14 },
    notApplicable: {},
  },
  'rsa_signature_2048_sha256_test.json': {
    numberOfTests: 259,
    iterated: 259,
    valid: { passed: 9 },
    invalid: { rejected: 249 },
    acceptable: { accepted: 0, rejected: 1 },
    acceptableByFlag: {
      MissingNull: { accepted: 0, rejected: 1 },
    },
    rejectedAs: { false: 248, CRYPTO: 2 },
    notApplicable: {},
  },
  'rsa_pss_2048_sha256_mgf1_32_test.json': {
    numberOfTests: 108,
    iterated: 108,
    valid: { passed: 63 },
    invalid: { rejected: 45 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { false: 40, CRYPTO: 5 },
    notApplicable: {},
  },
  'ed25519_test.json': {
    numberOfTests: 151,
    iterated: 151,
    valid: { passed: 88 },
    invalid: { rejected: 63 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: { false: 51, CRYPTO: 12 },
    notApplicable: {},
  },
};

async function checkFile(name: string, run: (file: WycheproofFile) => ReturnType<typeof runFile>): Promise<void> {
  const file = loadWycheproof(name);
  const { tally, failures } = await run(file);
  expect(failures, 'vectors where the SKS disagrees with Wycheproof').toEqual([]);
  expect(tally.iterated, 'every vector the file declares was iterated').toBe(file.numberOfTests);
  expect(tally).toEqual(PINNED[name]);
}

// ------------------------------------------------------------- key agreement

const CURVE_BY_WYCHEPROOF_NAME: Readonly<Record<string, EcCurve>> = { secp256r1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** An EC private key from Wycheproof's big-endian scalar (possibly with a sign byte). */
function ecPrivateKey(curve: EcCurve, scalar: Buffer): KeyObject {
  const count = EC_CURVES[curve].coordinateLength;
  let bytes = scalar;
  while (bytes.length > count && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.length > count) throw new Error('wycheproof test: scalar longer than the curve');
  bytes = Buffer.concat([Buffer.alloc(count - bytes.length), bytes]);
  const ecdh = createECDH(EC_CURVES[curve].nodeName);
  ecdh.setPrivateKey(bytes);
  const point = ecdh.getPublicKey();
  const b64 = (b: Buffer): string => b.toString('base64url');
  return createPrivateKey({
    key: { kty: 'EC', crv: curve, d: b64(bytes), x: b64(point.subarray(1, 1 + count)), y: b64(point.subarray(1 + count)) },
    format: 'jwk',
  });
}

function curveOf(group: WycheproofGroup): EcCurve {
  return must(CURVE_BY_WYCHEPROOF_NAME[group.fields.str('curve')], `curve ${group.fields.str('curve')}`);
}

async function ecdhKeys(file: WycheproofFile): Promise<ReadonlyMap<string, KeyHandle>> {
  return importKeysOf(file, (wycheproofGroup, wycheproofTest) => {
    const hex = wycheproofTest.fields.str('private');
    return { id: hex, material: () => ({ kind: 'private', privateKey: ecPrivateKey(curveOf(wycheproofGroup), Buffer.from(hex, 'hex')) }) };
  });
}

const agree = (handle: KeyHandle, peer: Uint8Array): Promise<Uint8Array> => sks.keyAgreement({ keyHandle: handle, algorithm: Uri.ECDH_RAW, publicKey: peer });

async function runEcdh(file: WycheproofFile): ReturnType<typeof runFile> {
  const keys = await ecdhKeys(file);
  return runFile(file, (_g, wycheproofTest) => {
    const handle = must(keys.get(wycheproofTest.fields.str('private')), 'key');
    return outcomeOf(() => agree(handle, wycheproofTest.fields.hex('public')), wycheproofTest.fields.hex('shared'));
  });
}

const ECDH_FILES = ['ecdh_secp256r1_test.json', 'ecdh_secp384r1_test.json', 'ecdh_secp521r1_test.json'] as const;

/** The explicit-parameter vectors with a missing or wrong cofactor that OpenSSL takes for the named curve. */
const EXPLICIT_WRONG_COFACTOR: Readonly<Record<(typeof ECDH_FILES)[number], readonly number[]>> = {
  'ecdh_secp256r1_test.json': [359, 361],
  'ecdh_secp384r1_test.json': [799, 801],
  'ecdh_secp521r1_test.json': [660, 662],
};

describe('keyAgreement accepts named-curve peer keys only', () => {
  for (const name of ECDH_FILES) {
    it(`rejects-explicit-curve-parameters-with-wrong-cofactor (${name} tcId ${EXPLICIT_WRONG_COFACTOR[name].join(', ')})`, async () => {
      const file = loadWycheproof(name);
      const vectors = testsOf(file).filter(({ test }) => EXPLICIT_WRONG_COFACTOR[name].includes(test.tcId));
      expect(vectors.map(({ test }) => test.tcId)).toEqual(EXPLICIT_WRONG_COFACTOR[name]);
      const [handle] = await provisionImports([
        { kind: 'private', privateKey: ecPrivateKey(curveOf(vectors[0].group), vectors[0].test.fields.hex('private')) },
      ]);
      for (const { group, test } of vectors) {
        expect(test.flags).toContain('UnnamedCurve');
        expect(test.result).toBe('invalid');
        expect(curveOf(group)).toBe(curveOf(vectors[0].group));
        await expectSksError(agree(must(handle, 'handle'), test.fields.hex('public')), 'OPTION', 'Unsupported EC key algorithm for: "publicKey"');
      }
    });

    it(`rejects-every-explicit-curve-parameter-encoding (${name}, flag UnnamedCurve)`, async () => {
      const file = loadWycheproof(name);
      const vectors = testsOf(file).filter(({ test }) => test.flags.includes('UnnamedCurve'));
      expect(vectors.length).toBeGreaterThan(0);
      const keys = await importKeysOf({ ...file, groups: [{ fields: vectors[0].group.fields, tests: vectors.map((v) => v.test) }] }, (g, t) => ({
        id: t.fields.str('private'),
        material: () => ({ kind: 'private', privateKey: ecPrivateKey(curveOf(g), t.fields.hex('private')) }),
      }));
      for (const { test } of vectors) {
        const handle = must(keys.get(test.fields.str('private')), 'key');
        await expectSksError(agree(handle, test.fields.hex('public')), 'OPTION', 'Unsupported EC key algorithm for: "publicKey"');
      }
    });
  }
});

describe('keyAgreement (ecdh.raw) on imported keys', () => {
  for (const name of ECDH_FILES) it(name, () => checkFile(name, runEcdh));
});

// -------------------------------------------------------- RSA decryption

const OAEP_URI: Readonly<Partial<Record<string, string>>> = { 'SHA-1': Uri.RSA_OAEP_SHA1, 'SHA-256': Uri.RSA_OAEP_SHA256 };

/** The SKS algorithm URI for a decryption group, or why there is none. */
function decryptionAlgorithm(file: WycheproofFile, group: WycheproofGroup): { uri: string } | { reason: string } {
  if (!SUPPORTED_RSA_SIZES.includes(group.fields.num('keySize'))) return { reason: `RSA key size ${group.fields.num('keySize')} not supported` };
  if (file.schema === 'rsaes_pkcs1_decrypt_schema_v1.json') return { uri: Uri.RSA_ES_PKCS1_5 };
  const sha = group.fields.str('sha');
  const uri = OAEP_URI[sha];
  if (group.fields.str('mgf') !== 'MGF1' || group.fields.str('mgfSha') !== sha || uri === undefined) {
    return { reason: `OAEP with ${sha} and ${group.fields.str('mgf')}-${group.fields.str('mgfSha')} not supported` };
  }
  return { uri };
}

async function runRsaDecrypt(file: WycheproofFile): ReturnType<typeof runFile> {
  const keys = await importKeysOf(file, (wycheproofGroup) => {
    if ('reason' in decryptionAlgorithm(file, wycheproofGroup)) return undefined;
    const pkcs8 = wycheproofGroup.fields.str('privateKeyPkcs8');
    return { id: pkcs8, material: () => ({ kind: 'private', privateKey: createPrivateKey({ key: Buffer.from(pkcs8, 'hex'), format: 'der', type: 'pkcs8' }) }) };
  });
  return runFile(file, (wycheproofGroup, wycheproofTest) => {
    const alg = decryptionAlgorithm(file, wycheproofGroup);
    if ('reason' in alg) return Promise.resolve(notApplicable(alg.reason));
    // The SKS's OAEP takes no label (spec §10.4).
    if (wycheproofTest.fields.has('label') && wycheproofTest.fields.str('label') !== '') return Promise.resolve(notApplicable('non-empty OAEP label'));
    const handle = must(keys.get(wycheproofGroup.fields.str('privateKeyPkcs8')), 'key');
    return outcomeOf(
      () => sks.asymmetricKeyDecrypt({ keyHandle: handle, algorithm: alg.uri, data: wycheproofTest.fields.hex('ct') }),
      wycheproofTest.fields.hex('msg'),
    );
  });
}

describe('asymmetricKeyDecrypt on imported RSA keys', () => {
  for (const name of ['rsa_pkcs1_2048_test.json', 'rsa_oaep_2048_sha1_mgf1sha1_test.json', 'rsa_oaep_2048_sha256_mgf1sha256_test.json']) {
    it(name, () => checkFile(name, runRsaDecrypt));
  }
});

// ------------------------------------------------------------------- HMAC

const HMAC_URI: Readonly<Record<string, string>> = { HMACSHA256: Uri.HMAC_SHA256, HMACSHA384: Uri.HMAC_SHA384, HMACSHA512: Uri.HMAC_SHA512 };

const symmetricKeyHeld = (key: Buffer): boolean => key.length <= Limits.MAX_LENGTH_SYMMETRIC_KEY;

async function runHmac(file: WycheproofFile): ReturnType<typeof runFile> {
  const uri = must(HMAC_URI[file.algorithm], `URI for ${file.algorithm}`);
  const keys = await importKeysOf(file, (_g, wycheproofTest) => {
    const key = wycheproofTest.fields.hex('key');
    return symmetricKeyHeld(key) ? { id: key.toString('hex'), material: () => ({ kind: 'symmetric', secret: key }) } : undefined;
  });
  return runFile(file, async (wycheproofGroup, wycheproofTest) => {
    const key = wycheproofTest.fields.hex('key');
    if (!symmetricKeyHeld(key)) return notApplicable(`HMAC key longer than ${Limits.MAX_LENGTH_SYMMETRIC_KEY} bytes`);
    const handle = must(keys.get(key.toString('hex')), 'key');
    let mac: Uint8Array;
    try {
      mac = await sks.performHmac({ keyHandle: handle, algorithm: uri, data: wycheproofTest.fields.hex('msg') });
    } catch (errorValue) {
      // Computing an HMAC has no reason to fail: an error is not a "tag differs".
      const outcome = errorOutcome(errorValue);
      return outcome.kind === 'rejected' ? { kind: 'wrong', detail: `performHmac failed (${outcome.as})` } : outcome;
    }
    // Truncated tags (tagSize below the hash length) compare the leading bytes.
    const tag = wycheproofTest.fields.hex('tag');
    const tagBytes = wycheproofGroup.fields.num('tagSize') / 8;
    return tag.length === tagBytes && Buffer.from(mac).subarray(0, tagBytes).equals(tag) ? accepted : rejected('tag differs');
  });
}

describe('performHmac on imported symmetric keys', () => {
  for (const name of ['hmac_sha256_test.json', 'hmac_sha384_test.json', 'hmac_sha512_test.json']) it(name, () => checkFile(name, runHmac));
});

// ---------------------------------------------------------------- AES-CBC

function aesNotApplicable(wycheproofGroup: WycheproofGroup, key: Buffer): string | undefined {
  if (wycheproofGroup.fields.num('ivSize') !== 128) return `IV of ${wycheproofGroup.fields.num('ivSize')} bits`;
  if (![16, 24, 32].includes(key.length)) return `AES key of ${key.length} bytes`;
  return undefined;
}

async function runAesCbc(file: WycheproofFile): ReturnType<typeof runFile> {
  const keys = await importKeysOf(file, (wycheproofGroup, wycheproofTest) => {
    const key = wycheproofTest.fields.hex('key');
    return aesNotApplicable(wycheproofGroup, key) === undefined ? { id: key.toString('hex'), material: () => ({ kind: 'symmetric', secret: key }) } : undefined;
  });
  return runFile(file, async (wycheproofGroup, wycheproofTest): Promise<Outcome> => {
    const key = wycheproofTest.fields.hex('key');
    const reason = aesNotApplicable(wycheproofGroup, key);
    if (reason !== undefined) return notApplicable(reason);
    const handle = must(keys.get(key.toString('hex')), 'key');
    const iv = wycheproofTest.fields.hex('iv');
    const msg = wycheproofTest.fields.hex('msg');
    const ct = wycheproofTest.fields.hex('ct');
    const call = (mode: boolean, data: Uint8Array) => () => sks.symmetricKeyEncrypt({ keyHandle: handle, algorithm: Uri.AES_CBC, parameters: iv, mode, data });
    const decrypted = await outcomeOf(call(false, ct), msg);
    // A valid vector must also encrypt to its ciphertext; the others are about decrypting `ct`.
    if (wycheproofTest.result !== 'valid' || decrypted.kind !== 'accepted') return decrypted;
    return outcomeOf(call(true, msg), ct);
  });
}

describe('symmetricKeyEncrypt (aes.cbc, external IV) on imported keys', () => {
  it('aes_cbc_pkcs5_test.json', () => checkFile('aes_cbc_pkcs5_test.json', runAesCbc));
});

// ------------------------------------------------------------- verification

const HASH_SUFFIX: Readonly<Record<string, string>> = { 'SHA-256': 'SHA256', 'SHA-384': 'SHA384', 'SHA-512': 'SHA512' };
const HASH_BYTES: Readonly<Record<string, number>> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

const signatureName = (name: string): SignatureAlgorithmName | undefined => SIGNATURE_ALGORITHM_NAMES.find((n) => n === name);

/** The verifier's algorithm for a group, derived from its type and parameters, or why there is none. */
function signatureAlgorithm(wycheproofGroup: WycheproofGroup): { name: SignatureAlgorithmName } | { reason: string } {
  const type = wycheproofGroup.fields.str('type');
  const found = (name: string | undefined): { name: SignatureAlgorithmName } | { reason: string } => {
    const count = name === undefined ? undefined : signatureName(name);
    return count === undefined ? { reason: `${type} with these parameters is not in the verifier's set` } : { name: count };
  };
  const hash = (): string | undefined => HASH_SUFFIX[wycheproofGroup.fields.str('sha')];
  switch (type) {
    case 'EcdsaP1363Verify':
      return found(`ECDSA-${hash()}`);
    case 'RsassaPkcs1Verify':
      return found(`RSA-${hash()}`);
    case 'RsassaPssVerify': {
      const sha = wycheproofGroup.fields.str('sha');
      const sameHashMgf1 = wycheproofGroup.fields.str('mgf') === 'MGF1' && wycheproofGroup.fields.str('mgfSha') === sha;
      return sameHashMgf1 && wycheproofGroup.fields.num('sLen') === HASH_BYTES[sha] ? found(`RSA-PSS-${hash()}`) : found(undefined);
    }
    case 'EddsaVerify':
      return found('Ed25519');
    default:
      return found(undefined);
  }
}

async function runVerify(file: WycheproofFile): ReturnType<typeof runFile> {
  const keys = new Map<WycheproofGroup, KeyObject>();
  return runFile(file, async (wycheproofGroup, wycheproofTest): Promise<Outcome> => {
    const alg = signatureAlgorithm(wycheproofGroup);
    if ('reason' in alg) return notApplicable(alg.reason);
    try {
      let key = keys.get(wycheproofGroup);
      if (key === undefined) {
        key = parseSpki(wycheproofGroup.fields.hex('publicKeyDer'));
        keys.set(wycheproofGroup, key);
      }
      return verifySignature(key, alg.name, wycheproofTest.fields.hex('msg'), wycheproofTest.fields.hex('sig')) ? accepted : rejected('false');
    } catch (error) {
      return errorOutcome(error);
    }
  });
}

describe('verifySignature', () => {
  for (const name of [
    'ecdsa_secp256r1_sha256_p1363_test.json',
    'ecdsa_secp384r1_sha384_p1363_test.json',
    'ecdsa_secp521r1_sha512_p1363_test.json',
    'rsa_signature_2048_sha256_test.json',
    'rsa_pss_2048_sha256_mgf1_32_test.json',
    'ed25519_test.json',
  ]) {
    it(name, () => checkFile(name, runVerify));
  }
});
