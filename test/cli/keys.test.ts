/**
 * `airtight keys ...` run as a child process against a directory store that
 * this file provisions once (device via initDevice, keys via the issuer
 * emulator). The tests run in order and share the store's state.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  publicEncrypt,
  randomBytes,
  verify as nodeVerify,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDevice } from '../../src/sks/device/provision-device.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { Alg } from '../support/fixtures.js';
import { createEnroller } from '../support/keygen2-harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

const tmp = mkdtempSync(join(tmpdir(), 'airtight-keys-'));
const dir = join(tmp, 'device');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SIGNER_PIN = '1357';
const SIGNER_PUK = '12345678';
const LOCK_PIN = '2468';
const LOCK_PUK = '87654321';
const HMAC_SECRET = randomBytes(32);

/** Key handles, set by beforeAll. */
const handleValue = { signer: 0, rsa: 0, lock: 0, hmac: 0, uniqueSig: 0, uniqueAuth: 0 };
/** End-entity certificates by key. */
const certs = new Map<number, Buffer>();

interface RunOptions {
  readonly env?: Record<string, string>;
  readonly input?: string | Buffer;
}

function airtight(args: readonly string[], options: RunOptions = {}): SpawnSyncReturns<Buffer> {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: join(tmp, 'home'), ...options.env };
  for (const text of ['AIRTIGHT_DEBUG', 'AIRTIGHT_STORE_KEY', 'AIRTIGHT_PIN', 'AIRTIGHT_PUK', 'AIRTIGHT_NEW_PIN']) {
    if (options.env?.[text] === undefined) delete env[text];
  }
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'keys', ...args, '--dir', dir], {
    cwd: ROOT,
    env,
    input: options.input ?? '',
    timeout: 60_000,
  });
}

const text = (r: SpawnSyncReturns<Buffer>): { stdout: string; stderr: string; status: number | null } => ({
  stdout: r.stdout.toString('utf8'),
  stderr: r.stderr.toString('utf8'),
  status: r.status,
});

const publicKeyOf = (handle: number): KeyObject => new X509Certificate(certs.get(handle)!).publicKey;

beforeAll(async () => {
  await initDevice({ dir, caDir: join(tmp, 'ca'), keyType: 'ec-p256', env: {} });
  const sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir, {}) });
  try {
    const { enroll, issuerUri, ca } = await createEnroller({ sks });
    const P256 = Alg.EC_P256;
    const COMMON_NAMES: Record<string, string> = { Signer: 'Alice Signer', Decrypter: 'Alice Encryption', Lockable: 'Alice Auth' };
    const USER_PINS: Record<string, string> = { Signer: SIGNER_PIN, Lockable: LOCK_PIN, USig: '1111', UAuth: '2222' };
    const pinPolicy = { minLength: 4, maxLength: 8, format: 'numeric', userModifiable: false } as const;
    const { summary } = await enroll({
      config: {
        issuerUri,
        pukPolicies: [
          {
            id: 'PUK1',
            puk: SIGNER_PUK,
            format: 'numeric',
            retryLimit: 3,
            pinPolicies: [
              {
                ...pinPolicy,
                id: 'PIN1',
                userModifiable: true,
                patternRestrictions: ['sequence'],
                retryLimit: 3,
                keys: [{ id: 'Signer', keyAlgorithm: P256, appUsage: 'signature', friendlyName: 'My signing key', exportProtection: 'pin' }],
              },
            ],
          },
          {
            id: 'PUK2',
            puk: LOCK_PUK,
            format: 'numeric',
            retryLimit: 2,
            pinPolicies: [
              {
                ...pinPolicy,
                id: 'PIN2',
                retryLimit: 2,
                keys: [{ id: 'Lockable', keyAlgorithm: P256, appUsage: 'authentication', exportProtection: 'non-exportable' }],
              },
            ],
          },
        ],
        pinPolicies: [
          {
            ...pinPolicy,
            id: 'PIN3',
            retryLimit: 3,
            grouping: 'unique',
            userModifiable: true,
            keys: [
              { id: 'USig', keyAlgorithm: P256, appUsage: 'signature', exportProtection: 'non-exportable' },
              { id: 'UAuth', keyAlgorithm: P256, appUsage: 'authentication', exportProtection: 'non-exportable' },
            ],
          },
        ],
        keys: [
          { id: 'Decrypter', keyAlgorithm: Alg.RSA2048, appUsage: 'encryption', exportProtection: 'none' },
          { id: 'Hmac', keyAlgorithm: P256, appUsage: 'authentication', endorsedAlgorithms: [Alg.HMAC_SHA256], exportProtection: 'none' },
        ],
      },
      pins: (prompt) => USER_PINS[prompt.keys[0]?.id ?? ''],
      certify: async (k) => ({
        certificatePath: [await ca.issue(k.publicKey, { commonName: COMMON_NAMES[k.id] ?? k.id })],
        ...(k.id === 'Hmac' ? { importSymmetricKey: HMAC_SECRET } : {}),
      }),
    });
    const handle = (id: string): number => summary.keys.find((k) => k.id === id)!.keyHandle;
    Object.assign(handleValue, {
      signer: handle('Signer'),
      rsa: handle('Decrypter'),
      lock: handle('Lockable'),
      hmac: handle('Hmac'),
      uniqueSig: handle('USig'),
      uniqueAuth: handle('UAuth'),
    });
    for (const installedKey of summary.keys)
      if (installedKey.id !== 'USig' && installedKey.id !== 'UAuth') certs.set(installedKey.keyHandle, Buffer.from(installedKey.certificatePath[0]));
  } finally {
    await sks.close();
  }
});

