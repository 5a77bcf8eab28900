/**
 * The small DER writer (X.690 §10) the CA builds certificates with, and a
 * strict reader for the few structures it takes apart (subject public keys,
 * its own CA certificates). Writing our own costs ~100 lines and keeps the
 * hot path at the price of a few Buffer copies: an X.509 library's object
 * model costs more than the signature itself (see bench/issuer-ca.ts).
 */
import { readTlv as readDerTlv, type Tlv } from '../../sks/crypto/der.js';
import { IssuerError } from '../errors.js';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * One TLV with a definite length in the fewest octets, written into a single
 * allocation (Buffer.concat of a header array costs ~4x more, and a TBS is a
 * few dozen TLVs).
 */
export function tlv(tag: number, ...content: readonly Uint8Array[]): Buffer {
  let count = 0;
  for (const bytes of content) count += bytes.length;
  const handle = count < 0x80 ? 2 : count < 0x100 ? 3 : count < 0x10000 ? 4 : 5;
  const out = Buffer.allocUnsafe(handle + count);
  out[0] = tag;
  if (handle === 2) out[1] = count;
  else {
    out[1] = 0x80 | (handle - 2);
    for (let i = handle - 1, value = count; i >= 2; i--, value >>>= 8) out[i] = value & 0xff;
  }
  let params = handle;
  for (const item of content) {
    out.set(item, params);
    params += item.length;
  }
  return out;
}

export const sequence = (...content: readonly Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, ...content);

/** `[n]` EXPLICIT (constructed context-specific). */
export const explicit = (n: number, ...content: readonly Uint8Array[]): Buffer => tlv(0xa0 | n, ...content);

/** `[n]` IMPLICIT primitive (context-specific), e.g. GeneralName rfc822Name [1] or keyIdentifier [0]. */
export const implicitPrimitive = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content);

/**
 * DER INTEGER of a non-negative value given as big-endian magnitude bytes:
 * leading zero octets are dropped and one is added back when the top bit is
 * set, so the encoding is minimal and never negative (X.690 §8.3.2).
 */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let index = 0;
  while (index < magnitude.length - 1 && magnitude[index] === 0) index++;
  const message = magnitude.subarray(index);
  return message.length > 0 && message[0] & 0x80
    ? tlv(TAG.INTEGER, Buffer.from([0]), message)
    : tlv(TAG.INTEGER, message.length === 0 ? Buffer.from([0]) : message);
}

export const smallInteger = (count: number): Buffer => {
  if (!Number.isInteger(count) || count < 0 || count > 0x7fffffff) throw new IssuerError('INTERNAL', 'DER small integer out of range');
  const bytes: number[] = [];
  let value = count;
  do {
    bytes.unshift(value & 0xff);
    value = Math.floor(value / 256);
  } while (value > 0);
  return unsignedInteger(Buffer.from(bytes));
};

export const boolean = (b: boolean): Buffer => tlv(TAG.BOOLEAN, Buffer.from([b ? 0xff : 0x00]));
export const nullValue = (): Buffer => Buffer.from([TAG.NULL, 0]);
export const octetString = (content: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, content);
/** BIT STRING of whole octets (unused bits 0): keys and signatures. */
export const bitStringOctets = (content: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Buffer.from([0]), content);

/** OBJECT IDENTIFIER from dotted text; called when tables are built, never per certificate. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((text) => {
    if (!/^(0|[1-9][0-9]*)$/.test(text)) throw new IssuerError('INTERNAL', `bad OID ${dotted}`);
    return BigInt(text);
  });
  if (arcs.length < 2 || arcs[0] > 2n || (arcs[0] < 2n && arcs[1] > 39n)) throw new IssuerError('INTERNAL', `bad OID ${dotted}`);
  const out: number[] = [];
  const emit = (big: bigint): void => {
    const chunk: number[] = [Number(big & 0x7fn)];
    for (let result = big >> 7n; result > 0n; result >>= 7n) chunk.unshift(Number(result & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  emit(arcs[0] * 40n + arcs[1]);
  for (const args of arcs.slice(2)) emit(args);
  return tlv(TAG.OID, Buffer.from(out));
}

/**
 * RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, both
 * in UTC with whole seconds ("Z", no fraction).
 */
export function time(date: Date): Buffer {
  const ms = date.getTime();
  if (!Number.isFinite(ms) || ms % 1000 !== 0) throw new IssuerError('INTERNAL', 'certificate times must be whole seconds');
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new IssuerError('INTERNAL', 'certificate time out of range');
  const utc = year < 2050;
  const out = Buffer.allocUnsafe(utc ? 15 : 17);
  out[0] = utc ? TAG.UTC_TIME : TAG.GENERALIZED_TIME;
  out[1] = utc ? 13 : 15;
  let value = 2;
  const put2 = (twoDigits: number): void => {
    out[value++] = 0x30 + Math.floor(twoDigits / 10);
    out[value++] = 0x30 + (twoDigits % 10);
  };
  if (!utc) put2(Math.floor(year / 100));
  put2(year % 100);
  put2(date.getUTCMonth() + 1);
  put2(date.getUTCDate());
  put2(date.getUTCHours());
  put2(date.getUTCMinutes());
  put2(date.getUTCSeconds());
  out[value] = 0x5a; // Z
  return out;
}

// ---------------------------------------------------------------------------
// Reading

export type { Tlv };

/**
 * Reads one TLV at `offset` with the SKS's strict DER reader
 * (src/sks/crypto/der.ts: low tag numbers, definite lengths in the fewest
 * octets, at most three length octets), refusing as `BAD_REQUEST` naming
 * `what` (never its bytes).
 */
export function readTlv(der: Uint8Array, offset: number, limit: number, what: string): Tlv {
  try {
    return readDerTlv(der, offset, limit);
  } catch {
    throw new IssuerError('BAD_REQUEST', `${what} is not valid DER`, { field: what });
  }
}

/** Reads the TLV at `offset` and requires its tag. */
export function expectTlv(der: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(der, offset, limit, what);
  if (tlv.tag !== tag) throw new IssuerError('BAD_REQUEST', `${what} is not valid DER`, { field: what });
  return tlv;
}

/** PEM armour (RFC 7468) of DER bytes. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block with `label`, or undefined. */
export function pemBody(label: string, text: string): Buffer | undefined {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(text);
  return match ? Buffer.from(match[1].replace(/\s+/g, ''), 'base64') : undefined;
}
