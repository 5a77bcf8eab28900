/**
 * A store written by development builds before row integrity (format 1: sealed
 * secrets, no row MACs) is migrated to format 2 in the opening transaction:
 * same records, every row MACed from then on; under a wrong key nothing changes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SksError } from '../../src/sks/errors.js';
import { readAll } from '../../src/sks/store/records.js';
import { sealSecret } from '../../src/sks/store/sealing.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';

/** The format 1 schema, as shipped in the first development builds. */
const FORMAT1 = `
  CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), next_session INTEGER NOT NULL, next_key INTEGER NOT NULL,
    next_pin_policy INTEGER NOT NULL, next_puk_policy INTEGER NOT NULL, store_key_check BLOB NOT NULL) STRICT;
  CREATE TABLE device (id INTEGER PRIMARY KEY CHECK (id = 1), private_key BLOB NOT NULL, certificate_path BLOB NOT NULL) STRICT;
  CREATE TABLE sessions (handle INTEGER PRIMARY KEY, privacy_enabled INTEGER NOT NULL, client_session_id TEXT NOT NULL,
    server_session_id TEXT NOT NULL, issuer_uri TEXT NOT NULL, key_management_key BLOB, client_time INTEGER NOT NULL,
    session_life_time INTEGER NOT NULL) STRICT;
  CREATE TABLE keys (handle INTEGER PRIMARY KEY, id TEXT NOT NULL, owner INTEGER NOT NULL, app_usage INTEGER NOT NULL,
    public_key BLOB NOT NULL, private_key BLOB, symmetric_key BLOB, endorsed_algorithms TEXT NOT NULL, friendly_name TEXT,
    device_pin_protection INTEGER NOT NULL, pin_policy INTEGER NOT NULL, pin_value BLOB, error_count INTEGER NOT NULL,
    enable_pin_caching INTEGER NOT NULL, biometric_protection INTEGER NOT NULL, export_protection INTEGER NOT NULL,
    delete_protection INTEGER NOT NULL, key_backup INTEGER NOT NULL) STRICT;
  CREATE TABLE key_certificates (key_handle INTEGER NOT NULL REFERENCES keys (handle) ON DELETE CASCADE,
    position INTEGER NOT NULL, certificate BLOB NOT NULL, PRIMARY KEY (key_handle, position)) STRICT;
  CREATE TABLE extensions (key_handle INTEGER NOT NULL REFERENCES keys (handle) ON DELETE CASCADE, type TEXT NOT NULL,
    position INTEGER NOT NULL, sub_type INTEGER NOT NULL, qualifier TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (key_handle, type)) STRICT;
  CREATE TABLE pin_policies (handle INTEGER PRIMARY KEY, id TEXT NOT NULL, owner INTEGER NOT NULL, puk_policy INTEGER NOT NULL,
    retry_limit INTEGER NOT NULL, format INTEGER NOT NULL, user_defined INTEGER NOT NULL, user_modifiable INTEGER NOT NULL,
    input_method INTEGER NOT NULL, grouping INTEGER NOT NULL, pattern_restrictions INTEGER NOT NULL,
    min_length INTEGER NOT NULL, max_length INTEGER NOT NULL) STRICT;
  CREATE TABLE puk_policies (handle INTEGER PRIMARY KEY, id TEXT NOT NULL, owner INTEGER NOT NULL, puk_value BLOB NOT NULL,
    format INTEGER NOT NULL, retry_limit INTEGER NOT NULL, error_count INTEGER NOT NULL) STRICT;
  PRAGMA user_version = 1;`;

const lengthPrefixed = (list: Buffer[]): Buffer => Buffer.concat(list.flatMap((b) => [Buffer.from([0, 0, b.length >> 8, b.length & 0xff]), b]));

let dir: string;
let path: string;
const storeKey = randomBytes(32);
const secret = {
  device: randomBytes(138),
  privateKey: randomBytes(138),
  pin: Buffer.from('1357'),
  puk: Buffer.from('01234567'),
  extension: randomBytes(40),
};
const certificates = [randomBytes(300), randomBytes(200)];
const publicKey = randomBytes(91);

