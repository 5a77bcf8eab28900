/**
 * Typed, path-tracking readers over the strict value model (spec §4.2, §11.1).
 *
 * Every read marks the member as read; {@link ReadContext.finish} then walks the whole tree and
 * rejects any member no decoder read, at any depth — the reference's "checkForUnread". Checks
 * that must see the complete, schema-valid message first (signatures) are deferred until after
 * that walk, so an unknown member is always reported as such.
 */
import { KeyGen2Error, schemaError } from '../errors.js';
import { decodeBase64Url, tryDecodeBase64Url } from './base64url.js';
import { parseDateTime, type DateTime, type DateTimeForm } from './date-time.js';
import { checkId, checkUri } from './id.js';
import { indexPath, memberPath } from './path.js';
import type { JsonArray, JsonObject, JsonValue } from './value.js';

/** Limits of the reference's `getInt` (§4.2: 32-bit signed). */
export const INT32_MIN = -0x80000000;
export const INT32_MAX = 0x7fffffff;

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** Options for array reads. */
export interface ArrayRule {
  /** Reject `[]` (§11.1 lists which arrays must be non-empty). */
  readonly nonEmpty?: boolean;
  /** Reject equal elements (compared as strings). */
  readonly unique?: boolean;
}

/** Byte-length limits for binary reads. */
export interface LengthRule {
  readonly min?: number;
  readonly max?: number;
}

/** Read state shared by all readers of one message. */
export class ReadContext {
  private readonly read = new WeakMap<JsonObject, Set<string>>();
  private readonly deferred: Array<() => void> = [];

  /** Marks `name` of `obj` as read by a decoder. */
  mark(obj: JsonObject, name: string): void {
    let names = this.read.get(obj);
    if (names === undefined) {
      names = new Set();
      this.read.set(obj, names);
    }
    names.add(name);
  }

  /** Runs `check` after the unread-member walk (signature verification and the like). */
  defer(check: () => void): void {
    this.deferred.push(check);
  }

  /** Rejects the first member that no decoder read (SCHEMA), then runs the deferred checks. */
  finish(root: JsonObject, path: string): void {
    this.checkObject(root, path);
    for (const check of this.deferred) check();
  }

  private checkObject(obj: JsonObject, path: string): void {
    const names = this.read.get(obj);
    // Paths are built only for an error or a level below: most members are leaves.
    for (const [name, value] of obj.members) {
      if (!names?.has(name)) throw schemaError(memberPath(path, name), 'unknown member');
      if (value.kind === 'object' || value.kind === 'array') this.checkValue(value, memberPath(path, name));
    }
  }

  private checkValue(value: JsonValue, path: string): void {
    if (value.kind === 'object') this.checkObject(value, path);
    else if (value.kind === 'array')
      value.items.forEach((item, index) => {
        if (item.kind === 'object' || item.kind === 'array') this.checkValue(item, indexPath(path, index));
      });
  }
}

/** Reads the members of one JSON object; every accessor names the member's path in errors. */
export class ObjectReader {
  constructor(
    readonly ctx: ReadContext,
    readonly value: JsonObject,
    readonly path: string,
  ) {}

  /** A reader over a message root; SCHEMA if the root is not an object. */
  static root(value: JsonValue, path = '$'): ObjectReader {
    if (value.kind !== 'object') throw schemaError(path, 'expected an object');
    return new ObjectReader(new ReadContext(), value, path);
  }

  /** The path of member `name`. */
  pathOf(name: string): string {
    return memberPath(this.path, name);
  }

  /** True if the member is present (with any value). */
  has(name: string): boolean {
    return this.value.members.has(name);
  }

  /** Number of members, read or not. */
  get size(): number {
    return this.value.members.size;
  }

  /** Completes the read of the message: unread members, then deferred checks. */
  finish(): void {
    this.ctx.finish(this.value, this.path);
  }

  private take(name: string): JsonValue {
    const val = this.value.members.get(name);
    if (val === undefined) throw schemaError(this.pathOf(name), 'missing member');
    this.ctx.mark(this.value, name);
    return val;
  }

  private typed<K extends JsonValue['kind']>(name: string, kind: K): Extract<JsonValue, { kind: K }> {
    const jsonValue = this.take(name);
    if (jsonValue.kind !== kind) throw schemaError(this.pathOf(name), `expected ${kind}, got ${jsonValue.kind}`);
    return jsonValue as Extract<JsonValue, { kind: K }>;
  }

  private optional<T>(name: string, read: (name: string) => T): T | undefined {
    return this.has(name) ? read(name) : undefined;
  }

  /** A string member. */
  string(name: string): string {
    return this.typed(name, 'string').value;
  }
  optString(name: string): string | undefined {
    return this.optional(name, (n) => this.string(n));
  }

  /** A boolean member. */
  boolean(name: string): boolean {
    return this.typed(name, 'boolean').value;
  }
  optBoolean(name: string): boolean | undefined {
    return this.optional(name, (n) => this.boolean(n));
  }

  /** An integer member in `[min, max]` (no fraction, no exponent, §4.2). */
  integer(name: string, min = INT32_MIN, max = INT32_MAX): number {
    const text = this.typed(name, 'number').text;
    if (!INTEGER.test(text)) throw schemaError(this.pathOf(name), 'expected an integer');
    const count = Number(text);
    if (count < min || count > max) throw schemaError(this.pathOf(name), `out of range ${min}..${max}`);
    return count;
  }
  optInteger(name: string, min?: number, max?: number): number | undefined {
    return this.optional(name, (n) => this.integer(n, min, max));
  }

