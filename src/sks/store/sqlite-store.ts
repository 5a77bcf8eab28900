/**
 * The SQLite adapter of the persistence port (better-sqlite3).
 *
 * - One process owns a store: the connection runs in `locking_mode=EXCLUSIVE`
 *   and takes the write lock at open, so a second opener gets
 *   `ERROR_NOT_AVAILABLE` at once instead of racing the first.
 * - `apply` is one transaction in WAL mode with `synchronous=FULL`: durable when
 *   it returns, about one fsync per call.
 * - Every secret field is sealed (AES-256-GCM, see `sealing.ts`) under the store
 *   key, bound to its row and column; the file alone reveals no secret.
 *
 * Schema (version 1, `PRAGMA user_version`):
 *
 * ```
 * meta             (id=1, next_session, next_key, next_pin_policy, next_puk_policy, store_key_check)
 * device           (id=1, private_key*, certificate_path)            -- path: u32-length-prefixed DERs
 * sessions         (handle PK, privacy_enabled, client_session_id, server_session_id, issuer_uri,
 *                   key_management_key, client_time, session_life_time)
 * keys             (handle PK, id, owner, app_usage, public_key, private_key*, symmetric_key*,
 *                   endorsed_algorithms (JSON array), friendly_name, device_pin_protection,
 *                   pin_policy, pin_value*, error_count, enable_pin_caching, biometric_protection,
 *                   export_protection, delete_protection, key_backup)
 * key_certificates (key_handle -> keys ON DELETE CASCADE, position, certificate)
 * extensions       (key_handle -> keys ON DELETE CASCADE, type, position, sub_type, qualifier, data*)
 * pin_policies     (handle PK, id, owner, puk_policy, retry_limit, format, user_defined,
 *                   user_modifiable, input_method, grouping, pattern_restrictions, min_length, max_length)
 * puk_policies     (handle PK, id, owner, puk_value*, format, retry_limit, error_count)
 * ```
 * (`*` = sealed.) Certificates and extensions live in child tables so that the
 * hot `keys` row (PIN error counter) stays small, and so that a property write
 * rewrites one extension rather than the whole key.
 *
 * @example
 * ```ts
 * const store = openSqliteKeyStore({ path: '/var/lib/airtight/sks.db', storeKey });
 * const snapshot = store.load();
 * store.apply([{ kind: 'setKeyErrorCount', handle: 3, errorCount: 1 }]);
 * store.close();
 * ```
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SksError } from '../errors.js';
import { openSecret, sealSecret } from './sealing.js';
import {
  INITIAL_COUNTERS,
  type DeviceRecord,
  type ExtensionRecord,
  type KeyRecord,
  type KeyStorePort,
  type Mutation,
  type PinPolicyRecord,
  type PukPolicyRecord,
  type SessionRecord,
  type StoreSnapshot,
} from './records.js';

export interface SqliteKeyStoreOptions {
  /** Database file; created (mode 0600) when absent. */
  readonly path: string;
  /** 32-byte key sealing the secret fields; see `store-key.ts`. */
  readonly storeKey: Uint8Array;
}

type Db = Database.Database;

// ---------------------------------------------------------------------------
// Schema and migrations

const STORE_KEY_CHECK_AAD = 'meta:storeKeyCheck';

/**
 * Migration `i` takes the schema from version `i` to `i + 1`. Append only:
 * never edit a migration that has shipped.
 */
