/**
 * The live object model of a key store (spec §3): sessions, key entries, PIN
 * and PUK policies, kept in insertion-ordered maps (spec §1.7), with the
 * conversions to and from the persistent records.
 */
import type { KeyObject } from 'node:crypto';
import { keyHandle, pinPolicyHandle, provisioningHandle, pukPolicyHandle, type KeyHandle, type PinPolicyHandle, type ProvisioningHandle, type PukPolicyHandle } from '../api.js';
import { parsePkcs8, parseSpki, pkcs8Of } from '../crypto/keys.js';
import { wipe } from '../crypto/primitives.js';
import { SksError } from '../errors.js';
import type {
  ExtensionRecord,
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
  readonly sessions = new Map<ProvisioningHandle, Session>();
  readonly keys = new Map<KeyHandle, KeyEntry>();
  readonly pinPolicies = new Map<PinPolicyHandle, PinPolicy>();
  readonly pukPolicies = new Map<PukPolicyHandle, PukPolicy>();
  /** The sessions in their open phase, so per-call expiry checks do not scan closed ones. */
  readonly openSessions = new Set<OpenSession>();
  counters: { -readonly [K in keyof HandleCounters]: number };
  /** Durable changes produced by the current call, flushed by the store facade. */
  pending: Mutation[] = [];

  constructor(counters: HandleCounters) {
    this.counters = { ...counters };
  }

  allocate<K extends keyof HandleOf>(kind: K): HandleOf[K] {
    const h = this.counters[kind];
    this.counters[kind] = h + 1;
    return BRAND[kind](h);
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
  dropOpenSession(session: OpenSession): void {
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

  /**
   * Ends a session's open phase: its secrets are wiped and it no longer counts
   * as open. The object changes phase in place (keys and policies point at it),
   * so a caller's `OpenSession` reference to it is stale from here on.
   */
  closeWork(session: OpenSession): void {
    wipe(session.phase.sessionKey);
    this.openSessions.delete(session);
    const s: Session = session;
    s.phase = CLOSED;
  }

  /**
   * Rebuilds the live model from committed records. A reference to a missing
   * record means a damaged store: refusing it matters, because silently dropping
   * a key's PIN policy would leave the key without PIN protection.
   */
  static fromSnapshot(s: StoreSnapshot): SksState {
    const state = new SksState(s.counters);
    for (const r of s.sessions) state.sessions.set(provisioningHandle(r.handle), sessionFromRecord(r));
    for (const r of s.pukPolicies) {
      const handle = pukPolicyHandle(r.handle);
      state.pukPolicies.set(handle, {
        ...r,
        handle,
        owner: referenced(state.sessions, provisioningHandle(r.owner)),
        pukValue: Buffer.from(r.pukValue),
        attemptReserved: false,
      });
    }
    for (const r of s.pinPolicies) {
      const puk = r.pukPolicy === 0 ? null : referenced(state.pukPolicies, pukPolicyHandle(r.pukPolicy));
      const handle = pinPolicyHandle(r.handle);
      state.pinPolicies.set(handle, { ...r, handle, owner: referenced(state.sessions, provisioningHandle(r.owner)), pukPolicy: puk });
    }
    for (const r of s.keys) {
      const pinPolicy = r.pinPolicy === 0 ? null : referenced(state.pinPolicies, pinPolicyHandle(r.pinPolicy));
      const key = keyFromRecord(r, referenced(state.sessions, provisioningHandle(r.owner)), pinPolicy);
      state.keys.set(key.handle, key);
    }
    return state;
  }
}

function referenced<H extends number, T>(objects: ReadonlyMap<H, T>, handle: H): T {
  const object = objects.get(handle);
  if (object === undefined) throw new SksError('STORAGE', 'The key store is damaged: a record refers to a missing object');
  return object;
}

/**
 * The enumeration rule of spec §6.4 and §10.12: the first object in store order
 * after handle `after` (0: from the start) that `wanted` accepts; none when a
 * non-zero `after` does not exist.
 */
export function nextAfter<H extends number, T>(objects: ReadonlyMap<H, T>, after: H, wanted: (o: T) => boolean): T | undefined {
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
    handle: provisioningHandle(r.handle),
    privacyEnabled: r.privacyEnabled,
    clientSessionId: r.clientSessionId,
    serverSessionId: r.serverSessionId,
    issuerUri: r.issuerUri,
    keyManagementKey: kmk ? parseSpki(kmk) : null,
    keyManagementKeySpki: kmk,
    clientTime: r.clientTime,
    sessionLifeTime: r.sessionLifeTime,
    phase: CLOSED,
  };
}

function keyFromRecord(r: KeyRecord, owner: Session, pinPolicy: PinPolicy | null): KeyEntry {
  const privateKey = r.privateKey ? parsePkcs8(r.privateKey) : null;
  const publicKeySpki = Buffer.from(r.publicKey);
  return {
    handle: keyHandle(r.handle),
    id: r.id,
    owner,
    appUsage: r.appUsage,
    publicKey: parseSpki(publicKeySpki),
    publicKeySpki,
    privateKey,
    symmetricKey: r.symmetricKey ? Buffer.from(r.symmetricKey) : null,
    certificatePath: r.certificatePath.map((c) => Buffer.from(c)),
    endorsedAlgorithms: [...r.endorsedAlgorithms],
    friendlyName: r.friendlyName,
    devicePinProtection: r.devicePinProtection,
    pinPolicy,
    pinValue: r.pinValue ? Buffer.from(r.pinValue) : null,
    errorCount: r.errorCount,
    attemptReserved: false,
    enablePinCaching: r.enablePinCaching,
    biometricProtection: r.biometricProtection,
    exportProtection: r.exportProtection,
    deleteProtection: r.deleteProtection,
    keyBackup: r.keyBackup,
    extensions: new Map(r.extensions.map((e) => [e.type, { subType: e.subType, qualifier: e.qualifier, data: Buffer.from(e.data) }])),
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

export const keyRecord = (k: KeyEntry): KeyRecord => ({
  handle: k.handle,
  id: k.id,
  owner: k.owner.handle,
  appUsage: k.appUsage,
  publicKey: k.publicKeySpki,
  privateKey: k.privateKey ? pkcs8Of(k.privateKey) : null,
  symmetricKey: k.symmetricKey,
  certificatePath: k.certificatePath ?? [],
  endorsedAlgorithms: k.endorsedAlgorithms,
  friendlyName: k.friendlyName,
  devicePinProtection: k.devicePinProtection,
  pinPolicy: k.pinPolicy?.handle ?? 0,
  pinValue: k.pinValue,
  errorCount: durableErrorCount(k),
  enablePinCaching: k.enablePinCaching,
  biometricProtection: k.biometricProtection,
  exportProtection: k.exportProtection,
  deleteProtection: k.deleteProtection,
  keyBackup: k.keyBackup,
  extensions: [...k.extensions].map(([type, e]): ExtensionRecord => ({ type, subType: e.subType, qualifier: e.qualifier, data: e.data })),
});

export const pinPolicyRecord = (p: PinPolicy): PinPolicyRecord => ({
  handle: p.handle,
  id: p.id,
  owner: p.owner.handle,
  pukPolicy: p.pukPolicy?.handle ?? 0,
  retryLimit: p.retryLimit,
  format: p.format,
  userDefined: p.userDefined,
  userModifiable: p.userModifiable,
  inputMethod: p.inputMethod,
  grouping: p.grouping,
  patternRestrictions: p.patternRestrictions,
  minLength: p.minLength,
  maxLength: p.maxLength,
});

export const pukPolicyRecord = (p: PukPolicy): PukPolicyRecord => ({
  handle: p.handle,
  id: p.id,
  owner: p.owner.handle,
  pukValue: p.pukValue,
  format: p.format,
  retryLimit: p.retryLimit,
  errorCount: durableErrorCount(p),
});
