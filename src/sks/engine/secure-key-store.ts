/** Placeholder: the engine is being written (see git log). */
import type { SecureKeyStore } from '../api.js';
import type { DeviceIdentity, DeviceProfile } from '../device/identity.js';
import type { Entropy } from '../entropy.js';
import type { KeyStorePort } from '../store/records.js';

export interface SecureKeyStoreOptions {
  /** Committed state lives here; open provisioning sessions live in memory only. */
  readonly store: KeyStorePort;
  /** The device identity; when absent the store's device record is used. */
  readonly device?: DeviceIdentity;
  readonly profile?: Partial<DeviceProfile>;
  readonly entropy?: Entropy;
  /** Milliseconds since the epoch; used for session expiry. */
  readonly clock?: () => number;
}

export function openSecureKeyStore(_options: SecureKeyStoreOptions): SecureKeyStore {
  throw new Error('engine not yet implemented');
}
