/** IDs and URIs (spec §4.3, §4.4). */
import { schemaError } from '../errors.js';

/** True for a §4.3 ID: 1–32 characters, each `!` (0x21) … `~` (0x7E). */
export const isId = (s: string): boolean => /^[\x21-\x7e]{1,32}$/.test(s);

/** Checks a §4.3 ID or throws SCHEMA at `path`. */
export function checkId(text: string, path: string): string {
  if (!isId(text)) throw schemaError(path, 'not an ID (1-32 characters from ! to ~)');
  return text;
}

// An absolute URI the way java.net.URI accepts it (§4.4): a scheme, then a non-empty rest with
// no space, control character or character URI syntax forbids outright; `%` must start an escape.
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
// Control characters are exactly what this pattern is for.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\x00-\x20\x7f"<>\\^`{|}]/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** True for an absolute URI (has a scheme) as the reference's `new URI(s).isAbsolute()`. */
export function isAbsoluteUri(text: string): boolean {
  const match = SCHEME.exec(text);
  if (match === null || text.length === match[0].length) return false;
  if (FORBIDDEN.test(text) || BAD_ESCAPE.test(text)) return false;
  // At most one '#'; the fragment may not contain another.
  return text.indexOf('#') === text.lastIndexOf('#');
}

/** Checks an absolute URI or throws SCHEMA at `path`. */
export function checkUri(text: string, path: string): string {
  if (!isAbsoluteUri(text)) throw schemaError(path, 'not an absolute URI');
  return text;
}
