/**
 * The column tables: one line per stored field, saying which record field it
 * holds, its SQL column, its codec (SQL type, range or enumeration, encoding),
 * whether it is sealed (AES-256-GCM, `sealing.ts`) and whether the row MAC
 * covers it. The schema, the statements, the row <-> record mapping and the
 * row integrity check are all generated from these tables, so adding a field
 * is one line here (plus the record type).
 *
 * Row integrity (format version 2): every row carries
 *
 * ```
 * mac = HMAC-SHA256(K_mac, "airtight-row" || u8(2) || lp(table) || lp(rowId)
 *                          || for each authenticated column, in table order,
 *                             unless it holds its declared default:
 *                             lp(column) || value)
 * value = u8(0) | u8(1) lp(decimal) | u8(2) lp(utf8) | u8(3) lp(bytes)   (null, integer, text, blob)
 * K_mac = HMAC-SHA256(storeKey, "airtight store row MAC v2")
 * ```
 *
 * A MAC rather than AEAD of the whole row: the MAC covers sealed columns as
 * stored (ciphertext), so checking a row needs no decryption, the columns the
 * SQL uses (handles, owners) stay queryable, and a PIN counter patch rewrites
 * two integers and a tag instead of re-encrypting the key's secrets. Secrets
 * keep their own AEAD, bound to table, row and column. Binding the MAC to the
 * table and row id stops a valid row being copied into another table or
 * handle (a row swap); the version byte stops a downgrade. A column that
 * holds its declared default is left out, so a column added later with a
 * default leaves the MACs of older rows valid. Rolling a row back to an older
 * copy of itself is not detected (see README: "Where the secrets are").
 */
import { Limits } from '../../constants.js';
import { SksError } from '../../errors.js';
import type { DeviceRecord, HandleCounters, KeyRecord, PinPolicyRecord, PukPolicyRecord, SessionRecord } from '../records.js';

export type SqlValue = number | string | Buffer | null;
export type SqlRow = Record<string, SqlValue>;

/** Why a stored value was refused; the reader adds the table, row and column. */
export class BadValue extends Error {}

export interface Codec<T> {
  readonly sqlType: 'INTEGER' | 'TEXT' | 'BLOB';
  readonly nullable: boolean;
  encode(value: T): SqlValue;
  /** Throws {@link BadValue}: an unknown enumeration value is damage, never a default. */
  decode(value: SqlValue): T;
}

// ---------------------------------------------------------------------------
// Codecs

function integer(min: number, max: number): Codec<number> {
  return {
    sqlType: 'INTEGER',
    nullable: false,
    encode: (n) => n,
    decode: (sqlValue) => {
      if (typeof sqlValue !== 'number' || !Number.isSafeInteger(sqlValue) || sqlValue < min || sqlValue > max) throw new BadValue('out of range');
      return sqlValue;
    },
  };
}

/** One of the listed values (spec §2.4 enumerations). */
function oneOf(values: readonly number[]): Codec<number> {
  const allowed = new Set(values);
  return {
    sqlType: 'INTEGER',
    nullable: false,
    encode: (n) => n,
    decode: (sqlValue) => {
      if (typeof sqlValue !== 'number' || !allowed.has(sqlValue)) throw new BadValue('unknown value');
      return sqlValue;
    },
  };
}

/** A bit set that may only use the bits of `mask`. */
function flags(mask: number): Codec<number> {
  return {
    sqlType: 'INTEGER',
    nullable: false,
    encode: (n) => n,
    decode: (sqlValue) => {
      if (typeof sqlValue !== 'number' || !Number.isInteger(sqlValue) || sqlValue < 0 || (sqlValue & ~mask) !== 0) throw new BadValue('unknown flags');
      return sqlValue;
    },
  };
}

const bool: Codec<boolean> = {
  sqlType: 'INTEGER',
  nullable: false,
  encode: (b) => (b ? 1 : 0),
  decode: (sqlValue) => {
    if (sqlValue !== 0 && sqlValue !== 1) throw new BadValue('not a boolean');
    return sqlValue === 1;
  },
};

const text: Codec<string> = {
  sqlType: 'TEXT',
  nullable: false,
  encode: (s) => s,
  decode: (sqlValue) => {
    if (typeof sqlValue !== 'string') throw new BadValue('not text');
    return sqlValue;
  },
};

const bytes: Codec<Uint8Array> = {
  sqlType: 'BLOB',
  nullable: false,
  encode: (b) => Buffer.from(b.buffer, b.byteOffset, b.length),
  decode: (sqlValue) => {
    if (!Buffer.isBuffer(sqlValue)) throw new BadValue('not bytes');
    return Buffer.from(sqlValue);
  },
};

function nullable<T>(codec: Codec<T>): Codec<T | null> {
  return {
    sqlType: codec.sqlType,
    nullable: true,
    encode: (x) => (x === null ? null : codec.encode(x)),
    decode: (v) => (v === null ? null : codec.decode(v)),
  };
}

