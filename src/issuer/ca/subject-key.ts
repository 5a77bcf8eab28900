/**
 * The subject public keys the CA certifies: the SubjectPublicKeyInfo of an
 * attested SKS key (EC P-256/384/521, RSA 1024-4096, Ed25519).
 *
 * Parsed by hand, not with `createPublicKey`: OpenSSL 3's decoder costs about
 * 340 µs per key, four times a P-256 signature, so it would dominate issuance.
 * The check is still complete for what a certificate needs: the exact
 * canonical DER (so the bytes copied into the certificate are the ones
 * anybody re-encoding the key gets), the curve point on its curve, a sane
 * RSA modulus and exponent.
 */
import { createHash } from 'node:crypto';
import { IssuerError } from '../errors.js';
import { TAG, expectTlv } from './der.js';

/** What kind of key a certificate is about; decides which key usages make sense. */
export type SubjectKeyKind = 'ec' | 'rsa' | 'ed25519';

export interface SubjectKey {
  readonly kind: SubjectKeyKind;
  /** `P-256`, `P-384`, `P-521`, `RSA-2048`, `Ed25519`...: for messages and logs. */
  readonly name: string;
  /** The canonical SubjectPublicKeyInfo DER, copied into the certificate as is. */
  readonly spki: Buffer;
  /** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's value. */
  readonly keyIdentifier: Buffer;
}

interface Curve {
  readonly name: string;
  readonly algorithmIdentifier: Buffer;
  readonly size: number;
  readonly p: bigint;
  readonly b: bigint;
}

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
// Curve constants from SEC 2 / FIPS 186-4; a = -3 for all three.
const CURVES: readonly Curve[] = [
  {
    name: 'P-256',
    algorithmIdentifier: hex('301306072a8648ce3d020106082a8648ce3d030107'),
    size: 32,
    p: BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff'),
    b: BigInt('0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b'),
  },
  {
    name: 'P-384',
    algorithmIdentifier: hex('301006072a8648ce3d020106052b81040022'),
    size: 48,
    p: BigInt('0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff'),
    b: BigInt('0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef'),
  },
  {
    name: 'P-521',
    algorithmIdentifier: hex('301006072a8648ce3d020106052b81040023'),
    size: 66,
    p: (1n << 521n) - 1n,
    b: BigInt('0x0051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00'),
  },
];
const RSA_ALGORITHM_IDENTIFIER = hex('300d06092a864886f70d0101010500');
const ED25519_ALGORITHM_IDENTIFIER = hex('300506032b6570');

const bad = (why: string): IssuerError => new IssuerError('BAD_REQUEST', `subjectPublicKey: ${why}`, { field: 'subjectPublicKey' });

/**
 * Checks a SubjectPublicKeyInfo and says what key it holds. Throws
 * `BAD_REQUEST` (field `subjectPublicKey`) for anything else.
 */
export function parseSubjectKey(spkiDer: Uint8Array): SubjectKey {
  const der = Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength);
  const what = 'subjectPublicKey';
  const outer = expectTlv(der, 0, der.length, TAG.SEQUENCE, what);
  if (outer.end !== der.length) throw bad('trailing bytes after the SubjectPublicKeyInfo');
  const alg = expectTlv(der, outer.start, outer.end, TAG.SEQUENCE, what);
  const algBytes = der.subarray(alg.headerStart, alg.end);
  const bits = expectTlv(der, alg.end, outer.end, TAG.BIT_STRING, what);
  if (bits.end !== outer.end) throw bad('trailing bytes in the SubjectPublicKeyInfo');
  if (bits.end - bits.start < 2 || der[bits.start] !== 0) throw bad('the key must be whole octets');
  const key = der.subarray(bits.start + 1, bits.end);
  const keyIdentifier = createHash('sha1').update(key).digest();
  const spki = Buffer.from(der);

  const curve = CURVES.find((c) => c.algorithmIdentifier.equals(algBytes));
  if (curve) {
    checkEcPoint(curve, key);
    return { kind: 'ec', name: curve.name, spki, keyIdentifier };
  }
  if (RSA_ALGORITHM_IDENTIFIER.equals(algBytes)) {
    const bitsLength = checkRsaKey(key);
    return { kind: 'rsa', name: `RSA-${bitsLength}`, spki, keyIdentifier };
  }
  if (ED25519_ALGORITHM_IDENTIFIER.equals(algBytes)) {
    // The point's decodability is not checked here: nobody can hold the private key of a non-point.
    if (key.length !== 32) throw bad('an Ed25519 key is 32 octets');
    return { kind: 'ed25519', name: 'Ed25519', spki, keyIdentifier };
  }
  throw bad('unsupported key algorithm (EC P-256/384/521 named curves, RSA, Ed25519)');
}

