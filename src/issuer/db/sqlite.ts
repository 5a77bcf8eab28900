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
 * Group commit: transactions queued behind one another share one SQLite
 * transaction (each after the first in a SAVEPOINT) and one COMMIT, i.e. one
 * fsync, and each resolves only after that COMMIT; reads outside transactions
 * go to a second, read-only connection, which sees committed data only.
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

/** What a rejection carries: the thrown value itself when it is an Error (drivers throw Errors), else one wrapping it. */
const asError = (value: unknown): Error => (value instanceof Error ? value : new Error('SQLite failure', { cause: value }));

/** Rewrites `$n` placeholders to `?` and returns the parameter order they need (a `$n` may repeat). */
const rewrite = (sql: string): { readonly sql: string; readonly order: readonly number[] } => {
  const order: number[] = [];
  const out = sql.replace(/\$(\d+)/g, (_m, index: string) => {
    order.push(Number(index) - 1);
    return '?';
  });
  return { sql: out, order };
};

/** better-sqlite3 binds Buffers, not plain Uint8Arrays. */
const bind = (v: SqlValue): unknown => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

const isRow = (r: unknown): r is Row => typeof r === 'object' && r !== null;

const isBusy = (e: unknown): boolean => e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_BUSY');

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

/** Most transactions one COMMIT covers (a bound on how long a batch's first caller waits). */
const MAX_BATCH = 256;

const args = (order: readonly number[], params: readonly SqlValue[]): unknown[] => order.map((i) => bind(params[i] ?? null));

/** Statements of one connection, prepared once. Runs synchronously; async only to present one interface with PostgreSQL. */
const runnerOn = (db: SqliteDatabaseSlice): SqlRunner => {
  const statements = new Map<string, { readonly stmt: SqliteStatementSlice; readonly order: readonly number[] }>();
  const prepared = (sql: string): { readonly stmt: SqliteStatementSlice; readonly order: readonly number[] } => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      const rewritten = rewrite(sql);
      statement = { stmt: db.prepare(rewritten.sql), order: rewritten.order };
      statements.set(sql, statement);
    }
    return statement;
  };
  // Promise.resolve/reject rather than async bodies with nothing to await: a driver throw is a rejection, as with pg.
  return {
    all: (sql, params = []) => {
      try {
        const statement = prepared(sql);
        return Promise.resolve(statement.stmt.all(...args(statement.order, params)).filter(isRow));
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
    run: (sql, params = []) => {
      try {
        const statement = prepared(sql);
        return Promise.resolve(statement.stmt.run(...args(statement.order, params)).changes);
      } catch (error) {
        return Promise.reject(asError(error));
      }
    },
  };
};

/**
 * Wraps an open better-sqlite3 database (pragmas are set here). `reader`, a
 * second connection on the same file, serves reads outside transactions
 * (without it they queue behind the writes).
 */
export const sqliteDriver = (db: SqliteDatabaseSlice, options: SqliteOptions = {}, reader?: SqliteDatabaseSlice): SqlDriver => {
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

  if (reader !== undefined) reader.pragma(`busy_timeout = ${Math.min(busyTimeoutMs, 10)}`);
  const runner = runnerOn(db);

  const exclusive = serial();
  // Group commit. Transactions that arrive while others are queued or running share one
  // SQLite transaction (the first bare, each later one in a SAVEPOINT, so a failing one
  // rolls back only itself) and one COMMIT, hence one WAL fsync. None of them is answered
  // before that COMMIT returned: every caller still sees its write durable before it
  // resolves, exactly as with one COMMIT each. Results that failed are held too, since
  // they may rest on a batch-mate's uncommitted write.
  let queued = 0;
  let batch: { settle: Array<(failure: unknown) => void> } | undefined;
  let commitScheduled = false;
  const commit = (): void => {
    const current = batch;
    if (current === undefined) return;
    batch = undefined;
    let failure: unknown;
    try {
      db.exec('COMMIT');
    } catch (error) {
      failure = error;
      if (db.inTransaction) db.exec('ROLLBACK');
    }
    for (const settle of current.settle) settle(failure);
  };
  // Commits once nothing else waits for the lock (after this turn's I/O had its chance to
  // join), or when the batch is full, so a steady stream of writes cannot starve it.
  const maybeCommit = (): void => {
    if (batch !== undefined && batch.settle.length >= MAX_BATCH) {
      commit();
      return;
    }
    if (queued > 0 || commitScheduled) return;
    commitScheduled = true;
    setImmediate(() => {
      commitScheduled = false;
      if (queued === 0) {
        void exclusive(() => {
          commit();
          return Promise.resolve();
        });
      }
    });
  };
  const transaction = <T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> => {
    queued++;
    return new Promise<T>((resolve, reject) => {
      void exclusive(async () => {
        queued--;
        let outcome: { ok: true; value: T } | { ok: false; error: unknown };
        const first = batch === undefined;
        try {
          if (first) {
            await begin();
            batch = { settle: [] };
          }
        } catch (error) {
          reject(asError(error));
          maybeCommit();
          return;
        }
        const current = batch!;
        if (!first) db.exec('SAVEPOINT airtight_tx');
        try {
          const value = await fn(runner);
          if (!first) db.exec('RELEASE airtight_tx');
          outcome = { ok: true, value };
        } catch (error) {
          outcome = { ok: false, error };
          if (first) {
            // Nothing else in the batch yet: roll it all back and answer at once.
            if (db.inTransaction) db.exec('ROLLBACK');
            batch = undefined;
            reject(asError(error));
            maybeCommit();
            return;
          }
          if (db.inTransaction) {
            db.exec('ROLLBACK TO airtight_tx');
            db.exec('RELEASE airtight_tx');
          } else {
            // SQLite ended the whole transaction (I/O error, disk full): the batch is lost.
            batch = undefined;
            for (const settle of current.settle) settle(error);
            reject(asError(error));
            maybeCommit();
            return;
          }
        }
        current.settle.push((failure) => {
          if (failure !== undefined) reject(asError(failure));
          else if (outcome.ok) resolve(outcome.value);
          else reject(asError(outcome.error));
        });
        maybeCommit();
      });
    });
  };

  // Reads of committed data: on the reader connection when there is one (WAL: it sees
  // only committed transactions, so never a batch-mate's unanswered write); else queued
  // like a transaction, so nothing uncommitted is read and answered before its COMMIT.
  const read = <T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> => (reader === undefined ? transaction(fn) : fn(readRunner!));
  const readRunner = reader === undefined ? undefined : runnerOn(reader);

  return {
    dialect: 'sqlite',
    transaction,
    read,
    // BEGIN IMMEDIATE already excludes every other writer of the file, migrating or not.
    migrationTransaction: transaction,
    violation: (error) => (error instanceof Error && 'code' in error ? SQLITE_VIOLATIONS.get(String(error.code)) : undefined),
    close: () =>
      exclusive(() => {
        commit();
        db.close();
        reader?.close();
        return Promise.resolve();
      }),
  };
};

/** Opens (creating if needed) the SQLite file at `path` (`:memory:` for a private in-memory database). */
export const openSqliteDriver = async (path: string, options: SqliteOptions = {}): Promise<SqlDriver> => {
  // Loaded here, not at import, so code that never opens SQLite never loads the native module.
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path);
  // A second connection for reads, except on a private in-memory database (it would be another one).
  const memory = path === '' || path === ':memory:' || path.startsWith('file::memory:');
  try {
    return sqliteDriver(db, options, memory ? undefined : new Database(path, { readonly: true, fileMustExist: true }));
  } catch (error) {
    db.close();
    throw error;
  }
};
