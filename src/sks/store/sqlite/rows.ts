/**
 * Row <-> record conversion and the row MAC, generated from the column tables
 * (`columns.ts`, which documents the MAC layout).
 */
import { createHmac } from 'node:crypto';
import { macEquals } from '../../crypto/primitives.js';
import { SksError } from '../../errors.js';
import { openSecret, sealSecret } from '../sealing.js';
import { BadValue, type Column, type SqlRow, type SqlValue, type TableDef } from './columns.js';

/** Format version bound into every row MAC. */
export const ROW_FORMAT = 2;
const MAC_LABEL = Buffer.from('airtight-row', 'ascii');
/** Column holding each row's MAC. */
export const MAC_COLUMN = 'mac';

/** The two keys a connection works with; both derive from the store key. */
export interface RowKeys {
  /** AES-256-GCM key of sealed columns. */
  readonly seal: Buffer;
  /** HMAC-SHA256 key of row MACs. */
  readonly mac: Buffer;
}

export function rowKeys(storeKey: Buffer): RowKeys {
  return {
    seal: storeKey,
    mac: createHmac('sha256', storeKey).update('airtight store row MAC v2').digest(),
  };
}

export const rowIdOf = (def: TableDef<never> | TableDef<unknown>, row: SqlRow): string => def.key.map((c) => String(row[c])).join(':');

const aadOf = (def: { readonly table: string }, rowId: string, column: string): string => `${def.table}:${rowId}:${column}`;

/** A damaged row: names the table, the row and (when known) the column, never a value. */
export function damaged(def: { readonly table: string }, rowId: string, detail: string): SksError {
  return new SksError('STORAGE', `${def.table} row ${rowId}: ${detail}`);
}

function lengthPrefixed(parts: Buffer[], bytes: Buffer): void {
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(bytes.length);
  parts.push(len, bytes);
}

const TAG_NULL = Buffer.of(0);
const TAG_INTEGER = Buffer.of(1);
const TAG_TEXT = Buffer.of(2);
const TAG_BLOB = Buffer.of(3);

/** The row MAC over the authenticated columns as stored (sealed ones as ciphertext). */
export function rowMac<R>(keys: RowKeys, def: TableDef<R>, row: SqlRow): Buffer {
  const parts: Buffer[] = [MAC_LABEL, Buffer.of(ROW_FORMAT)];
  lengthPrefixed(parts, Buffer.from(def.table, 'utf8'));
  lengthPrefixed(parts, Buffer.from(rowIdOf(def as TableDef<unknown>, row), 'utf8'));
  for (const item of def.columns) {
    if (!item.authenticated) continue;
    const value = row[item.column] ?? null;
    if (item.defaultValue !== undefined && value === item.defaultValue) continue;
    lengthPrefixed(parts, Buffer.from(item.column, 'utf8'));
    if (value === null) parts.push(TAG_NULL);
    else if (typeof value === 'number') {
      parts.push(TAG_INTEGER);
      lengthPrefixed(parts, Buffer.from(String(value), 'ascii'));
    } else if (typeof value === 'string') {
      parts.push(TAG_TEXT);
      lengthPrefixed(parts, Buffer.from(value, 'utf8'));
    } else {
      parts.push(TAG_BLOB);
      lengthPrefixed(parts, value);
    }
  }
  return createHmac('sha256', keys.mac).update(Buffer.concat(parts)).digest();
}

/** Encodes (and seals) the given columns of `record` into `row`. */
export function encodeColumns<R>(keys: RowKeys, def: TableDef<R>, rowId: string, columns: ReadonlyArray<Column<R>>, record: Partial<R>, row: SqlRow): void {
  for (const item of columns) {
    const sqlValue = item.encode(record);
    row[item.column] = item.sealed && sqlValue !== null ? sealSecret(keys.seal, asBytes(sqlValue), aadOf(def, rowId, item.column)) : sqlValue;
  }
}

const asBytes = (sqlValue: SqlValue): Buffer => {
  if (!Buffer.isBuffer(sqlValue)) throw new SksError('INTERNAL', 'Sealed column codec must produce bytes');
  return sqlValue;
};

/** A whole row for `record`, with its MAC. */
export function encodeRow<R>(keys: RowKeys, def: TableDef<R>, record: R): SqlRow {
  const row: SqlRow = {};
  // The row id comes from the key columns, which are never sealed: encode them first.
  const keyColumns = def.columns.filter((c) => def.key.includes(c.column));
  encodeColumns(keys, def, '', keyColumns, record as Partial<R>, row);
  const rowId = rowIdOf(def, row);
  encodeColumns(
    keys,
    def,
    rowId,
    def.columns.filter((c) => !def.key.includes(c.column)),
    record as Partial<R>,
    row,
  );
  row[MAC_COLUMN] = rowMac(keys, def, row);
  return row;
}

/** Checks a stored row's MAC; a mismatch is damage. */
export function verifyRow<R>(keys: RowKeys, def: TableDef<R>, row: SqlRow): void {
  const stored = row[MAC_COLUMN];
  if (!Buffer.isBuffer(stored) || !macEquals(rowMac(keys, def, row), stored)) {
    throw damaged(def, rowIdOf(def, row), 'integrity check failed');
  }
}

/** Verifies, unseals and decodes a stored row. */
export function decodeRow<R>(keys: RowKeys, def: TableDef<R>, row: SqlRow): R {
  verifyRow(keys, def, row);
  const rowId = rowIdOf(def, row);
  const out: Record<string, unknown> = {};
  for (const item of def.columns) {
    let twoDigits = row[item.column] ?? null;
    try {
      if (item.sealed && twoDigits !== null) twoDigits = openSecret(keys.seal, asBytes(twoDigits), aadOf(def, rowId, item.column));
      out[item.field] = item.decode(twoDigits);
    } catch (error) {
      if (error instanceof BadValue) throw damaged(def, rowId, `${item.column}: ${error.message}`);
      if (error instanceof SksError) throw damaged(def, rowId, `${item.column}: sealed value failed its integrity check`);
      throw error;
    }
  }
  return out as R;
}
