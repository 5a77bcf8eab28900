/**
 * PostgreSQL adapter (several issuer processes serving one population) over
 * a `pg` pool.
 *
 * Each transaction takes its own pooled connection at READ COMMITTED. That is
 * enough for every race the port promises to settle: the compare-and-set and
 * consume statements are single conditional UPDATEs (`… WHERE id = $1 AND
 * step = $2`), which PostgreSQL re-evaluates on the newest row version after
 * waiting for a concurrent writer, so exactly one of two racing processes
 * changes the row and the other sees zero rows; inserts that may race use
 * `ON CONFLICT DO NOTHING` and read the winner back.
 */
import { IssuerError } from '../errors.js';
import type { ConstraintViolation, Row, SqlDriver, SqlRunner, SqlValue } from './sql.js';

/** The slice of a `pg` query result this adapter uses. */
export interface PgResultSlice {
  readonly rows: readonly unknown[];
  readonly rowCount: number | null;
}

/** The slice of a `pg` pooled client this adapter uses. */
export interface PgClientSlice {
  query(text: string, values?: unknown[]): Promise<PgResultSlice>;
  /** `true` destroys the connection instead of returning it to the pool. */
  release(destroy?: boolean): void;
}

/** The slice of a `pg.Pool` this adapter uses (so it never needs `pg`'s types, and tests may pass any such pool). */
export interface PgPoolSlice {
  connect(): Promise<PgClientSlice>;
  query(text: string, values?: unknown[]): Promise<PgResultSlice>;
  end(): Promise<void>;
}

export interface PostgresOptions {
  /**
   * Schema the tables live in (it must exist), set as the connections'
   * `search_path`. Lowercase letters, digits and `_`. Default: the role's
   * default search path (usually `public`).
   */
  readonly schema?: string;
  /** Pool size. Default 10. */
  readonly maxConnections?: number;
}

const isRow = (r: unknown): r is Row => typeof r === 'object' && r !== null;

const runnerFor = (client: Pick<PgClientSlice, 'query'>): SqlRunner => ({
  all: async (sql, params: readonly SqlValue[] = []) => (await client.query(sql, [...params])).rows.filter(isRow),
  run: async (sql, params: readonly SqlValue[] = []) => (await client.query(sql, [...params])).rowCount ?? 0,
});

/** SQLSTATEs of the integrity constraint violations. */
const PG_VIOLATIONS: ReadonlyMap<string, ConstraintViolation> = new Map([
  ['23505', 'unique'],
  ['23503', 'foreign-key'],
  ['23514', 'check'],
  ['23502', 'check'],
]);

/** Wraps a pool whose connections already use the right schema and parse BIGINT as number (see {@link openPostgresDriver}). */
export const postgresDriver = (pool: PgPoolSlice): SqlDriver => {
  const transaction = async <T>(fn: (tx: SqlRunner) => Promise<T>, lockMigrations = false): Promise<T> => {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      // Held to the end of this transaction; keyed on the schema, so issuers on
      // different schemas of one database do not wait for each other.
      if (lockMigrations) {
        await client.query(`SELECT pg_advisory_xact_lock(hashtext('airtight issuer migrations ' || current_schema()))`);
      }
      const result = await fn(runnerFor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is unusable; do not hand it to the next caller
      }
      throw error;
    } finally {
      client.release(broken);
    }
  };
  return {
    dialect: 'postgres',
    transaction: (fn) => transaction(fn),
    read: (fn) => fn(runnerFor(pool)),
    migrationTransaction: (fn) => transaction(fn, true),
    violation: (e) => (e instanceof Error && 'code' in e ? PG_VIOLATIONS.get(String(e.code)) : undefined),
    close: () => pool.end(),
  };
};

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

/** Opens a pool on `url` (`postgres://user:password@host:port/database`). */
export const openPostgresDriver = async (url: string, options: PostgresOptions = {}): Promise<SqlDriver> => {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    // An identifier cannot be a bind parameter, so only plain names are accepted.
    throw new IssuerError('CONFIG', 'issuer database: schema name must match [a-z_][a-z0-9_]*', { field: 'schema' });
  }
  // Loaded here, not at import, so an issuer on SQLite never loads pg.
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
    // Per pool, not pg's global type registry: BIGINT (epoch milliseconds,
    // identity keys, counts) as number; the row decoders reject unsafe integers.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
        oid === INT8_OID && format !== 'binary'
          ? (v: string) => Number(v)
          : (pg.types.getTypeParser as (oid: number, format: 'text' | 'binary') => unknown)(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return postgresDriver(pool);
};
