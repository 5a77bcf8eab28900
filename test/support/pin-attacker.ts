/**
 * Child process of pin-durability.test.ts: a PIN guesser that the test kills
 * with SIGKILL at random instants.
 *
 * Usage: `node --import tsx test/support/pin-attacker.ts <store dir> <key handle> <max attempts>`
 *
 * Opens the SQLite key store in `<store dir>` (its own device record and
 * `store.key`), prints `READY`, then calls signData with a wrong PIN up to
 * `<max attempts>` times, printing `WRONG` after each `ERROR_AUTHORIZATION`
 * it receives. Lines are written with a synchronous write(2), so a line the
 * parent reads is a result this process really learned. Any other outcome
 * prints `UNEXPECTED <detail>` and exits 2. When the budget is spent it
 * prints `DONE` and waits to be killed.
 */
import { writeSync } from 'node:fs';
import { keyHandle } from '../../src/sks/api.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { SksError } from '../../src/sks/errors.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const WRONG_PIN = '0000';

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes one line before returning. stdout is a non-blocking socket that a
 * busy parent may let fill up: on EAGAIN wait 1 ms and retry, never drop.
 */
const say = (line: string): void => {
  const buf = Buffer.from(`${line}\n`);
  let offset = 0;
  while (offset < buf.length) {
    try {
      offset += writeSync(1, buf, offset);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
};

async function main(): Promise<void> {
  const [dir, handleText, maxText] = process.argv.slice(2) as Array<string | undefined>;
  if (dir === undefined || handleText === undefined || maxText === undefined) {
    say('UNEXPECTED usage: pin-attacker <dir> <keyHandle> <maxAttempts>');
    process.exit(2);
  }
  const handle = keyHandle(Number(handleText));
  const max = Number(maxText);
  // An empty environment: the store key comes from <dir>/store.key, never from AIRTIGHT_STORE_KEY.
  const sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir, {}) });
  say('READY');
  const authorization = Buffer.from(WRONG_PIN, 'ascii');
  const data = Buffer.from('guess');
  for (let i = 0; i < max; i++) {
    try {
      await sks.signData({ keyHandle: handle, algorithm: ECDSA_SHA256, authorization, data });
      say('UNEXPECTED the wrong PIN was accepted');
      process.exit(2);
    } catch (error) {
      if (error instanceof SksError && error.code === 'AUTHORIZATION') {
        say('WRONG');
      } else {
        say(`UNEXPECTED ${error instanceof SksError ? `${error.code} ${error.message}` : String(error)}`);
        process.exit(2);
      }
    }
  }
  say('DONE');
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  say(`UNEXPECTED ${String(error)}`);
  process.exit(2);
});