/** A JSON array of strings. */
const stringList: Codec<readonly string[]> = {
  sqlType: 'TEXT',
  nullable: false,
  encode: (list) => JSON.stringify(list),
  decode: (sqlValue) => {
    let value: unknown;
    try {
      value = typeof sqlValue === 'string' ? JSON.parse(sqlValue) : null;
    } catch {
      throw new BadValue('malformed JSON');
    }
    if (!Array.isArray(value) || !value.every((x): x is string => typeof x === 'string')) throw new BadValue('not a string list');
    return value;
  },
};

/** `u32(len) || bytes` per element. */
const blobList: Codec<readonly Uint8Array[]> = {
  sqlType: 'BLOB',
  nullable: false,
  encode: (list) => {
    const parts: Buffer[] = [];
    for (const item of list) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(item.length);
      parts.push(len, Buffer.from(item.buffer, item.byteOffset, item.length));
    }
    return Buffer.concat(parts);
  },
  decode: (sqlValue) => {
    if (!Buffer.isBuffer(sqlValue)) throw new BadValue('not bytes');
    const out: Buffer[] = [];
    let index = 0;
    while (index < sqlValue.length) {
      if (index + 4 > sqlValue.length) throw new BadValue('truncated list');
      const len = sqlValue.readUInt32BE(index);
      index += 4;
      if (index + len > sqlValue.length) throw new BadValue('truncated list');
      out.push(Buffer.from(sqlValue.subarray(index, index + len)));
      index += len;
    }
    return out;
  },
};

const PADDED_LENGTH = 1 + Limits.MAX_LENGTH_PIN_PUK;

/**
 * A PIN or PUK padded to one fixed length before it is sealed, so that the
 * ciphertext does not tell how long the PIN is: `u8(len) || value || zeros`.
 */
const paddedSecret: Codec<Uint8Array> = {
  sqlType: 'BLOB',
  nullable: false,
  encode: (value) => {
    if (value.length > Limits.MAX_LENGTH_PIN_PUK) throw new SksError('STORAGE', 'PIN or PUK too long to store');
    const out = Buffer.alloc(PADDED_LENGTH);
    out[0] = value.length;
    out.set(value, 1);
    return out;
  },
  decode: (sqlValue) => {
    if (!Buffer.isBuffer(sqlValue) || sqlValue.length !== PADDED_LENGTH || sqlValue[0] > Limits.MAX_LENGTH_PIN_PUK) throw new BadValue('bad padding');
    return Buffer.from(sqlValue.subarray(1, 1 + sqlValue[0]));
  },
};

// ---------------------------------------------------------------------------
// Columns and tables

export interface Column<R> {
  readonly field: keyof R & string;
  readonly column: string;
  readonly sqlType: Codec<unknown>['sqlType'];
  readonly nullable: boolean;
  readonly sealed: boolean;
  readonly authenticated: boolean;
  /** A SQL literal; rows holding it leave the column out of their MAC (columns added later). */
  readonly defaultValue: SqlValue | undefined;
  /** The column's value for `record` (plaintext for sealed columns). */
  encode(record: Partial<R>): SqlValue;
  decode(value: SqlValue): unknown;
}

interface ColumnFlags {
  /** Encrypted under the store key (AAD: table, row id, column). */
  readonly sealed?: boolean;
  /** Covered by the row MAC; true unless said otherwise. */
  readonly authenticated?: boolean;
  /** For a column added to an existing table: what rows written before it hold. */
  readonly default?: number | string | null;
}

const columnOf =
  <R>() =>
  <K extends keyof R & string>(field: K, column: string, codec: Codec<R[K]>, f: ColumnFlags = {}): Column<R> => ({
    field,
    column,
    sqlType: f.sealed === true ? 'BLOB' : codec.sqlType,
    nullable: codec.nullable,
    sealed: f.sealed === true,
    authenticated: f.authenticated !== false,
    defaultValue: f.default,
    encode: (r) => codec.encode(r[field] as R[K]),
    decode: (v) => codec.decode(v),
  });

export interface TableDef<R> {
  /** SQL table name; also bound into every MAC and sealed value of its rows. */
  readonly table: string;
  /** For messages: "key", "PIN policy". */
  readonly what: string;
  /** Primary key columns; their values, joined by ':', are the row id. */
  readonly key: readonly string[];
  readonly columns: ReadonlyArray<Column<R>>;
}

const handle = integer(1, 0xffffffff);
const reference = integer(0, 0xffffffff); // 0: none
const count = integer(0, Limits.MAX_RETRY_LIMIT);
const format = oneOf([0, 1, 2, 3]);
const time = integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);

const session = columnOf<SessionRecord>();
export const SESSIONS: TableDef<SessionRecord> = {
  table: 'sessions',
  what: 'session',
  key: ['handle'],
  columns: [
    session('handle', 'handle', handle),
    session('privacyEnabled', 'privacy_enabled', bool),
    session('clientSessionId', 'client_session_id', text),
    session('serverSessionId', 'server_session_id', text),
    session('issuerUri', 'issuer_uri', text),
    session('keyManagementKey', 'key_management_key', nullable(bytes)),
    session('clientTime', 'client_time', time),
    session('sessionLifeTime', 'session_life_time', time),
  ],
};