describe('airtight keys list / show', () => {
  it('list --json describes every key', () => {
    const result = text(airtight(['list', '--json']));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const keys = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    // Processing order (spec §6.7.3): PUK policies with their keys, PIN policies, then the unprotected keys.
    expect(keys.map((k) => k['keyHandle'])).toEqual([
      handleValue.signer,
      handleValue.lock,
      handleValue.uniqueSig,
      handleValue.uniqueAuth,
      handleValue.rsa,
      handleValue.hmac,
    ]);
    const byHandle = (handle: number) => keys.find((k) => k['keyHandle'] === handle);
    expect(byHandle(handleValue.signer)).toMatchObject({
      appUsage: 'signature',
      keyType: 'EC P-256',
      friendlyName: 'My signing key',
      commonName: 'Alice Signer',
      protection: 'PIN (3 of 3 tries left)',
      pinBlocked: false,
      pinTriesLeft: 3,
    });
    expect(byHandle(handleValue.rsa)).toMatchObject({
      appUsage: 'encryption',
      keyType: 'RSA 2048',
      commonName: 'Alice Encryption',
      protection: 'no PIN',
      pinTriesLeft: null,
    });
    expect(byHandle(handleValue.hmac)).toMatchObject({ keyType: 'symmetric 32 bytes', protection: 'no PIN' });
  });

  it('list prints one line per key', () => {
    const result = text(airtight(['list']));
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[1]).toMatch(new RegExp(`^#${handleValue.signer} +signature +EC P-256 +"My signing key" +CN=Alice Signer +PIN \\(3 of 3 tries left\\)$`));
  });

  it('show --json decodes the protection info and the certificate path', () => {
    const result = text(airtight(['show', String(handleValue.signer), '--json']));
    expect(result.status).toBe(0);
    const data = JSON.parse(result.stdout) as {
      protection: Record<string, unknown> & { pin: Record<string, unknown>; puk: Record<string, unknown>; keyBackup: { flags: string[] } };
      certificatePath: Array<Record<string, string>>;
      keyType: Record<string, unknown>;
    };
    expect(data.keyType).toMatchObject({ algorithm: 'ec', curve: 'P-256' });
    expect(data.protection.protectionStatus).toEqual({ value: 0x03, flags: ['pin-protected', 'puk-protected'] });
    expect(data.protection.pin).toMatchObject({
      format: 'numeric',
      minLength: 4,
      maxLength: 8,
      patternRestrictions: ['sequence'],
      grouping: 'none',
      inputMethod: 'any',
      userDefined: true,
      userModifiable: true,
      retryLimit: 3,
      triesLeft: 3,
    });
    expect(data.protection.puk).toEqual({ format: 'numeric', retryLimit: 3, errorCount: 0, blocked: false });
    expect(data.protection['exportProtection']).toBe('pin');
    expect(data.protection['deleteProtection']).toBe('none');
    expect(data.protection['biometricProtection']).toBe('none');
    expect(data.protection.keyBackup.flags).toEqual([]);
    const cert = new X509Certificate(certs.get(handleValue.signer)!);
    expect(data.certificatePath).toHaveLength(1);
    expect(data.certificatePath[0]).toMatchObject({ subject: 'CN=Alice Signer', serialNumber: cert.serialNumber, sha256Fingerprint: cert.fingerprint256 });

    const hm = JSON.parse(text(airtight(['show', String(handleValue.hmac), '--json'])).stdout) as {
      endorsedAlgorithms: string[];
      protection: { keyBackup: { flags: string[] } };
    };
    expect(hm.endorsedAlgorithms).toEqual([Alg.HMAC_SHA256]);
    expect(hm.protection.keyBackup.flags).toEqual(['imported']);
  });

  it('show in text form; an unknown key is NO_KEY (exit 5)', () => {
    const result = text(airtight(['show', String(handleValue.signer)]));
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ {2}PIN rules: +4 to 8 digits \(format numeric\); must not be an ascending/m);
    expect(text(airtight(['show', '999'])).status).toBe(5);
  });
});

