/**
 * base64url without padding (spec §4.5, RFC 4648 §5).
 *
 * The reference rejects `=` and a non-canonical final character (unused bits set), so a value
 * decodes only if re-encoding it would give back exactly the same text.
 */
import { schemaError } from '../errors.js';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes as unpadded base64url. @example encodeBase64Url(new Uint8Array([1,2,3])) === 'AQID' */
export const encodeBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/** The 6-bit value of a base64url character (after the alphabet test). */
const sextet = (code: number): number =>
  code >= 0x61 ? code - 0x61 + 26 : code >= 0x41 ? code - 0x41 : code >= 0x30 ? code - 0x30 + 52 : code === 0x2d ? 62 : 63;

/**
 * Decodes canonical unpadded base64url, or returns why not. Canonical: the alphabet only, a
 * length other than 1 mod 4, and no bits set past the last whole byte (2 or 3 characters in the
 * last group carry 4 or 2 unused bits).
 */
export function tryDecodeBase64Url(text: string): Uint8Array | 'alphabet' | 'final' {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return 'alphabet';
  const tail = text.length % 4;
  if (tail !== 0 && (sextet(text.charCodeAt(text.length - 1)) & (tail === 2 ? 0x0f : 0x03)) !== 0) return 'final';
  return new Uint8Array(Buffer.from(text, 'base64url'));
}

/**
 * Decodes canonical unpadded base64url or throws SCHEMA at `path`.
 * @example decodeBase64Url('AQID', '$.x') // Uint8Array [1, 2, 3]
 */
export function decodeBase64Url(text: string, path: string): Uint8Array {
  const bytes = tryDecodeBase64Url(text);
  if (bytes === 'alphabet') throw schemaError(path, 'not base64url (RFC 4648 §5, no padding)');
  if (bytes === 'final') throw schemaError(path, 'non-canonical base64url final character');
  return bytes;
}
