/**
 * Just enough DER to avoid OpenSSL 3's slow encoder/decoder round trips on hot
 * paths: canonical EC SubjectPublicKeyInfo and PKCS#8 (spec §1.3, §1.5), and
 * finding the SPKI inside a certificate. Everything else goes through node:crypto.
 */
import { SksError } from '../errors.js';

export function tlv(tag: number, content: Uint8Array): Buffer {
  const count = content.length;
  const length =
    count < 0x80
      ? [count]
      : count < 0x100
        ? [0x81, count]
        : count < 0x10000
          ? [0x82, count >> 8, count & 0xff]
          : [0x83, count >> 16, (count >> 8) & 0xff, count & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

export interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
  /** Offset of the tag byte. */
  readonly headerStart: number;
}

const malformed = (): SksError => new SksError('CRYPTO', 'Crypto failure: malformed DER');

/**
 * Reads one TLV at `offset`. Only what DER (X.690 §10.1) allows: low tag
 * numbers, definite lengths in the fewest octets (short form below 128, no
 * leading zero octet in the long form), at most three length octets.
 */
export function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  if (offset + 2 > limit) throw malformed();
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) throw malformed();
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || start + count > limit) throw malformed();
    if (der[start] === 0) throw malformed(); // a leading zero length octet is not minimal
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | der[start + i];
    if (length < 0x80) throw malformed(); // fits the short form
    start += count;
  }
  const end = start + length;
  if (end > limit) throw malformed();
  return { tag, start, end, headerStart: offset };
}

/** The exact SubjectPublicKeyInfo bytes of an X.509 certificate. */
export function certificateSpki(der: Uint8Array): Buffer {
  const cert = readTlv(der, 0);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw malformed();
  const tbs = readTlv(der, cert.start, cert.end);
  if (tbs.tag !== 0x30) throw malformed();
  let field = readTlv(der, tbs.start, tbs.end);
  if (field.tag === 0xa0) field = readTlv(der, field.end, tbs.end); // explicit version
  // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo
  for (let i = 0; i < 5; i++) field = readTlv(der, field.end, tbs.end);
  if (field.tag !== 0x30) throw malformed();
  return Buffer.from(der.subarray(field.headerStart, field.end));
}
