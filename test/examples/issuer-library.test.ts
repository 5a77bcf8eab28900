/**
 * The README's library example runs as written: the issuer side of KeyGen2
 * provisions a key into an SKS in one process, and the key then signs.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

it('runs-the-readme-issuer-library-example', async () => {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'examples', 'issuer-library.ts')], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(stderr).toBe('');
  expect(status).toBe(0);
  expect(stdout).toMatch(/^installed key #\d+ \(Key\.1\), certificate CN=Alice,O=Example Bank$/m);
  expect(stdout).toMatch(/^signature verifies under O=Example Bank, CN=Alice$/m);
});
