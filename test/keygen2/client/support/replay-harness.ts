/**
 * Replaying a recorded openkeystore session as the device: the recorded files
 * of ../shared/interop. The replay itself (recording SKS proxy, transport,
 * clock, UI) lives in src/interop/client-replay.ts (`airtight interop` runs it); the files are
 * found by test/support/recordings.ts.
 */
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

export { INTEROP_DIR, loadRecording, sessionFiles } from '../../../support/recordings.js';
