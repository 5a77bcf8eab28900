/**
 * End to end for real: `airtight issuer start` in one process, `airtight
 * enroll` in another, over HTTP on 127.0.0.1; the admin CLI in between.
 * Enrolls two PIN-protected keys, signs with one and verifies the signature
 * against the issued chain with node:crypto; then schedules an update of one
 * key and a delete of the other through `airtight issuer schedule`, runs the
 * management session with `airtight enroll`, and checks both sides: the
 * updated key has a new certificate and signs with the same PIN, the deleted
 * key is gone, the issuer lists each credential's status.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'airtight-e2e-'));
const home = join(tmp, 'home');
const dataDir = join(tmp, 'issuer');
const PIN = '2468';
const pinFile = join(tmp, 'pin.txt');
const dataFile = join(tmp, 'data.bin');
const data = Buffer.from('signed end to end');

/** The environment of every child: its own home, no issuer settings or secrets inherited. */
const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: home };
for (const value of Object.keys(env)) if (/^AIRTIGHT_(ISSUER_|PIN|PUK|NEW_PIN|STORE_KEY|DEBUG)/.test(value)) delete env[value];

interface Result {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

/** One `airtight` command as a child process (async: several may run while the issuer serves). */
function airtight(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, stdio: 'pipe' });
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

/** Runs a command that must succeed and parses its `--json` output. */
async function json<T>(...args: string[]): Promise<T> {
  const result = await airtight(...args);
  expect(result.stderr.split('\n').filter((l) => l.startsWith('airtight:'))).toEqual([]);
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const admin = (...args: string[]): string[] => ['issuer', ...args, '--data-dir', dataDir, '--json'];

interface Credential {
  readonly fingerprint: string;
  readonly status: string;
  readonly deviceId: string | null;
  readonly certificatePem: string;
}
interface Summary {
  readonly keys: Array<{ keyHandle: number; id: string; certificateSubject: string }>;
  readonly postOperations: Array<{ operation: string; targetKeyHandle: number }>;
}

let issuer: ChildProcessWithoutNullStreams | undefined;
let issuerExit: Promise<number | null>;
let url = '';
let caCertificates: X509Certificate[] = [];

beforeAll(async () => {
  writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });
  writeFileSync(dataFile, data);
  // The device first: the issuer reads its trusted roots ($AIRTIGHT_HOME/manufacturer-ca) when it starts.
  const init = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'device', 'init'], { cwd: ROOT, env, encoding: 'utf8', timeout: 50_000 });
  expect(init.status).toBe(0);
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'issuer', 'start', '--data-dir', dataDir, '--port', '0'], { cwd: ROOT, env, stdio: 'pipe' });
  issuer = child;
  issuerExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (bytes: Buffer) => {
      text += bytes.toString('utf8');
      const match = /^listening on (\S+)$/m.exec(text);
      if (match) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error('the issuer exited before listening')));
    setTimeout(() => reject(new Error('no "listening on" line')), 45_000);
  });
  child.stderr.resume();
  const pem = await (await fetch(`${url}/ca.pem`)).text();
  caCertificates = (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));
}, 120_000);

afterAll(async () => {
  if (issuer?.exitCode === null) {
    issuer.kill('SIGTERM');
    await issuerExit;
  }
  rmSync(tmp, { recursive: true, force: true });
});

/** Enrolls one key per user through `airtight issuer enroll-url` and `airtight enroll`; returns their handles. */
async function enrollKeys(...users: string[]): Promise<number[]> {
  const created = await Promise.all(
    users.map((user) => json<{ invocationUrl: string }>(...admin('enroll-url', '--template', 'ec-p256-auth-pin', '--user', user))),
  );
  const handles: number[] = [];
  // One after the other: an enrollment holds the device store for its whole session.
  for (const [index, item] of created.entries()) {
    const summary = await json<Summary>('enroll', item.invocationUrl, '--yes', '--pin-file', pinFile, '--json');
    expect(summary.keys).toHaveLength(1);
    expect(summary.keys[0].certificateSubject).toContain(`CN=${users[index]}`);
    handles.push(summary.keys[0].keyHandle);
  }
  return handles;
}

/** The device's end-entity certificate of a key (`keys show`). */
async function deviceCertificateFingerprint(handle: number): Promise<string> {
  const shown = await json<{ certificatePath: Array<{ sha256Fingerprint: string }> }>('keys', 'show', String(handle), '--json');
  return shown.certificatePath[0].sha256Fingerprint.replace(/:/g, '').toLowerCase();
}

