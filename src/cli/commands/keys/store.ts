/**
 * Opening the device store for one `keys` command, and the pieces every verb
 * shares: the `--dir` option, the key-handle argument, and the report of a
 * rejected PIN or PUK.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, InvalidArgumentError } from 'commander';
import { keyHandle, type KeyHandle, type SecureKeyStore } from '../../../sks/api.js';
import { openSecureKeyStore } from '../../../sks/engine/secure-key-store.js';
import { SksError } from '../../../sks/errors.js';
import { DATABASE_FILE, openKeyStoreDirectory } from '../../../sks/store/store-key.js';
import { deviceStoreDir } from '../../home.js';

/** The store directory: `--dir`, else `$AIRTIGHT_HOME/device` (as `device` does). */
export const storeDir = (dir: string | undefined): string => deviceStoreDir(dir);

export const DIR_OPTION_FLAGS = '--dir <dir>';
export const DIR_OPTION_TEXT = 'store directory (default: $AIRTIGHT_HOME/device)';

/** A key handle as typed: a positive decimal integer. */
export function parseKeyHandle(text: string): KeyHandle {
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 0xffffffff) {
    throw new InvalidArgumentError('a key handle is a positive decimal number (see "airtight keys list")');
  }
  return keyHandle(Number(text));
}

export const idArgument = (): Argument => new Argument('<id>', 'key handle (decimal, from "keys list")').argParser(parseKeyHandle);

/**
 * Opens the store in `dir` without ever creating one: a directory without a
 * database is `ERROR_NOT_AVAILABLE`, as for `device info`.
 */
export function openKeyStore(dir: string): SecureKeyStore {
  if (!existsSync(join(dir, DATABASE_FILE))) {
    throw new SksError('NOT_AVAILABLE', `No key store in ${dir}: run "airtight device init" first`);
  }
  const port = openKeyStoreDirectory(dir);
  try {
    return openSecureKeyStore({ store: port });
  } catch (e) {
    port.close();
    throw e;
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

/** Exit status of main.ts for SKS `AUTHORIZATION`. */
const EXIT_AUTHORIZATION = 3;

/** Runs `fn` on the store in `dir` and always closes it, releasing the store lock. */
export async function withKeyStore(dir: string, fn: (sks: SecureKeyStore) => Promise<void>): Promise<void> {
  const sks = openKeyStore(dir);
  try {
    await fn(sks);
  } catch (e) {
    if (!(e instanceof KeyAuthorizationFailure)) throw e;
    process.stderr.write(`airtight: ${e.error.code}: ${e.error.message}\n`);
    if (e.hint !== undefined) process.stderr.write(`airtight: ${e.hint}\n`);
    process.exitCode = EXIT_AUTHORIZATION;
  } finally {
    await sks.close();
  }
}
