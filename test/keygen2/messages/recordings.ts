/**
 * The recorded openkeystore sessions (../shared/interop/keygen2-session-*.json), found by
 * pattern so further recordings of the same layout are picked up, and a JSON-tree walker that
 * the mechanical negative tests use to reach every object, member and array element.
 */
import { readFileSync } from 'node:fs';
import { interopPath, sessionFiles } from '../../support/recordings.js';

export { INTEROP_DIR } from '../../support/recordings.js';

/** One recorded wire message. */
export interface RecordedMessage {
  readonly file: string;
  readonly session: string;
  readonly index: number;
  readonly qualifier: string;
  readonly wire: string;
}

interface SessionFile {
  readonly sessions: ReadonlyArray<{ readonly label: string; readonly messages: ReadonlyArray<{ readonly qualifier: string; readonly wire: string }> }>;
}

/** Every `messages[].wire` of every `keygen2-session-*.json`. */
export function recordedMessages(): RecordedMessage[] {
  return sessionFiles().flatMap((file) => {
    const data = JSON.parse(readFileSync(interopPath(file), 'utf8')) as SessionFile;
    return data.sessions.flatMap((s) => s.messages.map((m, index) => ({ file, session: s.label, index, qualifier: m.qualifier, wire: m.wire })));
  });
}

/** A test label for a recorded message. */
export const label = (m: RecordedMessage): string => `${m.file.replace(/^keygen2-session-|\.json$/g, '')}/${m.session}/${m.index}-${m.qualifier}`;

/** One message per qualifier and session file: enough variety for the mechanical mutations. */
export function sampleMessages(): RecordedMessage[] {
  const seen = new Set<string>();
  return recordedMessages().filter((recordedMessage) => {
    const key = `${recordedMessage.file}|${recordedMessage.qualifier}|${recordedMessage.wire.length}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Step = string | number;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The JSON path our errors use for a list of steps. */
export const jsonPath = (steps: readonly Step[]): string =>
  steps.reduce<string>((p, s) => (typeof s === 'number' ? `${p}[${s}]` : IDENT.test(s) ? `${p}.${s}` : `${p}['${s}']`), '$');

/** Every place in a tree: objects, members (with their parent object) and array elements. */
export interface Place {
  readonly steps: readonly Step[];
  readonly value: Json;
}

export function places(root: Json, steps: Step[] = []): Place[] {
  const out: Place[] = [{ steps, value: root }];
  if (Array.isArray(root)) root.forEach((v, i) => out.push(...places(v, [...steps, i])));
  else if (root !== null && typeof root === 'object') for (const [key, json] of Object.entries(root)) out.push(...places(json, [...steps, key]));
  return out;
}

/** A deep copy with `f` applied to the value at `steps` (`undefined` from `f` deletes a member). */
export function mutate(root: Json, steps: readonly Step[], fn: (v: Json) => Json | undefined): Json {
  const copy = structuredClone(root);
  if (steps.length === 0) return fn(copy) ?? null;
  let parent: Json = copy;
  for (const step of steps.slice(0, -1)) parent = (parent as Record<string | number, Json>)[step];
  const last = steps[steps.length - 1];
  const container = parent as Record<string | number, Json>;
  const next = fn(container[last]);
  if (next === undefined) delete container[last];
  else container[last] = next;
  return copy;
}

/** A different JSON type for a value (string↔number, boolean→string, object↔array). */
export function wrongType(json: Json): Json {
  if (typeof json === 'string') return 1;
  if (typeof json === 'number') return String(json);
  if (typeof json === 'boolean') return String(json);
  if (Array.isArray(json)) return {};
  if (json === null) return 'null';
  return [];
}

/** Compact JSON with the first member of the object at `steps` written twice. */
export function withDuplicateMember(root: Json, steps: readonly Step[]): string {
  const write = (json: Json, at: readonly Step[]): string => {
    if (Array.isArray(json)) return `[${json.map((x, i) => write(x, [...at, i])).join(',')}]`;
    if (json !== null && typeof json === 'object') {
      const members = Object.entries(json).map(([k, x]) => `${JSON.stringify(k)}:${write(x, [...at, k])}`);
      if (at.length === steps.length && at.every((s, i) => s === steps[i]) && members.at(0) !== undefined) members.push(members[0]);
      return `{${members.join(',')}}`;
    }
    return JSON.stringify(json);
  };
  return write(root, []);
}
