/**
 * Replaying a recorded openkeystore session as the device: the recorded files
 * of ../shared/interop. The replay itself (recording SKS proxy, transport,
 * clock, UI) lives in src/interop/client-replay.ts (`airtight interop` runs it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonNode } from '../../../../src/interop/json.js';

export {
  diffCall,
  messagesOf,
  openReplayDevice,
  recordedClock,
  recordedInvocationUrl,
  recordedPlatform,
  recordedUi,
  replayTransport,
  replayUserCall,
  type LoggedCall,
  type RecordedMessage,
  type ReplayDevice,
} from '../../../../src/interop/client-replay.js';

const REPO_ROOT = fileURLToPath(new URL('../../../..', import.meta.url));
export const INTEROP_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'interop');

/** Every recorded KeyGen2 session file (by pattern, not by name). */
export function sessionFiles(): string[] {
  return readdirSync(INTEROP_DIR)
    .filter((f) => /^keygen2-session-.*\.json$/.test(f))
    .sort();
}

export const loadRecording = (file: string): JsonNode => JsonNode.root(JSON.parse(readFileSync(path.join(INTEROP_DIR, file), 'utf8')));
