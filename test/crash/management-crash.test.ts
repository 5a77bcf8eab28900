/**
 * Issue requirement: every management operation is atomic. A process killed
 * (SIGKILL) in the middle of a close that unlocks, updates, clones and deletes
 * keys of an earlier session leaves, after reopening, either all of it done or
 * every target key exactly as it was.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from '../support/keygen.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyHandle, SecureKeyStore } from '../../src/sks/api.js';
import { initDevice } from '../../src/sks/device/provision-device.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { createEnroller } from '../support/keygen2-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const WORKER = join(ROOT, 'test/support/management-worker.ts');
const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const PIN = Buffer.from('1357');

interface Snapshot {
  readonly keys: number;
  readonly sessions: number;
  readonly k1Locked: boolean;
  readonly k2Certificate: string;
  readonly k3Present: boolean;
}

async function snapshot(dir: string, handles: readonly KeyHandle[]): Promise<Snapshot> {
  const sks: SecureKeyStore = openSecureKeyStore({ store: openKeyStoreDirectory(dir) });
  try {
    expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
    let keys = 0;
    for (let keyEntry = await sks.enumerateKeys(0); keyEntry; keyEntry = await sks.enumerateKeys(keyEntry.keyHandle)) keys++;
    let sessions = 0;
    for (
      let session = await sks.enumerateProvisioningSessions(0, false);
      session;
      session = await sks.enumerateProvisioningSessions(session.provisioningHandle, false)
    )
      sessions++;
    const k3Present = await sks.getKeyAttributes(handles[2]).then(
      () => true,
      () => false,
    );
    return {
      keys,
      sessions,
      k1Locked: ((await sks.getKeyProtectionInfo(handles[0])).protectionStatus & 0x04) !== 0,
      k2Certificate: Buffer.from((await sks.getKeyAttributes(handles[1])).certificatePath[0]).toString('hex'),
      k3Present,
    };
  } finally {
    await sks.close();
  }
}

function runWorker(dir: string, kmkFile: string, keys: readonly KeyHandle[], delayMs: number): Promise<{ closing: boolean; committed: boolean }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, dir, kmkFile, ...keys.map(String)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const seen = { closing: false, committed: false };
    let stderr = '';
    const fallback = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (text.includes('CLOSING') && !seen.closing) {
        seen.closing = true;
        if (delayMs <= 0) child.kill('SIGKILL');
        else setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
      if (text.includes('COMMITTED')) seen.committed = true;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(fallback);
      if (signal === 'SIGKILL' && seen.closing) done(seen);
      else fail(new Error(`worker ended before its close: ${stderr}`));
    });
  });
}

describe('SIGKILL during a management close', () => {
  let root: string;
  let template: string;
  let kmkFile: string;
  let targets: KeyHandle[];
  let before: Snapshot;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'airtight-manage-'));
    template = join(root, 'template');
    await initDevice({ dir: template, caDir: join(root, 'ca'), keyType: 'ec-p256' });
    const kmk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    kmkFile = join(root, 'kmk.pem');
    writeFileSync(kmkFile, kmk.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const sks = openSecureKeyStore({ store: openKeyStoreDirectory(template) });
    const { enroll, issuerUri } = await createEnroller({ sks, kmks: { kmk2: kmk.privateKey } });
    const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
    const { summary } = await enroll({
      config: {
        issuerUri,
        keyManagementKey: 'kmk2',
        pinPolicies: [
          {
            id: 'PIN.1',
            minLength: 4,
            maxLength: 8,
            retryLimit: 3,
            format: 'numeric',
            grouping: 'shared',
            keys: [{ id: 'K1', keyAlgorithm: P256, appUsage: 'signature' }],
          },
        ],
        keys: [
          { id: 'K2', keyAlgorithm: P256, appUsage: 'signature' },
          { id: 'K3', keyAlgorithm: P256, appUsage: 'authentication' },
        ],
      },
      pins: PIN.toString(),
    });
    const handle = (id: string): KeyHandle => summary.keys.find((k) => k.id === id)!.keyHandle;
    for (let i = 0; i < 3; i++) {
      await sks
        .signData({ keyHandle: handle('K1'), algorithm: ECDSA_SHA256, authorization: Buffer.from('0000'), data: Buffer.from('x') })
        .catch(() => undefined);
    }
    await sks.close();
    targets = [handle('K1'), handle('K2'), handle('K3')];
    before = await snapshot(template, targets);
    expect(before).toMatchObject({ keys: 3, sessions: 1, k1Locked: true, k3Present: true });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('leaves all four operations done or every target as it was', async () => {
    const outcomes = { all: 0, none: 0 };
    for (let round = 0; round < 8; round++) {
      const dir = join(root, `round-${round}`);
      cpSync(template, dir, { recursive: true });
      const seen = await runWorker(dir, kmkFile, targets, round % 4);
      const after = await snapshot(dir, targets);
      if (after.k3Present) {
        // Nothing of the management session may be visible.
        expect(after, `round ${round}: untouched`).toEqual(before);
        expect(seen.committed, 'a reported commit must be durable').toBe(false);
        outcomes.none++;
      } else {
        // Everything: K1 unlocked, K2 replaced, K3 gone, the clone added, the old session absorbed.
        expect(after.k1Locked, `round ${round}: K1 unlocked`).toBe(false);
        expect(after.k2Certificate, `round ${round}: K2 holds the new key`).not.toBe(before.k2Certificate);
        expect(after.keys, `round ${round}: K1, K2 (replaced), clone`).toBe(3);
        expect(after.sessions, `round ${round}: one session owns them all`).toBe(1);
        outcomes.all++;
      }
    }
    expect(outcomes.all + outcomes.none).toBe(8);
  }, 400_000);
});
