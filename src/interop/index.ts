/** Interop checks against the openkeystore vectors in ../shared/interop (README there). */
export type { CheckResult } from './check.js';
export { detectLayout, runInteropDocument, runInteropFile, type InteropLayout } from './run.js';
export { runPrimitiveChecks } from './primitives.js';
export { runSessionFileChecks } from './session-file.js';
export { runReplay } from './replay.js';
export { issuerReplayOf } from './issuer-replay.js';
export { runWireChecks } from './wire.js';
