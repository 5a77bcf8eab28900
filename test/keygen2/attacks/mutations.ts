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

export const pathText = (path: readonly PathStep[]): string =>
  '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');

/** Leaf path without array indices, for counting "fields". */
export const fieldName = (path: readonly PathStep[]): string => '$' + path.map((p) => (typeof p === 'number' ? '[]' : `.${p}`)).join('');

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** base64url text that round-trips and decodes to at least 8 bytes: treated as binary. */
function binary(s: string): Buffer | undefined {
  if (s.length < 11 || !BASE64URL.test(s)) return undefined;
  const b = Buffer.from(s, 'base64url');
  return b.toString('base64url') === s ? b : undefined;
}

function get(root: Json, path: readonly PathStep[]): Json | undefined {
  let v: Json | undefined = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (Array.isArray(v) ? v[p as number] : v[p as string]) as Json | undefined;
  }
  return v;
}

const same = (a: Json | undefined, b: Json | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Every mutation of `message`; `other` is the same message of an independent session (for swaps). */
export function enumerate(message: Json, other: Json | undefined): Mutation[] {
  const out: Mutation[] = [];
  const walk = (v: Json, path: PathStep[]): void => {
    if (Array.isArray(v)) {
      if (v.length > 0) out.push({ path, kind: 'drop-element' }, { path, kind: 'duplicate' });
      if (v.length > 1 && !same([...v].reverse(), v)) out.push({ path, kind: 'reorder' });
      v.forEach((x, i) => walk(x, [...path, i]));
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        out.push({ path: [...path, k], kind: 'drop-member' });
        walk(x, [...path, k]);
      }
      return;
    }
    if (typeof v === 'string') {
      out.push({ path, kind: binary(v) === undefined ? 'alter' : 'flip' });
      if (enumOf(path, v) !== undefined) out.push({ path, kind: 'enum' });
    }
    else if (typeof v === 'number') out.push({ path, kind: 'number' });
    else if (typeof v === 'boolean') out.push({ path, kind: 'boolean' });
    const o = other === undefined ? undefined : get(other, path);
    if (o !== undefined && !same(o, v) && (o === null || typeof o !== 'object')) out.push({ path, kind: 'swap', other: o });
  };
  walk(message, []);
  return out;
}

/** Leaf paths of a message (its fields, `@context` and `@qualifier` included). */
export function leaves(message: Json): string[] {
  const out: string[] = [];
  const walk = (v: Json, path: PathStep[]): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    } else out.push(pathText(path));
  };
  walk(message, []);
  return out;
}

function alterText(s: string): string {
  if (s.length === 0) return 'x';
  const last = s[s.length - 1] as string;
  const repl = /[0-9]/.test(last) ? String((Number(last) + 1) % 10) : last === 'x' ? 'y' : 'x';
  return s.slice(0, -1) + repl;
}

/** Applies `m` to a copy of `message`; undefined when the path does not exist in this instance or a swap would change nothing. */
export function apply(message: Json, m: Mutation): Json | undefined {
  const copy = structuredClone(message);
  const parentPath = m.path.slice(0, -1);
  const key = m.path[m.path.length - 1];
  const target = get(copy, m.path);
  if (target === undefined) return undefined;
  const setValue = (value: Json): void => {
    const parent = get(copy, parentPath) as Record<string, Json> | Json[];
    (parent as Record<PathStep, Json>)[key as PathStep] = value;
  };
  switch (m.kind) {
    case 'flip': {
      const b = binary(target as string);
      if (b === undefined) return undefined;
      const i = b.length >> 1;
      b[i] = (b[i] as number) ^ 0x01;
      setValue(b.toString('base64url'));
      break;
    }
    case 'alter':
      setValue(alterText(target as string));
      break;
    case 'enum': {
      const values = enumOf(m.path, target as string);
      if (values === undefined) return undefined;
      setValue(values[(values.indexOf(target as string) + 1) % values.length] as string);
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
      if (m.other === undefined || same(m.other, target)) return undefined;
      setValue(m.other);
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
      (target as Json[]).push(structuredClone((target as Json[])[0] as Json));
      break;
    case 'reorder':
      (target as Json[]).reverse();
      break;
  }
  return copy;
}