const MIGRATIONS: readonly ((db: Db, storeKey: Buffer) => void)[] = [
  (db, storeKey) => {
    db.exec(`
      CREATE TABLE meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        next_session INTEGER NOT NULL,
        next_key INTEGER NOT NULL,
        next_pin_policy INTEGER NOT NULL,
        next_puk_policy INTEGER NOT NULL,
        store_key_check BLOB NOT NULL
      ) STRICT;
      CREATE TABLE device (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        private_key BLOB NOT NULL,
        certificate_path BLOB NOT NULL
      ) STRICT;
      CREATE TABLE sessions (
        handle INTEGER PRIMARY KEY,
        privacy_enabled INTEGER NOT NULL CHECK (privacy_enabled IN (0, 1)),
        client_session_id TEXT NOT NULL,
        server_session_id TEXT NOT NULL,
        issuer_uri TEXT NOT NULL,
        key_management_key BLOB,
        client_time INTEGER NOT NULL,
        session_life_time INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE keys (
        handle INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        owner INTEGER NOT NULL,
        app_usage INTEGER NOT NULL,
        public_key BLOB NOT NULL,
        private_key BLOB,
        symmetric_key BLOB,
        endorsed_algorithms TEXT NOT NULL,
        friendly_name TEXT,
        device_pin_protection INTEGER NOT NULL CHECK (device_pin_protection IN (0, 1)),
        pin_policy INTEGER NOT NULL,
        pin_value BLOB,
        error_count INTEGER NOT NULL,
        enable_pin_caching INTEGER NOT NULL CHECK (enable_pin_caching IN (0, 1)),
        biometric_protection INTEGER NOT NULL,
        export_protection INTEGER NOT NULL,
        delete_protection INTEGER NOT NULL,
        key_backup INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE key_certificates (
        key_handle INTEGER NOT NULL REFERENCES keys (handle) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        certificate BLOB NOT NULL,
        PRIMARY KEY (key_handle, position)
      ) STRICT;
      CREATE TABLE extensions (
        key_handle INTEGER NOT NULL REFERENCES keys (handle) ON DELETE CASCADE,
        type TEXT NOT NULL,
        position INTEGER NOT NULL,
        sub_type INTEGER NOT NULL,
        qualifier TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (key_handle, type)
      ) STRICT;
      CREATE TABLE pin_policies (
        handle INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        owner INTEGER NOT NULL,
        puk_policy INTEGER NOT NULL,
        retry_limit INTEGER NOT NULL,
        format INTEGER NOT NULL,
        user_defined INTEGER NOT NULL CHECK (user_defined IN (0, 1)),
        user_modifiable INTEGER NOT NULL CHECK (user_modifiable IN (0, 1)),
        input_method INTEGER NOT NULL,
        grouping INTEGER NOT NULL,
        pattern_restrictions INTEGER NOT NULL,
        min_length INTEGER NOT NULL,
        max_length INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE puk_policies (
        handle INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        owner INTEGER NOT NULL,
        puk_value BLOB NOT NULL,
        format INTEGER NOT NULL,
        retry_limit INTEGER NOT NULL,
        error_count INTEGER NOT NULL
      ) STRICT;
    `);
    db.prepare(
      `INSERT INTO meta (id, next_session, next_key, next_pin_policy, next_puk_policy, store_key_check)
       VALUES (1, ?, ?, ?, ?, ?)`,
    ).run(
      INITIAL_COUNTERS.session,
      INITIAL_COUNTERS.key,
      INITIAL_COUNTERS.pinPolicy,
      INITIAL_COUNTERS.pukPolicy,
      sealSecret(storeKey, new Uint8Array(0), STORE_KEY_CHECK_AAD),
    );
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema up to {@link SCHEMA_VERSION}; call inside a write transaction. */
function migrate(db: Db, storeKey: Buffer): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new SksError('STORAGE', `Key store schema version ${version} is newer than supported (${SCHEMA_VERSION})`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) MIGRATIONS[v]!(db, storeKey);
  if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

// ---------------------------------------------------------------------------
// Row shapes (STRICT tables guarantee the column types)

interface SessionRow {
  handle: number;
  privacy_enabled: number;
  client_session_id: string;
  server_session_id: string;
  issuer_uri: string;
  key_management_key: Buffer | null;
  client_time: number;
  session_life_time: number;
}

interface KeyRow {
  handle: number;
  id: string;
  owner: number;
  app_usage: number;
  public_key: Buffer;
  private_key: Buffer | null;
  symmetric_key: Buffer | null;
  endorsed_algorithms: string;
  friendly_name: string | null;
  device_pin_protection: number;
  pin_policy: number;
  pin_value: Buffer | null;
  error_count: number;
  enable_pin_caching: number;
  biometric_protection: number;
  export_protection: number;
  delete_protection: number;
  key_backup: number;
}

interface CertificateRow {
  key_handle: number;
  certificate: Buffer;
}

interface ExtensionRow {
  key_handle: number;
  type: string;
  sub_type: number;
  qualifier: string;
  data: Buffer;
}

interface PinPolicyRow {
  handle: number;
  id: string;
  owner: number;
  puk_policy: number;
  retry_limit: number;
  format: number;
  user_defined: number;
  user_modifiable: number;
  input_method: number;
  grouping: number;
  pattern_restrictions: number;
  min_length: number;
  max_length: number;
}

interface PukPolicyRow {
  handle: number;
  id: string;
  owner: number;
  puk_value: Buffer;
  format: number;
  retry_limit: number;
  error_count: number;
}

interface MetaRow {
  next_session: number;
  next_key: number;
  next_pin_policy: number;
  next_puk_policy: number;
  store_key_check: Buffer;
}

interface DeviceRow {
  private_key: Buffer;
  certificate_path: Buffer;
}

// ---------------------------------------------------------------------------
// Column codecs

const aad = {
  privateKey: (h: number) => `key:${h}:privateKey`,
  symmetricKey: (h: number) => `key:${h}:symmetricKey`,
  pinValue: (h: number) => `key:${h}:pinValue`,
  extension: (h: number, type: string) => `key:${h}:extension:${type}`,
  pukValue: (h: number) => `puk:${h}:pukValue`,
  devicePrivateKey: 'device:privateKey',
};

const malformed = (): SksError => new SksError('STORAGE', 'Stored record is malformed');

/** `u32(len) || bytes` per element. */
function encodeBlobList(list: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of list) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(item.length);
    parts.push(len, Buffer.from(item.buffer, item.byteOffset, item.length));
  }
  return Buffer.concat(parts);
}

