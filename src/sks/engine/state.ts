/**
 * The live object model of a key store (spec §3): sessions, key entries, PIN
 * and PUK policies, kept in insertion-ordered maps (spec §1.7), with the
 * conversions to and from the persistent records.
 */
import type { KeyObject } from 'node:crypto';
import {
  keyHandle,
  pinPolicyHandle,
  provisioningHandle,
  pukPolicyHandle,
  type KeyHandle,
  type PinPolicyHandle,
  type ProvisioningHandle,
  type PukPolicyHandle,
} from '../api.js';
import { parseSpki } from '../crypto/keys.js';
import { wipe } from '../crypto/primitives.js';
import { SksError } from '../errors.js';
import { EntryKeys } from './entry-keys.js';
import type {
  ExtensionRecord,
  StoredRow,
  HandleCounters,
  KeyRecord,
  Mutation,
  PinPolicyRecord,
  PukPolicyRecord,
  SessionRecord,
  StoreSnapshot,
} from '../store/records.js';

/**
 * The phase of a provisioning session (spec §3.1): open while the issuer
 * provisions it, closed once `closeProvisioningSession` committed it. An
 * aborted or expired session leaves no trace (spec §4.2), so it has no phase:
 * it is gone from the model.
 */
export type SessionPhase = OpenPhase | ClosedPhase;

/** What only an open session has: its secrets and its transaction (spec §3.1). */
export interface OpenPhase {
  readonly kind: 'open';
  readonly sessionKey: Buffer;
  readonly deviceId: Buffer;
  macSequenceCounter: number;
  /** Remaining session-key uses, a signed 16-bit value (spec §5.4). */
  sessionKeyLimit: number;
  /** id -> referenced flag; ids of keys and policies share one namespace (spec §3.4). */
  readonly names: Map<string, boolean>;
  readonly postOps: PostOperation[];
  readonly expiresAt: number;
}

/** A committed session: no session key, no pending work; its keys are usable. */
export interface ClosedPhase {
  readonly kind: 'closed';
}

/** The one closed phase (it carries nothing, so all closed sessions share it). */
export const CLOSED: ClosedPhase = Object.freeze({ kind: 'closed' });

/**
 * A provisioning session. `P` narrows the phase: the lookups of context.ts
 * hand provisioning methods an {@link OpenSession}, whose session key and
 * bookkeeping are then reachable without a null check.
 */
export interface Session<P extends SessionPhase = SessionPhase> {
  readonly handle: ProvisioningHandle;
  privacyEnabled: boolean;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly issuerUri: string;
  keyManagementKey: KeyObject | null;
  keyManagementKeySpki: Buffer | null;
  readonly clientTime: number;
  readonly sessionLifeTime: number;
  /** Replaced by {@link CLOSED} when the session commits (`SksState.closeWork`). */
  phase: P;
  /**
   * Set on the stand-in for a stored session whose row is damaged or missing:
   * its keys stay usable, but every management operation through it fails
   * with this error.
   */
  readonly damage?: SksError;
}

export type OpenSession = Session<OpenPhase>;

/** Narrows a session to its open phase (the one test of "open" the engine makes). */
export const isOpen = (s: Session): s is OpenSession => s.phase.kind === 'open';

export interface Extension {
  readonly subType: number;
  readonly qualifier: string;
  data: Buffer;
}

export interface PukPolicy {
  readonly handle: PukPolicyHandle;
  readonly id: string;
  owner: Session;
  readonly pukValue: Buffer;
  readonly format: number;
  readonly retryLimit: number;
  /** PUK errors so far (the live count; see {@link durableErrorCount} for what the store holds). */
  errorCount: number;
  /** See {@link AttemptCounter}. */
  attemptReserved: boolean;
}

