/**
 * JWK public keys (spec §4.7) to and from canonical SPKI DER (§4.8).
 *
 * Decoding builds the SPKI bytes itself for EC and OKP keys (named-curve parameters, uncompressed
 * point, RFC 8410 form: exactly what Java's `getEncoded()` gives) and lets node:crypto export RSA
 * keys; node:crypto then parses the result, which also rejects EC points not on the curve.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { schemaError } from '../errors.js';
import { encodeBase64Url } from './base64url.js';
import { asSchema, ObjectReader } from './reader.js';
import { jsonObject, jsonString, type JsonObject } from './value.js';

/** JWK key types (§4.7). */
export type KeyType = 'EC' | 'RSA' | 'OKP';

/** What a particular public-key member accepts. */
export interface JwkPolicy {
  /** Allowed key types; default all. */
  readonly types?: readonly KeyType[];
  /** Only JOSE `crv` names (JSF signature keys, §4.7); default also SKS URIs. */
  readonly joseOnly?: boolean;
}

const SKS = 'https://webpki.github.io/sks/algorithm#';

interface Curve {
  readonly kty: 'EC' | 'OKP';
  /** JOSE name, when one exists (§4.7). */
  readonly jose: string | undefined;
  readonly sks: string;
  /** node:crypto's name (`asymmetricKeyDetails.namedCurve` or `asymmetricKeyType`). */
  readonly node: string;
  /** DER of the curve (EC) or algorithm (OKP) OBJECT IDENTIFIER, tag and length included. */
  readonly oid: string;
  /** Coordinate (EC) or raw key (OKP) length in bytes. */
  readonly size: number;
}

const CURVES: readonly Curve[] = [
  { kty: 'EC', jose: 'P-256', sks: `${SKS}ec.nist.p256`, node: 'prime256v1', oid: '06082a8648ce3d030107', size: 32 },
  { kty: 'EC', jose: 'P-384', sks: `${SKS}ec.nist.p384`, node: 'secp384r1', oid: '06052b81040022', size: 48 },
  { kty: 'EC', jose: 'P-521', sks: `${SKS}ec.nist.p521`, node: 'secp521r1', oid: '06052b81040023', size: 66 },
  { kty: 'EC', jose: undefined, sks: `${SKS}ec.secg.p256k1`, node: 'secp256k1', oid: '06052b8104000a', size: 32 },
  { kty: 'EC', jose: undefined, sks: `${SKS}ec.brainpool.p256r1`, node: 'brainpoolP256r1', oid: '06092b2403030208010107', size: 32 },
  { kty: 'OKP', jose: 'Ed25519', sks: `${SKS}ed25519`, node: 'ed25519', oid: '06032b6570', size: 32 },
  { kty: 'OKP', jose: 'Ed448', sks: `${SKS}ed448`, node: 'ed448', oid: '06032b6571', size: 57 },
  { kty: 'OKP', jose: 'X25519', sks: `${SKS}x25519`, node: 'x25519', oid: '06032b656e', size: 32 },
  { kty: 'OKP', jose: 'X448', sks: `${SKS}x448`, node: 'x448', oid: '06032b656f', size: 56 },
];

const ID_EC_PUBLIC_KEY = '06072a8648ce3d0201';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

function derLength(length: number): Uint8Array {
  if (length < 0x80) return new Uint8Array([length]);
  if (length < 0x100) return new Uint8Array([0x81, length]);
  return new Uint8Array([0x82, length >> 8, length & 0xff]);
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return Buffer.concat([new Uint8Array([tag]), derLength(body.length), body]);
}

const bitString = (bytes: Uint8Array): Uint8Array => tlv(0x03, new Uint8Array([0]), bytes);

/** SPKI DER of an EC point (§4.8: named curve, uncompressed point), built from DER pieces. */
function buildEcSpki(curve: Curve, pointX: Uint8Array, pointY: Uint8Array): Uint8Array {
  const algorithm = tlv(0x30, hex(ID_EC_PUBLIC_KEY), hex(curve.oid));
  return new Uint8Array(tlv(0x30, algorithm, bitString(Buffer.concat([new Uint8Array([4]), pointX, pointY]))));
}

/**
 * Everything of an EC SPKI before the coordinates, by curve: the same for every key of a curve,
 * so a key's SPKI is one concatenation (every ephemeral and generated key of a session goes
 * through here).
 */
const EC_SPKI_PREFIX = new Map(
  CURVES.filter((c) => c.kty === 'EC').map((curve) => {
    const sample = buildEcSpki(curve, new Uint8Array(curve.size), new Uint8Array(curve.size));
    return [curve, sample.subarray(0, sample.length - 2 * curve.size)] as const;
  }),
);

/** SPKI DER of an EC point (§4.8: named curve, uncompressed point). */
function ecSpki(curve: Curve, pointX: Uint8Array, pointY: Uint8Array): Uint8Array {
  const prefix = EC_SPKI_PREFIX.get(curve)!;
  const spki = new Uint8Array(prefix.length + pointX.length + pointY.length);
  spki.set(prefix);
  spki.set(pointX, prefix.length);
  spki.set(pointY, prefix.length + pointX.length);
  return spki;
}

