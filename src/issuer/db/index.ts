/**
 * The issuer's database: {@link openIssuerDatabase} picks the adapter from its
 * argument (a `postgres://` URL, else a SQLite file path), runs the schema
 * migrations and returns the {@link IssuerDatabase} port.
 */
import { IssuerError, isIssuerError } from '../errors.js';
import type { IssuerDatabase } from './port.js';
import { openPostgresDriver, type PostgresOptions } from './postgres.js';
import type { SqlDriver } from './sql.js';
import { sqlIssuerDatabase, type IssuerDatabaseEnvironment } from './repository.js';
import { openSqliteDriver, type SqliteOptions } from './sqlite.js';

export type * from './port.js';
export { replayOf } from './port.js';
export { MIGRATIONS } from './migrations.js';
export type { IssuerDatabaseEnvironment } from './repository.js';
export type { PostgresOptions } from './postgres.js';
export type { SqliteOptions } from './sqlite.js';

export interface OpenIssuerDatabaseOptions extends IssuerDatabaseEnvironment, PostgresOptions, SqliteOptions {}

const POSTGRES_URL = /^postgres(?:ql)?:\/\//i;

/** Whether `target` names a PostgreSQL server rather than a SQLite file. */
export const isPostgresUrl = (target: string): boolean => POSTGRES_URL.test(target);

/**
 * Opens the issuer database and brings its schema up to date.
 *
 * @param target `postgres://user:password@host:5432/db` (or `postgresql://`)
 *   for PostgreSQL, shared by several issuer processes; anything else is a
 *   SQLite file path (created if missing; `:memory:` for a throwaway one).
 *
 * @example
 * ```ts
 * const db = await openIssuerDatabase(process.env.ISSUER_DB ?? 'issuer.sqlite');
 * ```
 */
export const openIssuerDatabase = async (target: string, options: OpenIssuerDatabaseOptions = {}): Promise<IssuerDatabase> => {
  const postgres = isPostgresUrl(target);
  let driver: SqlDriver;
  try {
    driver = postgres ? await openPostgresDriver(target, options) : await openSqliteDriver(target, options);
  } catch (error) {
    if (isIssuerError(error)) throw error;
    // Never the target in the message: a URL may carry a password.
    throw new IssuerError('STORAGE', `issuer database: cannot open the ${postgres ? 'PostgreSQL' : 'SQLite'} database`, {
      cause: error,
    });
  }
  return sqlIssuerDatabase(driver, options);
};
