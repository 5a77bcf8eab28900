/**
 * The algorithm registry (spec §9): every URI the store knows, resolved once to
 * a descriptor. Nothing else in the SKS enumerates algorithms.
 */

export const ALGORITHM_SESSION_ATTEST_1 = 'https://webpki.github.io/sks/algorithm#session.1';
export const ALGORITHM_KEY_ATTEST_1 = 'https://webpki.github.io/sks/algorithm#key.1';
export const ALGORITHM_ECDH_RAW = 'https://webpki.github.io/sks/algorithm#ecdh.raw';
export const ALGORITHM_NONE = 'https://webpki.github.io/sks/algorithm#none';

/** Capability bits (spec §9.1). */
export const Cap = {
  SYM_ENC: 0x00000001,
  IV_REQ: 0x00000002,
  IV_INT: 0x00000004,
  SYML_128: 0x00000008,
  SYML_192: 0x00000010,
  SYML_256: 0x00000020,
  HMAC: 0x00000040,
  ASYM_ENC: 0x00000080,
  ASYM_SGN: 0x00000100,
  RSA_KEY: 0x00004000,
  EDDSA_KEY: 0x00010000,
  MGF1_256: 0x00200000,
  NONE: 0x00800000,
  ASYM_KA: 0x01000000,
  AES_PAD: 0x02000000,
  EC_KEY: 0x04000000,
  KEY_GEN: 0x08000000,
  KEY_PARM: 0x10000000,
  SYM_KEY: 0x20000000,
} as const;

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** Node/OpenSSL curve names and coordinate lengths of the supported NIST curves. */
export const EC_CURVES: Readonly<
  Record<EcCurve, { readonly nodeName: string; readonly coordinateLength: number; readonly oid: string; readonly algorithmIdentifierHex: string }>
> = {
  'P-256': { nodeName: 'prime256v1', coordinateLength: 32, oid: '1.2.840.10045.3.1.7', algorithmIdentifierHex: '301306072a8648ce3d020106082a8648ce3d030107' },
  'P-384': { nodeName: 'secp384r1', coordinateLength: 48, oid: '1.3.132.0.34', algorithmIdentifierHex: '301006072a8648ce3d020106052b81040022' },
  'P-521': { nodeName: 'secp521r1', coordinateLength: 66, oid: '1.3.132.0.35', algorithmIdentifierHex: '301006072a8648ce3d020106052b81040023' },
};

const CURVE_BY_NODE_NAME: ReadonlyMap<string, EcCurve> = new Map((Object.keys(EC_CURVES) as EcCurve[]).map((c) => [EC_CURVES[c].nodeName, c]));

/** The supported curve node:crypto calls `nodeName` (`asymmetricKeyDetails.namedCurve`), or undefined. */
export const curveOfNodeName = (nodeName: string | undefined): EcCurve | undefined => (nodeName === undefined ? undefined : CURVE_BY_NODE_NAME.get(nodeName));

export type KeyGenSpec =
  | { readonly kind: 'ec'; readonly curve: EcCurve }
  | { readonly kind: 'rsa'; readonly bits: 1024 | 2048; readonly exponentFromParameters: boolean }
  | { readonly kind: 'ed25519' };

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** What an algorithm does, beyond its capability mask. */
export type Operation =
  | { readonly op: 'aes-cbc-internal-iv'; readonly keyBytes: 16 | 24 | 32 }
  | { readonly op: 'aes-ecb-nopad' }
  | { readonly op: 'aes-cbc-external-iv' }
  | { readonly op: 'hmac'; readonly hash: HashName }
  | { readonly op: 'rsa-decrypt'; readonly padding: 'pkcs1' | 'oaep'; readonly oaepHash?: HashName }
  | { readonly op: 'ecdh' }
  | { readonly op: 'rsa-sign'; readonly hash: HashName }
  | { readonly op: 'rsa-pss-sign'; readonly hash: HashName }
  | { readonly op: 'ecdsa-sign'; readonly hash: HashName }
  | { readonly op: 'ed25519-sign' }
  | { readonly op: 'keygen'; readonly spec: KeyGenSpec }
  | { readonly op: 'none' }
  | { readonly op: 'special' };

