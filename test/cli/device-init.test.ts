import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

const tmp = mkdtempSync(join(tmpdir(), 'airtight-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function airtight(...args: string[]): SpawnSyncReturns<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: join(tmp, 'home') };
  delete env['AIRTIGHT_DEBUG'];
  delete env['AIRTIGHT_STORE_KEY'];
  return spawnSync(TSX, [MAIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

const snapshotOf = (dir: string): Record<string, string> =>
  Object.fromEntries(
    ['sks.db', 'store.key'].map((text) => {
      const file = join(dir, text);
      return [text, `${statSync(file).mtimeMs}:${readFileSync(file).toString('hex')}`];
    }),
  );

describe('airtight device', () => {
  const dir = join(tmp, 'device');
  const caDir = join(tmp, 'ca');

  it('init creates the store, the store key and the manufacturer CA', () => {
    const run = airtight('device', 'init', '--dir', dir, '--ca-dir', caDir);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const text of [join(dir, 'sks.db'), join(dir, 'store.key'), join(caDir, 'root-ca.pem')]) {
      expect(existsSync(text)).toBe(true);
      expect(run.stdout).toContain(text);
    }
    expect(existsSync(join(caDir, 'ca-key.pem'))).toBe(true);
  });

  it('init refuses a store that already has a device and changes nothing', () => {
    const before = snapshotOf(dir);
    const run = airtight('device', 'init', '--dir', dir, '--ca-dir', caDir, '--key', 'rsa-2048');
    expect(run.status).toBe(4);
    expect(run.stderr).toMatch(/^airtight: NOT_ALLOWED: .*orphan/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(snapshotOf(dir)).toEqual(before);
  });

  it('info --json describes the device certificate issued by the root', () => {
    const run = airtight('device', 'info', '--dir', dir, '--json');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const info = JSON.parse(run.stdout) as Record<string, unknown>;
    const root = new X509Certificate(readFileSync(join(caDir, 'root-ca.pem')));
    expect(info['subject']).toMatch(/^CN=Airtight Device, serialNumber=[0-9a-f]{32}$/);
    expect(info['issuer']).toBe(root.subject.split('\n').join(', '));
    expect(info['keyType']).toBe('ec-p256');
    expect(info['keyCount']).toBe(0);
    expect(info['certificatePathLength']).toBe(2);
    expect(info['sha256Fingerprint']).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(typeof info['vendorName']).toBe('string');
  });

  it('info in text form', () => {
    const run = airtight('device', 'info', '--dir', dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Subject: +CN=Airtight Device/m);
    expect(run.stdout).toMatch(/^Key type: +ec-p256$/m);
  });

  it('init with an RSA key under AIRTIGHT_HOME reuses nothing it should not', () => {
    const run = airtight('device', 'init', '--key', 'rsa-2048');
    expect(run.status).toBe(0);
    const home = join(tmp, 'home');
    expect(existsSync(join(home, 'device', 'sks.db'))).toBe(true);
    expect(existsSync(join(home, 'manufacturer-ca', 'root-ca.pem'))).toBe(true);
    const info = JSON.parse(airtight('device', 'info', '--json').stdout) as Record<string, unknown>;
    expect(info['keyType']).toBe('rsa-2048');
  });

  it('info on a directory without a store fails with NOT_AVAILABLE and creates nothing', () => {
    const empty = join(tmp, 'nothing-here');
    const run = airtight('device', 'info', '--dir', empty);
    expect(run.status).toBe(6);
    expect(run.stderr).toMatch(/^airtight: NOT_AVAILABLE: /);
    expect(existsSync(empty)).toBe(false);
  });

  it('usage errors exit with status 2', () => {
    expect(airtight('device', 'init', '--key', 'dsa').status).toBe(2);
    expect(airtight('no-such-command').status).toBe(2);
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = airtight('--version');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
