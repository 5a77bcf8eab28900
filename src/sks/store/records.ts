/**
 * Persistent records of a secure key store: plain data, no KeyObjects, so that
 * every adapter stores the same thing. Fields marked "secret" are encrypted at
 * rest by adapters that write to disk.
 *
 * Only committed state is ever persisted: the objects of an open provisioning
 * session live in memory until `closeProvisioningSession` verifies its MAC
 * (spec §7.2), so a crash can leave no trace of them.
 *
 * The port (`KeyStorePort`): `load` lists the committed rows, each read (and,
 * on disk, integrity-checked) on demand; `apply` writes a batch atomically.
 * The rules every adapter shares live here, in {@link applyMutations}: an
 * adapter implements a handful of row primitives ({@link MutationTarget}).
 */
import { SksError } from '../errors.js';

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

/**
 * A stored record that is checked and decoded when first read, not when the
 * store opens: opening a store of 10,000 keys reads 10,000 handles, and only
 * the rows a call uses pay for their integrity check and decryption.
 */
export interface StoredRow<T> {
  readonly handle: number;
  /**
   * Verifies and decodes the row. A damaged row (failed integrity check,
   * unknown enumeration value, malformed encoding) is `ERROR_STORAGE` naming
   * the table and handle; other rows are unaffected. Every call returns fresh
   * bytes that the caller owns: it may keep them, or wipe the secrets.
   */
  read(): T;
}

/** What `load` returns: the counters, and every committed row, unread. */
export interface StoreSnapshot {
  readonly counters: HandleCounters;
  readonly device: StoredRow<DeviceRecord> | null;
  /** In handle order. */
  readonly sessions: ReadonlyArray<StoredRow<SessionRecord>>;
  /** In store (enumeration) order. */
  readonly keys: ReadonlyArray<StoredRow<KeyRecord>>;
  readonly pinPolicies: ReadonlyArray<StoredRow<PinPolicyRecord>>;
  readonly pukPolicies: ReadonlyArray<StoredRow<PukPolicyRecord>>;
}

/** A snapshot with every row read: what tests compare and what seeds a memory store. */
export interface StoreContents {
  readonly counters: HandleCounters;
  readonly device: DeviceRecord | null;
  readonly sessions: readonly SessionRecord[];
  readonly keys: readonly KeyRecord[];
  readonly pinPolicies: readonly PinPolicyRecord[];
  readonly pukPolicies: readonly PukPolicyRecord[];
}

/** Reads every row of a snapshot; the first damaged row throws. */
export function readAll(storeSnapshot: StoreSnapshot): StoreContents {
  const read = <T>(rows: ReadonlyArray<StoredRow<T>>): T[] => rows.map((r) => r.read());
  return {
    counters: storeSnapshot.counters,
    device: storeSnapshot.device === null ? null : storeSnapshot.device.read(),
    sessions: read(storeSnapshot.sessions),
    keys: read(storeSnapshot.keys),
    pinPolicies: read(storeSnapshot.pinPolicies),
    pukPolicies: read(storeSnapshot.pukPolicies),
  };
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
  /** Lists the committed state; rows are checked and decoded when read. */
  load(): StoreSnapshot;
  /** Applies all mutations in one durable transaction, or none of them. */
  apply(mutations: readonly Mutation[]): void;
  close(): void;
}

export const INITIAL_COUNTERS: HandleCounters = { session: 1, key: 1, pinPolicy: 1, pukPolicy: 1 };

// ---------------------------------------------------------------------------
// Rules every adapter applies: written once here, so a third adapter gets them.

/** The record kinds an adapter keeps by handle. */
export interface TableRecords {
  readonly sessions: SessionRecord;
  readonly keys: KeyRecord;
  readonly pinPolicies: PinPolicyRecord;
  readonly pukPolicies: PukPolicyRecord;
}
export type TableName = keyof TableRecords;

/** Fields a patch may change, per table: every patch mutation maps onto one of these. */
export interface PatchableFields {
  readonly sessions: Pick<SessionRecord, 'keyManagementKey'>;
  readonly keys: Pick<KeyRecord, 'errorCount' | 'pinValue' | 'keyBackup' | 'owner'>;
  readonly pinPolicies: Pick<PinPolicyRecord, 'owner'>;
  readonly pukPolicies: Pick<PukPolicyRecord, 'errorCount' | 'owner'>;
}

