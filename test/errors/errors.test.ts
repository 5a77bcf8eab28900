/**
 * Errors at the edges (issue 7 item 3): a wrapped failure keeps the original
 * as the standard `cause`, never in the message or the JSON form, so an
 * `INTERNAL` or `CRYPTO` can be diagnosed without leaking what failed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { debugReport } from '../../src/cli/output.js';
import { parsePkcs8, parseSpki } from '../../src/sks/crypto/keys.js';
import { decryptFromIssuer } from '../../src/sks/crypto/primitives.js';
import type { DeviceIdentity } from '../../src/sks/device/identity.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { SksError, cryptoFailure, cryptoOp, cryptoOpAsync } from '../../src/sks/errors.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { testDevice } from '../support/fixtures.js';

const SECRET = 'pin=1234';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new TypeError('expected a failure');
}

function asSksError(error: unknown): SksError {
  if (!(error instanceof SksError)) throw new TypeError(`expected an SksError, got ${String(error)}`);
  return error;
}

describe('SksError cause', () => {
  it('keeps-the-cause-as-the-standard-error-cause', () => {
    const original = new Error(SECRET);
    const err = new SksError('INTERNAL', 'Internal error', { cause: original });
    expect(err.cause).toBe(original);
    expect(Object.hasOwn(err, 'cause')).toBe(true);
  });

  it('has-no-cause-property-when-none-is-given', () => {
    expect(Object.hasOwn(new SksError('OPTION', 'x'), 'cause')).toBe(false);
    expect(Object.hasOwn(cryptoFailure('signature generation'), 'cause')).toBe(false);
  });

  it('never-puts-the-cause-in-the-message-or-the-json-form', () => {
    const error = new SksError('CRYPTO', 'Crypto failure: x', { cause: new Error(SECRET), field: 'data' });
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(error.toJSON()).toEqual({ code: 'CRYPTO', status: 0x05, message: 'Crypto failure: x', field: 'data' });
  });
});

describe('crypto failures keep what went wrong underneath', () => {
  it('cryptoOp-maps-to-crypto-with-the-original-as-cause', () => {
    const original = new Error(SECRET);
    const error = caught(() =>
      cryptoOp('key agreement', () => {
        throw original;
      }),
    );
    expect(error).toBeInstanceOf(SksError);
    expect(error).toMatchObject({ code: 'CRYPTO', message: 'Crypto failure: key agreement', cause: original });
  });

  it('cryptoOp-passes-an-SksError-through-unchanged', () => {
    const inner = new SksError('OPTION', 'inner');
    expect(
      caught(() =>
        cryptoOp('x', () => {
          throw inner;
        }),
      ),
    ).toBe(inner);
  });

  it('cryptoOpAsync-maps-to-crypto-with-the-original-as-cause', async () => {
    const original = new Error(SECRET);
    await expect(cryptoOpAsync('key generation', () => Promise.reject(original))).rejects.toMatchObject({ code: 'CRYPTO', cause: original });
  });

  it('a-bad-spki-or-pkcs8-is-crypto-with-the-openssl-error-as-cause', () => {
    for (const error of [caught(() => parseSpki(Buffer.of(0x30, 0x00))), caught(() => parsePkcs8(Buffer.of(0x30, 0x00)))].map(asSksError)) {
      expect(error.code).toBe('CRYPTO');
      expect(error.cause).toBeInstanceOf(Error);
    }
  });

  it('a-bad-issuer-ciphertext-is-one-fixed-crypto-error-with-a-cause', () => {
    const error = asSksError(caught(() => decryptFromIssuer(Buffer.alloc(32), Buffer.alloc(48, 7))));
    expect(error).toMatchObject({ code: 'CRYPTO', message: 'Crypto failure: decrypt issuer data' });
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe('the engine', () => {
  it('turns-an-unexpected-failure-into-internal-with-the-original-as-cause', async () => {
    const real = await testDevice();
    const original = new Error(SECRET);
    // A device whose certificate path cannot be read: a failure no SKS rule anticipates.
    const device: DeviceIdentity = {
      privateKey: real.privateKey,
      get certificatePath(): readonly Buffer[] {
        throw original;
      },
    };
    const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device });
    const err: unknown = await sks.getDeviceInfo().then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).toBeInstanceOf(SksError);
    expect(err).toMatchObject({ code: 'INTERNAL', message: 'Internal error', cause: original });
    expect(JSON.stringify(err)).not.toContain(SECRET);
    await sks.close();
  });
});

describe('AIRTIGHT_DEBUG', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'airtight-debug-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('debugReport-prints-the-stack-then-each-cause', () => {
    const inner = new Error('underneath');
    const report = debugReport(new SksError('INTERNAL', 'Internal error', { cause: inner }));
    expect(report).toMatch(/^SksError: Internal error\n/);
    expect(report).toContain('Caused by: Error: underneath');
  });

  it('debugReport-stops-at-a-cause-cycle', () => {
    const error = new Error('a');
    const bytes = new Error('b', { cause: error });
    Object.defineProperty(error, 'cause', { value: bytes });
    expect(debugReport(error).match(/Caused by/g)).toHaveLength(1);
  });

  /** `device init` against a CA key file that holds no key: STORAGE, with OpenSSL's complaint as cause. */
  function initAgainstBrokenCa(debug: boolean): { status: number | null; stderr: string } {
    const caDir = join(tmp, debug ? 'ca-debug' : 'ca');
    mkdirSync(caDir, { recursive: true });
    writeFileSync(join(caDir, 'ca-key.pem'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: join(tmp, 'home') };
    delete env['AIRTIGHT_STORE_KEY'];
    if (debug) env['AIRTIGHT_DEBUG'] = '1';
    else delete env['AIRTIGHT_DEBUG'];
    const root = join(import.meta.dirname, '..', '..');
    const args = [join(root, 'src', 'cli', 'main.ts'), 'device', 'init', '--dir', join(tmp, debug ? 'dev-debug' : 'dev'), '--ca-dir', caDir];
    const run = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), args, { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
    return { status: run.status, stderr: run.stderr };
  }

  it('the-cli-prints-the-cause-only-under-AIRTIGHT_DEBUG', () => {
    const quiet = initAgainstBrokenCa(false);
    expect(quiet.status).toBe(6);
    expect(quiet.stderr).toMatch(/^airtight: STORAGE: .*does not hold a readable private key\n$/);
    const loud = initAgainstBrokenCa(true);
    expect(loud.status).toBe(6);
    expect(loud.stderr).toContain('Caused by: ');
    expect(loud.stderr).toMatch(/airtight: STORAGE: .*does not hold a readable private key\n$/);
  });
});
