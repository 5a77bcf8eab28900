/**
 * `airtight issuer …` as a user runs it: `issuer start` prints one
 * `listening on URL` line on stdout (logs go to stderr), the admin verbs find
 * the local issuer through its data folder, and SIGTERM ends it with status 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const home = mkdtempSync(join(tmpdir(), 'airtight-svc-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const env = { ...process.env, AIRTIGHT_HOME: home, AIRTIGHT_ISSUER_ADMIN_TOKEN: '', AIRTIGHT_ISSUER_URL: '' };

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });

describe('airtight issuer (CLI)', () => {
  it('starts, answers admin verbs, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'issuer', 'start', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (bytes: Buffer) => {
          text += bytes.toString('utf8');
          const match = /^listening on (\S+)$/m.exec(text);
          if (match) resolve(match[1]);
        });
        child.once('exit', () => reject(new Error('issuer exited before listening')));
        setTimeout(() => reject(new Error('no listening line')), 45_000);
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const created = cli('issuer', 'enroll-url', '--template', 'ec-p256-auth-pin', '--user', 'Dave', '--json');
      expect(created.status).toBe(0);
      const json = JSON.parse(created.stdout) as { invocationUrl: string; command: string };
      expect(json.invocationUrl).toContain(encodeURIComponent(`${url}/keygen2/init`));
      expect(json.command).toMatch(/^airtight enroll '/);

      const sessions = cli('issuer', 'sessions', '--json');
      expect(sessions.status).toBe(0);
      expect(JSON.parse(sessions.stdout)).toEqual([]);

      const unknown = cli('issuer', 'enroll-url', '--template', 'nope', '--user', 'x');
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toBe('airtight: NOT_FOUND: no template named nope\n');

      const badToken = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'issuer', 'devices'], {
        cwd: ROOT,
        env: { ...env, AIRTIGHT_ISSUER_ADMIN_TOKEN: 'not-the-token-at-all' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(badToken.stderr).toMatch(/^airtight: UNAUTHORIZED: /);
      expect(badToken.stderr).not.toContain('not-the-token-at-all');

      const sharedTokenFile = join(home, 'shared.token');
      writeFileSync(sharedTokenFile, 'a-token-others-can-read-0123\n', { mode: 0o644 });
      const sharedToken = cli('issuer', 'devices', '--token-file', sharedTokenFile);
      expect(sharedToken.status).toBe(2);
      expect(sharedToken.stderr).toMatch(/accessible by group or others/);
      expect(sharedToken.stderr).not.toContain('a-token-others-can-read');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 90_000);
});