/** The `keys` row: the record minus its extensions (a child table), plus their types in order. */
export type KeyRow = Omit<KeyRecord, 'extensions'> & { readonly extensionTypes: readonly string[] };

const key = columnOf<KeyRow>();
export const KEYS: TableDef<KeyRow> = {
  table: 'keys',
  what: 'key',
  key: ['handle'],
  columns: [
    key('handle', 'handle', handle),
    key('id', 'id', text),
    key('owner', 'owner', reference),
    key('appUsage', 'app_usage', oneOf([0, 1, 2, 3])),
    key('publicKey', 'public_key', bytes),
    key('privateKey', 'private_key', nullable(bytes), { sealed: true }),
    key('symmetricKey', 'symmetric_key', nullable(bytes), { sealed: true }),
    key('certificatePath', 'certificate_path', blobList),
    key('endorsedAlgorithms', 'endorsed_algorithms', stringList),
    key('friendlyName', 'friendly_name', nullable(text)),
    key('devicePinProtection', 'device_pin_protection', bool),
    key('pinPolicy', 'pin_policy', reference),
    key('pinValue', 'pin_value', nullable(paddedSecret), { sealed: true }),
    key('errorCount', 'error_count', count),
    key('enablePinCaching', 'enable_pin_caching', bool),
    key('biometricProtection', 'biometric_protection', oneOf([0, 1, 2, 3])),
    key('exportProtection', 'export_protection', oneOf([0, 1, 2, 3])),
    key('deleteProtection', 'delete_protection', oneOf([0, 1, 2, 3])),
    key('keyBackup', 'key_backup', flags(0x03)),
    key('extensionTypes', 'extension_types', stringList),
  ],
};

export interface ExtensionRow {
  readonly keyHandle: number;
  readonly type: string;
  readonly position: number;
  readonly subType: number;
  readonly qualifier: string;
  readonly data: Uint8Array;
}

const extension = columnOf<ExtensionRow>();
export const EXTENSIONS: TableDef<ExtensionRow> = {
  table: 'extensions',
  what: 'extension',
  key: ['key_handle', 'type'],
  columns: [
    extension('keyHandle', 'key_handle', handle),
    extension('type', 'type', text),
    extension('position', 'position', integer(0, Limits.MAX_EXTENSIONS_PER_KEY)),
    extension('subType', 'sub_type', oneOf([0, 1, 2, 3])),
    extension('qualifier', 'qualifier', text),
    extension('data', 'data', bytes, { sealed: true }),
  ],
};

const pin = columnOf<PinPolicyRecord>();
export const PIN_POLICIES: TableDef<PinPolicyRecord> = {
  table: 'pin_policies',
  what: 'PIN policy',
  key: ['handle'],
  columns: [
    pin('handle', 'handle', handle),
    pin('id', 'id', text),
    pin('owner', 'owner', reference),
    pin('pukPolicy', 'puk_policy', reference),
    pin('retryLimit', 'retry_limit', integer(1, Limits.MAX_RETRY_LIMIT)),
    pin('format', 'format', format),
    pin('userDefined', 'user_defined', bool),
    pin('userModifiable', 'user_modifiable', bool),
    pin('inputMethod', 'input_method', oneOf([0, 1, 2])),
    pin('grouping', 'grouping', oneOf([0, 1, 2, 3])),
    pin('patternRestrictions', 'pattern_restrictions', flags(0x1f)),
    pin('minLength', 'min_length', integer(1, Limits.MAX_LENGTH_PIN_PUK)),
    pin('maxLength', 'max_length', integer(1, Limits.MAX_LENGTH_PIN_PUK)),
  ],
};

const puk = columnOf<PukPolicyRecord>();
export const PUK_POLICIES: TableDef<PukPolicyRecord> = {
  table: 'puk_policies',
  what: 'PUK policy',
  key: ['handle'],
  columns: [
    puk('handle', 'handle', handle),
    puk('id', 'id', text),
    puk('owner', 'owner', reference),
    puk('pukValue', 'puk_value', paddedSecret, { sealed: true }),
    puk('format', 'format', format),
    puk('retryLimit', 'retry_limit', count),
    puk('errorCount', 'error_count', count),
  ],
};

/** The one `meta` row: the handle counters. Its MAC doubles as the store key check. */
export type MetaRow = HandleCounters & { readonly id: number };
const meta = columnOf<MetaRow>();
export const META: TableDef<MetaRow> = {
  table: 'meta',
  what: 'meta',
  key: ['id'],
  columns: [
    meta('id', 'id', integer(1, 1)),
    meta('session', 'next_session', handle),
    meta('key', 'next_key', handle),
    meta('pinPolicy', 'next_pin_policy', handle),
    meta('pukPolicy', 'next_puk_policy', handle),
  ],
};

export type DeviceRow = DeviceRecord & { readonly id: number };
const device = columnOf<DeviceRow>();
export const DEVICE: TableDef<DeviceRow> = {
  table: 'device',
  what: 'device identity',
  key: ['id'],
  columns: [
    device('id', 'id', integer(1, 1)),
    device('privateKey', 'private_key', bytes, { sealed: true }),
    device('certificatePath', 'certificate_path', blobList),
  ],
};
