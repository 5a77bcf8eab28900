/**
 * Where the recorded openkeystore sessions are (../shared/interop, or `$AIRTIGHT_INTEROP_DIR`),
 * and which of its files are KeyGen2 session recordings: `keygen2-session-*.json`, found by
 * pattern so further recordings of the same layout are picked up.
 *
 * @example
 * for (const file of sessionFiles()) run(loadRecording(file).get('sessions'));
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonNode } from '../../src/interop/json.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const INTEROP_DIR = process.env['AIRTIGHT_INTEROP_DIR'] ?? path.resolve(REPO_ROOT, '..', 'shared', 'interop');

/** The names of every recorded KeyGen2 session file, sorted. */
export function sessionFiles(): string[] {
  return readdirSync(INTEROP_DIR)
    .filter((f) => /^keygen2-session-.*\.json$/.test(f))
    .sort();
}

/** The path of a file in {@link INTEROP_DIR}. */
export const interopPath = (file: string): string => path.join(INTEROP_DIR, file);

/** A recorded session file as a {@link JsonNode} tree. */
export const loadRecording = (file: string): JsonNode => JsonNode.root(JSON.parse(readFileSync(interopPath(file), 'utf8')));