  /** An object member, as a reader. */
  object(name: string): ObjectReader {
    return new ObjectReader(this.ctx, this.typed(name, 'object'), this.pathOf(name));
  }
  optObject(name: string): ObjectReader | undefined {
    return this.optional(name, (n) => this.object(n));
  }

  private array(name: string, rule: ArrayRule): JsonArray {
    const jsonArray = this.typed(name, 'array');
    if (rule.nonEmpty === true && jsonArray.items.length === 0) throw schemaError(this.pathOf(name), 'empty array not allowed');
    return jsonArray;
  }

  /** An array of objects, as readers. */
  objectArray(name: string, rule: ArrayRule = {}): ObjectReader[] {
    const memberLocation = this.pathOf(name);
    return this.array(name, rule).items.map((item, index) => {
      if (item.kind !== 'object') throw schemaError(indexPath(memberLocation, index), `expected object, got ${item.kind}`);
      return new ObjectReader(this.ctx, item, indexPath(memberLocation, index));
    });
  }
  optObjectArray(name: string, rule: ArrayRule = {}): ObjectReader[] | undefined {
    return this.optional(name, (n) => this.objectArray(n, rule));
  }

  /** An array of strings, each checked with `check(value, path)` when given. */
  stringArray(name: string, rule: ArrayRule = {}, check?: (s: string, path: string) => void): string[] {
    const memberLocation = this.pathOf(name);
    const seen = new Set<string>();
    return this.array(name, rule).items.map((item, index) => {
      const ip = indexPath(memberLocation, index);
      if (item.kind !== 'string') throw schemaError(ip, `expected string, got ${item.kind}`);
      check?.(item.value, ip);
      if (rule.unique === true) {
        if (seen.has(item.value)) throw schemaError(ip, 'duplicate value');
        seen.add(item.value);
      }
      return item.value;
    });
  }
  optStringArray(name: string, rule: ArrayRule = {}, check?: (s: string, path: string) => void): string[] | undefined {
    return this.optional(name, (n) => this.stringArray(n, rule, check));
  }

  /** A base64url member (§4.5) with optional byte-length limits. */
  binary(name: string, rule: LengthRule = {}): Uint8Array {
    const text = this.string(name);
    // The path is built only for an error: a message reads dozens of binary members.
    const bytes = tryDecodeBase64Url(text);
    if (typeof bytes === 'string') return decodeBase64Url(text, this.pathOf(name)); // throws, naming the member
    return lengthFits(bytes, rule) ? bytes : checkLength(bytes, rule, this.pathOf(name));
  }
  optBinary(name: string, rule: LengthRule = {}): Uint8Array | undefined {
    return this.optional(name, (n) => this.binary(n, rule));
  }

  /** A 32-byte MAC (§4.5). */
  mac(name = 'mac'): Uint8Array {
    return this.binary(name, { min: 32, max: 32 });
  }

  /** An ID (§4.3). */
  id(name: string): string {
    return checkId(this.string(name), this.pathOf(name));
  }

  /** An absolute URI (§4.4). */
  uri(name: string): string {
    return checkUri(this.string(name), this.pathOf(name));
  }

  /** One of the listed strings (case-sensitive, §4.10). */
  enumeration<T extends string>(name: string, values: readonly T[]): T {
    const text = this.string(name);
    if (!(values as readonly string[]).includes(text)) throw schemaError(this.pathOf(name), 'unknown value');
    return text as T;
  }
  optEnumeration<T extends string>(name: string, values: readonly T[]): T | undefined {
    return this.optional(name, (n) => this.enumeration(n, values));
  }

  /** An array of enumerated strings (§4.10). */
  enumerationArray<T extends string>(name: string, values: readonly T[], rule: ArrayRule = {}): T[] {
    return this.stringArray(name, rule, (text, params) => {
      if (!(values as readonly string[]).includes(text)) throw schemaError(params, 'unknown value');
    }) as T[];
  }
  optEnumerationArray<T extends string>(name: string, values: readonly T[], rule: ArrayRule = {}): T[] | undefined {
    return this.optional(name, (n) => this.enumerationArray(n, values, rule));
  }

  /** A date-time of the given form (§4.6). */
  dateTime(name: string, form: DateTimeForm): DateTime {
    return parseDateTime(this.string(name), form, this.pathOf(name));
  }
  optDateTime(name: string, form: DateTimeForm): DateTime | undefined {
    return this.optional(name, (n) => this.dateTime(n, form));
  }
}

const lengthFits = (bytes: Uint8Array, rule: LengthRule): boolean =>
  (rule.min === undefined || bytes.length >= rule.min) && (rule.max === undefined || bytes.length <= rule.max);

/** Checks a byte length against a rule or throws SCHEMA at `path`. */
export function checkLength(bytes: Uint8Array, rule: LengthRule, path: string): Uint8Array {
  if (!lengthFits(bytes, rule)) {
    const range = rule.min === rule.max ? `${rule.min ?? 0}` : `${rule.min ?? 0}..${rule.max ?? 'any'}`;
    throw schemaError(path, `length ${bytes.length} bytes, expected ${range}`);
  }
  return bytes;
}

/**
 * Runs `f`; any non-KeyGen2Error it throws (a node:crypto or X.509 parser failure on hostile
 * input) becomes SCHEMA at `path`, so decoders never leak a TypeError.
 */
export function asSchema<T>(path: string, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof KeyGen2Error) throw cause;
    throw new KeyGen2Error('SCHEMA', `${path}: ${message}`, { path, cause });
  }
}
