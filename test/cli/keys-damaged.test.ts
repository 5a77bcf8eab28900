/**
 * `airtight keys list` and `keys delete` on a store with a damaged key row
 * (edited in sks.db without the store key): the store opens, the key is listed
 * as damaged, it is deleted without authorization, the other key is untouched.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDevice } from '../../src/sks/device/provision-device.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { DATABASE_FILE, openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { IssuerSession } from '../support/issuer-emulator.js';
import { getTestCa } from '../support/test-ca.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'airtight-keys-damaged-'));
const dir = join(tmp, 'device');
const handleValue = { damaged: 0, sound: 0 };

function airtight(args: readonly string[]): { stdout: string; stderr: string; status: number | null } {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: join(tmp, 'home') };
  delete env['AIRTIGHT_STORE_KEY'];
  const spawnSyncReturns = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'keys', ...args, '--dir', dir], {
    cwd: ROOT,
    env,
    input: '',
    timeout: 60_000,
  });
  return { stdout: spawnSyncReturns.stdout.toString('utf8'), stderr: spawnSyncReturns.stderr.toString('utf8'), status: spawnSyncReturns.status };
}

beforeAll(async () => {
  await initDevice({ dir, caDir: join(tmp, 'ca'), keyType: 'ec-p256', env: {} });
  const sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir, {}) });
  try {
    const issuerSession = await IssuerSession.open(sks, { ca: await getTestCa() });
    const pin = await issuerSession.createPinPolicy({ id: 'PIN' });
    const damaged = await issuerSession.provisionKey({ id: 'D', pinPolicy: pin, userPin: '1357', deleteProtection: 1 }, { commonName: 'Damaged' });
    const sound = await issuerSession.provisionKey({ id: 'S' }, { commonName: 'Sound' });
    await issuerSession.closeSession();
    Object.assign(handleValue, { damaged: damaged.keyHandle, sound: sound.keyHandle });
  } finally {
    await sks.close();
  }
  const db = new Database(join(dir, DATABASE_FILE));
  db.prepare('UPDATE keys SET delete_protection = 0, pin_policy = 0 WHERE handle = ?').run(handleValue.damaged);
  db.close();
}, 60_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('airtight keys on a damaged key', () => {
  it('list shows the damaged key as damaged and the other as usual', () => {
    const result = airtight(['list', '--json']);
    expect(result.status, result.stderr).toBe(0);
    const keys = JSON.parse(result.stdout) as Array<{ keyHandle: number; damaged?: boolean; protection: string; commonName: string | null }>;
    expect(keys.map((k) => [k.keyHandle, k.damaged === true])).toEqual([
      [handleValue.damaged, true],
      [handleValue.sound, false],
    ]);
    expect(keys[0].protection).toMatch(
      new RegExp(`^DAMAGED \\(Key #${handleValue.damaged} is damaged: keys row ${handleValue.damaged}: integrity check failed\\)`),
    );
    expect(keys[1].commonName).toBe('Sound');
  });

  it('show fails with STORAGE naming the key', () => {
    const result = airtight(['show', String(handleValue.damaged)]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`STORAGE: Key #${handleValue.damaged} is damaged`);
  });

  it('delete --yes removes the damaged key without a PIN', () => {
    const result = airtight(['delete', String(handleValue.damaged), '--yes']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Deleted damaged key #${handleValue.damaged}.`);
    const list = JSON.parse(airtight(['list', '--json']).stdout) as Array<{ keyHandle: number }>;
    expect(list.map((k) => k.keyHandle)).toEqual([handleValue.sound]);
  });
});
