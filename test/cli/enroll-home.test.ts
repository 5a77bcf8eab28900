/**
 * One home for every command: `npm run interop` (scripts/interop.sh) creates its
 * device where `airtight keys list`, `device info` and `enroll` look without
 * `--dir` ($AIRTIGHT_HOME/device, else ~/.airtight/device), so a key enrolled
 * after `npm run interop` is listed by `keys list`.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHttpIssuer, type HttpIssuer } from '../support/http-issuer.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';

const tmp = mkdtempSync(join(tmpdir(), 'airtight-home-'));
const issuers: HttpIssuer[] = [];
afterAll(async () => {
  for (const httpIssuer of issuers.splice(0)) await httpIssuer.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface Result {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

/** Runs a command with HOME set to `home` (and $AIRTIGHT_HOME only when given). */
function run(command: string, args: readonly string[], home: string, extra: Record<string, string> = {}): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, AIRTIGHT_CLI: `${process.execPath} --import tsx ${MAIN}`, ...extra };
  for (const variable of ['AIRTIGHT_HOME', 'AIRTIGHT_DEBUG', 'AIRTIGHT_STORE_KEY', 'AIRTIGHT_PIN']) {
    if (!(variable in extra)) delete env[variable];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 55_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status });
    });
    child.stdin.end();
  });
}

const airtight = (args: readonly string[], home: string, extra?: Record<string, string>): Promise<Result> =>
  run(process.execPath, ['--import', 'tsx', MAIN, ...args], home, extra);

describe('one home for every command', () => {
  it("npm run interop's device (~/.airtight/device) is the one keys list, device info and enroll use", async () => {
    const home = join(tmp, 'user');
    const start = await run('sh', ['scripts/interop.sh'], home);
    expect(start.status).toBe(0);
    const db = join(home, '.airtight', 'device', 'sks.db');
    expect(start.stdout).toContain(`Store:        ${db}`);
    expect(start.stdout).toMatch(/\d+ passed, 0 failed/);

    const info = await airtight(['device', 'info', '--json'], home);
    expect(info.status).toBe(0);
    expect((JSON.parse(info.stdout) as { store: string }).store).toBe(db);
    const empty = await airtight(['keys', 'list'], home);
    expect(empty.stderr).toBe('');
    expect(empty.stdout).toBe('No keys.\n');

    const root = new X509Certificate(readFileSync(join(home, '.airtight', 'manufacturer-ca', 'root-ca.pem'))).raw;
    const issuer = await startHttpIssuer({
      deviceRoots: [root],
      config: (uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: P256, appUsage: 'authentication' }] }),
      commonNamePrefix: 'Home',
    });
    issuers.push(issuer);
    const enroll = await airtight(['enroll', issuer.invocationUrl('JSESSIONID=home-1'), '--yes'], home);
    expect(enroll.status).toBe(0);
    const list = await airtight(['keys', 'list'], home);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/#\d+\s+authentication\s+.*CN=Home Key\.1/);
  });

  it('npm run interop and keys list both follow $AIRTIGHT_HOME', async () => {
    const home = join(tmp, 'other-user');
    const airtightHome = join(tmp, 'elsewhere');
    const start = await run('sh', ['scripts/interop.sh'], home, { AIRTIGHT_HOME: airtightHome });
    expect(start.status).toBe(0);
    expect(start.stdout).toContain(`Store:        ${join(airtightHome, 'device', 'sks.db')}`);
    const list = await airtight(['keys', 'list'], home, { AIRTIGHT_HOME: airtightHome });
    expect(list.stderr).toBe('');
    expect(list.stdout).toBe('No keys.\n');
    // Without $AIRTIGHT_HOME the same user has no device yet: nothing was created in ~/.airtight.
    const none = await airtight(['keys', 'list'], home);
    expect(none.status).toBe(6);
  });
});
