/**
 * The live object model of a key store (spec §3): sessions, key entries, PIN
 * and PUK policies, kept in insertion-ordered maps (spec §1.7), with the
 * conversions to and from the persistent records.
 */
import type { KeyObject } from 'node:crypto';
import { parsePkcs8, parseSpki, pkcs8Of } from '../crypto/keys.js';
import { wipe } from '../crypto/primitives.js';
import { SksError } from '../errors.js';
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

/** What only an open session has: its secrets and its transaction (spec §3.1). */
export interface OpenSessionWork {
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

export interface Session {
  readonly handle: number;
  privacyEnabled: boolean;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly issuerUri: string;
  keyManagementKey: KeyObject | null;
  keyManagementKeySpki: Buffer | null;
  readonly clientTime: number;
  readonly sessionLifeTime: number;
  /** Present while the session is open. */
  work: OpenSessionWork | null;
  /**
   * Set on the stand-in for a stored session whose row is damaged or missing:
   * its keys stay usable, but every management operation through it fails
   * with this error.
   */
  readonly damage?: SksError;
}

export interface Extension {
  readonly subType: number;
  readonly qualifier: string;
  data: Buffer;
}

export interface PukPolicy {
  readonly handle: number;
  readonly id: string;
  owner: Session;
  readonly pukValue: Buffer;
  readonly format: number;
  readonly retryLimit: number;
  errorCount: number;
}

export interface PinPolicy {
  readonly handle: number;
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
  handle: number;
  readonly id: string;
  owner: Session;
  readonly appUsage: number;
  publicKey: KeyObject;
  publicKeySpki: Buffer;
  privateKey: KeyObject | null;
  symmetricKey: Buffer | null;
  certificatePath: Buffer[] | null;
  readonly endorsedAlgorithms: readonly string[];
  readonly friendlyName: string | null;
  devicePinProtection: boolean;
  pinPolicy: PinPolicy | null;
  pinValue: Buffer | null;
  errorCount: number;
  readonly enablePinCaching: boolean;
  readonly biometricProtection: number;
  readonly exportProtection: number;
  readonly deleteProtection: number;
  keyBackup: number;
  readonly extensions: Map<string, Extension>;
  /**
   * The pair createKeyEntry generated, while the key is under provisioning; null
   * once loaded from the store. While both halves are still these objects they
   * match by construction, and the close needs no key-match test.
   */
  readonly generated: { readonly privateKey: KeyObject; readonly publicKey: KeyObject } | null;
}

/** A pending post-provisioning operation (spec §3.5). */
export interface PostOperation {
  readonly kind: 'delete' | 'unlock' | 'update' | 'clone';
  readonly target: KeyEntry;
  readonly newKey: KeyEntry | null;
}

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
 * through {@link LazyTable.damage}.
 */
export class LazyTable<T> implements Map<number, T> {
  readonly #slots = new Map<number, Slot<T>>();
  readonly #name: (handle: number) => string;
  #decode: (row: StoredRow<unknown>) => T = () => {
    throw new SksError('INTERNAL', 'No decoder for stored rows');
  };

  constructor(name: (handle: number) => string) {
    this.#name = name;
  }

  /** Adds stored rows, each turned into an entry by `decode` when first used (one function per table, not per row). */
  addStored<R>(rows: readonly StoredRow<R>[], decode: (row: StoredRow<R>) => T): void {
    this.#decode = decode as (row: StoredRow<unknown>) => T;
    for (const row of rows) this.#slots.set(row.handle, { kind: 'stored', row });
  }

  #resolve(handle: number, slot: Slot<T>): Slot<T> {
    if (slot.kind !== 'stored') return slot;
    let next: Slot<T>;
    try {
      next = { kind: 'ready', value: this.#decode(slot.row) };
    } catch (e) {
      // Our own errors name fields and handles, never values; anything else gets a fixed text.
      const why = e instanceof SksError ? e.message : 'its stored record cannot be decoded';
      next = { kind: 'damaged', error: new SksError('STORAGE', `${this.#name(handle)} is damaged: ${why}`) };
    }
    this.#slots.set(handle, next);
    return next;
  }

  /** The error of a damaged entry; undefined when the entry is sound or absent. */
  damage(handle: number): SksError | undefined {
    const slot = this.#slots.get(handle);
    if (slot === undefined) return undefined;
    const r = this.#resolve(handle, slot);
    return r.kind === 'damaged' ? r.error : undefined;
  }

  /** Every entry in store order, damaged ones as their error. */
  *withDamage(): IterableIterator<[number, T | SksError]> {
    for (const [h, slot] of this.#slots) {
      const r = this.#resolve(h, slot);
      yield [h, r.kind === 'ready' ? r.value : r.kind === 'damaged' ? r.error : new SksError('INTERNAL', 'Unresolved entry')];
    }
  }

