/**
 * The recorded openkeystore sessions (../shared/interop/keygen2-session-*.json) as issuer
 * replays. The replay itself lives in src/interop/issuer-replay.ts (`airtight interop` runs it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { issuerReplayOf, type Replay, type ReplayOptions } from '../../../src/interop/issuer-replay.js';

export { decodeResponse, driveUntil, type RecordedHmac, type RecordedMessage, type Replay, type ReplayOptions } from '../../../src/interop/issuer-replay.js';

/** The recordings: `keygen2-session-*.json` in the shared interop folder (found by pattern, not by name). */
export const RECORDING_DIR = process.env['AIRTIGHT_INTEROP_DIR'] ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/interop');

export const recordingFiles = (): string[] =>
  readdirSync(RECORDING_DIR)
    .filter((f) => /^keygen2-session-.*\.json$/.test(f))
    .sort()
    .map((f) => join(RECORDING_DIR, f));

/** Loads every session of every recording as a ready-to-run replay. */
export function loadReplays(options: ReplayOptions = {}): Replay[] {
  const out: Replay[] = [];
  for (const file of recordingFiles()) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { sessions: unknown[] };
    for (const session of doc.sessions) out.push(issuerReplayOf(file, doc, session, options));
  }
  return out;
}