/** SPKI DER of an RFC 8410 key. */
function okpSpki(curve: Curve, publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(tlv(0x30, tlv(0x30, hex(curve.oid)), bitString(publicKey)));
}

const parseSpki = (spki: Uint8Array): KeyObject => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });

function findCurve(reader: ObjectReader, kty: 'EC' | 'OKP', policy: JwkPolicy): Curve {
  const crv = reader.string('crv');
  const curve = CURVES.find((c) => c.kty === kty && (c.jose === crv || (policy.joseOnly !== true && c.sks === crv)));
  if (curve === undefined) throw schemaError(reader.pathOf('crv'), 'unsupported curve');
  return curve;
}

/**
 * Reads a JWK public key object (§4.7) and returns its canonical SPKI DER (§4.8). The object must
 * hold exactly the members of its key type (the caller's {@link ReadContext.finish} rejects
 * others); EC coordinates must have exactly the curve's size; RSA integers must have no leading
 * zero byte.
 */
export function readPublicKey(reader: ObjectReader, policy: JwkPolicy = {}): Uint8Array {
  const kty = reader.string('kty');
  const allowed = policy.types ?? ['EC', 'RSA', 'OKP'];
  if (!(allowed as readonly string[]).includes(kty)) throw schemaError(reader.pathOf('kty'), `key type not allowed here`);
  let spki: Uint8Array;
  if (kty === 'EC') {
    const curve = findCurve(reader, 'EC', policy);
    const pointX = reader.binary('x', { min: curve.size, max: curve.size });
    const pointY = reader.binary('y', { min: curve.size, max: curve.size });
    spki = ecSpki(curve, pointX, pointY);
  } else if (kty === 'OKP') {
    const curve = findCurve(reader, 'OKP', policy);
    spki = okpSpki(curve, reader.binary('x', { min: curve.size, max: curve.size }));
  } else {
    const modulus = reader.binary('n', { min: 1 });
    const exponent = reader.binary('e', { min: 1 });
    if (modulus[0] === 0) throw schemaError(reader.pathOf('n'), 'leading zero byte');
    if (exponent[0] === 0) throw schemaError(reader.pathOf('e'), 'leading zero byte');
    spki = asSchema(
      reader.path,
      'invalid RSA public key',
      () =>
        new Uint8Array(
          createPublicKey({ key: { kty: 'RSA', n: encodeBase64Url(modulus), e: encodeBase64Url(exponent) }, format: 'jwk' }).export({
            format: 'der',
            type: 'spki',
          }),
        ),
    );
  }
  // Parsing checks what the length checks cannot (an EC point on its curve, a sane RSA key). For
  // the NIST curves the curve equation is checked directly: the same verdict as OpenSSL's point
  // check (cofactor 1, so on the curve is in the group) at a few microseconds instead of a
  // KeyObject (tens of microseconds), on every ephemeral and generated key of a session.
  const onCurve = kty === 'EC' ? nistPointCheck(spki) : undefined;
  if (onCurve === false) throw schemaError(reader.path, 'invalid public key');
  if (onCurve === undefined) asSchema(reader.path, 'invalid public key', () => parseSpki(spki));
  return spki;
}

/** The parts of a public key, from SPKI DER. */
type KeyParts =
  | { readonly kty: 'EC'; readonly curve: Curve; readonly x: Uint8Array; readonly y: Uint8Array }
  | { readonly kty: 'OKP'; readonly curve: Curve; readonly x: Uint8Array }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string };

