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

function derLength(count: number): Uint8Array {
  if (count < 0x80) return new Uint8Array([count]);
  if (count < 0x100) return new Uint8Array([0x81, count]);
  return new Uint8Array([0x82, count >> 8, count & 0xff]);
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(parts);
  return Buffer.concat([new Uint8Array([tag]), derLength(body.length), body]);
}

const bitString = (bytes: Uint8Array): Uint8Array => tlv(0x03, new Uint8Array([0]), bytes);

/** SPKI DER of an EC point (§4.8: named curve, uncompressed point). */
function ecSpki(curve: Curve, bytes: Uint8Array, other: Uint8Array): Uint8Array {
  const algorithm = tlv(0x30, hex(ID_EC_PUBLIC_KEY), hex(curve.oid));
  return new Uint8Array(tlv(0x30, algorithm, bitString(Buffer.concat([new Uint8Array([4]), bytes, other]))));
}

/** SPKI DER of an RFC 8410 key. */
function okpSpki(curve: Curve, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(tlv(0x30, tlv(0x30, hex(curve.oid)), bitString(bytes)));
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
    const bytes = reader.binary('x', { min: curve.size, max: curve.size });
    const other = reader.binary('y', { min: curve.size, max: curve.size });
    spki = ecSpki(curve, bytes, other);
  } else if (kty === 'OKP') {
    const curve = findCurve(reader, 'OKP', policy);
    spki = okpSpki(curve, reader.binary('x', { min: curve.size, max: curve.size }));
  } else {
    const count = reader.binary('n', { min: 1 });
    const exponent = reader.binary('e', { min: 1 });
    if (count[0] === 0) throw schemaError(reader.pathOf('n'), 'leading zero byte');
    if (exponent[0] === 0) throw schemaError(reader.pathOf('e'), 'leading zero byte');
    spki = asSchema(reader.path, 'invalid RSA public key', () =>
      new Uint8Array(
        createPublicKey({ key: { kty: 'RSA', n: encodeBase64Url(count), e: encodeBase64Url(exponent) }, format: 'jwk' }).export({
          format: 'der',
          type: 'spki',
        }),
      ),
    );
  }
  // Parsing checks what the length checks cannot (an EC point on its curve, a sane RSA key).
  asSchema(reader.path, 'invalid public key', () => parseSpki(spki));
  return spki;
}

/** The parts of a public key, from SPKI DER. */
type KeyParts =
  | { readonly kty: 'EC'; readonly curve: Curve; readonly x: Uint8Array; readonly y: Uint8Array }
  | { readonly kty: 'OKP'; readonly curve: Curve; readonly x: Uint8Array }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string };

function keyParts(spki: Uint8Array): KeyParts {
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
