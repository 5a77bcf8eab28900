/**
 * Public/private key handling over node:crypto: canonical SPKI (spec §1.3),
 * key classification (spec §9.5), and the signature formats of spec §1.4.
 */
import { constants, createPrivateKey, createPublicKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { curveOfNodeName, EC_CURVES, type EcCurve, type HashName } from '../algorithms.js';
import { SksError, cryptoFailure } from '../errors.js';
import { readTlv, tlv, type Tlv } from './der.js';
import { GeneratedEcKeyPair } from './keygen.js';
import { verifySignature } from './verify.js';

export type KeyKind =
  | { readonly type: 'rsa'; readonly bits: number; readonly exponent: bigint }
  | { readonly type: 'ec'; readonly curve: EcCurve }
  | { readonly type: 'ec-unsupported'; readonly curveName: string }
  | { readonly type: 'ed25519' }
  | { readonly type: 'other'; readonly name: string };

/**
 * Canonical EC encodings built from JWK coordinates. OpenSSL 3.0's DER
 * encoders and decoders cost ~100 µs a call, more than the ECDSA signature
 * they serve, so the hot paths encode and recognize the canonical forms here.
 */
interface CurveEncoding {
  readonly curve: EcCurve;
  readonly algorithmIdentifier: Buffer;
  readonly spkiPrefix: Buffer;
  readonly coordinateLength: number;
}

const CURVE_ENCODINGS: readonly CurveEncoding[] = (Object.keys(EC_CURVES) as EcCurve[]).map((curve) => {
  const item = EC_CURVES[curve];
  const algorithmIdentifier = Buffer.from(item.algorithmIdentifierHex, 'hex');
  const sample = tlv(0x30, Buffer.concat([algorithmIdentifier, tlv(0x03, Buffer.alloc(2 + 2 * item.coordinateLength))]));
  return { curve, algorithmIdentifier, spkiPrefix: sample.subarray(0, sample.length - 1 - 2 * item.coordinateLength), coordinateLength: item.coordinateLength };
});
const ENCODING_BY_CURVE = new Map(CURVE_ENCODINGS.map((e) => [e.curve as string, e]));

/** Canonical SPKI of an EC JWK on a supported curve (named curve, uncompressed point), or undefined. */
function ecSpkiOfJwk(jwk: JsonWebKey): Buffer | undefined {
  const encoding = ENCODING_BY_CURVE.get(jwk.crv ?? '');
  if (encoding === undefined || !jwk.x || !jwk.y) return undefined;
  return Buffer.concat([encoding.spkiPrefix, Buffer.of(0x04), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

/**
 * PKCS#8 of an EC private scalar in the reference's export form (spec §1.5: no parameters and no
 * public key inside the ECPrivateKey). The intermediate copy is wiped; `scalar` is the caller's.
 */
function ecPkcs8OfScalar(encoding: CurveEncoding, scalar: Buffer): Buffer {
  const ecPrivateKey = tlv(0x30, Buffer.concat([Buffer.from('020101', 'hex'), tlv(0x04, scalar)]));
  const pkcs8 = tlv(0x30, Buffer.concat([Buffer.from('020100', 'hex'), encoding.algorithmIdentifier, tlv(0x04, ecPrivateKey)]));
  ecPrivateKey.fill(0);
  return pkcs8;
}

/** {@link ecPkcs8OfScalar} of an EC private JWK on a supported curve, or undefined. */
function ecPkcs8OfJwk(jwk: JsonWebKey): Buffer | undefined {
  const encoding = ENCODING_BY_CURVE.get(jwk.crv ?? '');
  if (encoding === undefined || !jwk.d) return undefined;
  const scalar = Buffer.from(jwk.d, 'base64url');
  try {
    return ecPkcs8OfScalar(encoding, scalar);
  } finally {
    scalar.fill(0);
  }
}

const notSpki = (cause?: unknown): SksError => cryptoFailure('public key is not a valid SubjectPublicKeyInfo', cause);

/** Parses DER SPKI bytes into a KeyObject; failure is `ERROR_CRYPTO`. */
export function parseSpki(spki: Uint8Array): KeyObject {
  try {
    const canonical = canonicalEcPoint(spki);
    if (canonical !== undefined) {
      const count = EC_CURVES[canonical.curve].coordinateLength;
      const xCoordinate = canonical.point.subarray(1, 1 + count).toString('base64url');
      const yCoordinate = canonical.point.subarray(1 + count).toString('base64url');
      return createPublicKey({ key: { kty: 'EC', crv: canonical.curve, x: xCoordinate, y: yCoordinate }, format: 'jwk' });
    }
    return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (error) {
    throw error instanceof SksError ? error : notSpki(error);
  }
}

/** True when a TLV's length is in DER's shortest form (BER allows long and zero-padded forms). */
const minimalLength = (tlv: Tlv): boolean => {
  const count = tlv.end - tlv.start;
  return tlv.start - tlv.headerStart === (count < 0x80 ? 2 : count < 0x100 ? 3 : count < 0x10000 ? 4 : 5);
};

/**
 * The AlgorithmIdentifier TLV of `SEQUENCE { AlgorithmIdentifier, BIT STRING }`
 * filling all of `der`, with DER (shortest-form) lengths and no unused bits.
 */
function spkiAlgorithmIdentifier(der: Buffer): Buffer {
  try {
    const outer = readTlv(der, 0);
    const algorithm = readTlv(der, outer.start, outer.end);
    const point = readTlv(der, algorithm.end, outer.end);
    if (outer.tag !== 0x30 || outer.end !== der.length || algorithm.tag !== 0x30 || point.tag !== 0x03 || point.end !== outer.end) throw notSpki();
    if (![outer, algorithm, point].every(minimalLength)) throw notSpki();
    // A key is a whole number of bytes: no unused bits (OpenSSL lets them pass on P-521).
    if (point.end === point.start || der[point.start] !== 0) throw notSpki();
    return der.subarray(algorithm.headerStart, algorithm.end);
  } catch (error) {
    throw error instanceof SksError ? error : notSpki(error);
  }
}

/**
 * Parses an EC public key that must name its curve (spec §9.5, §10.5 step 5):
 * DER SubjectPublicKeyInfo whose AlgorithmIdentifier is exactly id-ecPublicKey
 * with the named-curve OID of P-256, P-384 or P-521; the point may be
 * uncompressed or compressed. Explicit domain parameters are refused even when
 * they describe a supported curve: OpenSSL maps them onto the named curve
 * without looking at the cofactor (Wycheproof ECDH "NoCofactor",
 * "LargeCofactor"), so the OID itself is the only test that holds. BER length
 * forms and unused bits in the BIT STRING are refused too (Wycheproof "InvalidAsn").
 * Not EC, or EC without a supported named curve → `ERROR_OPTION`
 * `Unsupported EC key algorithm for: "<field>"`; malformed DER or a point
 * off the curve → `ERROR_CRYPTO`.
 */
export function parseNamedCurveSpki(spki: Uint8Array, field: string): { readonly key: KeyObject; readonly curve: EcCurve } {
  const der = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  const algorithmIdentifier = spkiAlgorithmIdentifier(der);
  const encoding = CURVE_ENCODINGS.find((e) => e.algorithmIdentifier.equals(algorithmIdentifier));
  const unsupported = (): SksError => new SksError('OPTION', `Unsupported EC key algorithm for: "${field}"`, { field });
  if (encoding === undefined) throw unsupported();
  const key = parseSpki(der);
  const kind = keyKind(key);
  // The OID decided the curve; OpenSSL must agree, or the key is not what it claims.
  if (kind.type !== 'ec' || kind.curve !== encoding.curve) throw unsupported();
  return { key, curve: encoding.curve };
}

/**
 * The uncompressed point of a canonical named-curve EC SPKI (the exact bytes {@link spkiOf}
 * writes: P-256, P-384 or P-521 OID, `04 ‖ X ‖ Y`), or undefined for any other form. The point is
 * NOT checked to be on the curve: the caller hands it to `ECDH.computeSecret`, which refuses a
 * point off the curve, or parses the SPKI with {@link parseNamedCurveSpki} instead.
 */
export function canonicalEcPoint(spki: Uint8Array): { readonly curve: EcCurve; readonly point: Buffer } | undefined {
  const der = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  for (const curveEncoding of CURVE_ENCODINGS) {
    if (
      der.length !== curveEncoding.spkiPrefix.length + 1 + 2 * curveEncoding.coordinateLength ||
      !curveEncoding.spkiPrefix.equals(der.subarray(0, curveEncoding.spkiPrefix.length))
    )
      continue;
    return der[curveEncoding.spkiPrefix.length] === 0x04 ? { curve: curveEncoding.curve, point: der.subarray(curveEncoding.spkiPrefix.length) } : undefined;
  }
  return undefined;
}

/** Canonical DER SPKI of an uncompressed EC point (`04 ‖ X ‖ Y`) on `curve`. */
export function ecSpkiOfPoint(curve: EcCurve, point: Uint8Array): Buffer {
  const encoding = ENCODING_BY_CURVE.get(curve);
  if (encoding === undefined || point.length !== 1 + 2 * encoding.coordinateLength || point[0] !== 0x04) throw cryptoFailure('not an uncompressed EC point');
  return Buffer.concat([encoding.spkiPrefix, point]);
}

/**
 * Parses DER PKCS#8 bytes into a private KeyObject; failure is `ERROR_CRYPTO`. Reads `pkcs8` in
 * place (no plaintext copy is left behind), so a caller that wipes it afterwards wipes the only one.
 */
export function parsePkcs8(pkcs8: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw cryptoFailure('private key is not valid PKCS#8', error);
  }
}

/** Canonical DER SPKI (named curve, uncompressed point), as the Java platform emits. */
export function spkiOf(key: KeyObject): Buffer {
  const canonical = key.asymmetricKeyType === 'ec' ? ecSpkiOfJwk(key.export({ format: 'jwk' })) : undefined;
  if (canonical !== undefined) return canonical;
  return key.type === 'private' ? createPublicKey(key).export({ type: 'spki', format: 'der' }) : key.export({ type: 'spki', format: 'der' });
}

/**
 * DER PKCS#8 of a private key. EC keys take the reference's export form
 * (spec §1.5: no parameters and no public key inside the ECPrivateKey).
 */
export function pkcs8Of(key: KeyObject): Buffer {
  const reference = key.asymmetricKeyType === 'ec' ? ecPkcs8OfJwk(key.export({ format: 'jwk' })) : undefined;
  return reference ?? key.export({ type: 'pkcs8', format: 'der' });
}

/**
 * {@link pkcs8Of} the private half of a generated pair: for a {@link GeneratedEcKeyPair} not yet
 * imported, built from its scalar without making a KeyObject.
 */
export function pkcs8OfGeneratedPair(pair: { readonly privateKey: KeyObject }): Buffer {
  if (pair instanceof GeneratedEcKeyPair) {
    const encoding = ENCODING_BY_CURVE.get(pair.curve)!;
    const built = pair.withScalar((d) => ecPkcs8OfScalar(encoding, d));
    if (built !== undefined) return built;
  }
  return pkcs8Of(pair.privateKey);
}

/** Canonical SPKI of a freshly generated pair: from the point of a {@link GeneratedEcKeyPair}, without a KeyObject. */
export function spkiOfGeneratedPair(pair: { readonly publicKey: KeyObject }): Buffer {
  return pair instanceof GeneratedEcKeyPair ? ecSpkiOfPoint(pair.curve, pair.point) : spkiOf(pair.publicKey);
}

/** Classifies a public or private key (spec §9.5: RSA size counted in whole bytes). */
export function keyKind(key: KeyObject): KeyKind {
  const item = key.asymmetricKeyType;
  const data = key.asymmetricKeyDetails ?? {};
  if (item === 'rsa') {
    const modulusBits = data.modulusLength ?? 0;
    return { type: 'rsa', bits: Math.ceil(modulusBits / 8) * 8, exponent: data.publicExponent ?? 0n };
  }
  if (item === 'ec') {
    const curve = curveOfNodeName(data.namedCurve);
    return curve === undefined ? { type: 'ec-unsupported', curveName: data.namedCurve ?? '?' } : { type: 'ec', curve };
  }
  if (item === 'ed25519') return { type: 'ed25519' };
  return { type: 'other', name: item ?? 'unknown' };
}

export const isRsa = (key: KeyObject): boolean => key.asymmetricKeyType === 'rsa';

/** RSA sizes this store accepts for KMKs and certificate keys (spec §12.2). */
export const SUPPORTED_RSA_SIZES: readonly number[] = [1024, 2048];

/**
 * Validates an external public key (KMK, certificate key) per spec §6.1 step 4 / §6.9
 * step 5; `what` is the quoted name or id used in the message, `field` the parameter.
 */
export function checkExternalPublicKey(key: KeyObject, what: string, field: string, allowEd25519: boolean): void {
  const kind = keyKind(key);
  switch (kind.type) {
    case 'rsa':
      if (!SUPPORTED_RSA_SIZES.includes(kind.bits)) {
        throw new SksError('OPTION', `Unsupported RSA key size ${kind.bits} for: ${what}`, { field });
      }
      return;
    case 'ec':
      return;
    case 'ec-unsupported':
      throw new SksError('OPTION', `Unsupported EC key algorithm for: ${what}`, { field });
    case 'ed25519':
      if (allowEd25519) return;
      throw new SksError('OPTION', `Unsupported key algorithm for: ${what}`, { field });
    case 'other':
      // The reference crashes or accepts blindly here; we refuse (spec §9.5, §17 #6).
      throw new SksError('OPTION', `Unsupported key algorithm for: ${what}`, { field });
  }
}

/**
 * Signs `data` the way the SKS signs (spec §1.4): RSA PKCS#1 v1.5 (or PSS), ECDSA raw R||S,
 * Ed25519 pure. Crypto-layer failures become `ERROR_CRYPTO`.
 */
export function signBytes(privateKey: KeyObject, hash: HashName | null, data: Uint8Array, rsaPss = false): Buffer {
  try {
    const item = privateKey.asymmetricKeyType;
    if (item === 'ed25519') {
      if (hash !== null) throw cryptoFailure('signature generation'); // EdDSA signs the message itself
      return sign(null, data, privateKey);
    }
    if (hash === null) throw cryptoFailure('signature generation');
    if (item === 'ec') return sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    if (item === 'rsa' && rsaPss) {
      return sign(hash, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
    }
    if (item === 'rsa') return sign(hash, data, privateKey);
    throw cryptoFailure('signature generation');
  } catch (error) {
    if (error instanceof SksError) throw error;
    throw cryptoFailure('signature generation', error);
  }
}

/**
 * Verifies a KMK authorization (spec §5.8, §5.9): SHA-256 with RSA PKCS#1 v1.5 or
 * ECDSA raw R||S of exactly twice the coordinate length (stricter than the
 * reference, spec §17 #8). Returns false on a well-formed but wrong signature;
 * throws `ERROR_CRYPTO` when the signature cannot even be parsed.
 */
export function verifyKmkSignature(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const kind = keyKind(publicKey).type;
  if (kind !== 'rsa' && kind !== 'ec') throw new SksError('CRYPTO', 'Crypto failure: unsupported key management key type');
  return verifySignature(publicKey, kind === 'rsa' ? 'RSA-SHA256' : 'ECDSA-SHA256', data, signature);
}

/** True when `privateKey` is the private half of `publicKey` (spec §7.1 B.3). */
export function keysMatch(privateKey: KeyObject, publicKey: KeyObject): boolean {
  try {
    if (privateKey.asymmetricKeyType !== publicKey.asymmetricKeyType) return false;
    return spkiOf(createPublicKey(privateKey)).equals(spkiOf(publicKey));
  } catch (error) {
    throw cryptoFailure('key match test', error);
  }
}