export interface PinPolicy {
  readonly handle: PinPolicyHandle;
  readonly id: string;
  owner: Session;
  readonly pukPolicy: PukPolicy | null;
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

export interface KeyEntry {
  handle: KeyHandle;
  readonly id: string;
  owner: Session;
  readonly appUsage: number;
  /** Public and private key (KeyObjects made on first use for a generated pair). */
  readonly keyPair: EntryKeys;
  publicKeySpki: Buffer;
  symmetricKey: Buffer | null;
  certificatePath: Buffer[] | null;
  readonly endorsedAlgorithms: readonly string[];
  readonly friendlyName: string | null;
  devicePinProtection: boolean;
  pinPolicy: PinPolicy | null;
  pinValue: Buffer | null;
  /** PIN errors so far (the live count; see {@link durableErrorCount} for what the store holds). */
  errorCount: number;
  /** See {@link AttemptCounter}. */
  attemptReserved: boolean;
  readonly enablePinCaching: boolean;
  readonly biometricProtection: number;
  readonly exportProtection: number;
  readonly deleteProtection: number;
  keyBackup: number;
  readonly extensions: Map<string, Extension>;
}

/** A pending post-provisioning operation (spec §3.5). */
export interface PostOperation {
  readonly kind: 'delete' | 'unlock' | 'update' | 'clone';
  readonly target: KeyEntry;
  readonly newKey: KeyEntry | null;
}

/**
 * A PIN or PUK retry counter as the smart-card rule against tearing needs it
 * (ARCHITECTURE "Transactions and durability"): an attempt is counted durably
 * *before* the comparison, and the count is given back on success.
 *
 * `attemptReserved` means the store already holds `errorCount + 1`: the next
 * attempt is paid for in advance, so it may compare at once and, if wrong,
 * just consume the reservation without a write. A right PIN leaves the
 * reservation standing, so a long-lived store verifies a correct PIN at a
 * zero counter with no write at all; the reservation is given back when the
 * store closes (or when the counter is written anyway). A crash while one is
 * standing leaves the counter one too high: the safe direction.
 */
export interface AttemptCounter {
  errorCount: number;
  attemptReserved: boolean;
}

/** The error count the store holds (or will hold once the pending mutations are applied). */
export const durableErrorCount = (c: AttemptCounter): number => c.errorCount + (c.attemptReserved ? 1 : 0);

export const isUpdateOrDelete = (op: PostOperation): boolean => op.kind === 'delete' || op.kind === 'update';

type Slot<T> =
  | { readonly kind: 'stored'; readonly row: StoredRow<unknown> }
  | { readonly kind: 'ready'; readonly value: T }
  | { readonly kind: 'damaged'; readonly error: SksError };

/**
 * A map in store order whose stored entries are checked and decoded on first
 * access (`get` of one handle, or iteration), then cached. Opening a store
 * therefore costs one slot per row; a signature with one key decodes that key,
 * its policies and its session only. An entry whose row is damaged is left
 * out of `get` and iteration, keeps its position, and reports its error
 * through {@link LazyTable.damage}. `H` is the table's branded handle type.
 */
export class LazyTable<H extends number, T> implements Map<H, T> {
  readonly #slots = new Map<H, Slot<T>>();
  readonly #brand: (n: number) => H;
  readonly #name: (handle: H) => string;
  #decode: (row: StoredRow<unknown>) => T = () => {
    throw new SksError('INTERNAL', 'No decoder for stored rows');
  };

  /** `brand` types the stored rows' plain handles; `name` names an entry in damage messages. */
  constructor(brand: (n: number) => H, name: (handle: H) => string) {
    this.#brand = brand;
    this.#name = name;
  }

  /** Adds stored rows, each turned into an entry by `decode` when first used (one function per table, not per row). */
  addStored<R>(rows: ReadonlyArray<StoredRow<R>>, decode: (row: StoredRow<R>) => T): void {
    this.#decode = decode as (row: StoredRow<unknown>) => T;
    for (const row of rows) this.#slots.set(this.#brand(row.handle), { kind: 'stored', row });
  }

