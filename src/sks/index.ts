/**
 * Public API of the Secure Key Store (`airtight/sks`).
 *
 * @example
 * ```ts
 * import { openSecureKeyStore, openKeyStoreDirectory } from 'airtight/sks';
 * const sks = openSecureKeyStore({ store: openKeyStoreDirectory('/var/lib/airtight/device') });
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
export type { KeyStorePort, Mutation, StoreSnapshot } from './store/records.js';
export { openSecureKeyStore, type SecureKeyStoreOptions } from './engine/secure-key-store.js';
export { createMemoryKeyStore } from './store/memory-store.js';
export { openSqliteKeyStore, type SqliteKeyStoreOptions } from './store/sqlite-store.js';
export { openKeyStoreDirectory, loadOrCreateStoreKey, STORE_KEY_ENV } from './store/store-key.js';
export { initDevice, loadDeviceIdentity } from './device/provision-device.js';
export { loadOrCreateManufacturerCa, issueDeviceCertificate } from './device/manufacturer-ca.js';
/** Session cryptography both sides compute (spec §5): for issuers and independent verifiers. */
export { MacData, type KeyEntryMacFields, type PinPolicyMacFields } from './crypto/mac-data.js';
export {
  deriveSessionKey,
  encryptForSks,
  encryptionKey,
  methodMac,
  rollOverSignedData,
  sessionAttestationInput,
  sessionKdfInput,
  targetKeyReference,
  targetKeyReferenceSignedData,
  type SessionAttestationFields,
} from './crypto/primitives.js';
