/**
 * Versioned schema migrations, one list for both dialects.
 *
 * Each migration is written once in the SQL both databases accept; the few
 * type names that differ come from {@link types}. `openIssuerDatabase` runs
 * the missing ones at start, all in one transaction that holds the migration
 * lock (PostgreSQL: `pg_advisory_xact_lock`; SQLite: the write lock of
 * `BEGIN IMMEDIATE`), so two processes starting together migrate once and a
 * failed migration leaves the schema as it was. Applied versions are rows of
 * `schema_migrations`. Never edit a released migration: append a new one.
 */
import { IssuerError } from '../errors.js';
import { int, type Dialect, type SqlDriver } from './sql.js';

interface DialectTypes {
  /** 64-bit integer (epoch milliseconds). */
  readonly i64: string;
  readonly bytes: string;
  /** An increasing integer primary key that is never reused. */
  readonly serialKey: string;
  /** Table options: SQLite's STRICT makes it enforce the declared column types, as PostgreSQL does. */
  readonly tableSuffix: string;
}

export const types = (d: Dialect): DialectTypes =>
  d === 'sqlite'
    ? { i64: 'INTEGER', bytes: 'BLOB', serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT', tableSuffix: ' STRICT' }
    : { i64: 'BIGINT', bytes: 'BYTEA', serialKey: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', tableSuffix: '' };

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: (d: Dialect) => readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'enrollments, sessions, devices, issuance, credentials, operations, key management keys',
    statements: (dialect) => {
      const { i64, bytes, serialKey, tableSuffix: text } = types(dialect);
      return [
        `CREATE TABLE enrollments (
          id TEXT PRIMARY KEY,
          token_sha256 ${bytes} NOT NULL UNIQUE,
          template TEXT NOT NULL,
          user_name TEXT NOT NULL,
          user_email TEXT,
          state TEXT NOT NULL CHECK (state IN ('created', 'used', 'expired')),
          created_at ${i64} NOT NULL,
          expires_at ${i64} NOT NULL,
          used_at ${i64},
          session_id TEXT UNIQUE
        )${text}`,
        `CREATE INDEX enrollments_expiry ON enrollments (expires_at) WHERE state = 'created'`,
        `CREATE TABLE devices (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('certificate', 'privacy')),
          certificate_sha256 TEXT UNIQUE,
          subject TEXT,
          certificate ${bytes},
          first_seen ${i64} NOT NULL,
          last_seen ${i64} NOT NULL,
          CHECK ((kind = 'certificate') = (certificate_sha256 IS NOT NULL AND subject IS NOT NULL AND certificate IS NOT NULL)),
          CHECK (kind = 'certificate' OR (certificate_sha256 IS NULL AND subject IS NULL AND certificate IS NULL))
        )${text}`,
        `CREATE TABLE sessions (
          id TEXT PRIMARY KEY,
          enrollment_id TEXT REFERENCES enrollments (id),
          management_device_id TEXT REFERENCES devices (id),
          status TEXT NOT NULL CHECK (status IN ('active', 'done', 'failed')),
          state TEXT NOT NULL,
          step INTEGER NOT NULL CHECK (step >= 0),
          last_request_sha256 TEXT NOT NULL,
          response_kind TEXT NOT NULL CHECK (response_kind IN ('body', 'redirect')),
          response_content_type TEXT,
          response_body TEXT NOT NULL,
          failure_reason TEXT,
          created_at ${i64} NOT NULL,
          updated_at ${i64} NOT NULL,
          CHECK ((enrollment_id IS NULL) <> (management_device_id IS NULL))
        )${text}`,
        `CREATE TABLE key_management_keys (
          id TEXT PRIMARY KEY,
          issuer TEXT NOT NULL,
          spki ${bytes} NOT NULL,
          private_key_ref TEXT NOT NULL,
          previous_id TEXT REFERENCES key_management_keys (id),
          created_at ${i64} NOT NULL,
          retired_at ${i64}
        )${text}`,
        // At most one current KMK per issuer: a concurrent roll-over loses on this index.
        `CREATE UNIQUE INDEX key_management_keys_current ON key_management_keys (issuer) WHERE retired_at IS NULL`,
        `CREATE TABLE issuance_intents (
          session_id TEXT NOT NULL REFERENCES sessions (id),
          key_id TEXT NOT NULL,
          serial TEXT NOT NULL UNIQUE,
          device_id TEXT REFERENCES devices (id),
          plan TEXT NOT NULL,
          created_at ${i64} NOT NULL,
          completed_at ${i64},
          PRIMARY KEY (session_id, key_id)
        )${text}`,
        `CREATE TABLE credentials (
          fingerprint TEXT PRIMARY KEY,
          session_id TEXT NOT NULL,
          key_id TEXT NOT NULL,
          device_id TEXT REFERENCES devices (id),
          serial TEXT NOT NULL UNIQUE,
          certificate ${bytes} NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('issued', 'revoked', 'deleted')),
          kmk_id TEXT REFERENCES key_management_keys (id),
          issued_at ${i64} NOT NULL,
          updated_at ${i64} NOT NULL,
          UNIQUE (session_id, key_id),
          FOREIGN KEY (session_id, key_id) REFERENCES issuance_intents (session_id, key_id)
        )${text}`,
        `CREATE INDEX credentials_device ON credentials (device_id)`,
        // seq orders a device's operations as they were scheduled (timestamps tie within a millisecond).
        `CREATE TABLE scheduled_operations (
          seq ${serialKey},
          id TEXT NOT NULL UNIQUE,
          kind TEXT NOT NULL CHECK (kind IN ('delete', 'unlock', 'update')),
          credential_fingerprint TEXT NOT NULL REFERENCES credentials (fingerprint),
          device_id TEXT REFERENCES devices (id),
          status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
          payload TEXT NOT NULL,
          session_id TEXT,
          outcome TEXT,
          created_at ${i64} NOT NULL,
          updated_at ${i64} NOT NULL
        )${text}`,
        `CREATE INDEX scheduled_operations_device ON scheduled_operations (device_id, status)`,
      ];
    },
  },
  {
    version: 2,
    name: 'audit log',
    statements: (dialect) => {
      const { i64, serialKey, tableSuffix: text } = types(dialect);
      return [
        `CREATE TABLE audit_events (
          seq ${serialKey},
          at ${i64} NOT NULL,
          kind TEXT NOT NULL,
          session_id TEXT,
          detail TEXT NOT NULL
        )${text}`,
        `CREATE INDEX audit_events_session ON audit_events (session_id, seq)`,
      ];
    },
  },
  {
    version: 3,
    name: 'CRL: revoked-credentials index, CRL numbers',
    statements: (dialect) => {
      const { i64, tableSuffix: text } = types(dialect);
      return [
        // Only the revoked rows, and all the CRL needs of them: the CRL's queries never touch certificates.
        `CREATE INDEX credentials_revoked ON credentials (updated_at, serial) WHERE status = 'revoked'`,
        // The last CRL number given out per issuing CA (by its certificate's SHA-256), shared by every process.
        `CREATE TABLE crl_numbers (
          ca_sha256 TEXT PRIMARY KEY,
          last_number ${i64} NOT NULL CHECK (last_number >= 0),
          updated_at ${i64} NOT NULL
        )${text}`,
      ];
    },
  },
  {
    version: 4,
    name: 'session expiry',
    statements: (dialect) => {
      const { i64 } = types(dialect);
      return [
        // The default only fills the rows that exist now; every insert gives the expiry.
        `ALTER TABLE sessions ADD COLUMN expires_at ${i64} NOT NULL DEFAULT 0`,
        // Sessions begun before the expiry was recorded get a day, the longest lifetime this issuer
        // gives a management session (enrollment sessions default to an hour): too late only delays a clean-up.
        `UPDATE sessions SET expires_at = created_at + 86400000`,
        `CREATE INDEX sessions_expiry ON sessions (expires_at) WHERE status = 'active'`,
      ];
    },
  },
];

/**
 * Applies the migrations missing from the database, in order, in one
 * transaction under the migration lock; returns all applied versions. A
 * database migrated by a newer issuer (an unknown version) is refused with
 * CONFIG rather than used with a schema this code does not know.
 */
export const migrate = async (driver: SqlDriver, now: number, migrations: readonly Migration[] = MIGRATIONS): Promise<readonly number[]> =>
  driver.migrationTransaction(async (tx) => {
    const { i64, tableSuffix } = types(driver.dialect);
    await tx.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at ${i64} NOT NULL
      )${tableSuffix}`,
    );
    const rows = await tx.all('SELECT version FROM schema_migrations ORDER BY version');
    const applied = new Set(rows.map((r) => int(r, 'version')));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v));
    if (unknown.length > 0) {
      throw new IssuerError('CONFIG', `issuer database: schema version ${Math.max(...unknown)} is newer than this issuer knows; upgrade the issuer`);
    }
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements(driver.dialect)) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, now]);
      applied.add(migration.version);
    }
    return [...applied].sort((a, b) => a - b);
  });