export interface AlgorithmDescriptor {
  readonly uri: string;
  readonly mask: number;
  readonly operation: Operation;
  /** ED25519 is both a key-generation and a signature algorithm. */
  readonly keyGen?: KeyGenSpec;
}

const SKS = 'https://webpki.github.io/sks/algorithm#';
const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
const DSIG_MORE = 'http://www.w3.org/2001/04/xmldsig-more#';
const DSIG_2007 = 'http://www.w3.org/2007/05/xmldsig-more#';

const {
  SYM_ENC,
  IV_REQ,
  IV_INT,
  SYML_128,
  SYML_192,
  SYML_256,
  HMAC,
  ASYM_ENC,
  ASYM_SGN,
  RSA_KEY,
  EDDSA_KEY,
  MGF1_256,
  NONE,
  ASYM_KA,
  AES_PAD,
  EC_KEY,
  KEY_GEN,
  KEY_PARM,
  SYM_KEY,
} = Cap;
const SYML_ALL = SYML_128 | SYML_192 | SYML_256;

const rsaGen = (bits: 1024 | 2048, exp: boolean): AlgorithmDescriptor => ({
  uri: `${SKS}rsa${bits}${exp ? '.exp' : ''}`,
  mask: RSA_KEY | KEY_GEN | (exp ? KEY_PARM : 0) | bits,
  operation: { op: 'keygen', spec: { kind: 'rsa', bits, exponentFromParameters: exp } },
});

const ecGen = (name: string, curve: EcCurve): AlgorithmDescriptor => ({
  uri: `${SKS}ec.nist.${name}`,
  mask: EC_KEY | KEY_GEN,
  operation: { op: 'keygen', spec: { kind: 'ec', curve } },
});

