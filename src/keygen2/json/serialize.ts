/**
 * Compact JSON serialization and RFC 8785 canonicalization (JCS) of the value model.
 *
 * String escaping matches the reference writer: `"`, `\\`, `\b \f \n \r \t`, other controls as
 * lower-case `\u00xx`, everything else raw — which is also what `JSON.stringify` and JCS do for
 * well-formed strings. Lone surrogates are refused (§4.2) rather than escaped.
 */
import { isWellFormed } from './parse.js';
import type { JsonValue } from './value.js';

function str(text: string): string {
  if (!isWellFormed(text)) throw new RangeError('string with a lone surrogate cannot be serialized');
  return JSON.stringify(text);
}

/** Member names, quoted: a few dozen names make up every message. Bounded, for hostile input. */
const QUOTED_NAMES = new Map<string, string>();
const QUOTED_NAMES_MAX = 1024;

function quotedName(name: string): string {
  let quoted = QUOTED_NAMES.get(name);
  if (quoted === undefined) {
    quoted = str(name);
    if (QUOTED_NAMES.size < QUOTED_NAMES_MAX) QUOTED_NAMES.set(name, quoted);
  }
  return quoted;
}

/** Compact JSON text, members in their stored order. */
export function serializeJson(value: JsonValue): string {
  switch (value.kind) {
    case 'object': {
      let text = '';
      for (const [name, member] of value.members) text += `${text === '' ? '' : ','}${quotedName(name)}:${serializeJson(member)}`;
      return `{${text}}`;
    }
    case 'array': {
      let text = '';
      for (const item of value.items) text += `${text === '' ? '' : ','}${serializeJson(item)}`;
      return `[${text}]`;
    }
    case 'string':
      return str(value.value);
    case 'number':
      return value.text;
    case 'boolean':
      return value.value ? 'true' : 'false';
    case 'null':
      return 'null';
  }
}

/**
 * RFC 8785 canonical form: members sorted by UTF-16 code units, numbers in ECMAScript form.
 * Used for JSF lookup signatures (§5.7, §6.5).
 */
export function canonicalizeJson(value: JsonValue): string {
  switch (value.kind) {
    case 'object': {
      // Comparing JavaScript strings compares UTF-16 code units, which is exactly JCS's order.
      const entries = [...value.members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${str(k)}:${canonicalizeJson(v)}`).join(',')}}`;
    }
    case 'array':
      return `[${value.items.map(canonicalizeJson).join(',')}]`;
    case 'number': {
      const count = Number(value.text);
      if (!Number.isFinite(count)) throw new RangeError('number outside the IEEE 754 range');
      return JSON.stringify(count);
    }
    default:
      return serializeJson(value);
  }
}