describe('airtight keys sign / decrypt', () => {
  const data = Buffer.from('data to be signed\n');
  const dataFile = join(tmp, 'data.txt');
  beforeAll(() => writeFileSync(dataFile, data));

  it('signs with ecdsa-sha256 (base64url, PIN from AIRTIGHT_PIN)', () => {
    const result = text(airtight(['sign', String(handleValue.signer), '--alg', 'ecdsa-sha256', dataFile], { env: { AIRTIGHT_PIN: SIGNER_PIN } }));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const sig = Buffer.from(result.stdout.trim(), 'base64url');
    expect(nodeVerify('sha256', data, { key: publicKeyOf(handleValue.signer), dsaEncoding: 'ieee-p1363' }, sig)).toBe(true);
  });

  it('signs with the PIN from --pin-file into --out (raw), with a full URI', () => {
    const pinFile = join(tmp, 'pin');
    writeFileSync(pinFile, `${SIGNER_PIN}\n`, { mode: 0o600 });
    const out = join(tmp, 'sig.bin');
    const result = text(airtight(['sign', String(handleValue.signer), '--alg', Alg.ECDSA_SHA256, '--pin-file', pinFile, '--out', out, dataFile]));
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(nodeVerify('sha256', data, { key: publicKeyOf(handleValue.signer), dsaEncoding: 'ieee-p1363' }, readFileSync(out))).toBe(true);
  });

  it('refuses a PIN file that group or others can read (exit 2)', () => {
    const pinFile = join(tmp, 'pin-open');
    writeFileSync(pinFile, `${SIGNER_PIN}\n`);
    chmodSync(pinFile, 0o644);
    const result = text(airtight(['sign', String(handleValue.signer), '--alg', 'ecdsa-sha256', '--pin-file', pinFile, dataFile]));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/accessible by group or others .*chmod 600/);
    expect(result.stderr).not.toContain(SIGNER_PIN);
  });

  it('signs stdin with an RSA key that needs no PIN, without a PIN source or a terminal', () => {
    const result = text(airtight(['sign', String(handleValue.rsa), '--alg', 'rsa-sha256', '--format', 'hex', '-'], { input: data }));
    expect(result.status).toBe(0);
    expect(nodeVerify('sha256', data, publicKeyOf(handleValue.rsa), Buffer.from(result.stdout.trim(), 'hex'))).toBe(true);
  });

  it('computes an HMAC with a symmetric key', () => {
    const result = text(airtight(['sign', String(handleValue.hmac), '--alg', 'hmac-sha256', dataFile]));
    expect(result.status).toBe(0);
    expect(Buffer.from(result.stdout.trim(), 'base64url')).toEqual(createHmac('sha256', HMAC_SECRET).update(data).digest());
  });

  it('lists the valid names for an unknown or unsuitable algorithm (exit 2)', () => {
    for (const alg of ['ecdsa-sha1', 'rsa.oaep.sha256']) {
      const result = text(airtight(['sign', String(handleValue.signer), '--alg', alg, dataFile]));
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('valid --alg values: hmac-sha1, hmac-sha256');
      expect(result.stderr).toContain('ecdsa-sha256');
      expect(result.stderr).toContain('ed25519');
    }
  });

  it('decrypts RSA-OAEP-SHA256 to stdout', () => {
    const secret = Buffer.from('the plaintext');
    const ct = publicEncrypt({ key: publicKeyOf(handleValue.rsa), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
    const ctFile = join(tmp, 'ct.bin');
    writeFileSync(ctFile, ct);
    const spawnSyncReturns = airtight(['decrypt', String(handleValue.rsa), '--alg', 'rsa.oaep.sha256', ctFile]);
    expect(spawnSyncReturns.stderr.toString()).toBe('');
    expect(spawnSyncReturns.status).toBe(0);
    expect(spawnSyncReturns.stdout).toEqual(secret);
  });

  it('fails at once with a usage error when a PIN is needed and there is no terminal nor PIN source', () => {
    const started = Date.now();
    const result = text(airtight(['sign', String(handleValue.signer), '--alg', 'ecdsa-sha256', dataFile]));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PIN for key #\d+ is needed and stdin is not a terminal: use --pin-file FILE or the environment variable AIRTIGHT_PIN/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('airtight keys PIN errors, unlock and change-pin', () => {
  const dataFile = join(tmp, 'data2.txt');
  beforeAll(() => writeFileSync(dataFile, 'x'));
  const sign = (handle: number, pin?: string): { stdout: string; stderr: string; status: number | null } =>
    text(airtight(['sign', String(handle), '--alg', 'ecdsa-sha256', dataFile], pin === undefined ? {} : { env: { AIRTIGHT_PIN: pin } }));

  it('a wrong PIN is AUTHORIZATION (exit 3) with the tries left, and never echoes the PIN', () => {
    const result = sign(handleValue.signer, '9999');
    expect(result.status).toBe(3);
    expect(result.stderr.split('\n')).toEqual([
      `airtight: AUTHORIZATION: "authorization" error for key #${handleValue.signer}`,
      `airtight: 2 of 3 PIN tries left for key #${handleValue.signer}`,
      '',
    ]);
    expect(result.stderr + result.stdout).not.toContain('9999');
    expect(sign(handleValue.signer, SIGNER_PIN).status).toBe(0);
  });

  it('blocks after the retry limit; a blocked key is refused without asking for a PIN', () => {
    expect(sign(handleValue.lock, '0000').stderr).toContain(`1 of 2 PIN tries left for key #${handleValue.lock}`);
    const result = sign(handleValue.lock, '0000');
    expect(result.status).toBe(3);
    expect(result.stderr).toContain(`the PIN of key #${handleValue.lock} is blocked: unblock it with "airtight keys unlock ${handleValue.lock}"`);
    const keys = JSON.parse(text(airtight(['list', '--json'])).stdout) as Array<{ keyHandle: number; protection: string }>;
    expect(keys.find((k) => k.keyHandle === handleValue.lock)?.protection).toBe('PIN blocked');
    // No PIN source and no terminal, yet no usage error: nothing is asked for a blocked PIN.
    expect(sign(handleValue.lock).status).toBe(3);
    expect(sign(handleValue.lock, LOCK_PIN).status).toBe(3);
  });

  it('unlock with a wrong PUK says the PUK tries left; the right PUK unblocks', () => {
    const bad = text(airtight(['unlock', String(handleValue.lock)], { env: { AIRTIGHT_PUK: '11111111' } }));
    expect(bad.status).toBe(3);
    expect(bad.stderr).toContain(`1 of 2 PUK tries left for key #${handleValue.lock}`);
    expect(bad.stderr).not.toContain('11111111');
    expect(text(airtight(['unlock', String(handleValue.lock)])).status).toBe(2);
    const good = text(airtight(['unlock', String(handleValue.lock)], { env: { AIRTIGHT_PUK: LOCK_PUK } }));
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('PIN (2 of 2 tries left)');
    expect(sign(handleValue.lock, LOCK_PIN).status).toBe(0);
  });

  it('change-pin refuses a new PIN that breaks the policy before calling the SKS (OPTION, exit 7)', () => {
    const cases: Array<[string, string]> = [
      ['12', 'New PIN breaks the PIN policy: it must be 4 to 8 digits (format numeric)'],
      ['12ab', 'New PIN breaks the PIN policy: it must be 4 to 8 digits (format numeric)'],
      ['4567', 'New PIN breaks the PIN policy: it must not be an ascending or descending run such as 1234 or 8765'],
    ];
    for (const [newPin, message] of cases) {
      const result = text(airtight(['change-pin', String(handleValue.signer)], { env: { AIRTIGHT_PIN: SIGNER_PIN, AIRTIGHT_NEW_PIN: newPin } }));
      expect(result.status).toBe(7);
      expect(result.stderr).toBe(`airtight: OPTION: ${message}\n`);
    }
    // Nothing was spent: the old PIN still works with all tries left.
    const info = JSON.parse(text(airtight(['show', String(handleValue.signer), '--json'])).stdout) as { protection: { pin: { triesLeft: number } } };
    expect(info.protection.pin.triesLeft).toBe(3);
  });

  it('change-pin explains a grouping rule the SKS enforces (exit 7)', () => {
    const result = text(airtight(['change-pin', String(handleValue.uniqueSig)], { env: { AIRTIGHT_PIN: '1111', AIRTIGHT_NEW_PIN: '2222' } }));
    expect(result.status).toBe(7);
    expect(result.stderr).toMatch(/^airtight: OPTION: New PIN breaks the PIN grouping "unique": /);
    expect(result.stderr).not.toContain('2222');
  });

  it('change-pin needs both PINs without a terminal, then changes the PIN (files or environment)', () => {
    expect(text(airtight(['change-pin', String(handleValue.signer)], { env: { AIRTIGHT_PIN: SIGNER_PIN } })).status).toBe(2);
    const newPinFile = join(tmp, 'new-pin');
    writeFileSync(newPinFile, '2580\r\n', { mode: 0o600 });
    const result = text(airtight(['change-pin', String(handleValue.signer), '--new-pin-file', newPinFile], { env: { AIRTIGHT_PIN: SIGNER_PIN } }));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(sign(handleValue.signer, '2580').status).toBe(0);
    expect(sign(handleValue.signer, SIGNER_PIN).status).toBe(3);
    expect(sign(handleValue.signer, '2580').status).toBe(0);
  });
});

describe('airtight keys export / delete', () => {
  it('export writes PKCS#8 DER to a new 0600 file and refuses to overwrite it', () => {
    const out = join(tmp, 'signer.p8');
    const result = text(airtight(['export', String(handleValue.signer), '--out', out], { env: { AIRTIGHT_PIN: '2580' } }));
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('PKCS#8 DER');
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const key = createPrivateKey({ key: readFileSync(out), format: 'der', type: 'pkcs8' });
    expect(createPublicKey(key).export({ type: 'spki', format: 'der' })).toEqual(publicKeyOf(handleValue.signer).export({ type: 'spki', format: 'der' }));
    const again = text(airtight(['export', String(handleValue.signer), '--out', out], { env: { AIRTIGHT_PIN: '2580' } }));
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('already exists');
    const info = JSON.parse(text(airtight(['show', String(handleValue.signer), '--json'])).stdout) as { protection: { keyBackup: { flags: string[] } } };
    expect(info.protection.keyBackup.flags).toEqual(['exported']);
  });

  it('export to a stdout that is not a terminal; a non-exportable key is NOT_ALLOWED (exit 4)', () => {
    const spawnSyncReturns = airtight(['export', String(handleValue.rsa)]);
    expect(spawnSyncReturns.status).toBe(0);
    expect(createPrivateKey({ key: spawnSyncReturns.stdout, format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe('rsa');
    const refused = text(airtight(['export', String(handleValue.lock)]));
    expect(refused.status).toBe(4);
    expect(refused.stderr).toBe(`airtight: NOT_ALLOWED: Operation not allowed on key #${handleValue.lock}\n`);
  });

  it('delete needs --yes without a terminal, then deletes', () => {
    const result = text(airtight(['delete', String(handleValue.hmac)]));
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--yes');
    const ok = text(airtight(['delete', String(handleValue.hmac), '--yes']));
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`Deleted key #${handleValue.hmac}.\n`);
    const keys = JSON.parse(text(airtight(['list', '--json'])).stdout) as Array<{ keyHandle: number }>;
    expect(keys.map((k) => k.keyHandle)).not.toContain(handleValue.hmac);
    expect(text(airtight(['show', String(handleValue.hmac)])).status).toBe(5);
  });
});
