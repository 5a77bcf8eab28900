/**
 * The SQLite store at rest: the database and its WAL hold no secret in the
 * clear, sealed columns are bound to their rows, the store key must match,
 * one process owns a store, and the key file is private.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SksError } from '../../src/sks/errors.js';
import { readAll, type KeyRecord, type KeyStorePort, type PukPolicyRecord } from '../../src/sks/store/records.js';
import { openSecret, sealSecret } from '../../src/sks/store/sealing.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';
import { DATABASE_FILE, STORE_KEY_FILE, loadOrCreateStoreKey, openKeyStoreDirectory } from '../../src/sks/store/store-key.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SQLITE_STORE_MODULE = pathToFileURL(join(PROJECT_ROOT, 'src/sks/store/sqlite/store.ts')).href;
const posix = process.platform !== 'win32';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SksError);
    return (error as SksError).code;
  }
  return undefined;
}

/** Known secrets, random so that a hit in the file cannot be a coincidence. */
function secrets() {
  return {
    privateKey: randomBytes(138),
    symmetricKey: randomBytes(32),
    pinValue: randomBytes(32),
    pukValue: randomBytes(32),
    encryptedExtension: randomBytes(64),
    devicePrivateKey: randomBytes(138),
    secondPrivateKey: randomBytes(138),
  };
}
type Secrets = ReturnType<typeof secrets>;

function keyRecord(handle: number, privateKey: Uint8Array, state: Secrets): KeyRecord {
  return {
    handle,
    id: `Key.${handle}`,
    owner: 1,
    appUsage: 1,
    publicKey: randomBytes(91),
    privateKey,
    symmetricKey: handle === 1 ? state.symmetricKey : null,
    certificatePath: [randomBytes(300)],
    endorsedAlgorithms: [],
    friendlyName: null,
    devicePinProtection: false,
    pinPolicy: 1,
    pinValue: state.pinValue,
    errorCount: 0,
    enablePinCaching: false,
    biometricProtection: 0,
    exportProtection: 0,
    deleteProtection: 0,
    keyBackup: 0,
    extensions: [{ type: 'urn:secret', subType: 1, qualifier: '', data: state.encryptedExtension }],
  };
}

function writeSecrets(store: KeyStorePort, state: Secrets): void {
  const puk: PukPolicyRecord = {
    handle: 1,
    id: 'PUK',
    owner: 1,
    pukValue: state.pukValue,
    format: 0,
    retryLimit: 3,
    errorCount: 0,
  };
  store.apply([
    { kind: 'putDevice', device: { privateKey: state.devicePrivateKey, certificatePath: [randomBytes(400)] } },
    { kind: 'putPukPolicy', policy: puk },
    { kind: 'putKey', key: keyRecord(1, state.privateKey, state) },
    { kind: 'putKey', key: keyRecord(2, state.secondPrivateKey, state) },
  ]);
  // A patched PIN goes through its own code path.
  store.apply([{ kind: 'setKeyPin', handle: 2, pinValue: state.pinValue, errorCount: 0 }]);
}

