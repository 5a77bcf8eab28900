/**
 * The one table of CA key types: how each is generated, which signature
 * algorithm its certificates carry, and how node:crypto signs with it.
 * Nothing else in the CA enumerates algorithms.
 */
import type { KeyObject } from 'node:crypto';
import { IssuerError } from '../errors.js';
import { nullValue, oid, sequence } from './der.js';

/** Key types a root or issuing CA can have. */
export type CaKeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048' | 'rsa-3072';

export const CA_KEY_TYPES: readonly CaKeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'];

export interface CaAlgorithm {
  readonly keyType: CaKeyType;
  /** Arguments for `generateKeyPair`. */
  readonly generate:
    | { readonly type: 'ec'; readonly options: { readonly namedCurve: string } }
    | { readonly type: 'rsa'; readonly options: { readonly modulusLength: number; readonly publicExponent: number } };
  /** The hash node:crypto's `sign` is called with. */
  readonly hash: 'sha256' | 'sha384';
  /**
   * DER AlgorithmIdentifier of the certificate signature: ecdsa-with-SHA* with
   * absent parameters (RFC 5758 §3.2), sha256WithRSAEncryption with NULL (RFC 4055 §5).
   */
  readonly signatureAlgorithm: Buffer;
  /** ECDSA signatures are the DER Ecdsa-Sig-Value X.509 wants; RSA ignores this. */
  readonly dsaEncoding: 'der';
}

const ecdsa = (keyType: CaKeyType, namedCurve: string, hash: 'sha256' | 'sha384', sigOid: string): CaAlgorithm => ({
  keyType,
  generate: { type: 'ec', options: { namedCurve } },
  hash,
  signatureAlgorithm: sequence(oid(sigOid)),
  dsaEncoding: 'der',
});

const rsa = (keyType: CaKeyType, modulusLength: number): CaAlgorithm => ({
  keyType,
  generate: { type: 'rsa', options: { modulusLength, publicExponent: 65537 } },
  hash: 'sha256',
  signatureAlgorithm: sequence(oid('1.2.840.113549.1.1.11'), nullValue()),
  dsaEncoding: 'der',
});

export const CA_ALGORITHMS: Readonly<Record<CaKeyType, CaAlgorithm>> = {
  'ec-p256': ecdsa('ec-p256', 'prime256v1', 'sha256', '1.2.840.10045.4.3.2'),
  // P-384 is paired with SHA-384 (RFC 5480 §4; CA/Browser Forum BR §7.1.3.2).
  'ec-p384': ecdsa('ec-p384', 'secp384r1', 'sha384', '1.2.840.10045.4.3.3'),
  'rsa-2048': rsa('rsa-2048', 2048),
  'rsa-3072': rsa('rsa-3072', 3072),
};

/** The CA key type of a private or public key; a CA error naming `where` for anything else. */
export function caKeyTypeOf(key: KeyObject, where: string): CaKeyType {
  const data = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && data.namedCurve === 'prime256v1') return 'ec-p256';
  if (key.asymmetricKeyType === 'ec' && data.namedCurve === 'secp384r1') return 'ec-p384';
  if (key.asymmetricKeyType === 'rsa' && data.modulusLength === 2048) return 'rsa-2048';
  if (key.asymmetricKeyType === 'rsa' && data.modulusLength === 3072) return 'rsa-3072';
  throw new IssuerError('CA', `${where}: a CA key must be one of ${CA_KEY_TYPES.join(', ')}`, { field: where });
}