const credentials = (): Promise<Credential[]> => json<Credential[]>(...admin('credentials'));

/** Signs with `keys sign` and checks the signature and the certificate's chain to the issuer's CA with node:crypto. */
async function signAndVerify(handle: number, certificatePem: string): Promise<void> {
  const result = await airtight('keys', 'sign', String(handle), '--alg', 'ecdsa-sha256', '--pin-file', pinFile, dataFile);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const ee = new X509Certificate(certificatePem);
  const root = caCertificates.find((c) => c.checkIssued(c))!;
  const issuing = caCertificates.find((c) => c !== root)!;
  expect(ee.checkIssued(issuing) && ee.verify(issuing.publicKey)).toBe(true);
  expect(issuing.checkIssued(root) && issuing.verify(root.publicKey) && root.verify(root.publicKey)).toBe(true);
  expect(nodeVerify('sha256', data, { key: ee.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(result.stdout.trim(), 'base64url'))).toBe(true);
}

describe('issuer and device as separate processes over HTTP', () => {
  let alice = 0;
  let bob = 0;
  let aliceFingerprint = '';
  let bobFingerprint = '';

  it('enrolls with `airtight enroll`; the key signs and the signature verifies against the issued chain', async () => {
    [alice, bob] = (await enrollKeys('Alice', 'Bob')) as [number, number];
    let listed: Credential[];
    [aliceFingerprint, bobFingerprint, listed] = await Promise.all([deviceCertificateFingerprint(alice), deviceCertificateFingerprint(bob), credentials()]);
    expect(listed.map((c) => [c.fingerprint, c.status]).sort()).toEqual(
      [
        [aliceFingerprint, 'issued'],
        [bobFingerprint, 'issued'],
      ].sort(),
    );
    await signAndVerify(alice, listed.find((c) => c.fingerprint === aliceFingerprint)!.certificatePem);
  }, 180_000); // waves of CLI processes: ~6 s idle, ~35 s seen under load

  it('runs an update and a delete scheduled through the admin CLI in one management session', async () => {
    expect(alice).toBeGreaterThan(0);
    const [update, del] = await Promise.all([
      json<{ status: string; deviceId: string }>(...admin('schedule', 'update', aliceFingerprint)),
      json<{ status: string; deviceId: string }>(...admin('schedule', 'delete', bobFingerprint)),
    ]);
    expect([update.status, del.status]).toEqual(['pending', 'pending']);
    expect(del.deviceId).toBe(update.deviceId);

    const message = await json<{ invocationUrl: string; pendingOperations: number }>(...admin('management-url', '--device', update.deviceId));
    expect(message.pendingOperations).toBe(2);
    const summary = await json<Summary>('enroll', message.invocationUrl, '--yes', '--json');
    expect(summary.postOperations.map((p) => [p.operation, p.targetKeyHandle]).sort()).toEqual(
      [
        ['delete', bob],
        ['update', alice],
      ].sort(),
    );

    // The device: Bob's key is gone; Alice's handle now holds the new key with a new certificate.
    const [keys, renewed, listed, ops] = await Promise.all([
      json<Array<{ keyHandle: number }>>('keys', 'list', '--json'),
      deviceCertificateFingerprint(alice),
      credentials(),
      json<Array<{ kind: string; status: string }>>(...admin('operations')),
    ]);
    expect(keys.map((k) => k.keyHandle)).toEqual([alice]);
    expect(renewed).not.toBe(aliceFingerprint);

    // The issuer: both old credentials deleted, the new one issued; both operations done.
    expect(Object.fromEntries(listed.map((c) => [c.fingerprint, c.status]))).toEqual({
      [aliceFingerprint]: 'deleted',
      [bobFingerprint]: 'deleted',
      [renewed]: 'issued',
    });
    expect(ops.map((o) => [o.kind, o.status]).sort()).toEqual([
      ['delete', 'done'],
      ['update', 'done'],
    ]);

    // The updated key still answers to the PIN chosen at enrollment, and verifies under its new certificate.
    await signAndVerify(alice, listed.find((c) => c.fingerprint === renewed)!.certificatePem);
  }, 180_000); // waves of CLI processes: ~6 s idle, ~35 s seen under load

  it('stops on SIGTERM with status 0', async () => {
    issuer!.kill('SIGTERM');
    expect(await issuerExit).toBe(0);
  });
});