  /** The entries already decoded, without decoding more (wiping on close). */
  *loaded(): IterableIterator<T> {
    for (const slot of this.#slots.values()) if (slot.kind === 'ready') yield slot.value;
  }

  get(handle: number): T | undefined {
    const slot = this.#slots.get(handle);
    if (slot === undefined) return undefined;
    const r = this.#resolve(handle, slot);
    return r.kind === 'ready' ? r.value : undefined;
  }

  has(handle: number): boolean {
    return this.get(handle) !== undefined;
  }

  set(handle: number, value: T): this {
    this.#slots.set(handle, { kind: 'ready', value }); // an existing handle keeps its position
    return this;
  }

  delete(handle: number): boolean {
    return this.#slots.delete(handle);
  }

  clear(): void {
    this.#slots.clear();
  }

  get size(): number {
    let n = 0;
    for (const _ of this.entries()) n++;
    return n;
  }

  *entries(): MapIterator<[number, T]> {
    for (const [h, slot] of this.#slots) {
      const r = this.#resolve(h, slot);
      if (r.kind === 'ready') yield [h, r.value];
    }
  }

  *keys(): MapIterator<number> {
    for (const [h] of this.entries()) yield h;
  }

  *values(): MapIterator<T> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[number, T]> {
    return this.entries();
  }

  forEach(fn: (value: T, key: number, map: Map<number, T>) => void): void {
    for (const [h, v] of this.entries()) fn(v, h, this);
  }

  readonly [Symbol.toStringTag] = 'LazyTable';
}

export class SksState {
  readonly sessions = new LazyTable<Session>((h) => `Provisioning session ${h}`);
  readonly keys = new LazyTable<KeyEntry>((h) => `Key #${h}`);
  readonly pinPolicies = new LazyTable<PinPolicy>((h) => `PIN policy ${h}`);
  readonly pukPolicies = new LazyTable<PukPolicy>((h) => `PUK policy ${h}`);
  /** Stand-ins for damaged or missing sessions that stored objects name as owner. */
  readonly #lostSessions = new Map<number, Session>();
  /** The sessions that still have a `work` part, so per-call expiry checks do not scan closed ones. */
  readonly openSessions = new Set<Session>();
  counters: { -readonly [K in keyof HandleCounters]: number };
  /** Durable changes produced by the current call, flushed by the store facade. */
  pending: Mutation[] = [];

  constructor(counters: HandleCounters) {
    this.counters = { ...counters };
  }

  allocate(kind: keyof HandleCounters): number {
    const h = this.counters[kind];
    this.counters[kind] = h + 1;
    return h;
  }

  record(m: Mutation): void {
    this.pending.push(m);
  }

