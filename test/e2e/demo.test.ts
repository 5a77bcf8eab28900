/**
 * `airtight demo` as a user runs it: one process, exit 0, one `✓` line per
 * step in order, and nothing left behind in the temporary directory (unless --keep).
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const STEPS = ['device', 'issuer', 'invite', 'enroll', 'sign', 'verify', 'schedule', 'manage', 'check'];

function demo(...args: string[]): Promise<{ stdout: string; stderr: string; status: number | null }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The demo must not depend on (or touch) the user's settings: point them somewhere that does not exist.
  env['AIRTIGHT_HOME'] = join(ROOT, 'does-not-exist');
  env['AIRTIGHT_ISSUER_PORT'] = 'not-a-port';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'demo', ...args], { cwd: ROOT, env, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), status });
    });
    child.stdin.end();
  });
}

describe('airtight demo', () => {
  it('runs every step, prints one line each, exits 0', async () => {
    const result = await demo();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.slice(0, -1).map((l) => /^✓ (\w+): /.exec(l)?.[1])).toEqual(STEPS);
    expect(lines.at(-1)).toMatch(/^All 9 steps passed in \d+\.\d s\.$/);
    expect(result.stdout).toMatch(/✓ issuer: listening on http:\/\/127\.0\.0\.1:\d+ /);
    expect(result.stdout).toMatch(/✓ manage: .*delete of key #\d+/);
    expect(result.stdout).toContain('✓ check: the device holds 0 keys; the issuer lists the credential as deleted');
    expect(existsSync(join(ROOT, 'does-not-exist'))).toBe(false);
  });

  it('--json --keep: the steps as JSON and the kept temporary directory', async () => {
    const outcome = await demo('--json', '--keep');
    expect(outcome.status).toBe(0);
    const result = JSON.parse(outcome.stdout) as { ok: boolean; steps: Array<{ step: string }>; dir: string };
    try {
      expect(result.ok).toBe(true);
      expect(result.steps.map((s) => s.step)).toEqual(STEPS);
      expect(existsSync(join(result.dir, 'issuer', 'issuer.sqlite'))).toBe(true);
      expect(existsSync(join(result.dir, 'device', 'sks.db'))).toBe(true);
    } finally {
      rmSync(result.dir, { recursive: true, force: true });
    }
  });
});
