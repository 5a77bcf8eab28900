/**
 * The recorded openkeystore sessions (../shared/interop/keygen2-session-*.json), found by
 * pattern so further recordings of the same layout are picked up, and a JSON-tree walker that
 * the mechanical negative tests use to reach every object, member and array element.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const INTEROP_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'interop');

/** One recorded wire message. */
export interface RecordedMessage {
  readonly file: string;
  readonly session: string;
  readonly index: number;
  readonly qualifier: string;
  readonly wire: string;
}

interface SessionFile {
  readonly sessions: readonly { readonly label: string; readonly messages: readonly { readonly qualifier: string; readonly wire: string }[] }[];
}

/** Every `messages[].wire` of every `keygen2-session-*.json`. */
export function recordedMessages(): RecordedMessage[] {
  const files = readdirSync(INTEROP_DIR)
    .filter((f) => /^keygen2-session-.*\.json$/.test(f))
    .sort();
  return files.flatMap((file) => {
    const data = JSON.parse(readFileSync(path.join(INTEROP_DIR, file), 'utf8')) as SessionFile;
    return data.sessions.flatMap((s) => s.messages.map((m, index) => ({ file, session: s.label, index, qualifier: m.qualifier, wire: m.wire })));
  });
}

/** A test label for a recorded message. */
export const label = (m: RecordedMessage): string => `${m.file.replace(/^keygen2-session-|\.json$/g, '')}/${m.session}/${m.index}-${m.qualifier}`;

/** One message per qualifier and session file: enough variety for the mechanical mutations. */
export function sampleMessages(): RecordedMessage[] {
  const seen = new Set<string>();
  return recordedMessages().filter((m) => {
    const key = `${m.file}|${m.qualifier}|${m.wire.length}`;
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
  else if (root !== null && typeof root === 'object') for (const [k, v] of Object.entries(root)) out.push(...places(v, [...steps, k]));
  return out;
}

/** A deep copy with `f` applied to the value at `steps` (`undefined` from `f` deletes a member). */
export function mutate(root: Json, steps: readonly Step[], f: (v: Json) => Json | undefined): Json {
  const copy = structuredClone(root);
  if (steps.length === 0) return f(copy) ?? null;
  let parent: Json = copy;
  for (const s of steps.slice(0, -1)) parent = (parent as Record<string | number, Json>)[s] as Json;
  const last = steps[steps.length - 1] as Step;
  const container = parent as Record<string | number, Json>;
  const next = f(container[last] as Json);
  if (next === undefined) delete container[last];
  else container[last] = next;
  return copy;
}

/** A different JSON type for a value (string↔number, boolean→string, object↔array). */
export function wrongType(v: Json): Json {
  if (typeof v === 'string') return 1;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return {};
  if (v === null) return 'null';
  return [];
}

/** Compact JSON with the first member of the object at `steps` written twice. */
export function withDuplicateMember(root: Json, steps: readonly Step[]): string {
  const write = (v: Json, at: readonly Step[]): string => {
    if (Array.isArray(v)) return `[${v.map((x, i) => write(x, [...at, i])).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${write(x, [...at, k])}`);
      if (at.length === steps.length && at.every((s, i) => s === steps[i]) && members[0] !== undefined) members.push(members[0]);
      return `{${members.join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return write(root, []);
}
