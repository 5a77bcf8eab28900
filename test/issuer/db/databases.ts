/**
 * The adapters the issuer database suite runs against (STYLE #13: one suite,
 * every adapter). `AIRTIGHT_ISSUER_DBS=sqlite,postgres` picks some (default:
 * all). PostgreSQL needs `AIRTIGHT_TEST_PG_URL` (`.ci/run` sets it up); without
 * it the PostgreSQL runs are skipped with a visible message, except under CI,
 * where that is a failure.
 *
 * Each fixture is a fresh store: a SQLite file in a new temp directory, or a
 * new PostgreSQL schema with a random name (dropped at dispose), so test files
 * running in parallel never share tables.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openIssuerDatabase, type IssuerDatabase, type OpenIssuerDatabaseOptions } from '../../../src/issuer/db/index.js';
import { openPostgresDriver } from '../../../src/issuer/db/postgres.js';
import type { SqlDriver } from '../../../src/issuer/db/sql.js';
import { openSqliteDriver } from '../../../src/issuer/db/sqlite.js';

export interface IssuerDatabaseFixture {
  /** Opens one more instance (its own connection or pool: "another process") on this fixture's store. */
  open(options?: OpenIssuerDatabaseOptions): Promise<IssuerDatabase>;
  /** What another process passes to `openIssuerDatabase` to reach this store. */
  readonly location: { readonly target: string; readonly schema: string };
  /** A raw SQL driver on the store, for tests that reach under the port (migrations). */
  driver(): Promise<SqlDriver>;
  /** Closes every instance and driver opened, and deletes the store. */
  dispose(): Promise<void>;
}

export interface IssuerDatabaseKind {
  readonly name: 'sqlite' | 'postgres';
  /** Why this adapter cannot run here, or undefined when it can. */
  readonly unavailable: string | undefined;
  create(): Promise<IssuerDatabaseFixture>;
}

/** Tracks what a fixture opened so dispose closes it all. */
const tracker = () => {
  const open: Array<{ close(): Promise<void> }> = [];
  return {
    track: <T extends { close(): Promise<void> }>(input: T): T => {
      open.push(input);
      return input;
    },
    closeAll: async () => {
      for (const input of open.splice(0).reverse()) await input.close().catch(() => undefined);
    },
  };
};

const sqlite: IssuerDatabaseKind = {
  name: 'sqlite',
  unavailable: undefined,
  create: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airtight-issuer-db-'));
    const file = join(dir, 'issuer.sqlite');
    const item = tracker();
    return {
      location: { target: file, schema: '' },
      open: async (options = {}) => item.track(await openIssuerDatabase(file, options)),
      driver: async () => item.track(await openSqliteDriver(file)),
      dispose: async () => {
        await item.closeAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const PG_URL = process.env['AIRTIGHT_TEST_PG_URL'];

const postgres: IssuerDatabaseKind = {
  name: 'postgres',
  unavailable: PG_URL === undefined || PG_URL === '' ? 'AIRTIGHT_TEST_PG_URL is not set (run .ci/postgres.sh, then export the URL it prints)' : undefined,
  create: async () => {
    if (PG_URL === undefined) throw new Error('AIRTIGHT_TEST_PG_URL is not set');
    // Our own random name: the identifier is never from input.
    const schema = `airtight_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    const item = tracker();
    return {
      location: { target: PG_URL, schema },
      open: async (options = {}) => item.track(await openIssuerDatabase(PG_URL, { ...options, schema })),
      driver: async () => item.track(await openPostgresDriver(PG_URL, { schema })),
      dispose: async () => {
        await item.closeAll();
        try {
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        } finally {
          await admin.end();
        }
      },
    };
  },
};

const selected = (process.env['AIRTIGHT_ISSUER_DBS'] ?? 'sqlite,postgres')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');

const ALL = [sqlite, postgres] as const;
const unknownNames = selected.filter((s) => !ALL.some((k) => k.name === s));
if (unknownNames.length > 0) {
  // A typo must not quietly run nothing.
  throw new Error(`AIRTIGHT_ISSUER_DBS names unknown adapters: ${unknownNames.join(', ')} (known: sqlite, postgres)`);
}

/** The adapters this run covers, in a stable order. */
export const ISSUER_DATABASES: readonly IssuerDatabaseKind[] = ALL.filter((k) => selected.includes(k.name));

/** Under CI every selected adapter must run: a missing PostgreSQL is a failure, not a skip. */
export const MUST_RUN_ALL = process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false';
