/**
 * The in-memory adapter of the persistence port: for tests and for stores
 * that need not survive the process. Nothing is at rest, so nothing is sealed
 * or MACed; the rules every adapter shares come from `applyMutations`.
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
import { SksError } from '../../errors.js';
import {
  applyMutations,
  INITIAL_COUNTERS,
  type DeviceRecord,
  type ExtensionRecord,
  type HandleCounters,
  type KeyRecord,
  type KeyStorePort,
  type MutationTarget,
  type PinPolicyRecord,
  type PukPolicyRecord,
  type SessionRecord,
  type StoreContents,
  type StoredRow,
  type StoreSnapshot,
  type TableName,
  type TableRecords,
} from '../records.js';

type Tables = { [T in TableName]: Map<number, TableRecords[T]> };

interface State extends Tables {
  counters: HandleCounters;
  device: DeviceRecord | null;
}

const bytes = (b: Uint8Array): Uint8Array => new Uint8Array(b);
const maybeBytes = (b: Uint8Array | null): Uint8Array | null => (b === null ? null : bytes(b));

const copyExtension = (e: ExtensionRecord): ExtensionRecord => ({ ...e, data: bytes(e.data) });
/** One deep copy per table; the only place that knows which fields hold bytes. */
const COPY: { readonly [T in TableName]: (r: TableRecords[T]) => TableRecords[T] } = {
  sessions: (s: SessionRecord) => ({ ...s, keyManagementKey: maybeBytes(s.keyManagementKey) }),
  keys: (k: KeyRecord) => ({
    ...k,
    publicKey: bytes(k.publicKey),
    privateKey: maybeBytes(k.privateKey),
    symmetricKey: maybeBytes(k.symmetricKey),
    certificatePath: k.certificatePath.map(bytes),
    endorsedAlgorithms: [...k.endorsedAlgorithms],
    pinValue: maybeBytes(k.pinValue),
    extensions: k.extensions.map(copyExtension),
  }),
  pinPolicies: (p: PinPolicyRecord) => ({ ...p }),
  pukPolicies: (p: PukPolicyRecord) => ({ ...p, pukValue: bytes(p.pukValue) }),
};
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

/** A row already in memory: reading it copies its current value, as a disk adapter would read the current row. */
const storedRow = <T>(handle: number, current: () => T | undefined, copy: (v: T) => T): StoredRow<T> => ({
  handle,
  read: () => {
    const value = current();
    if (value === undefined) throw new SksError('STORAGE', `Stored row ${handle} is missing`);
    return copy(value);
  },
});

function target(state: State): MutationTarget {
  return {
    put(table, record) {
      const map = state[table] as Map<number, typeof record>;
      map.set(record.handle, (COPY[table] as (r: typeof record) => typeof record)(record));
    },
    delete(table, handle) {
      state[table].delete(handle);
    },
    patch(table, handle, changes) {
      const map = state[table] as Map<number, TableRecords[typeof table]>;
      const old = map.get(handle);
      if (old === undefined) return false;
      const copied = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v instanceof Uint8Array ? bytes(v) : v]));
      map.set(handle, { ...old, ...copied });
      return true;
    },
    patchExtension(handle, type, data) {
      const key = state.keys.get(handle);
      const index = key === undefined ? -1 : key.extensions.findIndex((e) => e.type === type);
      if (key === undefined || index < 0) return false;
      const extensions = [...key.extensions];
      extensions[index] = { ...key.extensions[index], data: bytes(data) };
      state.keys.set(handle, { ...key, extensions });
      return true;
    },
    ownedBy(table, owner) {
      return [...(state[table] as Map<number, { readonly owner: number }>)].filter(([, r]) => r.owner === owner).map(([h]) => h);
    },
    setCounters(counters) {
      state.counters = copyCounters(counters);
    },
    putDevice(device) {
      state.device = copyDevice(device);
    },
  };
}

/**
 * Creates an in-memory store, optionally seeded with `initial` (copied).
 *
 * Semantics shared with every adapter (the conformance suite checks them):
 * `put*` inserts or replaces (a replaced key keeps its position); `delete*` of
 * an absent handle is a no-op; a patch naming an absent row is `ERROR_STORAGE`
 * and the whole batch is discarded; `reown` moves keys, PIN policies and PUK
 * policies but leaves the sessions themselves alone. `load` returns sessions
 * and policies in handle order and keys in store order.
 */
export function createMemoryKeyStore(initial?: StoreContents): KeyStorePort {
  const seed = <T extends TableName>(table: T, rows: ReadonlyArray<TableRecords[T]> | undefined): Map<number, TableRecords[T]> =>
    new Map((rows ?? []).map((x) => [x.handle, COPY[table](x)]));
  let state: State | null = {
    counters: copyCounters(initial?.counters ?? INITIAL_COUNTERS),
    device: initial?.device ? copyDevice(initial.device) : null,
    sessions: seed('sessions', initial?.sessions),
    keys: seed('keys', initial?.keys),
    pinPolicies: seed('pinPolicies', initial?.pinPolicies),
    pukPolicies: seed('pukPolicies', initial?.pukPolicies),
  };

  const open = (): State => {
    if (state === null) throw new SksError('STORAGE', 'Key store is closed');
    return state;
  };

  const rows = <T extends TableName>(state: State, table: T, sorted: boolean): Array<StoredRow<TableRecords[T]>> => {
    const values = [...(state[table] as Map<number, TableRecords[T]>).values()];
    if (sorted) values.sort(byHandle);
    const current = (h: number): TableRecords[T] | undefined => (open()[table] as Map<number, TableRecords[T]>).get(h);
    return values.map((r) => storedRow(r.handle, () => current(r.handle), COPY[table]));
  };

  return {
    load(): StoreSnapshot {
      const state = open();
      const device = state.device;
      return {
        counters: copyCounters(state.counters),
        device: device === null ? null : storedRow(1, () => open().device ?? undefined, copyDevice),
        sessions: rows(state, 'sessions', true),
        keys: rows(state, 'keys', false),
        pinPolicies: rows(state, 'pinPolicies', true),
        pukPolicies: rows(state, 'pukPolicies', true),
      };
    },

    apply(mutations): void {
      const stateValue = open();
      // Records are immutable once stored, so shallow copies of the maps make a
      // private working copy; it replaces the state only if every mutation succeeds.
      const work: State = {
        counters: stateValue.counters,
        device: stateValue.device,
        sessions: new Map(stateValue.sessions),
        keys: new Map(stateValue.keys),
        pinPolicies: new Map(stateValue.pinPolicies),
        pukPolicies: new Map(stateValue.pukPolicies),
      };
      applyMutations(target(work), mutations);
      state = work;
    },

    close(): void {
      state = null;
    },
  };
}