  #resolve(handle: H, slot: Slot<T>): Slot<T> {
    if (slot.kind !== 'stored') return slot;
    let next: Slot<T>;
    try {
      next = { kind: 'ready', value: this.#decode(slot.row) };
    } catch (errorValue) {
      // Our own errors name fields and handles, never values; anything else gets a fixed text.
      const why = errorValue instanceof SksError ? errorValue.message : 'its stored record cannot be decoded';
      next = { kind: 'damaged', error: new SksError('STORAGE', `${this.#name(handle)} is damaged: ${why}`, { cause: errorValue }) };
    }
    this.#slots.set(handle, next);
    return next;
  }

  /** The error of a damaged entry; undefined when the entry is sound or absent. */
  damage(handle: H): SksError | undefined {
    const slot = this.#slots.get(handle);
    if (slot === undefined) return undefined;
    const result = this.#resolve(handle, slot);
    return result.kind === 'damaged' ? result.error : undefined;
  }

  /** Every entry in store order, damaged ones as their error. */
  *withDamage(): IterableIterator<[H, T | SksError]> {
    for (const [handle, slot] of this.#slots) {
      const result = this.#resolve(handle, slot);
      yield [handle, result.kind === 'ready' ? result.value : result.kind === 'damaged' ? result.error : new SksError('INTERNAL', 'Unresolved entry')];
    }
  }

