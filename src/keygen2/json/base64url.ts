/**
 * base64url without padding (spec §4.5, RFC 4648 §5).
 *
 * The reference rejects `=` and a non-canonical final character (unused bits set), so a value
 * decodes only if re-encoding it gives back exactly the same text; that also rejects any
 * character outside the alphabet and a length of 1 mod 4.
 */
import { schemaError } from '../errors.js';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes as unpadded base64url. @example encodeBase64Url(new Uint8Array([1,2,3])) === 'AQID' */
export const encodeBase64Url = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');

/**
 * Decodes canonical unpadded base64url or throws SCHEMA at `path`.
 * @example decodeBase64Url('AQID', '$.x') // Uint8Array [1, 2, 3]
 */
export function decodeBase64Url(text: string, path: string): Uint8Array {
  if (!ALPHABET.test(text) || text.length % 4 === 1) throw schemaError(path, 'not base64url (RFC 4648 §5, no padding)');
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  if (encodeBase64Url(bytes) !== text) throw schemaError(path, 'non-canonical base64url final character');
  return bytes;
}
