/** Moved to `memory/store.ts`; this path keeps existing imports working. */
export { createMemoryKeyStore } from './memory/store.js';