function writeFormat1(): void {
  const db = new Database(path);
  db.exec(FORMAT1);
  db.prepare('INSERT INTO meta VALUES (1, 2, 2, 2, 2, ?)').run(sealSecret(storeKey, new Uint8Array(0), 'meta:storeKeyCheck'));
  db.prepare('INSERT INTO device VALUES (1, ?, ?)').run(sealSecret(storeKey, secret.device, 'device:privateKey'), lengthPrefixed(certificates));
  db.prepare("INSERT INTO sessions VALUES (1, 0, 'C-1', 'S-1', 'https://issuer.example', NULL, 1700000000, 3600)").run();
  db.prepare("INSERT INTO puk_policies VALUES (1, 'PUK', 1, ?, 0, 3, 1)").run(sealSecret(storeKey, secret.puk, 'puk:1:pukValue'));
  db.prepare("INSERT INTO pin_policies VALUES (1, 'PIN', 1, 1, 3, 0, 1, 1, 0, 0, 0, 4, 8)").run();
  db.prepare(`INSERT INTO keys VALUES (1, 'Key.1', 1, 1, ?, ?, NULL, '["urn:alg"]', 'Mine', 0, 1, ?, 2, 0, 0, 1, 0, 0)`).run(
    publicKey,
    sealSecret(storeKey, secret.privateKey, 'key:1:privateKey'),
    sealSecret(storeKey, secret.pin, 'key:1:pinValue'),
  );
  certificates.forEach((c, i) => db.prepare('INSERT INTO key_certificates VALUES (1, ?, ?)').run(i, c));
  db.prepare("INSERT INTO extensions VALUES (1, 'urn:ext', 0, 1, '', ?)").run(sealSecret(storeKey, secret.extension, 'key:1:extension:urn:ext'));
  db.close();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airtight-format1-'));
  path = join(dir, 'sks.db');
  writeFormat1();
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('format 1 migration', () => {
  it('migrates every record of a format 1 store to MACed format 2 rows', () => {
    const store = openSqliteKeyStore({ path, storeKey });
    const storeContents = readAll(store.load());
    store.close();
    expect(storeContents.counters).toEqual({ session: 2, key: 2, pinPolicy: 2, pukPolicy: 2 });
    expect(Buffer.from(storeContents.device!.privateKey)).toEqual(secret.device);
    expect(storeContents.device!.certificatePath.map((x) => Buffer.from(x))).toEqual(certificates);
    expect(storeContents.sessions.map((s) => s.issuerUri)).toEqual(['https://issuer.example']);
    expect(Buffer.from(storeContents.pukPolicies[0].pukValue)).toEqual(secret.puk);
    expect(storeContents.pukPolicies[0].errorCount).toBe(1);
    expect(storeContents.pinPolicies[0].pukPolicy).toBe(1);
    const keyRecord = storeContents.keys[0];
    expect(Buffer.from(keyRecord.privateKey!)).toEqual(secret.privateKey);
    expect(Buffer.from(keyRecord.pinValue!)).toEqual(secret.pin);
    expect(Buffer.from(keyRecord.publicKey)).toEqual(publicKey);
    expect(keyRecord.certificatePath.map((x) => Buffer.from(x))).toEqual(certificates);
    expect(keyRecord.endorsedAlgorithms).toEqual(['urn:alg']);
    expect([keyRecord.errorCount, keyRecord.exportProtection, keyRecord.friendlyName]).toEqual([2, 1, 'Mine']);
    expect(keyRecord.extensions.map((e) => [e.type, e.subType, Buffer.from(e.data)])).toEqual([['urn:ext', 1, secret.extension]]);

    // From now on, rows are MACed: an edit is detected.
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.prepare('UPDATE keys SET error_count = 0').run();
    db.close();
    const again = openSqliteKeyStore({ path, storeKey });
    expect(() => again.load().keys[0].read()).toThrow(/keys row 1: integrity check failed/);
    again.close();
  });

  it('changes nothing under a wrong store key', () => {
    let caught: unknown;
    try {
      openSqliteKeyStore({ path, storeKey: randomBytes(32) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SksError);
    expect((caught as SksError).code).toBe('STORAGE');
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare('SELECT count(*) FROM key_certificates').pluck().get()).toBe(2);
    db.close();
  });
});
