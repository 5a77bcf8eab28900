/**
 * Public keys as the issuer handles them: canonical SPKI bytes (spec §4.8). The NIST-curve fast
 * paths (prefix + uncompressed point, no ASN.1 parser) are session-crypto's.
 */
import type { KeyObject } from 'node:crypto';
import type { EcCurve } from '../../sks/algorithms.js';
import { canonicalEcPoint, parseSpki } from '../../sks/session-crypto.js';

/** The uncompressed point of a canonical EC SPKI on `curve`, or undefined if `spki` is not one. */
export function ecPointOf(curve: EcCurve, spki: Uint8Array): Buffer | undefined {
  const canonical = canonicalEcPoint(spki);
  return canonical?.curve === curve ? canonical.point : undefined;
}

/** A check that a generated key is of the kind its `keyAlgorithm` asks for (spec §6.8). */
export type KeyMatcher = (spki: Uint8Array, keyParameters: Uint8Array | undefined) => boolean;

const SKS = 'https://webpki.github.io/sks/algorithm#';

const parsed = (spki: Uint8Array): KeyObject | undefined => {
  try {
    return parseSpki(spki);
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
