/**
 * The thin SQL shim both adapters implement: run parameterized SQL, run a
 * transaction, hold the migration lock. Statements are written once, in the
 * subset of SQL that SQLite (3.35+, for RETURNING) and PostgreSQL share, with
 * PostgreSQL's `$n` placeholders; the SQLite driver rewrites the placeholders.
 * Values only ever travel as parameters: no value is spliced into SQL text.
 */
import { IssuerError } from '../errors.js';

export type Dialect = 'sqlite' | 'postgres';

/** A bound parameter: text, a safe integer, NULL or bytes (BLOB / BYTEA). */
export type SqlValue = string | number | null | Uint8Array;

/** A result row as the driver returns it; narrowed column by column by the decoders below. */
export type Row = Readonly<Record<string, unknown>>;

export interface SqlRunner {
  /** The rows of a SELECT, or of INSERT/UPDATE/DELETE … RETURNING. */
  all(sql: string, params?: readonly SqlValue[]): Promise<readonly Row[]>;
  /** Executes a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** Integrity constraints the repository maps to stable codes (UNIQUE/PRIMARY KEY, FOREIGN KEY, CHECK/NOT NULL). */
export type ConstraintViolation = 'unique' | 'foreign-key' | 'check';

export interface SqlDriver {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one write transaction, committed when it resolves and rolled
   * back when it throws. SQLite takes the write lock at BEGIN (IMMEDIATE), so
   * a read-then-write cannot be overtaken by another process.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` outside any transaction, for single-statement reads: no write
   * lock (SQLite) and one round trip per statement (PostgreSQL, straight on
   * the pool). Each statement sees the latest committed data.
   */
  read<T>(fn: (db: SqlRunner) => Promise<T>): Promise<T>;
  /** Like {@link transaction}, but also serializes against other processes migrating the same database. */
  migrationTransaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Which integrity constraint a driver error reports, if it is a constraint violation. */
  violation(e: unknown): ConstraintViolation | undefined;
  close(): Promise<void>;
}

// ------------------------------------------------------------------ decoders

const bad = (column: string, expected: string): IssuerError =>
  new IssuerError('INTERNAL', `issuer database: column ${column} is not ${expected}`, { field: column });

export const text = (row: Row, column: string): string => {
  const value = row[column];
  if (typeof value !== 'string') throw bad(column, 'text');
  return value;
};

export const textOrNull = (row: Row, column: string): string | null => (row[column] === null || row[column] === undefined ? null : text(row, column));

/** An integer column: SQLite returns numbers; the PostgreSQL driver is configured to parse BIGINT to number. */
export const int = (row: Row, column: string): number => {
  const value = row[column];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad(column, 'an integer');
  return value;
};

export const intOrNull = (row: Row, column: string): number | null => (row[column] === null || row[column] === undefined ? null : int(row, column));

/** Bytes as a plain Uint8Array copy, so callers never hold a driver's pooled Buffer. */
export const bytes = (row: Row, column: string): Uint8Array => {
  const value = row[column];
  if (!(value instanceof Uint8Array)) throw bad(column, 'bytes');
  return new Uint8Array(value);
};

/** Narrows a text column to one of a closed set of values. */
export const oneOf = <T extends string>(row: Row, column: string, allowed: readonly T[]): T => {
  const value = text(row, column);
  const found = allowed.find((a) => a === value);
  if (found === undefined) throw bad(column, allowed.join('|'));
  return found;
};

/** Wraps a driver failure: the message names only the operation; the driver error (which may quote values) is the cause. */
export const storageError = (operation: string, cause: unknown): IssuerError => new IssuerError('STORAGE', `issuer database: ${operation} failed`, { cause });
