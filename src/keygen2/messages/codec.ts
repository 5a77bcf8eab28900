/**
 * Helpers shared by the message decoders and encoders: the envelope (§4.1), value writers, and
 * the target-key reference (§6.9.2) that appears in two message positions.
 */
import type { DateTime } from '../json/date-time.js';
import { encodeBase64Url } from '../json/base64url.js';
import { readCertificatePath } from '../json/certificate-path.js';
import { publicKeyToJwk } from '../json/jwk.js';
import type { ObjectReader } from '../json/reader.js';
import { jsonArray, jsonBoolean, jsonInteger, jsonObject, jsonString, type JsonObject, type JsonValue } from '../json/value.js';
import { KEYGEN2_CONTEXT, type CertificatePath, type Qualifier, type TargetKeyReference } from './common.js';

/** One member of an object being written; `undefined` values are skipped. */
export type Member = readonly [string, JsonValue | undefined];

/** The message object: `@context`, `@qualifier`, then the body members (§4.1 order). */
export const envelope = (qualifier: Qualifier, body: readonly Member[]): JsonObject =>
  jsonObject([['@context', jsonString(KEYGEN2_CONTEXT)], ['@qualifier', jsonString(qualifier)], ...body]);

/** Value writers (optional inputs give `undefined`, i.e. an absent member). */
export const writer = {
  str: (s: string): JsonValue => jsonString(s),
  int: (n: number): JsonValue => jsonInteger(n),
  bool: (b: boolean): JsonValue => jsonBoolean(b),
  bin: (b: Uint8Array): JsonValue => jsonString(encodeBase64Url(b)),
  strs: (a: readonly string[]): JsonValue => jsonArray(a.map(jsonString)),
  time: (t: DateTime): JsonValue => jsonString(t.text),
  jwk: (spki: Uint8Array): JsonValue => publicKeyToJwk(spki),
  certs: (path: CertificatePath): JsonValue => jsonArray(path.map((c) => jsonString(encodeBase64Url(c)))),
  objs: <T>(items: readonly T[], f: (item: T) => JsonObject): JsonValue => jsonArray(items.map(f)),
  opt: <T>(v: T | undefined, f: (v: T) => JsonValue): JsonValue | undefined => (v === undefined ? undefined : f(v)),
} as const;

/** Reads a target-key reference (§6.9.2). */
export function readTargetKeyReference(reader: ObjectReader): TargetKeyReference {
  return {
    fingerPrint: reader.binary('fingerPrint', { min: 32, max: 32 }),
    serverSessionId: reader.id('serverSessionId'),
    clientSessionId: reader.id('clientSessionId'),
    authorization: reader.binary('authorization', { min: 1 }),
    mac: reader.mac(),
  };
}

/** Writes a target-key reference in the reference's order (§6.9.2). */
export const writeTargetKeyReference = (t: TargetKeyReference): JsonObject =>
  jsonObject([
    ['fingerPrint', writer.bin(t.fingerPrint)],
    ['serverSessionId', writer.str(t.serverSessionId)],
    ['clientSessionId', writer.str(t.clientSessionId)],
    ['authorization', writer.bin(t.authorization)],
    ['mac', writer.bin(t.mac)],
  ]);

/** Reads a required certificate path member (§4.9). */
export const readPath = (r: ObjectReader, name = 'certificatePath'): CertificatePath => readCertificatePath(r, name);

/** `T` with every member whose type admits `undefined` made optional (and never `undefined`). */
export type Present<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * Drops members whose value is `undefined`, so decoders can build results that satisfy
 * `exactOptionalPropertyTypes` (an absent member stays absent, which keeps round trips exact).
 */
export function present<T extends object>(options: T): Present<T> {
  const out: Record<string, unknown> = {};
  for (const [key, val] of Object.entries(options)) if (val !== undefined) out[key] = val;
  return out as Present<T>;
}
