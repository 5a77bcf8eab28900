/**
 * `airtight keys` when the store cannot be written, and the key-handle range:
 *
 * - under `ulimit -f` (every write to the store fails, as on a full disk) a
 *   wrong and a right PIN or PUK get the same answer (STORAGE, exit status 6,
 *   the same line) and nothing is counted, so no guess is learned for free;
 * - no command holds the store while it waits for its input;
 * - a handle the SKS cannot have is "no such key" (exit status 5).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDevice } from '../../src/sks/device/provision-device.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { createEnroller } from '../support/keygen2-harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

const tmp = mkdtempSync(join(tmpdir(), 'airtight-keys-faults-'));
const dir = join(tmp, 'device');
const dataFile = join(tmp, 'data.txt');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PIN = '1357';
const PUK = '12345678';
let signer = 0;

interface Result {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

const text = (r: SpawnSyncReturns<Buffer>): Result => ({ stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), status: r.status });

/** The environment of a child: no secrets or debug switches inherited from the test runner. */
function childEnv(extra: Partial<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: join(tmp, 'home'), ...extra };
  for (const text of ['AIRTIGHT_DEBUG', 'AIRTIGHT_STORE_KEY', 'AIRTIGHT_PIN', 'AIRTIGHT_PUK', 'AIRTIGHT_NEW_PIN']) {
    if (extra[text] === undefined) delete env[text];
  }
  return env;
}

const keysArgs = (args: readonly string[]): string[] => ['--import', 'tsx', MAIN, 'keys', ...args, '--dir', dir];

function airtight(args: readonly string[], env: Record<string, string> = {}): Result {
  return text(spawnSync(process.execPath, keysArgs(args), { cwd: ROOT, env: childEnv(env), input: '', timeout: 30_000 }));
}

/**
 * The same under `ulimit -f` (in 1024-byte blocks, far below one SQLite WAL
 * frame): reading works, every write to the store fails with EFBIG.
 */
function airtightNoWrites(args: readonly string[], env: Record<string, string> = {}): Result {
  return text(
    spawnSync('bash', ['-c', 'ulimit -f 2 && exec "$@"', 'bash', process.execPath, ...keysArgs(args)], {
      cwd: ROOT,
      env: childEnv(env),
      input: '',
      timeout: 30_000,
    }),
  );
}

const protection = (): { pin: { errorCount: number }; puk: { errorCount: number } } =>
  (JSON.parse(airtight(['show', String(signer), '--json']).stdout) as { protection: { pin: { errorCount: number }; puk: { errorCount: number } } }).protection;

beforeAll(async () => {
  writeFileSync(dataFile, 'data to be signed\n');
  await initDevice({ dir, caDir: join(tmp, 'ca'), keyType: 'ec-p256', env: {} });
  const sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir, {}) });
  try {
    const { enroll, issuerUri } = await createEnroller({ sks });
    const { summary } = await enroll({
      config: {
        issuerUri,
        pukPolicies: [
          {
            puk: PUK,
            format: 'numeric',
            retryLimit: 3,
            pinPolicies: [
              {
                minLength: 4,
                maxLength: 8,
                retryLimit: 3,
                format: 'numeric',
                userModifiable: false,
                keys: [{ keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256', appUsage: 'authentication', exportProtection: 'non-exportable' }],
              },
            ],
          },
        ],
      },
      pins: PIN,
      commonName: 'Signer',
    });
    signer = summary.keys[0].keyHandle;
  } finally {
    await sks.close();
  }
});

describe('airtight keys when the store cannot be written (ulimit -f)', () => {
  it('sign: six wrong PINs, then the right one, all fail alike (STORAGE, exit 6) and nothing is counted', () => {
    const sign = (pin: string): Result => airtightNoWrites(['sign', String(signer), '--alg', 'ecdsa-sha256', dataFile], { AIRTIGHT_PIN: pin });
    const results = [...['0000', '1111', '2222', '3333', '4444', '5555'].map(sign), sign(PIN)];
    for (const result of results) {
      expect(result.status, result.stderr).toBe(6);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^airtight: STORAGE: /);
      expect(result.stderr).not.toContain(PIN);
    }
    // Wrong and right cannot be told apart: the same line for every one.
    expect(new Set(results.map((r) => r.stderr)).size).toBe(1);
    expect(protection().pin.errorCount).toBe(0);
    // Once the store can be written again, the right PIN signs with every try left.
    expect(airtight(['sign', String(signer), '--alg', 'ecdsa-sha256', dataFile], { AIRTIGHT_PIN: PIN }).status).toBe(0);
    expect(protection().pin.errorCount).toBe(0);
  }, 120_000);

  it('unlock: wrong PUKs, then the right one, all fail alike (STORAGE, exit 6) and nothing is counted', () => {
    const unlock = (puk: string): Result => airtightNoWrites(['unlock', String(signer)], { AIRTIGHT_PUK: puk });
    const results = [...['00000000', '11111111', '22222222', '33333333'].map(unlock), unlock(PUK)];
    for (const result of results) {
      expect(result.status, result.stderr).toBe(6);
      expect(result.stderr).toMatch(/^airtight: STORAGE: /);
      expect(result.stderr).not.toContain(PUK);
    }
    expect(new Set(results.map((r) => r.stderr)).size).toBe(1);
    expect(protection().puk.errorCount).toBe(0);
    expect(airtight(['unlock', String(signer)], { AIRTIGHT_PUK: PUK }).status).toBe(0);
  }, 120_000);
});

describe('airtight keys holds no store while it waits', () => {
  it('sign reading its data from a pipe leaves the store to other processes until the data is there', async () => {
    const child = spawn(process.execPath, keysArgs(['sign', String(signer), '--alg', 'ecdsa-sha256', '-']), {
      cwd: ROOT,
      env: childEnv({ AIRTIGHT_PIN: PIN }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      // Time for the child to start, read the key's protection and the PIN, and block on stdin.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const list = airtight(['list']);
      expect(list.stderr).toBe('');
      expect(list.status).toBe(0);
      child.stdin.end('data to be signed\n');
      expect(await exited, stderr).toBe(0);
      expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]+$/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('airtight keys key handles', () => {
  it('a handle beyond the range the SKS accepts is "no such key" (NO_KEY, exit 5), like an absent one', () => {
    for (const id of ['2147483648', '99999999999999999999', '2147483647', '0']) {
      const result = airtight(['sign', id, '--alg', 'ecdsa-sha256', dataFile]);
      expect(result.status, `${id}: ${result.stderr}`).toBe(5);
      expect(result.stderr).toBe(`airtight: NO_KEY: Key not found #${id}\n`);
    }
    const outcome = airtight(['show', '12x']);
    expect(outcome.status).toBe(2);
  }, 120_000);
});
