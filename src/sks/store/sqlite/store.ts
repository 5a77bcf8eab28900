/**
 * The SQLite adapter of the persistence port (better-sqlite3).
 *
 * - One process owns a store at a time: the connection runs in
 *   `locking_mode=EXCLUSIVE` and holds its lock until `close`, because the
 *   engine keeps the loaded state in memory for the life of the store object
 *   (two owners would each hold stale PIN counters). A second opener waits up
 *   to `busyTimeoutMs` for the owner to close, then fails with
 *   `ERROR_NOT_AVAILABLE`.
 * - `apply` is one transaction in WAL mode with `synchronous=FULL`: durable when
 *   it returns, about one fsync per call. `secure_delete=ON` overwrites deleted
 *   content, so a deleted key's sealed bytes do not linger in free pages.
 * - Every secret column is sealed, every row MACed (`columns.ts`); `load` reads
 *   only handles, and a row is checked and decoded when first read, so opening
 *   costs little and a damaged row damages that row only.
 *
 * @example
 * ```ts
 * const store = openSqliteKeyStore({ path: '/var/lib/airtight/sks.db', storeKey });
 * const snapshot = store.load();
 * const first = snapshot.keys[0]?.read();
 * store.apply([{ kind: 'setKeyErrorCount', handle: 3, errorCount: 1 }]);
 * store.close();
 * ```
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SksError } from '../../errors.js';
import {
  applyMutations,
  INITIAL_COUNTERS,
  type DeviceRecord,
  type HandleCounters,
  type KeyRecord,
  type KeyStorePort,
  type Mutation,
  type MutationTarget,
  type PatchableFields,
  type StoreContents,
  type StoredRow,
  type StoreSnapshot,
  type TableName,
  type TableRecords,
} from '../records.js';
import {
  DEVICE,
  EXTENSIONS,
  KEYS,
  META,
  PIN_POLICIES,
  PUK_POLICIES,
  SESSIONS,
  type ExtensionRow,
  type KeyRow,
  type MetaRow,
  type SqlRow,
  type TableDef,
} from './columns.js';
import { damaged, decodeRow, encodeColumns, encodeRow, rowKeys, rowMac, verifyRow, MAC_COLUMN, type RowKeys } from './rows.js';
import { ensureSchema } from './schema.js';
import { extensionsOfStatement, handlesStatement, ownedByStatement, tableStatements, type TableStatements } from './statements.js';

export interface SqliteKeyStoreOptions {
  /** Database file; created (mode 0600) when absent. */
  readonly path: string;
  /** 32-byte key sealing the secret columns and keying the row MACs; see `store-key.ts`. */
  readonly storeKey: Uint8Array;
  /** How long an opener waits for another process to close the store (ms); default 5000. */
  readonly busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

type Db = Database.Database;

const inUse = (): SksError => new SksError('NOT_AVAILABLE', 'Key store is in use by another process');

/**
 * Maps a failure to an SksError. SQLite's message text is dropped (it may
 * quote data); its result code name (e.g. `SQLITE_FULL`) is kept.
 */