function decodeBlobList(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < blob.length) {
    if (i + 4 > blob.length) throw malformed();
    const len = blob.readUInt32BE(i);
    i += 4;
    if (i + len > blob.length) throw malformed();
    out.push(Buffer.from(blob.subarray(i, i + len)));
    i += len;
  }
  return out;
}

function decodeStringArray(json: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw malformed();
  }
  if (!Array.isArray(value) || !value.every((x): x is string => typeof x === 'string')) throw malformed();
  return value;
}

const bool = (b: boolean): number => (b ? 1 : 0);

// ---------------------------------------------------------------------------
// Errors

const inUse = (): SksError => new SksError('NOT_AVAILABLE', 'Key store is in use by another process');

/**
 * Maps a failure to an SksError. SQLite's message text is dropped (it may
 * quote data); its result code name (e.g. `SQLITE_FULL`) is kept.
 */
function storageError(e: unknown, what: string): SksError {
  if (e instanceof SksError) return e;
  if (e instanceof Database.SqliteError) {
    if (e.code.startsWith('SQLITE_BUSY') || e.code.startsWith('SQLITE_LOCKED')) return inUse();
    return new SksError('STORAGE', `${what} (${e.code})`);
  }
  const code = (e as { code?: unknown } | null)?.code;
  return new SksError('STORAGE', typeof code === 'string' && /^E[A-Z]+$/.test(code) ? `${what} (${code})` : what);
}

// ---------------------------------------------------------------------------
// The adapter

