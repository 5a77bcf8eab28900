/**
 * Persistent records of a secure key store: plain data, no KeyObjects, so that
 * every adapter stores the same thing. Fields marked "secret" are encrypted at
 * rest by adapters that write to disk.
 *
 * Only committed state is ever persisted: the objects of an open provisioning
 * session live in memory until `closeProvisioningSession` verifies its MAC
 * (spec §7.2), so a crash can leave no trace of them.
 */

export interface SessionRecord {
  readonly handle: number;
  readonly privacyEnabled: boolean;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly issuerUri: string;
  /** Canonical SPKI of the current key management key, or null when not updatable. */
  readonly keyManagementKey: Uint8Array | null;
  readonly clientTime: number;
  readonly sessionLifeTime: number;
}

export interface ExtensionRecord {
  readonly type: string;
  readonly subType: number;
  readonly qualifier: string;
  /** Decrypted data for encrypted extensions: secret. */
  readonly data: Uint8Array;
}

export interface KeyRecord {
  readonly handle: number;
  readonly id: string;
  readonly owner: number;
  readonly appUsage: number;
  /** Canonical SPKI of the key's current public key. */
  readonly publicKey: Uint8Array;
  /** PKCS#8; secret. Null only for symmetric-only entries that lost their pair (never in practice). */
  readonly privateKey: Uint8Array | null;
  /** Secret. Present iff the entry is a symmetric key. */
  readonly symmetricKey: Uint8Array | null;
  readonly certificatePath: readonly Uint8Array[];
  readonly endorsedAlgorithms: readonly string[];
  readonly friendlyName: string | null;
  readonly devicePinProtection: boolean;
  /** PIN policy handle, 0 for none. */
  readonly pinPolicy: number;
  /** Secret. */
  readonly pinValue: Uint8Array | null;
  readonly errorCount: number;
  readonly enablePinCaching: boolean;
  readonly biometricProtection: number;
  readonly exportProtection: number;
  readonly deleteProtection: number;
  readonly keyBackup: number;
  readonly extensions: readonly ExtensionRecord[];
}

export interface PinPolicyRecord {
  readonly handle: number;
  readonly id: string;
  readonly owner: number;
  /** PUK policy handle, 0 for none. */
  readonly pukPolicy: number;
  readonly retryLimit: number;
  readonly format: number;
  readonly userDefined: boolean;
  readonly userModifiable: boolean;
  readonly inputMethod: number;
  readonly grouping: number;
  readonly patternRestrictions: number;
  readonly minLength: number;
  readonly maxLength: number;
}

export interface PukPolicyRecord {
  readonly handle: number;
  readonly id: string;
  readonly owner: number;
  /** Secret. */
  readonly pukValue: Uint8Array;
  readonly format: number;
  readonly retryLimit: number;
  readonly errorCount: number;
}

/** The next handle of each kind; handles are never reused (spec §1.7). */
export interface HandleCounters {
  readonly session: number;
  readonly key: number;
  readonly pinPolicy: number;
  readonly pukPolicy: number;
}

/** The device identity a store may keep (dual-use device ID). */
export interface DeviceRecord {
  /** PKCS#8 of the device attestation key; secret. */
  readonly privateKey: Uint8Array;
  /** Device certificate first. */
  readonly certificatePath: readonly Uint8Array[];
}

export interface StoreSnapshot {
  readonly counters: HandleCounters;
  readonly device: DeviceRecord | null;
  /** In handle order. */
  readonly sessions: readonly SessionRecord[];
  /** In store (enumeration) order. */
  readonly keys: readonly KeyRecord[];
  readonly pinPolicies: readonly PinPolicyRecord[];
  readonly pukPolicies: readonly PukPolicyRecord[];
}

/**
 * One durable change. A list of them is applied atomically: all or nothing.
 * Patches exist for the hot, small writes (PIN counters) so that a wrong PIN
 * does not rewrite a whole key record.
 */
export type Mutation =
  | { readonly kind: 'putSession'; readonly session: SessionRecord }
  | { readonly kind: 'deleteSession'; readonly handle: number }
  | { readonly kind: 'putKey'; readonly key: KeyRecord }
  | { readonly kind: 'deleteKey'; readonly handle: number }
  | { readonly kind: 'putPinPolicy'; readonly policy: PinPolicyRecord }
  | { readonly kind: 'deletePinPolicy'; readonly handle: number }
  | { readonly kind: 'putPukPolicy'; readonly policy: PukPolicyRecord }
  | { readonly kind: 'deletePukPolicy'; readonly handle: number }
  | { readonly kind: 'setKeyErrorCount'; readonly handle: number; readonly errorCount: number }
  | { readonly kind: 'setKeyPin'; readonly handle: number; readonly pinValue: Uint8Array; readonly errorCount: number }
  | { readonly kind: 'setKeyBackup'; readonly handle: number; readonly keyBackup: number }
  | { readonly kind: 'setExtensionData'; readonly handle: number; readonly type: string; readonly data: Uint8Array }
  | { readonly kind: 'setPukErrorCount'; readonly handle: number; readonly errorCount: number }
  | { readonly kind: 'setSessionKmk'; readonly handle: number; readonly keyManagementKey: Uint8Array }
  | { readonly kind: 'setCounters'; readonly counters: HandleCounters }
  /** Ownership transfer (spec §7.1 E): every key and policy of session `from` now belongs to `to`. */
  | { readonly kind: 'reown'; readonly from: number; readonly to: number }
  | { readonly kind: 'putDevice'; readonly device: DeviceRecord };

/** The persistence port. Adapters: memory (tests, ephemeral use) and SQLite. */
export interface KeyStorePort {
  /** Reads the whole committed state. */
  load(): StoreSnapshot;
  /** Applies all mutations in one durable transaction, or none of them. */
  apply(mutations: readonly Mutation[]): void;
  close(): void;
}

export const INITIAL_COUNTERS: HandleCounters = { session: 1, key: 1, pinPolicy: 1, pukPolicy: 1 };
