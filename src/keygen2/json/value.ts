/**
 * The strict JSON value model (spec §4.2): what the parser produces and the writer serializes.
 *
 * Numbers stay as their text until a reader types them, so `1.0`, `1e0` and `01` never silently
 * become the integer 1. Object members keep their order (a `Map`), which encoders rely on to
 * reproduce the reference's member order.
 */

/** A JSON object: members in textual order; names are unique (the parser rejects duplicates). */
export interface JsonObject {
  readonly kind: 'object';
  readonly members: ReadonlyMap<string, JsonValue>;
}

/** A JSON array. */
export interface JsonArray {
  readonly kind: 'array';
  readonly items: readonly JsonValue[];
}

/** A JSON string (well-formed UTF-16: no lone surrogates). */
export interface JsonString {
  readonly kind: 'string';
  readonly value: string;
}

/** A JSON number, kept as its source text (RFC 8259 grammar, never `-0`). */
export interface JsonNumber {
  readonly kind: 'number';
  readonly text: string;
}

export interface JsonBoolean {
  readonly kind: 'boolean';
  readonly value: boolean;
}

export interface JsonNull {
  readonly kind: 'null';
}

/** Any JSON value. */
export type JsonValue = JsonObject | JsonArray | JsonString | JsonNumber | JsonBoolean | JsonNull;

/** The JSON type names used in error messages. */
export const jsonTypeName = (v: JsonValue): string => v.kind;

/** Builds an object from `[name, value]` pairs, skipping pairs whose value is `undefined`. */
export function jsonObject(entries: ReadonlyArray<readonly [string, JsonValue | undefined]>): JsonObject {
  const members = new Map<string, JsonValue>();
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    if (members.has(name)) throw new RangeError(`duplicate member ${name}`);
    members.set(name, value);
  }
  return { kind: 'object', members };
}

/** Builders for scalar and array values. */
export const jsonString = (value: string): JsonString => ({ kind: 'string', value });
export const jsonBoolean = (value: boolean): JsonBoolean => ({ kind: 'boolean', value });
export const jsonArray = (items: readonly JsonValue[]): JsonArray => ({ kind: 'array', items });
/** An integer number; throws RangeError for anything but a safe integer (the wire has no others). */
export function jsonInteger(value: number): JsonNumber {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
  return { kind: 'number', text: Object.is(value, -0) ? '0' : String(value) };
}
/** `undefined` stays `undefined` so optional members can be mapped in one expression. */
export const opt = <T, R>(value: T | undefined, f: (v: T) => R): R | undefined => (value === undefined ? undefined : f(value));