  takePending(): Mutation[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  keysOf(session: Session): KeyEntry[] {
    return [...this.keys.values()].filter((k) => k.owner === session);
  }

  /** Removes an open session and everything it owns from memory (spec §4.2 tear-down). */
  dropOpenSession(session: Session): void {
    for (const [h, k] of this.keys) if (k.owner === session) {
      this.keys.delete(h);
      wipeKey(k);
    }
    for (const [h, p] of this.pinPolicies) if (p.owner === session) this.pinPolicies.delete(h);
    for (const [h, p] of this.pukPolicies) if (p.owner === session) {
      this.pukPolicies.delete(h);
      wipe(p.pukValue);
    }
    this.sessions.delete(session.handle);
    this.closeWork(session);
  }

  /** Ends a session's open phase: its secrets are wiped and it no longer counts as open. */
  closeWork(session: Session): void {
    if (session.work) wipe(session.work.sessionKey);
    session.work = null;
    this.openSessions.delete(session);
  }

  /**
   * The live model over committed records, decoded lazily (see
   * {@link LazyTable}). A damaged row damages what depends on it and nothing
   * else: a damaged PIN or PUK policy damages the keys that use it (silently
   * dropping a key's PIN policy would leave the key without PIN protection);
   * a damaged session only blocks its keys' management operations.
   */
  static fromSnapshot(s: StoreSnapshot): SksState {
    const state = new SksState(s.counters);
    state.sessions.addStored(s.sessions, (row) => sessionFromRecord(row.read()));
    state.pukPolicies.addStored(s.pukPolicies, (row) => {
      const r = row.read();
      return { ...r, owner: state.ownerOf(r.owner), pukValue: Buffer.from(r.pukValue) };
    });
    state.pinPolicies.addStored(s.pinPolicies, (row) => {
      const r = row.read();
      const puk = r.pukPolicy === 0 ? null : referenced(state.pukPolicies, 'PUK policy', r.pukPolicy);
      return { ...r, owner: state.ownerOf(r.owner), pukPolicy: puk };
    });
    state.keys.addStored(s.keys, (row) => loadKey(state, row));
    return state;
  }

  /** The owner session of a stored object, or a stand-in that refuses management when it is damaged or gone. */
  ownerOf(handle: number): Session {
    const session = this.sessions.get(handle);
    if (session !== undefined) return session;
    let lost = this.#lostSessions.get(handle);
    if (lost === undefined) {
      const damage =
        this.sessions.damage(handle) ?? new SksError('STORAGE', `Provisioning session ${handle} is damaged: its row is missing`);
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
        work: null,
        damage,
      };
      this.#lostSessions.set(handle, lost);
    }
    return lost;
  }
}

function loadKey(state: SksState, row: StoredRow<KeyRecord>): KeyEntry {
  const r = row.read();
  const pinPolicy = r.pinPolicy === 0 ? null : referenced(state.pinPolicies, 'PIN policy', r.pinPolicy);
  return keyFromRecord(r, state.ownerOf(r.owner), pinPolicy);
}

function referenced<T>(objects: LazyTable<T>, what: string, handle: number): T {
  const object = objects.get(handle);
  if (object !== undefined) return object;
  throw new SksError('STORAGE', objects.damage(handle) !== undefined ? `its ${what} ${handle} is damaged` : `its ${what} ${handle} is missing`);
}

/**
 * The enumeration rule of spec §6.4 and §10.12: the first object in store order
 * after handle `after` (0: from the start) that `wanted` accepts; none when a
 * non-zero `after` does not exist.
 */
export function nextAfter<T>(objects: ReadonlyMap<number, T>, after: number, wanted: (o: T) => boolean): T | undefined {
  if (after !== 0 && !objects.has(after)) return undefined;
  let passed = after === 0;
  for (const [handle, o] of objects) {
    if (!passed) {
      passed = handle === after;
      continue;
    }
    if (wanted(o)) return o;
  }
  return undefined;
}

export function wipeKey(k: KeyEntry): void {
  wipe(k.symmetricKey, k.pinValue);
}

function sessionFromRecord(r: SessionRecord): Session {
  const kmk = r.keyManagementKey ? Buffer.from(r.keyManagementKey) : null;
  return {
    handle: r.handle,
    privacyEnabled: r.privacyEnabled,
    clientSessionId: r.clientSessionId,
    serverSessionId: r.serverSessionId,
    issuerUri: r.issuerUri,
    keyManagementKey: kmk ? parseSpki(kmk) : null,
    keyManagementKeySpki: kmk,
    clientTime: r.clientTime,
    sessionLifeTime: r.sessionLifeTime,
    work: null,
  };
}

function keyFromRecord(r: KeyRecord, owner: Session, pinPolicy: PinPolicy | null): KeyEntry {
  // Scalar fields (protections, counters, flags) pass through by the spread:
  // only fields whose live form differs from the record are named here.
  const { privateKey, publicKey, symmetricKey, certificatePath, endorsedAlgorithms, pinValue, extensions, ...scalars } = r;
  const publicKeySpki = Buffer.from(publicKey);
  return {
    ...scalars,
    owner,
    pinPolicy,
    publicKey: parseSpki(publicKeySpki),
    publicKeySpki,
    privateKey: privateKey ? parsePkcs8(privateKey) : null,
    symmetricKey: symmetricKey ? Buffer.from(symmetricKey) : null,
    certificatePath: certificatePath.map((c) => Buffer.from(c)),
    endorsedAlgorithms: [...endorsedAlgorithms],
    pinValue: pinValue ? Buffer.from(pinValue) : null,
    extensions: new Map(extensions.map((e) => [e.type, { subType: e.subType, qualifier: e.qualifier, data: Buffer.from(e.data) }])),
    generated: null,
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

export function keyRecord(k: KeyEntry): KeyRecord {
  // The live-only fields are taken out by name; every scalar field passes through.
  const { owner, pinPolicy, publicKey: _publicKey, publicKeySpki, privateKey, certificatePath, extensions, generated: _generated, ...scalars } = k;
  return {
    ...scalars,
    owner: owner.handle,
    publicKey: publicKeySpki,
    privateKey: privateKey ? pkcs8Of(privateKey) : null,
    certificatePath: certificatePath ?? [],
    pinPolicy: pinPolicy?.handle ?? 0,
    extensions: [...extensions].map(([type, e]): ExtensionRecord => ({ type, subType: e.subType, qualifier: e.qualifier, data: e.data })),
  };
}

export function pinPolicyRecord(p: PinPolicy): PinPolicyRecord {
  const { owner, pukPolicy, ...scalars } = p;
  return { ...scalars, owner: owner.handle, pukPolicy: pukPolicy?.handle ?? 0 };
}

export function pukPolicyRecord(p: PukPolicy): PukPolicyRecord {
  const { owner, ...scalars } = p;
  return { ...scalars, owner: owner.handle };
}
