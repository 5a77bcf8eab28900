/**
 * The recorded openkeystore sessions (../shared/interop/keygen2-session-*.json) as issuer
 * replays. The replay itself lives in src/interop/issuer-replay.ts (`airtight interop` runs it).
 */
import { readFileSync } from 'node:fs';
import { issuerReplayOf, type Replay, type ReplayOptions } from '../../../src/interop/issuer-replay.js';
import { interopPath, sessionFiles } from '../../support/recordings.js';

export { decodeResponse, driveUntil, type RecordedHmac, type RecordedMessage, type Replay, type ReplayOptions } from '../../../src/interop/issuer-replay.js';

/** The recordings (test/support/recordings.ts), as paths. */
export const recordingFiles = (): string[] => sessionFiles().map(interopPath);

/** Loads every session of every recording as a ready-to-run replay. */
export function loadReplays(options: ReplayOptions = {}): Replay[] {
  const out: Replay[] = [];
  for (const file of recordingFiles()) {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { sessions: unknown[] };
    for (const session of doc.sessions) out.push(issuerReplayOf(file, doc, session, options));
  }
  return out;
}
