/**
 * The in-memory adapter of the persistence port: for tests and for stores
 * that need not survive the process.
 *
 * Records are deep-copied on the way in and on the way out, so no caller can
 * alias (and so corrupt) committed state. Stored records are never mutated in
 * place: a mutation builds a new record, which lets `apply` work on a shallow
 * copy of the maps and swap it in only when every mutation succeeded.
 *
 * @example
 * ```ts
 * const store = createMemoryKeyStore();
 * store.apply([{ kind: 'setCounters', counters: { session: 2, key: 1, pinPolicy: 1, pukPolicy: 1 } }]);
 * store.load().counters.session; // 2
 * ```
 */
import { SksError } from '../errors.js';
import {
  INITIAL_COUNTERS,
  type DeviceRecord,
  type ExtensionRecord,
  type HandleCounters,
  type KeyRecord,
  type KeyStorePort,
  type Mutation,
  type PinPolicyRecord,
  type PukPolicyRecord,
  type SessionRecord,
  type StoreSnapshot,
} from './records.js';

interface State {
  counters: HandleCounters;
  device: DeviceRecord | null;
  /** Map iteration order is store order: `set` on an existing handle keeps its position. */
  sessions: Map<number, SessionRecord>;
  keys: Map<number, KeyRecord>;
  pinPolicies: Map<number, PinPolicyRecord>;
  pukPolicies: Map<number, PukPolicyRecord>;
}

const bytes = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const maybeBytes = (b: Uint8Array | null): Uint8Array | null => (b === null ? null : bytes(b));

const copySession = (s: SessionRecord): SessionRecord => ({ ...s, keyManagementKey: maybeBytes(s.keyManagementKey) });
const copyExtension = (e: ExtensionRecord): ExtensionRecord => ({ ...e, data: bytes(e.data) });
const copyKey = (k: KeyRecord): KeyRecord => ({
  ...k,
  publicKey: bytes(k.publicKey),
  privateKey: maybeBytes(k.privateKey),
  symmetricKey: maybeBytes(k.symmetricKey),
  certificatePath: k.certificatePath.map(bytes),
  endorsedAlgorithms: [...k.endorsedAlgorithms],
  pinValue: maybeBytes(k.pinValue),
  extensions: k.extensions.map(copyExtension),
});
const copyPinPolicy = (p: PinPolicyRecord): PinPolicyRecord => ({ ...p });
const copyPukPolicy = (p: PukPolicyRecord): PukPolicyRecord => ({ ...p, pukValue: bytes(p.pukValue) });
const copyDevice = (d: DeviceRecord): DeviceRecord => ({
  privateKey: bytes(d.privateKey),
  certificatePath: d.certificatePath.map(bytes),
});
const copyCounters = (c: HandleCounters): HandleCounters => ({
  session: c.session,
  key: c.key,
  pinPolicy: c.pinPolicy,
  pukPolicy: c.pukPolicy,
});

const byHandle = <T extends { readonly handle: number }>(a: T, b: T): number => a.handle - b.handle;

const missing = (what: string, handle: number): SksError =>
  new SksError('STORAGE', `No stored ${what} with handle ${handle}`);

function checkExtensionTypes(key: KeyRecord): void {
  const seen = new Set<string>();
  for (const e of key.extensions) {
    if (seen.has(e.type)) throw new SksError('STORAGE', `Duplicate extension type for key ${key.handle}`);
    seen.add(e.type);
  }
}

function patch<T>(map: Map<number, T>, what: string, handle: number, change: (old: T) => T): void {
  const old = map.get(handle);
  if (old === undefined) throw missing(what, handle);
  map.set(handle, change(old));
}

function reownAll<T extends { readonly owner: number }>(map: Map<number, T>, from: number, to: number): void {
  for (const [handle, record] of map) {
    if (record.owner === from) map.set(handle, { ...record, owner: to });
  }
}

