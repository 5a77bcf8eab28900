/**
 * Signature verification: KMK authorizations (spec §5.8, §5.9) today, device and
 * key attestations for the KeyGen2 issuer. One closed set of algorithms, each
 * resolved once to a descriptor, and strict signature encodings: ECDSA is raw
 * R||S (IEEE P1363) of exactly twice the coordinate length, never DER; RSA
 * signatures are exactly as long as the modulus; Ed25519 signatures are 64 bytes.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import { curveOfNodeName, EC_CURVES, type HashName } from '../algorithms.js';
import { SksError } from '../errors.js';

/**
 * The signature algorithms the verifier knows.
 *
 * - `ECDSA-SHA256|384|512`: ECDSA on P-256, P-384 or P-521 (hash and curve are
 *   independent, spec §9.4), signature raw R||S.
 * - `RSA-SHA256|384|512`: RSASSA-PKCS1-v1_5.
 * - `RSA-PSS-SHA256|384|512`: RSASSA-PSS, MGF1 with the same hash, salt exactly as
 *   long as the hash (what `signData` produces for the RFC 6931 PSS URIs).
 * - `Ed25519`: pure Ed25519 (RFC 8032).
 */
export type SignatureAlgorithmName =
  | 'ECDSA-SHA256'
  | 'ECDSA-SHA384'
  | 'ECDSA-SHA512'
  | 'RSA-SHA256'
  | 'RSA-SHA384'
  | 'RSA-SHA512'
  | 'RSA-PSS-SHA256'
  | 'RSA-PSS-SHA384'
  | 'RSA-PSS-SHA512'
  | 'Ed25519';

type SignatureScheme =
  | { readonly kind: 'ecdsa'; readonly hash: HashName }
  | { readonly kind: 'rsa-pkcs1'; readonly hash: HashName }
  | { readonly kind: 'rsa-pss'; readonly hash: HashName; readonly saltLength: number }
  | { readonly kind: 'ed25519' };

const SIGNATURE_ALGORITHMS: Readonly<Record<SignatureAlgorithmName, SignatureScheme>> = {
  'ECDSA-SHA256': { kind: 'ecdsa', hash: 'sha256' },
  'ECDSA-SHA384': { kind: 'ecdsa', hash: 'sha384' },
  'ECDSA-SHA512': { kind: 'ecdsa', hash: 'sha512' },
  'RSA-SHA256': { kind: 'rsa-pkcs1', hash: 'sha256' },
  'RSA-SHA384': { kind: 'rsa-pkcs1', hash: 'sha384' },
  'RSA-SHA512': { kind: 'rsa-pkcs1', hash: 'sha512' },
  'RSA-PSS-SHA256': { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 },
  'RSA-PSS-SHA384': { kind: 'rsa-pss', hash: 'sha384', saltLength: 48 },
  'RSA-PSS-SHA512': { kind: 'rsa-pss', hash: 'sha512', saltLength: 64 },
  Ed25519: { kind: 'ed25519' },
};

/** Every name of the closed set, for decoders that narrow a string at the edge. */
export const SIGNATURE_ALGORITHM_NAMES: readonly SignatureAlgorithmName[] = Object.keys(SIGNATURE_ALGORITHMS) as SignatureAlgorithmName[];

const ED25519_SIGNATURE_LENGTH = 64;

const wrongKey = (): SksError => new SksError('CRYPTO', 'Crypto failure: key does not match signature algorithm');

/** The exact signature length the key and scheme demand; throws `ERROR_CRYPTO` for a key of the wrong type. */
function expectedSignatureLength(publicKey: KeyObject, scheme: SignatureScheme): number {
  const keyType = publicKey.asymmetricKeyType;
  switch (scheme.kind) {
    case 'ecdsa': {
      const curve = keyType === 'ec' ? curveOfNodeName(publicKey.asymmetricKeyDetails?.namedCurve) : undefined;
      if (curve === undefined) throw wrongKey();
      return 2 * EC_CURVES[curve].coordinateLength;
    }
    case 'rsa-pkcs1':
    case 'rsa-pss':
      if (keyType !== 'rsa') throw wrongKey();
      return Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
    case 'ed25519':
      if (keyType !== 'ed25519') throw wrongKey();
      return ED25519_SIGNATURE_LENGTH;
  }
}

const MALFORMED: Readonly<Record<SignatureScheme['kind'], string>> = {
  ecdsa: 'Crypto failure: malformed ECDSA signature',
  'rsa-pkcs1': 'Crypto failure: malformed RSA signature',
  'rsa-pss': 'Crypto failure: malformed RSA signature',
  ed25519: 'Crypto failure: malformed Ed25519 signature',
};

const FAILED: Readonly<Record<SignatureScheme['kind'], string>> = {
  ecdsa: 'Crypto failure: ECDSA signature verification',
  'rsa-pkcs1': 'Crypto failure: RSA signature verification',
  'rsa-pss': 'Crypto failure: RSA signature verification',
  ed25519: 'Crypto failure: Ed25519 signature verification',
};

/**
 * Verifies `signature` over `data` (the message itself, not a hash of it).
 * Returns false for a well-formed signature that does not verify; throws
 * `ERROR_CRYPTO` (with a fixed message) when the key does not fit the algorithm
 * or the signature has the wrong length for the key.
 *
 * @example
 * ```ts
 * if (!verifySignature(kmk, 'ECDSA-SHA256', signedData, authorization)) throw new SksError(...);
 * ```
 */
export function verifySignature(publicKey: KeyObject, algorithm: SignatureAlgorithmName, data: Uint8Array, signature: Uint8Array): boolean {
  const scheme = SIGNATURE_ALGORITHMS[algorithm];
  if (signature.length !== expectedSignatureLength(publicKey, scheme)) throw new SksError('CRYPTO', MALFORMED[scheme.kind]);
  try {
    switch (scheme.kind) {
      case 'ecdsa':
        return verify(scheme.hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
      case 'rsa-pkcs1':
        return verify(scheme.hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      case 'rsa-pss':
        return verify(scheme.hash, data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
      case 'ed25519':
        return verify(null, data, publicKey, signature);
    }
  } catch {
    // OpenSSL's text may describe the data; the code and a fixed message are all a caller gets.
    throw new SksError('CRYPTO', FAILED[scheme.kind]);
  }
}