/**
 * Opens (creating if needed) the SQLite key store at `options.path`.
 *
 * Fails with `ERROR_NOT_AVAILABLE` when another process (or connection) has
 * the store open, and with `ERROR_STORAGE` when the store key does not match
 * the one the store was created with, the schema is newer than this code, or
 * the file is not a key store.
 */
export function openSqliteKeyStore(options: SqliteKeyStoreOptions): KeyStorePort {
  if (options.storeKey.length !== 32) throw new SksError('STORAGE', 'Store key must be 32 bytes');
  const storeKey = Buffer.from(options.storeKey);
  const { path } = options;

  let db: Db;
  try {
    if (path !== ':memory:' && path !== '') {
      // Create the file ourselves so that it, and the -wal file SQLite derives
      // its permissions from it, are private to the owner.
      closeSync(openSync(path, 'a', 0o600));
    }
    // No busy wait: the owner holds its lock until it closes.
    db = new Database(path, { timeout: 0 });
  } catch (e) {
    storeKey.fill(0);
    throw storageError(e, 'Key store could not be opened');
  }

  try {
    // EXCLUSIVE before the first WAL access: no shared-memory index, and the
    // lock stays with this connection until close.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('fullfsync = ON');
    db.pragma('foreign_keys = ON');
    // Take the write lock now (an immediate transaction), migrate and check the key.
    db.transaction(() => {
      migrate(db, storeKey);
      const meta = db.prepare('SELECT store_key_check FROM meta WHERE id = 1').get() as
        | Pick<MetaRow, 'store_key_check'>
        | undefined;
      if (meta === undefined) throw malformed();
      try {
        openSecret(storeKey, meta.store_key_check, STORE_KEY_CHECK_AAD);
      } catch {
        throw new SksError('STORAGE', 'Store key does not match the key store');
      }
    }).immediate();
  } catch (e) {
    db.close();
    storeKey.fill(0);
    throw storageError(e, 'Key store could not be opened');
  }

  return new SqliteKeyStore(db, storeKey);
}