/** NIST curves `y² = x³ − 3x + b (mod p)`, by SPKI prefix (algorithm identifier, BIT STRING header, 04). */
const NIST: ReadonlyArray<{ readonly curve: Curve; readonly prefix: Buffer; readonly p: bigint; readonly b: bigint }> = [
  {
    jose: 'P-256',
    p: 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  {
    jose: 'P-384',
    p: 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  {
    jose: 'P-521',
    p: 2n ** 521n - 1n,
    b: 0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
].map((entry) => {
  const curve = CURVES.find((c) => c.jose === entry.jose)!;
  return { curve, prefix: Buffer.from(EC_SPKI_PREFIX.get(curve)!), p: entry.p, b: entry.b };
});

/** The NIST curve whose canonical SPKI prefix `spki` carries (at its exact length), if any. */
function nistOf(spki: Uint8Array): (typeof NIST)[number] | undefined {
  const bytes = Buffer.from(spki.buffer, spki.byteOffset, spki.length);
  return NIST.find((n) => bytes.length === n.prefix.length + 2 * n.curve.size && bytes.subarray(0, n.prefix.length).equals(n.prefix));
}

const bigintOf = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);

/**
 * For a canonical NIST-curve SPKI: whether its point is on the curve (coordinates below p, curve
 * equation holds). Undefined for any other key, which node:crypto then checks.
 */
function nistPointCheck(spki: Uint8Array): boolean | undefined {
  const nist = nistOf(spki);
  if (nist === undefined) return undefined;
  const at = nist.prefix.length;
  const pointX = bigintOf(spki.subarray(at, at + nist.curve.size));
  const pointY = bigintOf(spki.subarray(at + nist.curve.size));
  const prime = nist.p;
  if (pointX >= prime || pointY >= prime) return false;
  return (pointY * pointY - (pointX * pointX * pointX - 3n * pointX + nist.b)) % prime === 0n;
}

function keyParts(spki: Uint8Array): KeyParts {
  // Canonical NIST SPKIs (every key this library builds) are split without a KeyObject.
  const nist = nistOf(spki);
  if (nist !== undefined) {
    if (nistPointCheck(spki) !== true) throw new RangeError('EC point not on its curve');
    const at = nist.prefix.length;
    const size = nist.curve.size;
    return { kty: 'EC', curve: nist.curve, x: new Uint8Array(spki.subarray(at, at + size)), y: new Uint8Array(spki.subarray(at + size)) };
  }
  const key = parseSpki(spki);
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const jwk = key.export({ format: 'jwk' });
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new RangeError('RSA key without n/e');
    return { kty: 'RSA', n: jwk.n, e: jwk.e };
  }
  if (type === 'ec') {
    const curve = CURVES.find((c) => c.kty === 'EC' && c.node === key.asymmetricKeyDetails?.namedCurve);
    if (curve === undefined) throw new RangeError('unsupported EC curve');
    // node exports the uncompressed point at the end of its (canonical) SPKI.
    const der = key.export({ format: 'der', type: 'spki' });
    const point = der.subarray(der.length - (2 * curve.size + 1));
    if (point[0] !== 4) throw new RangeError('unexpected EC point form');
    return { kty: 'EC', curve, x: new Uint8Array(point.subarray(1, 1 + curve.size)), y: new Uint8Array(point.subarray(1 + curve.size)) };
  }
  const curve = CURVES.find((c) => c.kty === 'OKP' && c.node === type);
  if (curve === undefined) throw new RangeError(`unsupported key type ${String(type)}`);
  const der = key.export({ format: 'der', type: 'spki' });
  return { kty: 'OKP', curve, x: new Uint8Array(der.subarray(der.length - curve.size)) };
}

/**
 * The JWK object of a public key given as SPKI DER, in the reference's member order
 * (`kty, crv, x, y` / `kty, n, e` / `kty, crv, x`) with the JOSE curve name when one exists.
 * Throws RangeError for bytes that are not a supported public key (a caller bug).
 *
 * @example serializeJson(publicKeyToJwk(spki)) // {"kty":"EC","crv":"P-256","x":"…","y":"…"}
 */
export function publicKeyToJwk(spki: Uint8Array): JsonObject {
  let parts: KeyParts;
  try {
    parts = keyParts(spki);
  } catch (cause) {
    throw new RangeError('not a supported SPKI public key', { cause });
  }
  switch (parts.kty) {
    case 'RSA':
      return jsonObject([
        ['kty', jsonString('RSA')],
        ['n', jsonString(parts.n)],
        ['e', jsonString(parts.e)],
      ]);
    case 'EC':
      return jsonObject([
        ['kty', jsonString('EC')],
        ['crv', jsonString(parts.curve.jose ?? parts.curve.sks)],
        ['x', jsonString(encodeBase64Url(parts.x))],
        ['y', jsonString(encodeBase64Url(parts.y))],
      ]);
    case 'OKP':
      return jsonObject([
        ['kty', jsonString('OKP')],
        ['crv', jsonString(parts.curve.jose ?? parts.curve.sks)],
        ['x', jsonString(encodeBase64Url(parts.x))],
      ]);
  }
}

/**
 * The canonical SPKI (§4.8) of any SPKI node:crypto can parse (e.g. a compressed EC point becomes
 * uncompressed). Throws RangeError for unsupported keys.
 */
export function canonicalSpki(spki: Uint8Array): Uint8Array {
  const parts = keyParts(spki);
  switch (parts.kty) {
    case 'EC':
      return ecSpki(parts.curve, parts.x, parts.y);
    case 'OKP':
      return okpSpki(parts.curve, parts.x);
    case 'RSA':
      return new Uint8Array(parseSpki(spki).export({ format: 'der', type: 'spki' }));
  }
}

/** The JWK key type and, for EC/OKP, the JOSE-or-SKS curve name of an SPKI (for algorithm checks). */
export function describePublicKey(spki: Uint8Array): { readonly kty: KeyType; readonly crv?: string; readonly bits?: number } {
  const parts = keyParts(spki);
  if (parts.kty === 'RSA') return { kty: 'RSA', bits: parseSpki(spki).asymmetricKeyDetails?.modulusLength ?? 0 };
  return { kty: parts.kty, crv: parts.curve.jose ?? parts.curve.sks };
}