/** The table in `getDeviceInfo` order (spec §9.2, plus RSA-PSS). */
export const ALGORITHMS: readonly AlgorithmDescriptor[] = [
  { uri: `${XMLENC}aes128-cbc`, mask: SYM_KEY | SYM_ENC | IV_REQ | IV_INT | SYML_128, operation: { op: 'aes-cbc-internal-iv', keyBytes: 16 } },
  { uri: `${XMLENC}aes192-cbc`, mask: SYM_KEY | SYM_ENC | IV_REQ | IV_INT | SYML_192, operation: { op: 'aes-cbc-internal-iv', keyBytes: 24 } },
  { uri: `${XMLENC}aes256-cbc`, mask: SYM_KEY | SYM_ENC | IV_REQ | IV_INT | SYML_256, operation: { op: 'aes-cbc-internal-iv', keyBytes: 32 } },
  { uri: `${SKS}aes.ecb.nopad`, mask: SYM_KEY | SYM_ENC | SYML_ALL | AES_PAD, operation: { op: 'aes-ecb-nopad' } },
  { uri: `${SKS}aes.cbc`, mask: SYM_KEY | SYM_ENC | IV_REQ | SYML_ALL, operation: { op: 'aes-cbc-external-iv' } },
  { uri: 'http://www.w3.org/2000/09/xmldsig#hmac-sha1', mask: SYM_KEY | HMAC, operation: { op: 'hmac', hash: 'sha1' } },
  { uri: `${DSIG_MORE}hmac-sha256`, mask: SYM_KEY | HMAC, operation: { op: 'hmac', hash: 'sha256' } },
  { uri: `${DSIG_MORE}hmac-sha384`, mask: SYM_KEY | HMAC, operation: { op: 'hmac', hash: 'sha384' } },
  { uri: `${DSIG_MORE}hmac-sha512`, mask: SYM_KEY | HMAC, operation: { op: 'hmac', hash: 'sha512' } },
  { uri: `${SKS}rsa.es.pkcs1_5`, mask: ASYM_ENC | RSA_KEY, operation: { op: 'rsa-decrypt', padding: 'pkcs1' } },
  { uri: `${SKS}rsa.oaep.sha1`, mask: ASYM_ENC | RSA_KEY, operation: { op: 'rsa-decrypt', padding: 'oaep', oaepHash: 'sha1' } },
  { uri: `${SKS}rsa.oaep.sha256`, mask: ASYM_ENC | RSA_KEY | MGF1_256, operation: { op: 'rsa-decrypt', padding: 'oaep', oaepHash: 'sha256' } },
  { uri: ALGORITHM_ECDH_RAW, mask: ASYM_KA | EC_KEY, operation: { op: 'ecdh' } },
  { uri: `${DSIG_MORE}rsa-sha256`, mask: ASYM_SGN | RSA_KEY, operation: { op: 'rsa-sign', hash: 'sha256' } },
  { uri: `${DSIG_MORE}rsa-sha384`, mask: ASYM_SGN | RSA_KEY, operation: { op: 'rsa-sign', hash: 'sha384' } },
  { uri: `${DSIG_MORE}rsa-sha512`, mask: ASYM_SGN | RSA_KEY, operation: { op: 'rsa-sign', hash: 'sha512' } },
  // RSASSA-PSS (RFC 6931 URIs; MGF1 with the same hash, salt as long as the hash): beyond the
  // reference's table, which answers "Unsupported algorithm" for them (spec §9.2 notes).
  { uri: `${DSIG_2007}sha256-rsa-MGF1`, mask: ASYM_SGN | RSA_KEY, operation: { op: 'rsa-pss-sign', hash: 'sha256' } },
  { uri: `${DSIG_2007}sha384-rsa-MGF1`, mask: ASYM_SGN | RSA_KEY, operation: { op: 'rsa-pss-sign', hash: 'sha384' } },
  { uri: `${DSIG_2007}sha512-rsa-MGF1`, mask: ASYM_SGN | RSA_KEY, operation: { op: 'rsa-pss-sign', hash: 'sha512' } },
  { uri: `${DSIG_MORE}ecdsa-sha256`, mask: ASYM_SGN | EC_KEY, operation: { op: 'ecdsa-sign', hash: 'sha256' } },
  { uri: `${DSIG_MORE}ecdsa-sha384`, mask: ASYM_SGN | EC_KEY, operation: { op: 'ecdsa-sign', hash: 'sha384' } },
  { uri: `${DSIG_MORE}ecdsa-sha512`, mask: ASYM_SGN | EC_KEY, operation: { op: 'ecdsa-sign', hash: 'sha512' } },
  ecGen('p256', 'P-256'),
  ecGen('p384', 'P-384'),
  ecGen('p521', 'P-521'),
  rsaGen(1024, false),
  rsaGen(1024, true),
  rsaGen(2048, false),
  rsaGen(2048, true),
  {
    uri: `${SKS}ed25519`,
    mask: ASYM_SGN | EDDSA_KEY | KEY_GEN,
    operation: { op: 'ed25519-sign' },
    keyGen: { kind: 'ed25519' },
  },
  { uri: ALGORITHM_SESSION_ATTEST_1, mask: 0, operation: { op: 'special' } },
  { uri: ALGORITHM_KEY_ATTEST_1, mask: 0, operation: { op: 'special' } },
  { uri: ALGORITHM_NONE, mask: NONE, operation: { op: 'none' } },
];

const BY_URI: ReadonlyMap<string, AlgorithmDescriptor> = new Map(ALGORITHMS.map((a) => [a.uri, a]));

export const lookupAlgorithm = (uri: string): AlgorithmDescriptor | undefined => BY_URI.get(uri);

export const hasCap = (a: AlgorithmDescriptor, cap: number): boolean => (a.mask & cap) !== 0;

/** The key-generation spec of a `keyAlgorithm` URI, or undefined when it cannot generate keys. */
export function keyGenSpecOf(algorithmDescriptor: AlgorithmDescriptor): KeyGenSpec | undefined {
  if (!hasCap(algorithmDescriptor, KEY_GEN)) return undefined;
  if (algorithmDescriptor.operation.op === 'keygen') return algorithmDescriptor.operation.spec;
  return algorithmDescriptor.keyGen;
}

/** Whether a symmetric key of `length` bytes is permitted by the algorithm's SYML bits (spec §9.4 step 4). */
export function symmetricKeyLengthPermitted(algorithmDescriptor: AlgorithmDescriptor, length: number): boolean {
  const bit = length === 16 ? SYML_128 : length === 24 ? SYML_192 : length === 32 ? SYML_256 : 0;
  return bit !== 0 && (algorithmDescriptor.mask & bit) !== 0;
}
