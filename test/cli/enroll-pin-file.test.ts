/**
 * `airtight enroll --pin-file F` checks F before it contacts the issuer. Found in live interop
 * with the reference issuer (scripts/live-interop): a pin file with mode 644 was refused only at
 * the first PIN, after the issuer had opened a session (and the SKS a provisioning session) that
 * was then left hanging on the issuer's side.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'airtight-enroll-pin-file-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function enroll(pinFile: string, port: number): { status: number | null; stderr: string } {
  const url = `webpkiproxy://keygen2?init=${encodeURIComponent(`http://127.0.0.1:${port}/kg2?init=true`)}&url=${encodeURIComponent(`http://127.0.0.1:${port}/kg2`)}`;
  const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: join(tmp, 'home') };
  delete env['AIRTIGHT_PIN'];
  const spawnSyncReturns = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'enroll', url, '--yes', '--pin-file', pinFile], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    input: '',
    timeout: 60_000,
  });
  return { status: spawnSyncReturns.status, stderr: spawnSyncReturns.stderr };
}

describe('airtight enroll --pin-file', () => {
  it('refuses-a-group-readable-pin-file-before-contacting-the-issuer', async () => {
    const text = join(tmp, 'pin-644');
    writeFileSync(text, '1234\n', { mode: 0o644 });
    const result = enroll(text, await deadPort());
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--pin-file .* is accessible by group or others .*chmod 600/);
    expect(result.stderr).not.toMatch(/Contacting|TRANSPORT/);
    expect(result.stderr).not.toContain('1234');
  });

  it('refuses-a-missing-pin-file-before-contacting-the-issuer', async () => {
    const result = enroll(join(tmp, 'no-such-file'), await deadPort());
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/cannot open --pin-file .*ENOENT/);
    expect(result.stderr).not.toMatch(/Contacting|TRANSPORT/);
  });
});