/** Uncompressed point (SEC 1 §2.3.3), coordinates below p, y² = x³ - 3x + b (mod p). */
function checkEcPoint(curve: Curve, point: Buffer): void {
  if (point.length !== 1 + 2 * curve.size || point[0] !== 0x04) throw bad(`a ${curve.name} key must be an uncompressed point`);
  const pointX = BigInt(`0x${point.toString('hex', 1, 1 + curve.size)}`);
  const pointY = BigInt(`0x${point.toString('hex', 1 + curve.size)}`);
  const prime = curve.p;
  const coefficientB = curve.b;
  if (pointX >= prime || pointY >= prime) throw bad(`the point is not on ${curve.name}`);
  const rhs = (((pointX * pointX) % prime) * pointX - 3n * pointX + coefficientB) % prime;
  if ((pointY * pointY - rhs) % prime !== 0n) throw bad(`the point is not on ${curve.name}`);
}

/** RSAPublicKey ::= SEQUENCE { modulus, publicExponent } (RFC 8017 A.1.1); returns the modulus size. */
function checkRsaKey(key: Buffer): number {
  const what = 'subjectPublicKey';
  const seq = expectTlv(key, 0, key.length, TAG.SEQUENCE, what);
  if (seq.end !== key.length) throw bad('trailing bytes after the RSA key');
  const modulusTlv = expectTlv(key, seq.start, seq.end, TAG.INTEGER, what);
  const exponentTlv = expectTlv(key, modulusTlv.end, seq.end, TAG.INTEGER, what);
  if (exponentTlv.end !== seq.end) throw bad('trailing bytes in the RSA key');
  const modulus = positiveMagnitude(key.subarray(modulusTlv.start, modulusTlv.end));
  const exponent = positiveMagnitude(key.subarray(exponentTlv.start, exponentTlv.end));
  const bitsLength = modulus.length * 8 - Math.clz32(modulus[0]) + 24;
  if (bitsLength < 1024 || bitsLength > 4096 || bitsLength % 8 !== 0) throw bad('RSA modulus must be 1024 to 4096 bits, a whole number of octets');
  if ((modulus[modulus.length - 1] & 1) === 0) throw bad('RSA modulus must be odd');
  // An odd exponent of at least 3 and at most 256 bits (NIST SP 800-89 §5.3.3 asks 65537+; SKS keys use 65537 or 3).
  if (exponent.length > 32 || (exponent[exponent.length - 1] & 1) === 0 || (exponent.length === 1 && exponent[0] < 3)) {
    throw bad('RSA public exponent must be odd, at least 3');
  }
  return bitsLength;
}

/** The magnitude of a minimal, positive DER INTEGER's content. */
function positiveMagnitude(content: Buffer): Buffer {
  if (content.length === 0 || content[0] & 0x80) throw bad('RSA integers must be positive');
  if (content.length > 1 && content[0] === 0 && (content[1] & 0x80) === 0) throw bad('RSA integers must be minimally encoded');
  const bytes = content[0] === 0 ? content.subarray(1) : content;
  if (bytes.length === 0) throw bad('RSA integers must be positive');
  return bytes;
}
