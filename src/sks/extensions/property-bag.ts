/**
 * Property bags (spec §11.2-§11.4): `arr(name) || u8(writable) || arr(value)`,
 * repeated, no count and no delimiters.
 */
import { optionError } from '../errors.js';

export interface Property {
  readonly name: string;
  readonly writable: boolean;
  readonly value: string;
}

/** The format check of spec §11.3 (an empty bag is invalid). */
export function isValidPropertyBag(data: Uint8Array): boolean {
  const length = data.length;
  let i = 0;
  do {
    if (i > length - 5) return false;
    const n = (data[i]! << 8) | data[i + 1]!;
    if (n === 0) return false;
    i += 2 + n;
    if (i > length - 3) return false;
    const w = data[i]!;
    if (w !== 0 && w !== 1) return false;
    i += 1;
    const valueLength = (data[i]! << 8) | data[i + 1]!;
    i += 2 + valueLength;
    if (i > length) return false;
  } while (i !== length);
  return true;
}

interface Entry {
  readonly nameBytes: Buffer;
  readonly writable: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

function* entries(data: Buffer): Generator<Entry> {
  let i = 0;
  while (i + 5 <= data.length) {
    const n = data.readUInt16BE(i);
    const nameBytes = data.subarray(i + 2, i + 2 + n);
    i += 2 + n;
    const writable = data[i]!;
    const valueLength = data.readUInt16BE(i + 1);
    const valueStart = i + 3;
    const valueEnd = valueStart + valueLength;
    yield { nameBytes, writable, valueStart, valueEnd };
    i = valueEnd;
  }
}

/**
 * Parses a bag (spec §11.5). A bag that fails the format check of §11.3 and a
 * repeated name are both `ERROR_OPTION` (the walk alone would stop silently
 * before trailing bytes or a truncated entry).
 */
export function parsePropertyBag(data: Uint8Array): Property[] {
  if (!isValidPropertyBag(data)) throw optionError('"propertyBag" format error', 'propertyBag');
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const seen = new Set<string>();
  const result: Property[] = [];
  for (const e of entries(buf)) {
    const name = e.nameBytes.toString('utf8');
    if (seen.has(name)) throw optionError(`Duplicate property: ${name}`, 'propertyBag');
    seen.add(name);
    result.push({ name, writable: e.writable === 1, value: buf.subarray(e.valueStart, e.valueEnd).toString('utf8') });
  }
  return result;
}

export type SetPropertyOutcome = { readonly kind: 'updated'; readonly data: Buffer } | { readonly kind: 'not-writable' } | { readonly kind: 'not-found' };

/** Replaces the value of the first entry named `name` (spec §11.4). */
export function setPropertyValue(data: Buffer, name: string, value: Buffer): SetPropertyOutcome {
  const wanted = Buffer.from(name, 'utf8');
  for (const e of entries(data)) {
    if (!e.nameBytes.equals(wanted)) continue;
    if (e.writable !== 1) return { kind: 'not-writable' };
    const length = Buffer.alloc(2);
    length.writeUInt16BE(value.length);
    return { kind: 'updated', data: Buffer.concat([data.subarray(0, e.valueStart - 2), length, value, data.subarray(e.valueEnd)]) };
  }
  return { kind: 'not-found' };
}
