/**
 * RFC 8785 JSON Canonicalization Scheme over plain JSON values, for the JSF lookup signatures of
 * spec §6.5: members sorted by UTF-16 code units, no whitespace, ECMAScript number and string
 * serialization. Lone surrogates are refused (RFC 8785 §3.2.2.2 requires well-formed Unicode).
 */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The canonical UTF-8 text of `value`. */
export function canonicalize(value: JsonValue): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('JCS: non-finite number');
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new RangeError('JCS: lone surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(canonicalize).join(',')}]`;
  const obj = value as { readonly [k: string]: JsonValue };
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${canonicalize(k)}:${canonicalize(obj[k] as JsonValue)}`).join(',')}}`;
}
