/**
 * The store key: the 32-byte AES key that seals every secret field of the
 * SQLite store (see `sealing.ts`).
 *
 * It lives outside the database file, so a copied, synced or backed-up
 * database reveals no secret on its own. This software SKS keeps it in a
 * private file next to the database (or takes it from the environment); a
 * real device would keep it in a TPM, a secure element or the platform
 * keystore and never let it reach the file system.
 *
 * @example
 * ```ts
 * const store = openKeyStoreDirectory(path.join(os.homedir(), '.airtight'));
 * const sks = openSecureKeyStore({ store, device });
 * ```
 */
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SksError } from '../errors.js';
import type { KeyStorePort } from './records.js';
import { openSqliteKeyStore, type SqliteKeyStoreOptions } from './sqlite/store.js';

/** File name of the store key inside a store directory. */
export const STORE_KEY_FILE = 'store.key';
/** File name of the SQLite database inside a store directory. */
export const DATABASE_FILE = 'sks.db';
/** Environment variable that, when set, supplies the store key (base64url of 32 bytes). */
export const STORE_KEY_ENV = 'AIRTIGHT_STORE_KEY';

const KEY_LENGTH = 32;
/** base64url without padding of 32 bytes is 43 characters; one trailing `=` is tolerated. */
const KEY_TEXT = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]=?$/;

function decodeKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (!KEY_TEXT.test(trimmed)) return null;
  const key = Buffer.from(trimmed.replace(/=$/, ''), 'base64url');
  return key.length === KEY_LENGTH ? key : null;
}

/** Reads and checks the key file; null when it does not exist. */
function readKeyFile(path: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return null;
    throw new SksError('STORAGE', `Cannot read ${STORE_KEY_FILE}${errnoSuffix(error)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SksError('STORAGE', `${STORE_KEY_FILE} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new SksError('STORAGE', `${STORE_KEY_FILE} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    const key = decodeKey(readFileSync(fd, 'utf8'));
    if (key === null) throw new SksError('STORAGE', `${STORE_KEY_FILE} does not hold a base64url 32-byte key`);
    return key;
  } finally {
    closeSync(fd);
  }
}

/** Creates the key file exclusively; returns null if another process created it first. */
function createKeyFile(dir: string, path: string): Buffer | null {
  const key = randomBytes(KEY_LENGTH);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return null;
    throw new SksError('STORAGE', `Cannot create ${STORE_KEY_FILE}${errnoSuffix(error)}`);
  }
  try {
    writeSync(fd, `${key.toString('base64url')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  syncDirectory(dir);
  return key;
}

/** Makes a new directory entry durable (POSIX); best effort elsewhere. */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on directories; the key file itself is synced.
  }
}

const errnoSuffix = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) ? ` (${code})` : '';
};

/**
 * Returns the store key for the store in `dir`.
 *
 * If `AIRTIGHT_STORE_KEY` is set in `env` it must be base64url of 32 bytes and
 * is used as is. Otherwise `<dir>/store.key` is read, or created (mode 0600,
 * exclusive create) with a fresh random key when absent — but only for a new
 * store: when `<dir>/sks.db` already exists, a missing key is an error that
 * says where the key was looked for, and nothing is written (a new random key
 * could never open the existing store, and would hide the real problem). On
 * POSIX a key file that group or others may access is refused. Every failure
 * is `ERROR_STORAGE`; no message ever contains key material.
 */
export function loadOrCreateStoreKey(dir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env[STORE_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const key = decodeKey(fromEnv);
    if (key === null) throw new SksError('STORAGE', `${STORE_KEY_ENV} must be base64url of 32 bytes`);
    return key;
  }
  const path = join(dir, STORE_KEY_FILE);
  const existing = readKeyFile(path);
  if (existing !== null) return existing;
  if (existsSync(join(dir, DATABASE_FILE))) {
    throw new SksError('STORAGE', `The key store ${join(dir, DATABASE_FILE)} exists but its store key does not: looked for ${path} and ${STORE_KEY_ENV}`);
  }
  const key = createKeyFile(dir, path) ?? readKeyFile(path);
  if (key === null) throw new SksError('STORAGE', `Cannot read ${STORE_KEY_FILE}`);
  return key;
}

/**
 * Opens the store kept in directory `dir` (created with mode 0700 if absent):
 * the database `<dir>/sks.db` sealed under {@link loadOrCreateStoreKey}.
 */
export function openKeyStoreDirectory(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  options: Pick<SqliteKeyStoreOptions, 'busyTimeoutMs'> = {},
): KeyStorePort {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SksError('STORAGE', `Cannot create the key store directory${errnoSuffix(error)}`);
  }
  const storeKey = loadOrCreateStoreKey(dir, env);
  try {
    return openSqliteKeyStore({ ...options, path: join(dir, DATABASE_FILE), storeKey });
  } finally {
    storeKey.fill(0); // the store works on its own copy (wiped when it closes)
  }
}
