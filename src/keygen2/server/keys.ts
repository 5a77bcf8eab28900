/**
 * Public keys as the issuer handles them: canonical SPKI bytes (spec §4.8), with fast paths for
 * the NIST curves (prefix + uncompressed point, no ASN.1 parser) and node:crypto for RSA.
 */
import type { KeyObject } from 'node:crypto';
import { EC_CURVES, lookupAlgorithm, keyGenSpecOf, type EcCurve } from '../../sks/algorithms.js';
import { parseSpki } from '../../sks/session-crypto.js';

const der = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : Buffer.of(0x82, n >> 8, n & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
};

const PREFIX: Readonly<Record<EcCurve, Buffer>> = Object.fromEntries(
  (Object.keys(EC_CURVES) as EcCurve[]).map((c) => {
    const e = EC_CURVES[c];
    const full = der(0x30, Buffer.concat([Buffer.from(e.algorithmIdentifierHex, 'hex'), der(0x03, Buffer.alloc(2 + 2 * e.coordinateLength))]));
    return [c, full.subarray(0, full.length - 1 - 2 * e.coordinateLength)];
  }),
) as Record<EcCurve, Buffer>;

/** Canonical SPKI of an uncompressed EC point. */
export const ecSpki = (curve: EcCurve, point: Uint8Array): Buffer => Buffer.concat([PREFIX[curve], point]);

/** The uncompressed point of a canonical EC SPKI on `curve`, or undefined if `spki` is not one. */
export function ecPointOf(curve: EcCurve, spki: Uint8Array): Buffer | undefined {
  const prefix = PREFIX[curve];
  const n = EC_CURVES[curve].coordinateLength;
  if (spki.length !== prefix.length + 1 + 2 * n) return undefined;
  const b = Buffer.from(spki.buffer, spki.byteOffset, spki.length);
  if (!prefix.equals(b.subarray(0, prefix.length)) || b[prefix.length] !== 4) return undefined;
  return b.subarray(prefix.length);
}

/** A public key as a KeyObject (throws on malformed input). */
export const publicKeyOf = (spki: Uint8Array): KeyObject => parseSpki(spki);

/**
 * Whether a generated public key is of the kind `keyAlgorithm` asks for (spec §6.8): the curve,
 * or the RSA modulus size, and for the `.exp` forms the exponent sent in `keyParameters`
 * (compared, unlike the reference, quirk 11). Unknown algorithms never match.
 */
export function keyMatchesAlgorithm(spki: Uint8Array, keyAlgorithm: string, keyParameters: Uint8Array | undefined): boolean {
  const spec = keyGenSpec(keyAlgorithm);
  if (spec === undefined) return false;
  if (spec.kind === 'ec') return ecPointOf(spec.curve, spki) !== undefined;
  let key: KeyObject;
  try {
    key = publicKeyOf(spki);
  } catch {
    return false;
  }
  if (spec.kind === 'ed25519') return key.asymmetricKeyType === 'ed25519';
  if (key.asymmetricKeyType !== 'rsa') return false;
  const details = key.asymmetricKeyDetails ?? {};
  if (details.modulusLength !== spec.bits) return false;
  const exponent = details.publicExponent ?? 0n;
  if (spec.exponentFromParameters) {
    if (keyParameters === undefined || keyParameters.length === 0) return false;
    return exponent === BigInt(`0x${Buffer.from(keyParameters).toString('hex')}`);
  }
  return exponent === 65537n;
}

type GenSpec = { readonly kind: 'ec'; readonly curve: EcCurve } | { readonly kind: 'rsa'; readonly bits: number; readonly exponentFromParameters: boolean } | { readonly kind: 'ed25519' };

const RSA_URI = /^https:\/\/webpki\.github\.io\/sks\/algorithm#rsa(1024|2048|3072|4096)(\.exp)?$/;

/**
 * What a `keyAlgorithm` URI generates: the SKS table (`sks/algorithms.ts`), plus the RSA-3072 and
 * RSA-4096 URIs of spec §4.11 that a peer SKS may support although ours does not.
 */
export function keyGenSpec(keyAlgorithm: string): GenSpec | undefined {
  const desc = lookupAlgorithm(keyAlgorithm);
  const spec = desc === undefined ? undefined : keyGenSpecOf(desc);
  if (spec !== undefined) return spec;
  const m = RSA_URI.exec(keyAlgorithm);
  return m === null ? undefined : { kind: 'rsa', bits: Number(m[1]), exponentFromParameters: m[2] !== undefined };
}
