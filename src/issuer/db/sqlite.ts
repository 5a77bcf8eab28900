/**
 * SQLite adapter (the embedded default: a file, no setup) over better-sqlite3.
 *
 * better-sqlite3 is synchronous and one connection has one transaction at a
 * time, so every call here is queued on one in-process lock: a transaction
 * whose callback awaits cannot interleave with another call on the same
 * connection (which would see, or commit, its half-done writes). Other
 * connections on the same file (other processes, or another instance in this
 * one) are kept out by SQLite's own locks: writes begin with `BEGIN IMMEDIATE`
 * (the write lock is taken before the first read, so a read-then-write cannot
 * be overtaken). A busy lock is waited for *asynchronously* (retry with
 * backoff up to the busy timeout) rather than in SQLite's busy handler, which
 * sleeps on the event loop's thread: in one process that would also stall
 * the lock's holder, which could then never finish.
 * Durability: WAL with `synchronous=FULL`, so a resolved write survives power loss.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConstraintViolation, Row, SqlDriver, SqlRunner, SqlValue } from './sql.js';

/** The slice of a better-sqlite3 statement this adapter uses. */
export interface SqliteStatementSlice {
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}

/** The slice of a better-sqlite3 `Database` this adapter uses (so tests may pass any such object). */
export interface SqliteDatabaseSlice {
  prepare(sql: string): SqliteStatementSlice;
  exec(sql: string): unknown;
  pragma(source: string): unknown;
  close(): unknown;
  readonly inTransaction: boolean;
}

export interface SqliteOptions {
  /** How long a write waits for another connection's write lock before failing with STORAGE (ms). Default 5000. */
  readonly busyTimeoutMs?: number;
}

/** Rewrites `$n` placeholders to `?` and returns the parameter order they need (a `$n` may repeat). */
const rewrite = (sql: string): { readonly sql: string; readonly order: readonly number[] } => {
  const order: number[] = [];
  const out = sql.replace(/\$(\d+)/g, (_m, name: string) => {
    order.push(Number(name) - 1);
    return '?';
  });
  return { sql: out, order };
};

/** better-sqlite3 binds Buffers, not plain Uint8Arrays. */
const bind = (v: SqlValue): unknown =>
  v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;

const isRow = (r: unknown): r is Row => typeof r === 'object' && r !== null;

const isBusy = (e: unknown): boolean =>
  e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY');

/** A FIFO lock: each task starts when the previous one settled. */
const serial = (): (<T>(task: () => Promise<T>) => Promise<T>) => {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const result = tail.then(task, task);
    tail = result.catch(() => undefined);
    return result;
  };
};

/** better-sqlite3's extended result codes for constraint failures. */
const SQLITE_VIOLATIONS: ReadonlyMap<string, ConstraintViolation> = new Map([
  ['SQLITE_CONSTRAINT_UNIQUE', 'unique'],
  ['SQLITE_CONSTRAINT_PRIMARYKEY', 'unique'],
  ['SQLITE_CONSTRAINT_FOREIGNKEY', 'foreign-key'],
  ['SQLITE_CONSTRAINT_CHECK', 'check'],
  ['SQLITE_CONSTRAINT_NOTNULL', 'check'],
]);

/** Wraps an open better-sqlite3 database (pragmas are set here). */
export const sqliteDriver = (db: SqliteDatabaseSlice, options: SqliteOptions = {}): SqlDriver => {
  const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000));
  // Opening may wait (switching a new file to WAL takes an exclusive lock); later,
  // SQLite's own handler only covers short internal waits, BEGIN retries below.
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.min(busyTimeoutMs, 10)}`);

  const begin = async (): Promise<void> => {
    const deadline = Date.now() + busyTimeoutMs;
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        db.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error;
      }
      await sleep(delay);
    }
  };

  const statements = new Map<string, { readonly stmt: SqliteStatementSlice; readonly order: readonly number[] }>();
  const prepared = (sql: string): { readonly stmt: SqliteStatementSlice; readonly order: readonly number[] } => {
    let params = statements.get(sql);
    if (params === undefined) {
      const result = rewrite(sql);
      params = { stmt: db.prepare(result.sql), order: result.order };
      statements.set(sql, params);
    }
    return params;
  };
  const args = (order: readonly number[], params: readonly SqlValue[]): unknown[] =>
    order.map((i) => bind(params[i] ?? null));

  // Runs synchronously; async only to present one interface with PostgreSQL.
  const runner: SqlRunner = {
    // eslint-disable-next-line @typescript-eslint/require-await -- async so a driver throw is a rejection, as with pg
    all: async (sql, params = []) => {
      const statement = prepared(sql);
      return statement.stmt.all(...args(statement.order, params)).filter(isRow);
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- as above
    run: async (sql, params = []) => {
      const statement = prepared(sql);
      return statement.stmt.run(...args(statement.order, params)).changes;
    },
  };

  const exclusive = serial();
  const transaction = <T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> =>
    exclusive(async () => {
      await begin();
      try {
        const result = await fn(runner);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    });

  return {
    dialect: 'sqlite',
    transaction,
    // Queued like the rest: no transaction of this connection is half done while it runs.
    read: (fn) => exclusive(() => fn(runner)),
    // BEGIN IMMEDIATE already excludes every other writer of the file, migrating or not.
    migrationTransaction: transaction,
    violation: (e) => (e instanceof Error && 'code' in e ? SQLITE_VIOLATIONS.get(String(e.code)) : undefined),
    close: () =>
      exclusive(() => {
        db.close();
        return Promise.resolve();
      }),
  };
};

/** Opens (creating if needed) the SQLite file at `path` (`:memory:` for a private in-memory database). */
export const openSqliteDriver = async (path: string, options: SqliteOptions = {}): Promise<SqlDriver> => {
  // Loaded here, not at import, so code that never opens SQLite never loads the native module.
  const { default: Database } = await import('better-sqlite3');
  return sqliteDriver(new Database(path), options);
};
