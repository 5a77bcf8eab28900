/**
 * The SQL statements, generated from the column tables and prepared once per
 * connection (update statements once per set of changed columns).
 */
import type Database from 'better-sqlite3';
import type { Column, TableDef } from './columns.js';
import { MAC_COLUMN } from './rows.js';

type Statement = Database.Statement;

/** The statements of one table. */
export interface TableStatements<R> {
  readonly def: TableDef<R>;
  /** Insert, or replace in place (the row keeps its position). */
  readonly upsert: Statement;
  /** One row by its key columns (positional, in key order). */
  readonly get: Statement;
  readonly delete: Statement;
  /** An update of `columns` and the MAC, by key. */
  update(columns: ReadonlyArray<Column<R>>): Statement;
}

export function tableStatements<R>(db: Database.Database, def: TableDef<R>): TableStatements<R> {
  const names = [...def.columns.map((c) => c.column), MAC_COLUMN];
  const where = def.key.map((k) => `${k} = ?`).join(' AND ');
  const nonKey = names.filter((n) => !def.key.includes(n));
  const updates = new Map<string, Statement>();
  return {
    def,
    upsert: db.prepare(
      `INSERT INTO ${def.table} (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})
       ON CONFLICT (${def.key.join(', ')}) DO UPDATE SET ${nonKey.map((n) => `${n} = excluded.${n}`).join(', ')}`,
    ),
    get: db.prepare(`SELECT ${names.join(', ')} FROM ${def.table} WHERE ${where}`),
    delete: db.prepare(`DELETE FROM ${def.table} WHERE ${where}`),
    update(columns) {
      const set = [...columns.map((c) => c.column), MAC_COLUMN];
      const id = set.join(',');
      let state = updates.get(id);
      if (state === undefined) {
        state = db.prepare(`UPDATE ${def.table} SET ${set.map((n) => `${n} = @${n}`).join(', ')} WHERE ${def.key.map((k) => `${k} = @${k}`).join(' AND ')}`);
        updates.set(id, state);
      }
      return state;
    },
  };
}

/** Handles of a handle-keyed table, in handle order: all `load` reads of a table. */
export const handlesStatement = (db: Database.Database, def: TableDef<unknown>): Statement =>
  db.prepare(`SELECT handle FROM ${def.table} ORDER BY handle`).pluck();

export const ownedByStatement = (db: Database.Database, def: TableDef<unknown>): Statement =>
  db.prepare(`SELECT handle FROM ${def.table} WHERE owner = ? ORDER BY handle`).pluck();

export const extensionsOfStatement = (db: Database.Database, def: TableDef<unknown>): Statement =>
  db.prepare(`SELECT ${[...def.columns.map((c) => c.column), MAC_COLUMN].join(', ')} FROM ${def.table} WHERE key_handle = ? ORDER BY position`);