  /** The entries already decoded, without decoding more (wiping on close, carrying reservations over a reload). */
  *loaded(): IterableIterator<T> {
    for (const slot of this.#slots.values()) if (slot.kind === 'ready') yield slot.value;
  }

  get(handle: H): T | undefined {
    const slot = this.#slots.get(handle);
    if (slot === undefined) return undefined;
    const result = this.#resolve(handle, slot);
    return result.kind === 'ready' ? result.value : undefined;
  }

  has(handle: H): boolean {
    return this.get(handle) !== undefined;
  }

  set(handle: H, value: T): this {
    this.#slots.set(handle, { kind: 'ready', value }); // an existing handle keeps its position
    return this;
  }

  delete(handle: H): boolean {
    return this.#slots.delete(handle);
  }

  clear(): void {
    this.#slots.clear();
  }

  get size(): number {
    let count = 0;
    for (const _ of this.values()) count++;
    return count;
  }

  *entries(): MapIterator<[H, T]> {
    for (const [handle, slot] of this.#slots) {
      const result = this.#resolve(handle, slot);
      if (result.kind === 'ready') yield [handle, result.value];
    }
  }

  // keys() and values() walk the slots themselves: a generator over entries() costs a second
  // generator and a tuple per entry, on paths (close, PIN group checks) that visit every key.
  *keys(): MapIterator<H> {
    for (const [handle, slot] of this.#slots) {
      if (this.#resolve(handle, slot).kind === 'ready') yield handle;
    }
  }

  *values(): MapIterator<T> {
    for (const [handle, slot] of this.#slots) {
      const resolved = slot.kind === 'ready' ? slot : this.#resolve(handle, slot);
      if (resolved.kind === 'ready') yield resolved.value;
    }
  }

  [Symbol.iterator](): MapIterator<[H, T]> {
    return this.entries();
  }

  forEach(fn: (value: T, key: H, map: Map<H, T>) => void): void {
    for (const [handle, valueValue] of this.entries()) fn(valueValue, handle, this);
  }

  readonly [Symbol.toStringTag] = 'LazyTable';
}

/** The handle type of each object kind the store numbers (spec §3.6). */
export interface HandleOf {
  readonly session: ProvisioningHandle;
  readonly key: KeyHandle;
  readonly pinPolicy: PinPolicyHandle;
  readonly pukPolicy: PukPolicyHandle;
}

const BRAND: { readonly [K in keyof HandleOf]: (n: number) => HandleOf[K] } = {
  session: provisioningHandle,
  key: keyHandle,
  pinPolicy: pinPolicyHandle,
  pukPolicy: pukPolicyHandle,
};

export class SksState {
  readonly sessions = new LazyTable<ProvisioningHandle, Session>(provisioningHandle, (h) => `Provisioning session ${h}`);
  readonly keys = new LazyTable<KeyHandle, KeyEntry>(keyHandle, (h) => `Key #${h}`);
  readonly pinPolicies = new LazyTable<PinPolicyHandle, PinPolicy>(pinPolicyHandle, (h) => `PIN policy ${h}`);
  readonly pukPolicies = new LazyTable<PukPolicyHandle, PukPolicy>(pukPolicyHandle, (h) => `PUK policy ${h}`);
  /** Stand-ins for damaged or missing sessions that stored objects name as owner. */
  readonly #lostSessions = new Map<ProvisioningHandle, Session>();
  /** The sessions in their open phase, so per-call expiry checks do not scan closed ones. */
  readonly openSessions = new Set<OpenSession>();
  counters: { -readonly [K in keyof HandleCounters]: number };
  /** Durable changes produced by the current call, flushed by the store facade. */
  pending: Mutation[] = [];

  constructor(counters: HandleCounters) {
    this.counters = { ...counters };
  }

  allocate<K extends keyof HandleOf>(kind: K): HandleOf[K] {
    const handle = this.counters[kind];
    this.counters[kind] = handle + 1;
    return BRAND[kind](handle);
  }

  record(mutation: Mutation): void {
    this.pending.push(mutation);
  }

  takePending(): Mutation[] {
    const mutations = this.pending;
    this.pending = [];
    return mutations;
  }

  keysOf(session: Session): KeyEntry[] {
    return [...this.keys.values()].filter((k) => k.owner === session);
  }

  /** Removes an open session and everything it owns from memory (spec §4.2 tear-down). */
  dropOpenSession(session: OpenSession): void {
    for (const [handleValue, keyEntry] of this.keys)
      if (keyEntry.owner === session) {
        this.keys.delete(handleValue);
        wipeKey(keyEntry);
      }
    for (const [pinPolicyHandle, pinPolicy] of this.pinPolicies) if (pinPolicy.owner === session) this.pinPolicies.delete(pinPolicyHandle);
    for (const [pukPolicyHandle, pukPolicy] of this.pukPolicies)
      if (pukPolicy.owner === session) {
        this.pukPolicies.delete(pukPolicyHandle);
        wipe(pukPolicy.pukValue);
      }
    this.sessions.delete(session.handle);
    this.closeWork(session);
  }

  /**
   * Ends a session's open phase: its secrets are wiped and it no longer counts
   * as open. The object changes phase in place (keys and policies point at it),
   * so a caller's `OpenSession` reference to it is stale from here on.
   */
  closeWork(session: OpenSession): void {
    wipe(session.phase.sessionKey);
    this.openSessions.delete(session);
    const state: Session = session;
    state.phase = CLOSED;
  }

  /**
   * The live model over committed records, decoded lazily (see
   * {@link LazyTable}). A damaged row damages what depends on it and nothing
   * else: a damaged PIN or PUK policy damages the keys that use it (silently
   * dropping a key's PIN policy would leave the key without PIN protection);
   * a damaged session only blocks its keys' management operations.
   */
  static fromSnapshot(storeSnapshot: StoreSnapshot): SksState {
    const state = new SksState(storeSnapshot.counters);
    state.sessions.addStored(storeSnapshot.sessions, (row) => sessionFromRecord(row.read()));
    state.pukPolicies.addStored(storeSnapshot.pukPolicies, (row) => {
      const pukPolicyRecord = row.read();
      return {
        ...pukPolicyRecord,
        handle: pukPolicyHandle(pukPolicyRecord.handle),
        owner: state.ownerOf(provisioningHandle(pukPolicyRecord.owner)),
        pukValue: owned(pukPolicyRecord.pukValue),
        attemptReserved: false,
      };
    });
    state.pinPolicies.addStored(storeSnapshot.pinPolicies, (row) => {
      const pinPolicyRecord = row.read();
      const puk = pinPolicyRecord.pukPolicy === 0 ? null : referenced(state.pukPolicies, 'PUK policy', pukPolicyHandle(pinPolicyRecord.pukPolicy));
      return {
        ...pinPolicyRecord,
        handle: pinPolicyHandle(pinPolicyRecord.handle),
        owner: state.ownerOf(provisioningHandle(pinPolicyRecord.owner)),
        pukPolicy: puk,
      };
    });
    state.keys.addStored(storeSnapshot.keys, (row) => loadKey(state, row));
    return state;
  }

  /** The owner session of a stored object, or a stand-in that refuses management when it is damaged or gone. */
  ownerOf(handle: ProvisioningHandle): Session {
    const session = this.sessions.get(handle);
    if (session !== undefined) return session;
    let lost = this.#lostSessions.get(handle);
    if (lost === undefined) {
      const damage = this.sessions.damage(handle) ?? new SksError('STORAGE', `Provisioning session ${handle} is damaged: its row is missing`);
      lost = {
        handle,
        privacyEnabled: false,
        clientSessionId: '',
        serverSessionId: '',
        issuerUri: '',
        keyManagementKey: null,
        keyManagementKeySpki: null,
        clientTime: 0,
        sessionLifeTime: 0,
        phase: CLOSED,
        damage,
      };
      this.#lostSessions.set(handle, lost);
    }
    return lost;
  }
}

function loadKey(state: SksState, row: StoredRow<KeyRecord>): KeyEntry {
  const keyRecord = row.read();
  const pinPolicy = keyRecord.pinPolicy === 0 ? null : referenced(state.pinPolicies, 'PIN policy', pinPolicyHandle(keyRecord.pinPolicy));
  return keyFromRecord(keyRecord, state.ownerOf(provisioningHandle(keyRecord.owner)), pinPolicy);
}

function referenced<H extends number, T>(objects: LazyTable<H, T>, what: string, handle: H): T {
  const object = objects.get(handle);
  if (object !== undefined) return object;
  throw new SksError('STORAGE', objects.damage(handle) !== undefined ? `its ${what} ${handle} is damaged` : `its ${what} ${handle} is missing`);
}

/**
 * The enumeration rule of spec §6.4 and §10.12: the first entry in store order
 * after handle `after` (0: from the start) that `wanted` accepts; none when a
 * non-zero `after` is not among `entries`.
 */
export function nextAfter<H extends number, T>(entries: Iterable<[H, T]>, after: H, wanted: (value: T) => boolean): [H, T] | undefined {
  let passed = after === 0;
  for (const entry of entries) {
    if (passed) {
      if (wanted(entry[1])) return entry;
    } else {
      passed = entry[0] === after;
    }
  }
  return undefined;
}

/** The record's bytes as a Buffer, without a copy: a row read hands its bytes over (`StoredRow.read`), so no second plaintext copy is left to wipe. */
const owned = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function wipeKey(keyEntry: KeyEntry): void {
  wipe(keyEntry.symmetricKey, keyEntry.pinValue);
  keyEntry.keyPair.wipe();
}

function sessionFromRecord(sessionRecord: SessionRecord): Session {
  const kmk = sessionRecord.keyManagementKey ? Buffer.from(sessionRecord.keyManagementKey) : null;
  return {
    handle: provisioningHandle(sessionRecord.handle),
    privacyEnabled: sessionRecord.privacyEnabled,
    clientSessionId: sessionRecord.clientSessionId,
    serverSessionId: sessionRecord.serverSessionId,
    issuerUri: sessionRecord.issuerUri,
    keyManagementKey: kmk ? parseSpki(kmk) : null,
    keyManagementKeySpki: kmk,
    clientTime: sessionRecord.clientTime,
    sessionLifeTime: sessionRecord.sessionLifeTime,
    phase: CLOSED,
  };
}

function keyFromRecord(keyRecord: KeyRecord, owner: Session, pinPolicy: PinPolicy | null): KeyEntry {
  // Scalar fields (protections, counters, flags) pass through by the spread:
  // only fields whose live form differs from the record are named here.
  const { privateKey, publicKey, symmetricKey, certificatePath, endorsedAlgorithms, pinValue, extensions, ...scalars } = keyRecord;
  const publicKeySpki = Buffer.from(publicKey);
  return {
    ...scalars,
    handle: keyHandle(keyRecord.handle),
    owner,
    pinPolicy,
    keyPair: EntryKeys.stored(publicKeySpki, privateKey === null ? null : owned(privateKey)),
    publicKeySpki,
    symmetricKey: symmetricKey ? owned(symmetricKey) : null,
    certificatePath: certificatePath.map((c) => Buffer.from(c)),
    endorsedAlgorithms: [...endorsedAlgorithms],
    pinValue: pinValue ? owned(pinValue) : null,
    // Loaded counts are durable ones: no attempt is reserved yet in this instance.
    attemptReserved: false,
    extensions: new Map(extensions.map((e) => [e.type, { subType: e.subType, qualifier: e.qualifier, data: Buffer.from(e.data) }])),
  };
}

export const sessionRecord = (s: Session): SessionRecord => ({
  handle: s.handle,
  privacyEnabled: s.privacyEnabled,
  clientSessionId: s.clientSessionId,
  serverSessionId: s.serverSessionId,
  issuerUri: s.issuerUri,
  keyManagementKey: s.keyManagementKeySpki,
  clientTime: s.clientTime,
  sessionLifeTime: s.sessionLifeTime,
});

export function keyRecord(keyEntry: KeyEntry): KeyRecord {
  // The live-only fields are taken out by name; every scalar field passes through.
  // The counter is written as the durable count: a standing reservation is part of it,
  // and the reservation flag itself is live state, never stored.
  const {
    owner,
    pinPolicy,
    keyPair,
    publicKeySpki,
    certificatePath,
    extensions,
    attemptReserved: _attemptReserved,
    errorCount: _errorCount,
    ...scalars
  } = keyEntry;
  return {
    ...scalars,
    owner: owner.handle,
    publicKey: publicKeySpki,
    privateKey: keyPair.pkcs8(),
    certificatePath: certificatePath ?? [],
    pinPolicy: pinPolicy?.handle ?? 0,
    errorCount: durableErrorCount(keyEntry),
    extensions: [...extensions].map(([type, e]): ExtensionRecord => ({ type, subType: e.subType, qualifier: e.qualifier, data: e.data })),
  };
}

/**
 * Wipes what {@link keyRecord} exported for a write (the PKCS#8 of `putKey`) once the store has
 * taken its own copy or failed. The PIN and symmetric key of a record are the live entry's own
 * buffers and stay.
 */
export function wipeWrittenRecords(mutations: readonly Mutation[]): void {
  for (const mutation of mutations) if (mutation.kind === 'putKey') wipe(mutation.key.privateKey);
}

export function pinPolicyRecord(pinPolicy: PinPolicy): PinPolicyRecord {
  const { owner, pukPolicy, ...scalars } = pinPolicy;
  return { ...scalars, owner: owner.handle, pukPolicy: pukPolicy?.handle ?? 0 };
}

export function pukPolicyRecord(pukPolicy: PukPolicy): PukPolicyRecord {
  // As for keys: the durable count is stored, the reservation flag is not.
  const { owner, attemptReserved: _attemptReserved, errorCount: _errorCount, ...scalars } = pukPolicy;
  return { ...scalars, owner: owner.handle, errorCount: durableErrorCount(pukPolicy) };
}
