/**
 * Mechanical mutations of a KeyGen2 message, enumerated from its decoded JSON tree: every leaf
 * (flip a byte of binary, alter text, replace an enumerated value by another valid one, change a
 * number or boolean, swap with another session's value at the same path), every object member (drop it), every array (drop, reorder, duplicate).
 */

import {
  ACTIONS,
  APP_USAGES,
  BIOMETRIC_PROTECTIONS,
  DELETE_PROTECTIONS,
  EXPORT_PROTECTIONS,
  GROUPINGS,
  INPUT_METHODS,
  KEY_CONTAINERS,
  PASSPHRASE_FORMATS,
  PATTERN_RESTRICTIONS,
} from '../../../src/keygen2/messages/enums.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type PathStep = string | number;

export type MutationKind = 'flip' | 'alter' | 'enum' | 'number' | 'boolean' | 'swap' | 'drop-member' | 'drop-element' | 'reorder' | 'duplicate';

/**
 * Enumerated values by member name (spec §4.10, §4.11): an `enum` mutation replaces a value by
 * the next valid one, which the decoder accepts, so only a MAC or attestation can refuse it.
 */
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  appUsage: APP_USAGES,
  format: PASSPHRASE_FORMATS,
  grouping: GROUPINGS,
  patternRestrictions: PATTERN_RESTRICTIONS,
  inputMethod: INPUT_METHODS,
  biometricProtection: BIOMETRIC_PROTECTIONS,
  exportProtection: EXPORT_PROTECTIONS,
  deleteProtection: DELETE_PROTECTIONS,
  targetKeyContainers: KEY_CONTAINERS,
  action: ACTIONS,
  keyAlgorithm: ['https://webpki.github.io/sks/algorithm#ec.nist.p256', 'https://webpki.github.io/sks/algorithm#ec.nist.p384'],
};

/** The enumeration a leaf at `path` belongs to (by its member name, or its array's). */
function enumOf(path: readonly PathStep[], value: string): readonly string[] | undefined {
  const name = [...path].reverse().find((p): p is string => typeof p === 'string');
  const values = name === undefined ? undefined : ENUMS[name];
  return values?.includes(value) === true ? values : undefined;
}

/** One mutation of one message, applicable to any session's instance of that message. */
export interface Mutation {
  readonly path: readonly PathStep[];
  readonly kind: MutationKind;
  /** For `swap`: the other session's value at `path`. */
  readonly other?: Json;
}

export const pathText = (path: readonly PathStep[]): string => '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');

/** Leaf path without array indices, for counting "fields". */
export const fieldName = (path: readonly PathStep[]): string => '$' + path.map((p) => (typeof p === 'number' ? '[]' : `.${p}`)).join('');

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** base64url text that round-trips and decodes to at least 8 bytes: treated as binary. */
function binary(state: string): Buffer | undefined {
  if (state.length < 11 || !BASE64URL.test(state)) return undefined;
  const octets = Buffer.from(state, 'base64url');
  return octets.toString('base64url') === state ? octets : undefined;
}

function get(root: Json, path: readonly PathStep[]): Json | undefined {
  let value: Json | undefined = root;
  for (const pathStep of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = Array.isArray(value) ? value[pathStep as number] : value[pathStep as string];
  }
  return value;
}

const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Every mutation of `message`; `other` is the same message of an independent session (for swaps). */
export function enumerate(message: Json, other: Json | undefined): Mutation[] {
  const out: Mutation[] = [];
  const walk = (json: Json, path: PathStep[]): void => {
    if (Array.isArray(json)) {
      if (json.length > 0) out.push({ path, kind: 'drop-element' }, { path, kind: 'duplicate' });
      if (json.length > 1 && !same([...json].reverse(), json)) out.push({ path, kind: 'reorder' });
      json.forEach((x, i) => walk(x, [...path, i]));
      return;
    }
    if (json !== null && typeof json === 'object') {
      for (const [key, input] of Object.entries(json)) {
        out.push({ path: [...path, key], kind: 'drop-member' });
        walk(input, [...path, key]);
      }
      return;
    }
    if (typeof json === 'string') {
      out.push({ path, kind: binary(json) === undefined ? 'alter' : 'flip' });
      if (enumOf(path, json) !== undefined) out.push({ path, kind: 'enum' });
    } else if (typeof json === 'number') out.push({ path, kind: 'number' });
    else if (typeof json === 'boolean') out.push({ path, kind: 'boolean' });
    const options = other === undefined ? undefined : get(other, path);
    if (options !== undefined && !same(options, json) && (options === null || typeof options !== 'object')) out.push({ path, kind: 'swap', other: options });
  };
  walk(message, []);
  return out;
}

/** Leaf paths of a message (its fields, `@context` and `@qualifier` included). */
export function leaves(message: Json): string[] {
  const out: string[] = [];
  const walk = (json: Json, path: PathStep[]): void => {
    if (Array.isArray(json)) json.forEach((x, i) => walk(x, [...path, i]));
    else if (json !== null && typeof json === 'object') {
      for (const [key, input] of Object.entries(json)) walk(input, [...path, key]);
    } else out.push(pathText(path));
  };
  walk(message, []);
  return out;
}

function alterText(text: string): string {
  if (text.length === 0) return 'x';
  const last = text[text.length - 1];
  const repl = /[0-9]/.test(last) ? String((Number(last) + 1) % 10) : last === 'x' ? 'y' : 'x';
  return text.slice(0, -1) + repl;
}

/** Applies `m` to a copy of `message`; undefined when the path does not exist in this instance or a swap would change nothing. */
export function apply(message: Json, mutation: Mutation): Json | undefined {
  const copy = structuredClone(message);
  const parentPath = mutation.path.slice(0, -1);
  const key = mutation.path[mutation.path.length - 1];
  const target = get(copy, mutation.path);
  if (target === undefined) return undefined;
  const setValue = (value: Json): void => {
    const parent = get(copy, parentPath) as Record<string, Json> | Json[];
    (parent as Record<PathStep, Json>)[key] = value;
  };
  switch (mutation.kind) {
    case 'flip': {
      const bytes = binary(target as string);
      if (bytes === undefined) return undefined;
      const index = bytes.length >> 1;
      bytes[index] = bytes[index] ^ 0x01;
      setValue(bytes.toString('base64url'));
      break;
    }
    case 'alter':
      setValue(alterText(target as string));
      break;
    case 'enum': {
      const values = enumOf(mutation.path, target as string);
      if (values === undefined) return undefined;
      setValue(values[(values.indexOf(target as string) + 1) % values.length]);
      break;
    }
    case 'number':
      setValue((target as number) + 1);
      break;
    case 'boolean':
      setValue(!(target as boolean));
      break;
    case 'swap':
      // Values that differ only by time (serverTime) may coincide with this session's.
      if (mutation.other === undefined || same(mutation.other, target)) return undefined;
      setValue(mutation.other);
      break;
    case 'drop-member': {
      const parent = get(copy, parentPath) as Record<string, Json>;
      delete parent[key as string];
      break;
    }
    case 'drop-element':
      (target as Json[]).splice(0, 1);
      break;
    case 'duplicate':
      (target as Json[]).push(structuredClone((target as Json[])[0]));
      break;
    case 'reorder':
      (target as Json[]).reverse();
      break;
  }
  return copy;
}