/** Raw bytes of the database file and its WAL, if any. */
function rawFiles(dbPath: string): Buffer[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-journal`].filter(existsSync).map((p) => readFileSync(p));
}

function expectNoSecretIn(files: Buffer[], state: Secrets): void {
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    for (const [name, secret] of Object.entries(state)) {
      // Any 16-byte window of a secret would do; look for the head and the whole.
      expect(file.includes(secret), `${name} in clear`).toBe(false);
      expect(file.includes(secret.subarray(0, 16)), `${name} prefix in clear`).toBe(false);
    }
  }
}

describe('SQLite store at rest', () => {
  let dir: string;
  let dbPath: string;
  let storeKey: Buffer;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airtight-at-rest-'));
    dbPath = join(dir, DATABASE_FILE);
    storeKey = randomBytes(32);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes no secret in the clear to the database or its WAL, open or closed', () => {
    const state = secrets();
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    writeSecrets(store, state);
    // While open, the committed transactions sit in the WAL.
    expect(existsSync(`${dbPath}-wal`)).toBe(true);
    expectNoSecretIn(rawFiles(dbPath), state);
    store.close();
    expectNoSecretIn(rawFiles(dbPath), state);
    // ...and the secrets really are there, sealed.
    const again = openSqliteKeyStore({ path: dbPath, storeKey });
    const snapshot = readAll(again.load());
    again.close();
    expect(Buffer.from(snapshot.keys[0].privateKey!)).toEqual(state.privateKey);
    expect(Buffer.from(snapshot.keys[0].symmetricKey!)).toEqual(state.symmetricKey);
    expect(Buffer.from(snapshot.keys[1].pinValue!)).toEqual(state.pinValue);
    expect(Buffer.from(snapshot.pukPolicies[0].pukValue)).toEqual(state.pukValue);
    expect(Buffer.from(snapshot.keys[0].extensions[0].data)).toEqual(state.encryptedExtension);
    expect(Buffer.from(snapshot.device!.privateKey)).toEqual(state.devicePrivateKey);
  });

  it('creates the database file private to its owner', () => {
    openSqliteKeyStore({ path: dbPath, storeKey }).close();
    if (posix) expect(statSync(dbPath).mode & 0o777).toBe(0o600);
  });

  it('fails with STORAGE under a wrong store key', () => {
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    writeSecrets(store, secrets());
    store.close();
    expect(
      codeOf(() => {
        const wrong = openSqliteKeyStore({ path: dbPath, storeKey: randomBytes(32) });
        try {
          wrong.load();
        } finally {
          wrong.close();
        }
      }),
    ).toBe('STORAGE');
    // The right key still works: a failed open changed nothing.
    const right = openSqliteKeyStore({ path: dbPath, storeKey });
    expect(right.load().keys).toHaveLength(2);
    right.close();
  });

  it('rejects a store key that is not 32 bytes with STORAGE', () => {
    expect(codeOf(() => openSqliteKeyStore({ path: dbPath, storeKey: randomBytes(16) }))).toBe('STORAGE');
  });

  it('refuses a file that is not a key store with STORAGE', () => {
    writeFileSync(dbPath, randomBytes(8192), { mode: 0o600 });
    expect(codeOf(() => openSqliteKeyStore({ path: dbPath, storeKey }))).toBe('STORAGE');
  });

  it('refuses a schema newer than this code with STORAGE', () => {
    openSqliteKeyStore({ path: dbPath, storeKey }).close();
    const raw = new Database(dbPath);
    raw.pragma('user_version = 99');
    raw.close();
    expect(codeOf(() => openSqliteKeyStore({ path: dbPath, storeKey }))).toBe('STORAGE');
  });

  it('fails with STORAGE when sealed private keys are swapped between rows', () => {
    const state = secrets();
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    writeSecrets(store, state);
    store.close();

    const raw = new Database(dbPath);
    raw.exec(`
      UPDATE keys SET private_key = CASE handle
        WHEN 1 THEN (SELECT private_key FROM keys WHERE handle = 2)
        WHEN 2 THEN (SELECT private_key FROM keys WHERE handle = 1)
      END WHERE handle IN (1, 2)`);
    raw.close();

    const tampered = openSqliteKeyStore({ path: dbPath, storeKey });
    try {
      let caught: unknown;
      try {
        readAll(tampered.load());
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SksError);
      expect((caught as SksError).code).toBe('STORAGE');
      // The row MAC covers the sealed columns as stored: the swap fails the row's integrity check.
      expect((caught as SksError).message).toBe('keys row 1: integrity check failed');
    } finally {
      tampered.close();
    }
  });

  it('fails with STORAGE when one bit of a sealed PIN is flipped', () => {
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    writeSecrets(store, secrets());
    store.close();
    const raw = new Database(dbPath);
    const row = raw.prepare('SELECT pin_value FROM keys WHERE handle = 1').get() as { pin_value: Buffer };
    row.pin_value[20] ^= 0x01;
    raw.prepare('UPDATE keys SET pin_value = ? WHERE handle = 1').run(row.pin_value);
    raw.close();
    const tampered = openSqliteKeyStore({ path: dbPath, storeKey });
    try {
      expect(codeOf(() => readAll(tampered.load()))).toBe('STORAGE');
    } finally {
      tampered.close();
    }
  });

  it('gives a second connection in the same process NOT_AVAILABLE after its busy timeout', () => {
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    try {
      const start = performance.now();
      expect(codeOf(() => openSqliteKeyStore({ path: dbPath, storeKey, busyTimeoutMs: 200 }))).toBe('NOT_AVAILABLE');
      expect(performance.now() - start).toBeGreaterThanOrEqual(150);
    } finally {
      store.close();
    }
    openSqliteKeyStore({ path: dbPath, storeKey }).close();
  });

  it('gives a second process NOT_AVAILABLE while the store stays open past its busy timeout, and access once it is closed', () => {
    const child = join(dir, 'second-opener.ts');
    writeFileSync(
      child,
      `import { openSqliteKeyStore } from ${JSON.stringify(SQLITE_STORE_MODULE)};
       try {
         const store = openSqliteKeyStore({ path: process.argv[2], storeKey: Buffer.from(process.argv[3], 'base64url'), busyTimeoutMs: Number(process.argv[4]) });
         store.load();
         store.close();
         process.stdout.write('OPENED');
       } catch (e) {
         process.stdout.write(String(e.code));
       }`,
    );
    const run = (): string => {
      const spawnSyncReturns = spawnSync(process.execPath, ['--import', 'tsx', child, dbPath, storeKey.toString('base64url'), '300'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 30_000,
      });
      if (spawnSyncReturns.status !== 0) throw new Error(`child failed: ${spawnSyncReturns.stderr}`);
      return spawnSyncReturns.stdout.trim();
    };
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    try {
      expect(run()).toBe('NOT_AVAILABLE');
    } finally {
      store.close();
    }
    expect(run()).toBe('OPENED');
  }, 60_000);

  it('makes a second process wait for the owner to close instead of failing', async () => {
    const child = join(dir, 'waiting-opener.ts');
    writeFileSync(
      child,
      `import { openSqliteKeyStore } from ${JSON.stringify(SQLITE_STORE_MODULE)};
       const start = Date.now();
       try {
         const store = openSqliteKeyStore({ path: process.argv[2], storeKey: Buffer.from(process.argv[3], 'base64url') });
         store.load();
         store.close();
         process.stdout.write('OPENED ' + (Date.now() - start));
       } catch (e) {
         process.stdout.write(String(e.code));
       }`,
    );
    const store = openSqliteKeyStore({ path: dbPath, storeKey });
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dbPath, storeKey.toString('base64url')], { cwd: PROJECT_ROOT });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    // Hold the store while the child starts and begins to wait, then release it.
    await new Promise((r) => setTimeout(r, 1500));
    store.close();
    expect(await exited).toBe(0);
    expect(output).toMatch(/^OPENED \d+$/);
  }, 60_000);
});

describe('store key', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airtight-store-key-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates store.key with mode 0600 and returns the same key afterwards', () => {
    const key = loadOrCreateStoreKey(dir, {});
    expect(key).toHaveLength(32);
    if (posix) expect(statSync(join(dir, STORE_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateStoreKey(dir, {})).toEqual(key);
    expect(readFileSync(join(dir, STORE_KEY_FILE), 'utf8').trim()).toBe(key.toString('base64url'));
  });

  it('opens a store directory: private directory, private key file, database inside', () => {
    const storeDir = join(dir, 'nested', 'store');
    const store = openKeyStoreDirectory(storeDir, {});
    store.apply([{ kind: 'setCounters', counters: { session: 2, key: 3, pinPolicy: 4, pukPolicy: 5 } }]);
    store.close();
    expect(existsSync(join(storeDir, DATABASE_FILE))).toBe(true);
    if (posix) {
      expect(statSync(storeDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(storeDir, STORE_KEY_FILE)).mode & 0o777).toBe(0o600);
    }
    const again = openKeyStoreDirectory(storeDir, {});
    expect(again.load().counters).toEqual({ session: 2, key: 3, pinPolicy: 4, pukPolicy: 5 });
    again.close();
  });

  it.skipIf(!posix)('refuses a key file readable by group or others', () => {
    loadOrCreateStoreKey(dir, {});
    chmodSync(join(dir, STORE_KEY_FILE), 0o640);
    expect(codeOf(() => loadOrCreateStoreKey(dir, {}))).toBe('STORAGE');
    chmodSync(join(dir, STORE_KEY_FILE), 0o604);
    expect(codeOf(() => loadOrCreateStoreKey(dir, {}))).toBe('STORAGE');
  });

  it('refuses a malformed key file with STORAGE', () => {
    writeFileSync(join(dir, STORE_KEY_FILE), 'not a key\n', { mode: 0o600 });
    expect(codeOf(() => loadOrCreateStoreKey(dir, {}))).toBe('STORAGE');
  });

  it('takes the key from AIRTIGHT_STORE_KEY without touching the directory', () => {
    const key = randomBytes(32);
    expect(loadOrCreateStoreKey(dir, { AIRTIGHT_STORE_KEY: key.toString('base64url') })).toEqual(key);
    expect(existsSync(join(dir, STORE_KEY_FILE))).toBe(false);
  });

  it('rejects a malformed AIRTIGHT_STORE_KEY with STORAGE, naming the variable but not its value', () => {
    for (const value of [randomBytes(16).toString('base64url'), `${randomBytes(32).toString('base64url')}xx`, 'zz!zz']) {
      let caught: unknown;
      try {
        loadOrCreateStoreKey(dir, { AIRTIGHT_STORE_KEY: value });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(SksError);
      expect((caught as SksError).code).toBe('STORAGE');
      expect((caught as SksError).message).toContain('AIRTIGHT_STORE_KEY');
      expect((caught as SksError).message).not.toContain(value);
    }
  });
});

describe('sealing', () => {
  const key = randomBytes(32);

  it('round-trips and binds a sealed value to its AAD', () => {
    const plain = randomBytes(40);
    const sealed = sealSecret(key, plain, 'key:1:privateKey');
    expect(sealed).toHaveLength(1 + 12 + 40 + 16);
    expect(sealed[0]).toBe(1);
    expect(openSecret(key, sealed, 'key:1:privateKey')).toEqual(plain);
    expect(codeOf(() => openSecret(key, sealed, 'key:2:privateKey'))).toBe('STORAGE');
    expect(codeOf(() => openSecret(randomBytes(32), sealed, 'key:1:privateKey'))).toBe('STORAGE');
  });

  it('uses a fresh nonce for every seal', () => {
    const plain = randomBytes(16);
    expect(sealSecret(key, plain, 'a')).not.toEqual(sealSecret(key, plain, 'a'));
  });

  it('rejects truncated values and unknown versions with STORAGE', () => {
    const sealed = sealSecret(key, randomBytes(8), 'x');
    expect(codeOf(() => openSecret(key, sealed.subarray(0, 28), 'x'))).toBe('STORAGE');
    const otherVersion = Buffer.from(sealed);
    otherVersion[0] = 2;
    expect(codeOf(() => openSecret(key, otherVersion, 'x'))).toBe('STORAGE');
  });
});
