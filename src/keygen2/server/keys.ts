/**
 * Public keys as the issuer handles them: canonical SPKI bytes (spec §4.8), with fast paths for
 * the NIST curves (prefix + uncompressed point, no ASN.1 parser) and node:crypto for RSA.
 */
import type { KeyObject } from 'node:crypto';
import { EC_CURVES, type EcCurve } from '../../sks/algorithms.js';
import { parseSpki } from '../../sks/session-crypto.js';

const der = (tag: number, body: Buffer): Buffer => {
  const count = body.length;
  const len = count < 0x80 ? Buffer.of(count) : count < 0x100 ? Buffer.of(0x81, count) : Buffer.of(0x82, count >> 8, count & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
};

const PREFIX: Readonly<Record<EcCurve, Buffer>> = Object.fromEntries(
  (Object.keys(EC_CURVES) as EcCurve[]).map((ecCurve) => {
    const error = EC_CURVES[ecCurve];
    const full = der(0x30, Buffer.concat([Buffer.from(error.algorithmIdentifierHex, 'hex'), der(0x03, Buffer.alloc(2 + 2 * error.coordinateLength))]));
    return [ecCurve, full.subarray(0, full.length - 1 - 2 * error.coordinateLength)];
  }),
) as Record<EcCurve, Buffer>;

/** Canonical SPKI of an uncompressed EC point. */
export const ecSpki = (curve: EcCurve, point: Uint8Array): Buffer => Buffer.concat([PREFIX[curve], point]);

/** The uncompressed point of a canonical EC SPKI on `curve`, or undefined if `spki` is not one. */
export function ecPointOf(curve: EcCurve, spki: Uint8Array): Buffer | undefined {
  const prefix = PREFIX[curve];
  const count = EC_CURVES[curve].coordinateLength;
  if (spki.length !== prefix.length + 1 + 2 * count) return undefined;
  const bytes = Buffer.from(spki.buffer, spki.byteOffset, spki.length);
  if (!prefix.equals(bytes.subarray(0, prefix.length)) || bytes[prefix.length] !== 4) return undefined;
  return bytes.subarray(prefix.length);
}

/** A public key as a KeyObject (throws on malformed input). */
export const publicKeyOf = (spki: Uint8Array): KeyObject => parseSpki(spki);

/** A check that a generated key is of the kind its `keyAlgorithm` asks for (spec §6.8). */
export type KeyMatcher = (spki: Uint8Array, keyParameters: Uint8Array | undefined) => boolean;

const SKS = 'https://webpki.github.io/sks/algorithm#';

const parsed = (spki: Uint8Array): KeyObject | undefined => {
  try {
    return publicKeyOf(spki);
  } catch {
    return undefined;
  }
};

const ecMatcher =
  (curve: EcCurve): KeyMatcher =>
  (spki) =>
    ecPointOf(curve, spki) !== undefined;

const namedCurveMatcher =
  (nodeName: string): KeyMatcher =>
  (spki) => {
    const key = parsed(spki);
    return key?.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === nodeName;
  };

const typeMatcher =
  (type: string): KeyMatcher =>
  (spki) =>
    parsed(spki)?.asymmetricKeyType === type;

/**
 * RSA of `bits`; the exponent is 65537, or for the `.exp` forms the one sent in `keyParameters`
 * (compared, unlike the reference, quirk 11).
 */
const rsaMatcher =
  (bits: number, explicitExponent: boolean): KeyMatcher =>
  (spki, keyParameters) => {
    const key = parsed(spki);
    if (key?.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== bits) return false;
    const exponent = key.asymmetricKeyDetails.publicExponent ?? 0n;
    if (!explicitExponent) return exponent === 65537n;
    return keyParameters !== undefined && keyParameters.length > 0 && exponent === BigInt(`0x${Buffer.from(keyParameters).toString('hex')}`);
  };

/** Every `keyAlgorithm` of spec §4.11 (a peer SKS may support more than ours does). */
const MATCHERS: ReadonlyMap<string, KeyMatcher> = new Map<string, KeyMatcher>([
  ...[1024, 2048, 3072, 4096].flatMap((bits): Array<[string, KeyMatcher]> => [
    ...(bits === 1024 ? [] : [[`${SKS}rsa${bits}`, rsaMatcher(bits, false)] as [string, KeyMatcher]]),
    [`${SKS}rsa${bits}.exp`, rsaMatcher(bits, true)],
  ]),
  [`${SKS}ec.nist.p256`, ecMatcher('P-256')],
  [`${SKS}ec.nist.p384`, ecMatcher('P-384')],
  [`${SKS}ec.nist.p521`, ecMatcher('P-521')],
  [`${SKS}ec.secg.p256k1`, namedCurveMatcher('secp256k1')],
  [`${SKS}ec.brainpool.p256r1`, namedCurveMatcher('brainpoolP256r1')],
  [`${SKS}ed25519`, typeMatcher('ed25519')],
  [`${SKS}ed448`, typeMatcher('ed448')],
  [`${SKS}x25519`, typeMatcher('x25519')],
  [`${SKS}x448`, typeMatcher('x448')],
]);

/** The matcher of a `keyAlgorithm`, or undefined when it names no key-generation algorithm. */
export const keyMatcherOf = (keyAlgorithm: string): KeyMatcher | undefined => MATCHERS.get(keyAlgorithm);

/** Whether `keyAlgorithm` is an RSA `.exp` form, which takes (and requires) `keyParameters`. */
export const takesKeyParameters = (keyAlgorithm: string): boolean => keyAlgorithm.startsWith(`${SKS}rsa`) && keyAlgorithm.endsWith('.exp');

/** Whether a generated public key is of the kind `keyAlgorithm` asks for (spec §6.8). */
export const keyMatchesAlgorithm = (spki: Uint8Array, keyAlgorithm: string, keyParameters: Uint8Array | undefined): boolean =>
  keyMatcherOf(keyAlgorithm)?.(spki, keyParameters) ?? false;
