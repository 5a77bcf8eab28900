/** Shared fixtures for the CA tests: temporary files, openssl, keys of every kind the SKS makes. */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from '../../support/keygen.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { pem } from '../../../src/issuer/ca/der.js';

export const OPENSSL = 'openssl';

/** A temporary directory removed after the file's tests. */
export function tempDir(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let count = 0;
  return () => join(root, `d${count++}`);
}

export function openssl(args: readonly string[], input?: string): { ok: boolean; out: string } {
  const run = spawnSync(OPENSSL, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  return { ok: run.status === 0, out: `${run.stdout}${run.stderr}` };
}

/** `openssl x509 -text -noout` of a DER certificate (written next to `dir`). */
export function opensslText(der: Buffer, path: string): string {
  writeFileSync(path, pem('CERTIFICATE', der));
  const result = openssl(['x509', '-in', path, '-text', '-noout']);
  if (!result.ok) throw new Error(`openssl x509 failed: ${result.out}`);
  return result.out;
}

export type SubjectKeyName = 'P-256' | 'P-384' | 'P-521' | 'RSA-1024' | 'RSA-2048' | 'RSA-4096' | 'Ed25519';

const cache = new Map<SubjectKeyName, Buffer>();

/** A SubjectPublicKeyInfo of the kind (cached: RSA-4096 generation is slow). */
export function subjectSpki(name: SubjectKeyName): Buffer {
  let spki = cache.get(name);
  if (spki === undefined) {
    const pair =
      name === 'Ed25519'
        ? generateKeyPairSync('ed25519')
        : name.startsWith('RSA')
          ? generateKeyPairSync('rsa', { modulusLength: Number(name.slice(4)) })
          : generateKeyPairSync('ec', { namedCurve: name });
    spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    cache.set(name, spki);
  }
  return spki;
}