function applyOne(s: State, m: Mutation): void {
  switch (m.kind) {
    case 'putSession':
      s.sessions.set(m.session.handle, copySession(m.session));
      return;
    case 'deleteSession':
      s.sessions.delete(m.handle);
      return;
    case 'putKey':
      checkExtensionTypes(m.key);
      s.keys.set(m.key.handle, copyKey(m.key));
      return;
    case 'deleteKey':
      s.keys.delete(m.handle);
      return;
    case 'putPinPolicy':
      s.pinPolicies.set(m.policy.handle, copyPinPolicy(m.policy));
      return;
    case 'deletePinPolicy':
      s.pinPolicies.delete(m.handle);
      return;
    case 'putPukPolicy':
      s.pukPolicies.set(m.policy.handle, copyPukPolicy(m.policy));
      return;
    case 'deletePukPolicy':
      s.pukPolicies.delete(m.handle);
      return;
    case 'setKeyErrorCount':
      patch(s.keys, 'key', m.handle, (k) => ({ ...k, errorCount: m.errorCount }));
      return;
    case 'setKeyPin':
      patch(s.keys, 'key', m.handle, (k) => ({ ...k, pinValue: bytes(m.pinValue), errorCount: m.errorCount }));
      return;
    case 'setKeyBackup':
      patch(s.keys, 'key', m.handle, (k) => ({ ...k, keyBackup: m.keyBackup }));
      return;
    case 'setExtensionData':
      patch(s.keys, 'key', m.handle, (k) => {
        const i = k.extensions.findIndex((e) => e.type === m.type);
        if (i < 0) throw new SksError('STORAGE', `No stored extension of that type for key ${m.handle}`);
        const extensions = [...k.extensions];
        extensions[i] = { ...k.extensions[i]!, data: bytes(m.data) };
        return { ...k, extensions };
      });
      return;
    case 'setPukErrorCount':
      patch(s.pukPolicies, 'PUK policy', m.handle, (p) => ({ ...p, errorCount: m.errorCount }));
      return;
    case 'setSessionKmk':
      patch(s.sessions, 'session', m.handle, (x) => ({ ...x, keyManagementKey: bytes(m.keyManagementKey) }));
      return;
    case 'setCounters':
      s.counters = copyCounters(m.counters);
      return;
    case 'reown':
      reownAll(s.keys, m.from, m.to);
      reownAll(s.pinPolicies, m.from, m.to);
      reownAll(s.pukPolicies, m.from, m.to);
      return;
    case 'putDevice':
      s.device = copyDevice(m.device);
      return;
    default: {
      const unknown: never = m;
      throw new SksError('STORAGE', `Unknown mutation: ${(unknown as { kind: string }).kind}`);
    }
  }
}

/**
 * Creates an in-memory store, optionally seeded with `initial` (copied).
 *
 * Semantics shared with every adapter (the conformance suite checks them):
 * `put*` inserts or replaces (a replaced key keeps its position); `delete*` of
 * an absent handle is a no-op; a patch (`setKeyErrorCount`, `setKeyPin`,
 * `setKeyBackup`, `setExtensionData`, `setPukErrorCount`, `setSessionKmk`)
 * naming an absent row is `ERROR_STORAGE` and the whole batch is discarded;
 * `reown` moves keys, PIN policies and PUK policies but leaves the sessions
 * themselves alone (delete the absorbed session with `deleteSession`).
 * `load` returns sessions and policies in handle order and keys in store order.
 */
export function createMemoryKeyStore(initial?: StoreSnapshot): KeyStorePort {
  let state: State | null = {
    counters: copyCounters(initial?.counters ?? INITIAL_COUNTERS),
    device: initial?.device ? copyDevice(initial.device) : null,
    sessions: new Map((initial?.sessions ?? []).map((x) => [x.handle, copySession(x)])),
    keys: new Map((initial?.keys ?? []).map((x) => [x.handle, copyKey(x)])),
    pinPolicies: new Map((initial?.pinPolicies ?? []).map((x) => [x.handle, copyPinPolicy(x)])),
    pukPolicies: new Map((initial?.pukPolicies ?? []).map((x) => [x.handle, copyPukPolicy(x)])),
  };

  const open = (): State => {
    if (state === null) throw new SksError('STORAGE', 'Key store is closed');
    return state;
  };

  return {
    load(): StoreSnapshot {
      const s = open();
      return {
        counters: copyCounters(s.counters),
        device: s.device === null ? null : copyDevice(s.device),
        sessions: [...s.sessions.values()].sort(byHandle).map(copySession),
        keys: [...s.keys.values()].map(copyKey),
        pinPolicies: [...s.pinPolicies.values()].sort(byHandle).map(copyPinPolicy),
        pukPolicies: [...s.pukPolicies.values()].sort(byHandle).map(copyPukPolicy),
      };
    },

    apply(mutations: readonly Mutation[]): void {
      const s = open();
      // Records are immutable once stored, so shallow copies of the maps make a
      // private working copy; it replaces the state only if every mutation succeeds.
      const work: State = {
        counters: s.counters,
        device: s.device,
        sessions: new Map(s.sessions),
        keys: new Map(s.keys),
        pinPolicies: new Map(s.pinPolicies),
        pukPolicies: new Map(s.pukPolicies),
      };
      for (const m of mutations) applyOne(work, m);
      state = work;
    },

    close(): void {
      state = null;
    },
  };
}
