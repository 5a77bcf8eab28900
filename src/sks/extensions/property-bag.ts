/**
 * Property bags (spec §11.2-§11.5, KeyGen2 §6.9.4): `arr(name) || u8(writable)
 * || arr(value)`, repeated, no count and no delimiters. The one encoder and
 * parser: the SKS validates and rewrites bags, the KeyGen2 client builds them
 * from JSON, the issuer builds them for its MAC, and wallets read them back.
 */
import { optionError } from '../errors.js';

/** One entry of a property bag (spec §11.2). */
export interface Property {
  readonly name: string;
  /** True when the user may change the value later (`setProperty`, spec §11.4). */
  readonly writable: boolean;
  readonly value: string;
}

const MAX_FIELD_LENGTH = 0xffff;

/** `arr(UTF8(text))`: a 16-bit big-endian length, then the bytes. */
function arr(field: 'name' | 'value', text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_FIELD_LENGTH) throw optionError(`"property" ${field} longer than ${MAX_FIELD_LENGTH} bytes`, field);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/**
 * Serializes properties, in order, as KeyGen2 §6.9.4 prescribes for the
 * `extensionData` of sub-type 2. Refuses, with `ERROR_OPTION`, what the SKS
 * (§11.3) or the reference issuer would refuse: no property, an empty name,
 * a repeated name, a name or value over 65535 UTF-8 bytes.
 *
 * @example
 * ```ts
 * encodePropertyBag([{ name: 'Counter', writable: true, value: '0' }, { name: 'Digits', writable: false, value: '8' }]);
 * // 0007 436f756e746572 01 0001 30  0006 446967697473 00 0001 38
 * ```
 */
export function encodePropertyBag(properties: readonly Property[]): Buffer {
  if (properties.length === 0) throw optionError('A "propertyBag" needs at least one property', 'property');
  const seen = new Set<string>();
  const parts: Buffer[] = [];
  for (const params of properties) {
    if (params.name.length === 0) throw optionError('Empty "property" name', 'name');
    if (seen.has(params.name)) throw optionError(`Duplicate property: ${params.name}`, 'name');
    seen.add(params.name);
    parts.push(arr('name', params.name), Buffer.of(params.writable ? 1 : 0), arr('value', params.value));
  }
  return Buffer.concat(parts);
}

/** The format check of spec §11.3 (an empty bag is invalid). */
export function isValidPropertyBag(data: Uint8Array): boolean {
  const length = data.length;
  let index = 0;
  do {
    if (index > length - 5) return false;
    const count = (data[index] << 8) | data[index + 1];
    if (count === 0) return false;
    index += 2 + count;
    if (index > length - 3) return false;
    const value = data[index];
    if (value !== 0 && value !== 1) return false;
    index += 1;
    const valueLength = (data[index] << 8) | data[index + 1];
    index += 2 + valueLength;
    if (index > length) return false;
  } while (index !== length);
  return true;
}

interface Entry {
  readonly nameBytes: Buffer;
  readonly writable: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

function* entries(data: Buffer): Generator<Entry> {
  let index = 0;
  while (index + 5 <= data.length) {
    const count = data.readUInt16BE(index);
    const nameBytes = data.subarray(index + 2, index + 2 + count);
    index += 2 + count;
    const writable = data[index];
    const valueLength = data.readUInt16BE(index + 1);
    const valueStart = index + 3;
    const valueEnd = valueStart + valueLength;
    yield { nameBytes, writable, valueStart, valueEnd };
    index = valueEnd;
  }
}

/**
 * Reads a property bag the way the reference's client-side value class does
 * (spec §11.5): entries in order, `writable` true only for the byte 0x01.
 * `ERROR_OPTION` when the bytes fail the format check of §11.3 or repeat a name.
 *
 * @example
 * ```ts
 * const { extensionData } = await sks.getExtension(keyHandle, type);
 * for (const { name, value, writable } of parsePropertyBag(extensionData)) console.log(name, value, writable);
 * ```
 */
export function parsePropertyBag(data: Uint8Array): Property[] {
  if (!isValidPropertyBag(data)) throw optionError('"propertyBag" format error', 'extensionData');
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const seen = new Set<string>();
  const result: Property[] = [];
  for (const entry of entries(buf)) {
    const name = entry.nameBytes.toString('utf8');
    if (seen.has(name)) throw optionError(`Duplicate property: ${name}`, 'name');
    seen.add(name);
    result.push({ name, writable: entry.writable === 1, value: buf.subarray(entry.valueStart, entry.valueEnd).toString('utf8') });
  }
  return result;
}

export type SetPropertyOutcome = { readonly kind: 'updated'; readonly data: Buffer } | { readonly kind: 'not-writable' } | { readonly kind: 'not-found' };

/** Replaces the value of the first entry named `name` (spec §11.4). */
export function setPropertyValue(data: Buffer, name: string, value: Buffer): SetPropertyOutcome {
  const wanted = Buffer.from(name, 'utf8');
  for (const error of entries(data)) {
    if (!error.nameBytes.equals(wanted)) continue;
    if (error.writable !== 1) return { kind: 'not-writable' };
    const length = Buffer.alloc(2);
    length.writeUInt16BE(value.length);
    return { kind: 'updated', data: Buffer.concat([data.subarray(0, error.valueStart - 2), length, value, data.subarray(error.valueEnd)]) };
  }
  return { kind: 'not-found' };
}