/** Every statement, prepared once per connection. */
function prepareStatements(db: Db) {
  return {
    meta: db.prepare(
      'SELECT next_session, next_key, next_pin_policy, next_puk_policy, store_key_check FROM meta WHERE id = 1',
    ),
    device: db.prepare('SELECT private_key, certificate_path FROM device WHERE id = 1'),
    sessions: db.prepare('SELECT * FROM sessions ORDER BY handle'),
    keys: db.prepare('SELECT * FROM keys ORDER BY handle'),
    certificates: db.prepare('SELECT key_handle, certificate FROM key_certificates ORDER BY key_handle, position'),
    extensions: db.prepare(
      'SELECT key_handle, type, sub_type, qualifier, data FROM extensions ORDER BY key_handle, position',
    ),
    pinPolicies: db.prepare('SELECT * FROM pin_policies ORDER BY handle'),
    pukPolicies: db.prepare('SELECT * FROM puk_policies ORDER BY handle'),

    putSession: db.prepare(`
      INSERT INTO sessions (handle, privacy_enabled, client_session_id, server_session_id, issuer_uri,
                            key_management_key, client_time, session_life_time)
      VALUES (@handle, @privacy_enabled, @client_session_id, @server_session_id, @issuer_uri,
              @key_management_key, @client_time, @session_life_time)
      ON CONFLICT (handle) DO UPDATE SET
        privacy_enabled = excluded.privacy_enabled, client_session_id = excluded.client_session_id,
        server_session_id = excluded.server_session_id, issuer_uri = excluded.issuer_uri,
        key_management_key = excluded.key_management_key, client_time = excluded.client_time,
        session_life_time = excluded.session_life_time`),
    deleteSession: db.prepare('DELETE FROM sessions WHERE handle = ?'),
    putKey: db.prepare(`
      INSERT INTO keys (handle, id, owner, app_usage, public_key, private_key, symmetric_key,
                        endorsed_algorithms, friendly_name, device_pin_protection, pin_policy, pin_value,
                        error_count, enable_pin_caching, biometric_protection, export_protection,
                        delete_protection, key_backup)
      VALUES (@handle, @id, @owner, @app_usage, @public_key, @private_key, @symmetric_key,
              @endorsed_algorithms, @friendly_name, @device_pin_protection, @pin_policy, @pin_value,
              @error_count, @enable_pin_caching, @biometric_protection, @export_protection,
              @delete_protection, @key_backup)
      ON CONFLICT (handle) DO UPDATE SET
        id = excluded.id, owner = excluded.owner, app_usage = excluded.app_usage,
        public_key = excluded.public_key, private_key = excluded.private_key,
        symmetric_key = excluded.symmetric_key, endorsed_algorithms = excluded.endorsed_algorithms,
        friendly_name = excluded.friendly_name, device_pin_protection = excluded.device_pin_protection,
        pin_policy = excluded.pin_policy, pin_value = excluded.pin_value, error_count = excluded.error_count,
        enable_pin_caching = excluded.enable_pin_caching, biometric_protection = excluded.biometric_protection,
        export_protection = excluded.export_protection, delete_protection = excluded.delete_protection,
        key_backup = excluded.key_backup`),
    deleteKey: db.prepare('DELETE FROM keys WHERE handle = ?'),
    deleteCertificates: db.prepare('DELETE FROM key_certificates WHERE key_handle = ?'),
    insertCertificate: db.prepare(
      'INSERT INTO key_certificates (key_handle, position, certificate) VALUES (?, ?, ?)',
    ),
    deleteExtensions: db.prepare('DELETE FROM extensions WHERE key_handle = ?'),
    insertExtension: db.prepare(
      'INSERT INTO extensions (key_handle, type, position, sub_type, qualifier, data) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    putPinPolicy: db.prepare(`
      INSERT OR REPLACE INTO pin_policies (handle, id, owner, puk_policy, retry_limit, format, user_defined,
                                user_modifiable, input_method, grouping, pattern_restrictions,
                                min_length, max_length)
      VALUES (@handle, @id, @owner, @puk_policy, @retry_limit, @format, @user_defined, @user_modifiable,
              @input_method, @grouping, @pattern_restrictions, @min_length, @max_length)`),
    deletePinPolicy: db.prepare('DELETE FROM pin_policies WHERE handle = ?'),
    putPukPolicy: db.prepare(`
      INSERT OR REPLACE INTO puk_policies (handle, id, owner, puk_value, format, retry_limit, error_count)
      VALUES (@handle, @id, @owner, @puk_value, @format, @retry_limit, @error_count)`),
    deletePukPolicy: db.prepare('DELETE FROM puk_policies WHERE handle = ?'),

    setKeyErrorCount: db.prepare('UPDATE keys SET error_count = ? WHERE handle = ?'),
    setKeyPin: db.prepare('UPDATE keys SET pin_value = ?, error_count = ? WHERE handle = ?'),
    setKeyBackup: db.prepare('UPDATE keys SET key_backup = ? WHERE handle = ?'),
    setExtensionData: db.prepare('UPDATE extensions SET data = ? WHERE key_handle = ? AND type = ?'),
    setPukErrorCount: db.prepare('UPDATE puk_policies SET error_count = ? WHERE handle = ?'),
    setSessionKmk: db.prepare('UPDATE sessions SET key_management_key = ? WHERE handle = ?'),
    setCounters: db.prepare(
      'UPDATE meta SET next_session = ?, next_key = ?, next_pin_policy = ?, next_puk_policy = ? WHERE id = 1',
    ),
    reownKeys: db.prepare('UPDATE keys SET owner = ? WHERE owner = ?'),
    reownPinPolicies: db.prepare('UPDATE pin_policies SET owner = ? WHERE owner = ?'),
    reownPukPolicies: db.prepare('UPDATE puk_policies SET owner = ? WHERE owner = ?'),
    putDevice: db.prepare(`
      INSERT INTO device (id, private_key, certificate_path) VALUES (1, ?, ?)
      ON CONFLICT (id) DO UPDATE SET private_key = excluded.private_key,
                                     certificate_path = excluded.certificate_path`),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

class SqliteKeyStore implements KeyStorePort {
  #db: Db | null;
  readonly #key: Buffer;
  readonly #s: Statements;
  readonly #applyAll: (mutations: readonly Mutation[]) => void;
  readonly #loadAll: () => StoreSnapshot;

  constructor(db: Db, storeKey: Buffer) {
    this.#db = db;
    this.#key = storeKey;
    this.#s = prepareStatements(db);
    this.#applyAll = db.transaction((mutations: readonly Mutation[]) => {
      for (const m of mutations) this.#applyOne(m);
    });
    this.#loadAll = db.transaction(() => this.#read());
  }

  #open(): Db {
    if (this.#db === null) throw new SksError('STORAGE', 'Key store is closed');
    return this.#db;
  }

  load(): StoreSnapshot {
    this.#open();
    try {
      return this.#loadAll();
    } catch (e) {
      throw storageError(e, 'Key store could not be read');
    }
  }

  apply(mutations: readonly Mutation[]): void {
    this.#open();
    if (mutations.length === 0) return;
    try {
      this.#applyAll(mutations);
    } catch (e) {
      throw storageError(e, 'Key store could not be written');
    }
  }

  close(): void {
    const db = this.#db;
    if (db === null) return;
    this.#db = null;
    db.close();
    this.#key.fill(0);
  }

  #read(): StoreSnapshot {
    const s = this.#s;
    const key = this.#key;
    const meta = s.meta.get() as MetaRow | undefined;
    if (meta === undefined) throw malformed();
    const deviceRow = s.device.get() as DeviceRow | undefined;

    const certificates = new Map<number, Buffer[]>();
    for (const row of s.certificates.all() as CertificateRow[]) {
      let list = certificates.get(row.key_handle);
      if (list === undefined) certificates.set(row.key_handle, (list = []));
      list.push(row.certificate);
    }
    const extensions = new Map<number, ExtensionRecord[]>();
    for (const row of s.extensions.all() as ExtensionRow[]) {
      let list = extensions.get(row.key_handle);
      if (list === undefined) extensions.set(row.key_handle, (list = []));
      list.push({
        type: row.type,
        subType: row.sub_type,
        qualifier: row.qualifier,
        data: openSecret(key, row.data, aad.extension(row.key_handle, row.type)),
      });
    }

    const device: DeviceRecord | null =
      deviceRow === undefined
        ? null
        : {
            privateKey: openSecret(key, deviceRow.private_key, aad.devicePrivateKey),
            certificatePath: decodeBlobList(deviceRow.certificate_path),
          };

    const sessions = (s.sessions.all() as SessionRow[]).map(
      (r): SessionRecord => ({
        handle: r.handle,
        privacyEnabled: r.privacy_enabled === 1,
        clientSessionId: r.client_session_id,
        serverSessionId: r.server_session_id,
        issuerUri: r.issuer_uri,
        keyManagementKey: r.key_management_key,
        clientTime: r.client_time,
        sessionLifeTime: r.session_life_time,
      }),
    );

    const keys = (s.keys.all() as KeyRow[]).map(
      (r): KeyRecord => ({
        handle: r.handle,
        id: r.id,
        owner: r.owner,
        appUsage: r.app_usage,
        publicKey: r.public_key,
        privateKey: r.private_key === null ? null : openSecret(key, r.private_key, aad.privateKey(r.handle)),
        symmetricKey:
          r.symmetric_key === null ? null : openSecret(key, r.symmetric_key, aad.symmetricKey(r.handle)),
        certificatePath: certificates.get(r.handle) ?? [],
        endorsedAlgorithms: decodeStringArray(r.endorsed_algorithms),
        friendlyName: r.friendly_name,
        devicePinProtection: r.device_pin_protection === 1,
        pinPolicy: r.pin_policy,
        pinValue: r.pin_value === null ? null : openSecret(key, r.pin_value, aad.pinValue(r.handle)),
        errorCount: r.error_count,
        enablePinCaching: r.enable_pin_caching === 1,
        biometricProtection: r.biometric_protection,
        exportProtection: r.export_protection,
        deleteProtection: r.delete_protection,
        keyBackup: r.key_backup,
        extensions: extensions.get(r.handle) ?? [],
      }),
    );

    const pinPolicies = (s.pinPolicies.all() as PinPolicyRow[]).map(
      (r): PinPolicyRecord => ({
        handle: r.handle,
        id: r.id,
        owner: r.owner,
        pukPolicy: r.puk_policy,
        retryLimit: r.retry_limit,
        format: r.format,
        userDefined: r.user_defined === 1,
        userModifiable: r.user_modifiable === 1,
        inputMethod: r.input_method,
        grouping: r.grouping,
        patternRestrictions: r.pattern_restrictions,
        minLength: r.min_length,
        maxLength: r.max_length,
      }),
    );

    const pukPolicies = (s.pukPolicies.all() as PukPolicyRow[]).map(
      (r): PukPolicyRecord => ({
        handle: r.handle,
        id: r.id,
        owner: r.owner,
        pukValue: openSecret(key, r.puk_value, aad.pukValue(r.handle)),
        format: r.format,
        retryLimit: r.retry_limit,
        errorCount: r.error_count,
      }),
    );

    return {
      counters: {
        session: meta.next_session,
        key: meta.next_key,
        pinPolicy: meta.next_pin_policy,
        pukPolicy: meta.next_puk_policy,
      },
      device,
      sessions,
      keys,
      pinPolicies,
      pukPolicies,
    };
  }

  #applyOne(m: Mutation): void {
    const s = this.#s;
    const key = this.#key;
    const expectRow = (changes: number, what: string, handle: number): void => {
      if (changes === 0) throw new SksError('STORAGE', `No stored ${what} with handle ${handle}`);
    };
    switch (m.kind) {
      case 'putSession': {
        const x = m.session;
        s.putSession.run({
          handle: x.handle,
          privacy_enabled: bool(x.privacyEnabled),
          client_session_id: x.clientSessionId,
          server_session_id: x.serverSessionId,
          issuer_uri: x.issuerUri,
          key_management_key: x.keyManagementKey,
          client_time: x.clientTime,
          session_life_time: x.sessionLifeTime,
        });
        return;
      }
      case 'deleteSession':
        s.deleteSession.run(m.handle);
        return;
      case 'putKey':
        this.#putKey(m.key);
        return;
      case 'deleteKey':
        s.deleteKey.run(m.handle); // certificates and extensions go by ON DELETE CASCADE
        return;
      case 'putPinPolicy': {
        const p = m.policy;
        s.putPinPolicy.run({
          handle: p.handle,
          id: p.id,
          owner: p.owner,
          puk_policy: p.pukPolicy,
          retry_limit: p.retryLimit,
          format: p.format,
          user_defined: bool(p.userDefined),
          user_modifiable: bool(p.userModifiable),
          input_method: p.inputMethod,
          grouping: p.grouping,
          pattern_restrictions: p.patternRestrictions,
          min_length: p.minLength,
          max_length: p.maxLength,
        });
        return;
      }
      case 'deletePinPolicy':
        s.deletePinPolicy.run(m.handle);
        return;
      case 'putPukPolicy': {
        const p = m.policy;
        s.putPukPolicy.run({
          handle: p.handle,
          id: p.id,
          owner: p.owner,
          puk_value: sealSecret(key, p.pukValue, aad.pukValue(p.handle)),
          format: p.format,
          retry_limit: p.retryLimit,
          error_count: p.errorCount,
        });
        return;
      }
      case 'deletePukPolicy':
        s.deletePukPolicy.run(m.handle);
        return;
      case 'setKeyErrorCount':
        expectRow(s.setKeyErrorCount.run(m.errorCount, m.handle).changes, 'key', m.handle);
        return;
      case 'setKeyPin':
        expectRow(
          s.setKeyPin.run(sealSecret(key, m.pinValue, aad.pinValue(m.handle)), m.errorCount, m.handle).changes,
          'key',
          m.handle,
        );
        return;
      case 'setKeyBackup':
        expectRow(s.setKeyBackup.run(m.keyBackup, m.handle).changes, 'key', m.handle);
        return;
      case 'setExtensionData': {
        const sealed = sealSecret(key, m.data, aad.extension(m.handle, m.type));
        if (s.setExtensionData.run(sealed, m.handle, m.type).changes === 0) {
          throw new SksError('STORAGE', `No stored extension of that type for key ${m.handle}`);
        }
        return;
      }
      case 'setPukErrorCount':
        expectRow(s.setPukErrorCount.run(m.errorCount, m.handle).changes, 'PUK policy', m.handle);
        return;
      case 'setSessionKmk':
        expectRow(s.setSessionKmk.run(m.keyManagementKey, m.handle).changes, 'session', m.handle);
        return;
      case 'setCounters': {
        const c = m.counters;
        s.setCounters.run(c.session, c.key, c.pinPolicy, c.pukPolicy);
        return;
      }
      case 'reown':
        s.reownKeys.run(m.to, m.from);
        s.reownPinPolicies.run(m.to, m.from);
        s.reownPukPolicies.run(m.to, m.from);
        return;
      case 'putDevice':
        s.putDevice.run(
          sealSecret(key, m.device.privateKey, aad.devicePrivateKey),
          encodeBlobList(m.device.certificatePath),
        );
        return;
      default: {
        const unknown: never = m;
        throw new SksError('STORAGE', `Unknown mutation: ${(unknown as { kind: string }).kind}`);
      }
    }
  }

  #putKey(k: KeyRecord): void {
    const s = this.#s;
    const key = this.#key;
    const h = k.handle;
    const types = new Set<string>();
    for (const e of k.extensions) {
      if (types.has(e.type)) throw new SksError('STORAGE', `Duplicate extension type for key ${h}`);
      types.add(e.type);
    }
    s.putKey.run({
      handle: h,
      id: k.id,
      owner: k.owner,
      app_usage: k.appUsage,
      public_key: k.publicKey,
      private_key: k.privateKey === null ? null : sealSecret(key, k.privateKey, aad.privateKey(h)),
      symmetric_key: k.symmetricKey === null ? null : sealSecret(key, k.symmetricKey, aad.symmetricKey(h)),
      endorsed_algorithms: JSON.stringify(k.endorsedAlgorithms),
      friendly_name: k.friendlyName,
      device_pin_protection: bool(k.devicePinProtection),
      pin_policy: k.pinPolicy,
      pin_value: k.pinValue === null ? null : sealSecret(key, k.pinValue, aad.pinValue(h)),
      error_count: k.errorCount,
      enable_pin_caching: bool(k.enablePinCaching),
      biometric_protection: k.biometricProtection,
      export_protection: k.exportProtection,
      delete_protection: k.deleteProtection,
      key_backup: k.keyBackup,
    });
    // A replaced key (postUpdateKey) brings its own certificates and extensions.
    s.deleteCertificates.run(h);
    k.certificatePath.forEach((der, i) => s.insertCertificate.run(h, i, der));
    s.deleteExtensions.run(h);
    k.extensions.forEach((e, i) =>
      s.insertExtension.run(h, e.type, i, e.subType, e.qualifier, sealSecret(key, e.data, aad.extension(h, e.type))),
    );
  }
}
