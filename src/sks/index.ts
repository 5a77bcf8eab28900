/**
 * Public API of the Secure Key Store (`airtight/sks`): the contract, its
 * errors and algorithms, the engine and the in-memory store.
 *
 * Importing it has no side effects and loads node built-ins only: no native
 * module, no X.509 library, no global it did not find. What needs more lives
 * behind its own entry point, so a device vendor takes only what it uses:
 *
 * - `airtight/sks/sqlite`: the durable SQLite store (loads better-sqlite3);
 * - `airtight/sks/device`: device identity set-up, manufacturer CA, X.509;
 * - `airtight/sks/session-crypto`: what an issuer computes for a session.
 *
 * @example
 * ```ts
 * import { openSecureKeyStore, createMemoryKeyStore } from 'airtight/sks';
 * const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device });
 * const info = await sks.getDeviceInfo();
 * ```
 */
export * from './api.js';
export * from './errors.js';
export * from './algorithms.js';
export * from './constants.js';
export type { DeviceIdentity, DeviceProfile } from './device/identity.js';
export { DEFAULT_PROFILE } from './device/identity.js';
export type { Entropy, KeyPair, KeyPairRequest } from './entropy.js';
export { systemEntropy } from './entropy.js';
export type { KeyStorePort, Mutation, StoreContents, StoreSnapshot, StoredRow } from './store/records.js';
export { readAll } from './store/records.js';
export { openSecureKeyStore, type SecureKeyStoreOptions } from './engine/secure-key-store.js';
export { createMemoryKeyStore } from './store/memory/store.js';
export { encodePropertyBag, parsePropertyBag, isValidPropertyBag, type Property } from './extensions/property-bag.js';
/** The PIN value rules of a PIN policy (spec §8), for user interfaces that check a PIN before the SKS sees it. */
export { pinRuleViolation, type PinRule, type PinValueRules } from './pin/pin-rules.js';
