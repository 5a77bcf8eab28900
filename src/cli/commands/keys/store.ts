/**
 * Opening the device store for one `keys` command, and the pieces every verb
 * shares: the store directory, the key-handle argument, and the report of a
 * rejected PIN or PUK (the options themselves are in ../../options.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, InvalidArgumentError } from 'commander';
import { keyHandle, type KeyHandle, type SecureKeyStore } from '../../../sks/api.js';
import { openSecureKeyStore } from '../../../sks/engine/secure-key-store.js';
import { SksError } from '../../../sks/errors.js';
import { DATABASE_FILE, openKeyStoreDirectory } from '../../../sks/store/store-key.js';
import { SKS_EXIT_STATUS } from '../../exit-status.js';
import { note } from '../../output.js';
import { deviceStoreDir } from '../../home.js';

/** The store directory: `--dir`, else `$AIRTIGHT_HOME/device` (as `device` does). */
export const storeDir = (dir: string | undefined): string => deviceStoreDir(dir);

/** The largest handle the SKS accepts: a Java `int` (engine/validate.ts `handle`). */
const MAX_KEY_HANDLE = 0x7fffffff;

/**
 * A key handle as typed: a decimal number. What is not a number is a usage
 * error; a number the SKS would refuse as a handle is reported as the SKS
 * reports an absent key (`NO_KEY`, exit status 5), since no key can have it.
 */
export function parseKeyHandle(text: string): KeyHandle {
  if (!/^[0-9]+$/.test(text)) {
    throw new InvalidArgumentError('a key handle is a decimal number (see "airtight keys list")');
  }
  const count = Number(text);
  if (count > MAX_KEY_HANDLE) throw new SksError('NO_KEY', `Key not found #${text.replace(/^0+(?=.)/, '')}`);
  return keyHandle(count);
}

export const idArgument = (): Argument => new Argument('<id>', 'key handle (decimal, from "keys list")').argParser(parseKeyHandle);

/**
 * How long a command waits for other processes to finish with the store
 * before it gives up with `ERROR_NOT_AVAILABLE`. Each holds it only for one
 * short call (never while a person types), but many commands started at
 * once queue behind each other, so the wait is longer than the adapter's default.
 */
export const STORE_WAIT_MS = 60_000;

let warnedOfWait = false;

/**
 * The wait in force: `AIRTIGHT_STORE_WAIT_MS` (1 ms to 10 minutes) when set to a whole number, else
 * {@link STORE_WAIT_MS}; a value set but unusable is said once on stderr rather than ignored silently.
 */
export function storeWaitMs(env: NodeJS.ProcessEnv = process.env, warn: (line: string) => void = note): number {
  const text = env['AIRTIGHT_STORE_WAIT_MS'];
  if (text === undefined) return STORE_WAIT_MS;
  const value = /^[0-9]{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (value >= 1 && value <= 600_000) return value;
  if (!warnedOfWait) {
    warnedOfWait = true;
    warn(`airtight: AIRTIGHT_STORE_WAIT_MS must be a whole number of milliseconds from 1 to 600000; waiting ${STORE_WAIT_MS} ms`);
  }
  return STORE_WAIT_MS;
}

/** `ERROR_NOT_AVAILABLE` unless `dir` holds a store (checked without opening it). */
export function requireKeyStore(dir: string): void {
  if (!existsSync(join(dir, DATABASE_FILE))) {
    throw new SksError('NOT_AVAILABLE', `No key store in ${dir}: run "airtight device init" first`);
  }
}

/**
 * Opens the store in `dir` without ever creating one: a directory without a
 * database is `ERROR_NOT_AVAILABLE`, as for `device info`.
 */
export function openKeyStore(dir: string): SecureKeyStore {
  requireKeyStore(dir);
  const port = openKeyStoreDirectory(dir, process.env, { busyTimeoutMs: storeWaitMs() });
  try {
    return openSecureKeyStore({ store: port });
  } catch (error) {
    port.close();
    throw error;
  }
}

/**
 * A PIN or PUK the SKS rejected, with a line saying what is left. Thrown by
 * `authorized` and reported by {@link withKeyStore}: the SKS's own line first
 * (as main.ts would print it), then the hint, exit status 3.
 */
export class KeyAuthorizationFailure extends Error {
  override readonly name = 'KeyAuthorizationFailure';
  constructor(
    readonly error: SksError,
    readonly hint: string | undefined,
  ) {
    super(error.message);
  }
}

/**
 * Runs `fn` on the store in `dir` and always closes it, releasing the store
 * for other processes. When `fn` failed, that failure is reported, not a
 * failure to close after it.
 */
async function usingKeyStore<T>(dir: string, fn: (sks: SecureKeyStore) => Promise<T>): Promise<T> {
  const sks = openKeyStore(dir);
  let result: T;
  try {
    result = await fn(sks);
  } catch (error) {
    await sks.close().catch(() => undefined);
    throw error;
  }
  await sks.close();
  return result;
}

/**
 * Reads what a command must know before it asks a person anything (the
 * key's protection, to word the prompt and to know whether to ask at all),
 * then closes the store again: no command holds the store while it waits
 * for a PIN, a PUK or a confirmation, so other processes are not kept out.
 */
export const peekKeyStore = <T>(dir: string, fn: (sks: SecureKeyStore) => Promise<T>): Promise<T> => usingKeyStore(dir, fn);

/**
 * Runs `fn` on the store in `dir` (after every secret has been read) and
 * always closes it. A rejected PIN or PUK is reported here, with its hint.
 */
export async function withKeyStore(dir: string, fn: (sks: SecureKeyStore) => Promise<void>): Promise<void> {
  try {
    await usingKeyStore(dir, fn);
  } catch (err) {
    if (!(err instanceof KeyAuthorizationFailure)) throw err;
    process.stderr.write(`airtight: ${err.error.code}: ${err.error.message}\n`);
    if (err.hint !== undefined) process.stderr.write(`airtight: ${err.hint}\n`);
    process.exitCode = SKS_EXIT_STATUS.AUTHORIZATION;
  }
}
