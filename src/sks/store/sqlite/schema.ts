/**
 * The SQLite schema, generated from the column tables (`columns.ts`).
 *
 * `PRAGMA user_version` is the storage format: 2 = row MACs (this code).
 * Format 1 (development builds before row integrity) is read whole and
 * rewritten as format 2 in the opening transaction (see `v1.ts`). A column added to a table later (with a declared default) is
 * added to existing stores by {@link ensureSchema}; older rows keep valid MACs
 * because a column holding its default is left out of the MAC.
 */
import type Database from 'better-sqlite3';
import { SksError } from '../../errors.js';
import type { StoreContents } from '../records.js';
import { FORMAT1_TABLES, readFormat1 } from './v1.js';
import { DEVICE, EXTENSIONS, KEYS, META, PIN_POLICIES, PUK_POLICIES, SESSIONS, type Column, type SqlValue, type TableDef } from './columns.js';
import { MAC_COLUMN } from './rows.js';

export const SCHEMA_VERSION = 2;

/** Every table, parents before children. */
const TABLES = [META, DEVICE, SESSIONS, KEYS, EXTENSIONS, PIN_POLICIES, PUK_POLICIES] as const;

const literal = (v: SqlValue): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

function columnSql(item: Column<never>, single: boolean): string {
  const parts = [item.column, item.sqlType];
  if (single) parts.push('PRIMARY KEY');
  if (!item.nullable) parts.push('NOT NULL');
  if (item.defaultValue !== undefined) parts.push(`DEFAULT ${literal(item.defaultValue)}`);
  return parts.join(' ');
}

function createTableSql(def: TableDef<never>): string {
  const single = def.key.length === 1;
  const columns = def.columns.map((c) => columnSql(c, single && c.column === def.key[0]));
  columns.push(`${MAC_COLUMN} BLOB NOT NULL`);
  if (!single) columns.push(`PRIMARY KEY (${def.key.join(', ')})`);
  // Extensions go with their key: deleting a key row deletes them.
  if (def === (EXTENSIONS as TableDef<unknown>)) columns.push('FOREIGN KEY (key_handle) REFERENCES keys (handle) ON DELETE CASCADE');
  return `CREATE TABLE ${def.table} (\n  ${columns.join(',\n  ')}\n) STRICT`;
}

export type SchemaState =
  | { readonly kind: 'created' }
  | { readonly kind: 'existing' }
  /** A format 1 store, read whole: its tables are now format 2 and empty, the caller writes `contents`. */
  | { readonly kind: 'migrated'; readonly contents: StoreContents };

function createTables(db: Database.Database): void {
  for (const def of TABLES) db.exec(createTableSql(def));
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** Creates the tables of a new store, migrates format 1, or adds columns declared since; call in a write transaction. */
export function ensureSchema(db: Database.Database, sealKey: Buffer): SchemaState {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new SksError('STORAGE', `Key store format ${version} is newer than supported (${SCHEMA_VERSION})`);
  }
  if (version === 1) {
    const contents = readFormat1(db, sealKey);
    for (const table of FORMAT1_TABLES) db.exec(`DROP TABLE ${table}`);
    createTables(db);
    return { kind: 'migrated', contents };
  }
  if (version === 0) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (tables.n !== 0) throw new SksError('STORAGE', 'The file is not an airtight key store');
    createTables(db);
    return { kind: 'created' };
  }
  for (const def of TABLES as ReadonlyArray<TableDef<never>>) {
    const present = new Set((db.prepare(`PRAGMA table_info(${def.table})`).all() as Array<{ name: string }>).map((r) => r.name));
    if (present.size === 0) throw new SksError('STORAGE', `Key store table ${def.table} is missing`);
    for (const item of def.columns) {
      if (present.has(item.column)) continue;
      if (item.defaultValue === undefined) {
        throw new SksError('STORAGE', `Key store column ${def.table}.${item.column} is missing and has no default`);
      }
      db.exec(`ALTER TABLE ${def.table} ADD COLUMN ${columnSql(item, false)}`);
    }
  }
  return { kind: 'existing' };
}