function storageError(error: unknown, what: string): SksError {
  if (error instanceof SksError) return error;
  if (error instanceof Database.SqliteError) {
    if (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED')) return inUse();
    return new SksError('STORAGE', `${what} (${error.code})`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  return new SksError('STORAGE', typeof code === 'string' && /^E[A-Z]+$/.test(code) ? `${what} (${code})` : what);
}

/** The record tables by port name. */
const DEFS = {
  sessions: SESSIONS,
  keys: KEYS,
  pinPolicies: PIN_POLICIES,
  pukPolicies: PUK_POLICIES,
} as const;

/**
 * Opens (creating if needed) the SQLite key store at `options.path`.
 *
 * Fails with `ERROR_NOT_AVAILABLE` when another process still has the store
 * open after `busyTimeoutMs`, and with `ERROR_STORAGE` when the store key does
 * not match the one the store was created with, the format is not this
 * code's, or the file is not a key store.
 */
export function openSqliteKeyStore(options: SqliteKeyStoreOptions): KeyStorePort {
  if (options.storeKey.length !== 32) throw new SksError('STORAGE', 'Store key must be 32 bytes');
  const storeKey = Buffer.from(options.storeKey);
  const keys = rowKeys(storeKey);
  const { path } = options;
  const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;

  try {
    if (path !== ':memory:' && path !== '') {
      // Create the file ourselves so that it, and the -wal file SQLite derives
      // its permissions from it, are private to the owner.
      closeSync(openSync(path, 'a', 0o600));
    }
  } catch (error) {
    wipeKeys(keys);
    throw storageError(error, 'Key store could not be opened');
  }

  // Openers queue on a gate first: a write transaction on `<path>.lock`, a
  // separate database in SQLite's default locking mode, held until close.
  // Waiting there is safe because a waiter holds nothing the holder needs, and
  // the OS drops the lock when its process dies (kill -9 leaves no stale lock).
  // Waiting on sks.db itself is not: in exclusive locking mode every opener
  // keeps the read lock it took to read the header, so thirty openers that
  // each wait for the write lock starve one another.
  const deadline = Date.now() + timeout;
  let gate: Db | null;
  try {
    gate = acquireGate(path, timeout);
  } catch (error) {
    wipeKeys(keys);
    throw storageError(error, 'Key store could not be opened');
  }
  // Behind the gate the store is normally free at once; a program that opens
  // sks.db without the gate is still waited for, by short attempts that each
  // give up every lock they took before the next one.
  for (let attempt = 1; ; attempt++) {
    const left = Math.max(0, deadline - Date.now());
    try {
      const store = openOnce(path, keys, Math.min(left, ATTEMPT_WAIT_MS));
      store.holdGate(gate);
      gate = null;
      return store;
    } catch (error) {
      const busy = isBusy(error);
      if (!busy || Date.now() >= deadline) {
        gate?.close();
        wipeKeys(keys);
        throw storageError(error, 'Key store could not be opened');
      }
      sleepSync(Math.min(deadline - Date.now(), Math.random() * Math.min(10 * attempt, 100)));
    }
  }
}

/** Takes the opener gate of the store at `path` (none for an in-memory store), waiting up to `timeoutMs`. */
function acquireGate(path: string, timeoutMs: number): Db | null {
  if (path === ':memory:' || path === '') return null;
  const lockPath = `${path}.lock`;
  closeSync(openSync(lockPath, 'a', 0o600));
  const gate = new Database(lockPath, { timeout: timeoutMs });
  try {
    gate.exec('BEGIN IMMEDIATE');
    return gate;
  } catch (error) {
    gate.close();
    throw error;
  }
}

/** How long one opening attempt lets SQLite wait for a lock before it starts over. */
const ATTEMPT_WAIT_MS = 250;

const isBusy = (e: unknown): boolean => e instanceof Database.SqliteError && (e.code.startsWith('SQLITE_BUSY') || e.code.startsWith('SQLITE_LOCKED'));

const sleepSync = (ms: number): void => {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** One attempt to open and lock the store; on failure its connection is closed again. */
function openOnce(path: string, keys: RowKeys, timeout: number): SqliteKeyStore {
  const db = new Database(path, { timeout });
  try {
    // EXCLUSIVE before the first WAL access: no shared-memory index, and the
    // lock stays with this connection until close.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('fullfsync = ON');
    db.pragma('foreign_keys = ON');
    db.pragma('secure_delete = ON');
    // Take the write lock now (an exclusive transaction), create, migrate or check the schema, check the key.
    return db
      .transaction(() => {
        const schema = ensureSchema(db, keys.seal);
        if (schema.kind === 'created') tableStatements(db, META).upsert.run(encodeRow(keys, META, { id: 1, ...INITIAL_COUNTERS }));
        const store = new SqliteKeyStore(db, keys);
        if (schema.kind === 'migrated') store.apply(contentsAsMutations(schema.contents));
        readMeta(db, keys);
        return store;
      })
      .exclusive();
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The mutations that write `c` into an empty store. */
function contentsAsMutations(storeContents: StoreContents): Mutation[] {
  return [
    { kind: 'setCounters', counters: storeContents.counters },
    ...(storeContents.device === null ? [] : [{ kind: 'putDevice', device: storeContents.device } as const]),
    ...storeContents.sessions.map((session): Mutation => ({ kind: 'putSession', session })),
    ...storeContents.pukPolicies.map((policy): Mutation => ({ kind: 'putPukPolicy', policy })),
    ...storeContents.pinPolicies.map((policy): Mutation => ({ kind: 'putPinPolicy', policy })),
    ...storeContents.keys.map((key): Mutation => ({ kind: 'putKey', key })),
  ];
}

function wipeKeys(keys: RowKeys): void {
  keys.seal.fill(0);
  keys.mac.fill(0);
}

/** The counters; the meta row's MAC is also the check that this is the store's key. */
function readMeta(db: Db, keys: RowKeys): HandleCounters {
  const row = db.prepare(`SELECT * FROM ${META.table} WHERE id = 1`).get() as SqlRow | undefined;
  if (row === undefined) throw new SksError('STORAGE', 'Key store has no meta row');
  try {
    verifyRow(keys, META, row);
  } catch {
    throw new SksError('STORAGE', 'Store key does not match the key store (or its meta row was edited)');
  }
  const { session, key, pinPolicy, pukPolicy } = decodeRow(keys, META, row);
  return { session, key, pinPolicy, pukPolicy };
}

/** A row `load` listed, read on demand. */
class LazyRow<T> implements StoredRow<T> {
  constructor(
    readonly handle: number,
    private readonly reader: (handle: number) => T,
  ) {}

  read(): T {
    return this.reader(this.handle);
  }
}

type Statements = { readonly [T in TableName]: TableStatements<TableRow<T>> };
type TableRow<T extends TableName> = T extends 'keys' ? KeyRow : TableRecords[T];

class SqliteKeyStore implements KeyStorePort {
  #db: Db | null;
  #gate: Db | null = null;
  readonly #keys: RowKeys;
  readonly #s: Statements;
  readonly #extensions: TableStatements<ExtensionRow>;
  readonly #meta: TableStatements<MetaRow>;
  readonly #device: TableStatements<DeviceRecord & { readonly id: number }>;
  readonly #handles: Readonly<Record<TableName, Database.Statement>>;
  readonly #ownedBy: Readonly<Record<'keys' | 'pinPolicies' | 'pukPolicies', Database.Statement>>;
  readonly #extensionsOf: Database.Statement;
  readonly #deleteExtensions: Database.Statement;
  readonly #applyAll: (mutations: readonly Mutation[]) => void;
  readonly #target: MutationTarget;

  constructor(db: Db, keys: RowKeys) {
    this.#db = db;
    this.#keys = keys;
    this.#s = {
      sessions: tableStatements(db, SESSIONS),
      keys: tableStatements(db, KEYS),
      pinPolicies: tableStatements(db, PIN_POLICIES),
      pukPolicies: tableStatements(db, PUK_POLICIES),
    };
    this.#extensions = tableStatements(db, EXTENSIONS);
    this.#meta = tableStatements(db, META);
    this.#device = tableStatements(db, DEVICE);
    this.#handles = {
      sessions: handlesStatement(db, SESSIONS as TableDef<unknown>),
      keys: handlesStatement(db, KEYS as TableDef<unknown>),
      pinPolicies: handlesStatement(db, PIN_POLICIES as TableDef<unknown>),
      pukPolicies: handlesStatement(db, PUK_POLICIES as TableDef<unknown>),
    };
    this.#ownedBy = {
      keys: ownedByStatement(db, KEYS as TableDef<unknown>),
      pinPolicies: ownedByStatement(db, PIN_POLICIES as TableDef<unknown>),
      pukPolicies: ownedByStatement(db, PUK_POLICIES as TableDef<unknown>),
    };
    this.#extensionsOf = extensionsOfStatement(db, EXTENSIONS as TableDef<unknown>);
    this.#deleteExtensions = db.prepare(`DELETE FROM ${EXTENSIONS.table} WHERE key_handle = ?`);
    this.#target = this.#mutationTarget();
    this.#applyAll = db.transaction((mutations: readonly Mutation[]) => applyMutations(this.#target, mutations));
  }

  #open(): Db {
    if (this.#db === null) throw new SksError('STORAGE', 'Key store is closed');
    return this.#db;
  }

  load(): StoreSnapshot {
    const db = this.#open();
    try {
      const counters = readMeta(db, this.#keys);
      // One small object per row, no closure: opening a store of 10,000 keys allocates little.
      const handles = <T extends TableName>(table: T): Array<StoredRow<TableRecords[T]>> => {
        const reader = (h: number): TableRecords[T] => this.#read(table, h);
        return (this.#handles[table].all() as number[]).map((h) => new LazyRow(h, reader));
      };
      const hasDevice = db.prepare(`SELECT count(*) FROM ${DEVICE.table}`).pluck().get() as number;
      return {
        counters,
        device: hasDevice === 0 ? null : { handle: 1, read: () => this.#readDevice() },
        sessions: handles('sessions'),
        keys: handles('keys'),
        pinPolicies: handles('pinPolicies'),
        pukPolicies: handles('pukPolicies'),
      };
    } catch (error) {
      throw storageError(error, 'Key store could not be read');
    }
  }

  apply(mutations: readonly Mutation[]): void {
    this.#open();
    if (mutations.length === 0) return;
    try {
      this.#applyAll(mutations);
    } catch (error) {
      throw storageError(error, 'Key store could not be written');
    }
  }

  /** Keeps the opener gate (see openSqliteKeyStore) until close. */
  holdGate(gate: Db | null): void {
    this.#gate = gate;
  }

  close(): void {
    const db = this.#db;
    if (db === null) return;
    this.#db = null;
    db.close();
    this.#gate?.close();
    this.#gate = null;
    wipeKeys(this.#keys);
  }

  /** One verified, decoded record. */
  #read<T extends TableName>(table: T, handle: number): TableRecords[T] {
    this.#open();
    const def = DEFS[table] as TableDef<TableRow<T>>;
    try {
      const row = this.#s[table].get.get(handle) as SqlRow | undefined;
      if (row === undefined) throw damaged(def, String(handle), 'row is missing');
      const record = decodeRow(this.#keys, def, row);
      if (table !== 'keys') return record as TableRecords[T];
      return this.#withExtensions(record as KeyRow) as TableRecords[T];
    } catch (error) {
      throw storageError(error, `Stored ${def.what} ${handle} could not be read`);
    }
  }

  /** Joins a key row with its extension rows, which must be exactly the types the key row lists. */
  #withExtensions(row: KeyRow): KeyRecord {
    const { extensionTypes, ...rest } = row;
    const extensions = (this.#extensionsOf.all(row.handle) as SqlRow[]).map((r) => decodeRow(this.#keys, EXTENSIONS, r));
    const types = extensions.map((e) => e.type);
    if (types.length !== extensionTypes.length || types.some((t, i) => t !== extensionTypes[i])) {
      throw damaged(KEYS, String(row.handle), 'its extension rows do not match the key');
    }
    return {
      ...rest,
      extensions: extensions.map((e) => ({ type: e.type, subType: e.subType, qualifier: e.qualifier, data: e.data })),
    };
  }

  #readDevice(): DeviceRecord {
    this.#open();
    try {
      const row = this.#device.get.get(1) as SqlRow | undefined;
      if (row === undefined) throw damaged(DEVICE, '1', 'row is missing');
      const { privateKey, certificatePath } = decodeRow(this.#keys, DEVICE, row);
      return { privateKey, certificatePath };
    } catch (error) {
      throw storageError(error, 'Stored device identity could not be read');
    }
  }

  #mutationTarget(): MutationTarget {
    const keys = this.#keys;
    const statements = this.#s;
    return {
      put: (table, record) => {
        if (table === 'keys') {
          this.#putKey(record as KeyRecord);
          return;
        }
        const st = statements[table] as TableStatements<typeof record>;
        st.upsert.run(encodeRow(keys, st.def, record));
      },
      delete: (table, handle) => {
        statements[table].delete.run(handle); // a key's extensions go by ON DELETE CASCADE
      },
      patch: (table, handle, changes) => this.#patch(table, handle, changes),
      patchExtension: (handle, type, data) => {
        const st = this.#extensions;
        const row = st.get.get(handle, type) as SqlRow | undefined;
        if (row === undefined) return false;
        // Re-MAC only what verified: never launder an edited row with a fresh MAC.
        verifyRow(keys, EXTENSIONS, row);
        const dataColumn = EXTENSIONS.columns.filter((c) => c.field === 'data');
        encodeColumns(keys, EXTENSIONS, `${handle}:${type}`, dataColumn, { data }, row);
        row[MAC_COLUMN] = rowMac(keys, EXTENSIONS, row);
        st.update(dataColumn).run(row);
        return true;
      },
      // Rows that fail their MAC are left out: re-MACing them with a new owner would
      // launder the damage. They stay damaged, with their old (now dangling) owner.
      ownedBy: (table, owner) =>
        (this.#ownedBy[table].all(owner) as number[]).filter((handle) => {
          const st = statements[table] as TableStatements<TableRow<typeof table>>;
          const row = st.get.get(handle) as SqlRow | undefined;
          try {
            if (row !== undefined) verifyRow(keys, st.def, row);
            return row !== undefined;
          } catch {
            return false;
          }
        }),
      setCounters: (counters) => {
        this.#meta.upsert.run(encodeRow(keys, META, { id: 1, ...counters }));
      },
      putDevice: (device) => {
        this.#device.upsert.run(encodeRow(keys, DEVICE, { id: 1, ...device }));
      },
    };
  }

  #putKey(keyRecord: KeyRecord): void {
    const { extensions, ...rest } = keyRecord;
    const row: KeyRow = { ...rest, extensionTypes: extensions.map((e) => e.type) };
    this.#s.keys.upsert.run(encodeRow(this.#keys, KEYS, row));
    // A replaced key (postUpdateKey) brings its own extensions.
    this.#deleteExtensions.run(keyRecord.handle);
    extensions.forEach((e, position) =>
      this.#extensions.upsert.run(
        encodeRow(this.#keys, EXTENSIONS, { keyHandle: keyRecord.handle, type: e.type, position, subType: e.subType, qualifier: e.qualifier, data: e.data }),
      ),
    );
  }

  /**
   * A few fields of one row (the hot PIN counter write among them): read the
   * row, check its MAC, change the columns, re-MAC, write those columns and
   * the MAC. The secrets stay sealed as they are.
   */
  #patch<T extends TableName>(table: T, handle: number, changes: Partial<PatchableFields[T]>): boolean {
    const st = this.#s[table] as TableStatements<TableRow<T>>;
    const row = st.get.get(handle) as SqlRow | undefined;
    if (row === undefined) return false;
    verifyRow(this.#keys, st.def, row);
    const columns = st.def.columns.filter((c) => c.field in changes);
    encodeColumns(this.#keys, st.def, String(handle), columns, changes as Partial<TableRow<T>>, row);
    row[MAC_COLUMN] = rowMac(this.#keys, st.def, row);
    st.update(columns).run(row);
    return true;
  }
}