/**
 * What an adapter implements inside one transaction. {@link applyMutations}
 * turns every mutation into these primitives and applies the shared rules.
 */
export interface MutationTarget {
  put<T extends TableName>(table: T, record: TableRecords[T]): void;
  /** No-op when absent. */
  delete(table: TableName, handle: number): void;
  /** Changes some fields of an existing row; false when there is no such row. */
  patch<T extends TableName>(table: T, handle: number, changes: Partial<PatchableFields[T]>): boolean;
  /** Replaces the data of one extension; false when the key or the extension is absent. */
  patchExtension(handle: number, type: string, data: Uint8Array): boolean;
  /** Handles of the rows of `table` whose owner is `owner`. */
  ownedBy(table: 'keys' | 'pinPolicies' | 'pukPolicies', owner: number): readonly number[];
  setCounters(counters: HandleCounters): void;
  putDevice(device: DeviceRecord): void;
}

const TABLE_WORDS: Readonly<Record<TableName, string>> = {
  sessions: 'session',
  keys: 'key',
  pinPolicies: 'PIN policy',
  pukPolicies: 'PUK policy',
};

/** A key may hold one extension per type (spec §8.9). */
export function checkExtensionTypes(key: KeyRecord): void {
  const seen = new Set<string>();
  for (const extensionRecord of key.extensions) {
    if (seen.has(extensionRecord.type)) throw new SksError('STORAGE', `Duplicate extension type for key ${key.handle}`);
    seen.add(extensionRecord.type);
  }
}

/**
 * Applies `mutations` to `target` in order, with the rules every adapter
 * shares: a patch naming an absent row is `ERROR_STORAGE` (the caller's
 * transaction then discards the whole batch), a key holds one extension per
 * type, `reown` moves keys and policies but not sessions.
 */
export function applyMutations(target: MutationTarget, mutations: readonly Mutation[]): void {
  const patch = <T extends TableName>(table: T, handle: number, changes: Partial<PatchableFields[T]>): void => {
    if (!target.patch(table, handle, changes)) {
      throw new SksError('STORAGE', `No stored ${TABLE_WORDS[table]} with handle ${handle}`);
    }
  };
  for (const message of mutations) {
    switch (message.kind) {
      case 'putSession':
        target.put('sessions', message.session);
        break;
      case 'deleteSession':
        target.delete('sessions', message.handle);
        break;
      case 'putKey':
        checkExtensionTypes(message.key);
        target.put('keys', message.key);
        break;
      case 'deleteKey':
        target.delete('keys', message.handle);
        break;
      case 'putPinPolicy':
        target.put('pinPolicies', message.policy);
        break;
      case 'deletePinPolicy':
        target.delete('pinPolicies', message.handle);
        break;
      case 'putPukPolicy':
        target.put('pukPolicies', message.policy);
        break;
      case 'deletePukPolicy':
        target.delete('pukPolicies', message.handle);
        break;
      case 'setKeyErrorCount':
        patch('keys', message.handle, { errorCount: message.errorCount });
        break;
      case 'setKeyPin':
        patch('keys', message.handle, { pinValue: message.pinValue, errorCount: message.errorCount });
        break;
      case 'setKeyBackup':
        patch('keys', message.handle, { keyBackup: message.keyBackup });
        break;
      case 'setExtensionData':
        if (!target.patchExtension(message.handle, message.type, message.data)) {
          throw new SksError('STORAGE', `No stored extension of that type for key ${message.handle}`);
        }
        break;
      case 'setPukErrorCount':
        patch('pukPolicies', message.handle, { errorCount: message.errorCount });
        break;
      case 'setSessionKmk':
        patch('sessions', message.handle, { keyManagementKey: message.keyManagementKey });
        break;
      case 'setCounters':
        target.setCounters(message.counters);
        break;
      case 'reown':
        for (const table of ['keys', 'pinPolicies', 'pukPolicies'] as const) {
          for (const handleValue of target.ownedBy(table, message.from)) patch(table, handleValue, { owner: message.to });
        }
        break;
      case 'putDevice':
        target.putDevice(message.device);
        break;
      default: {
        const unknown: never = message;
        throw new SksError('STORAGE', `Unknown mutation: ${(unknown as { kind: string }).kind}`);
      }
    }
  }
}
