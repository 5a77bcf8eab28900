/**
 * `airtight enroll URL` as a separate process against a minimal HTTP issuer
 * in this process (test/support/http-issuer.ts: node:http + our issuer state
 * machine, trusting the manufacturer root that `airtight device init` wrote),
 * then `airtight keys list` and `airtight keys sign` on what it installed.
 * The CLI runs with an async spawn: a synchronous one would block the issuer.
 */
import { spawn, spawnSync } from 'node:child_process';
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuerConfig } from '../../src/keygen2/server/index.js';
import { startHttpIssuer, type HttpIssuer } from '../support/http-issuer.js';
import { selfSignedCertificate } from '../support/self-signed.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const RSA2048 = 'https://webpki.github.io/sks/algorithm#rsa2048';

const tmp = mkdtempSync(join(tmpdir(), 'airtight-enroll-'));
const home = join(tmp, 'home');
/** A second device whose manufacturer CA no issuer here trusts. */
const strangerDir = join(tmp, 'stranger');

interface Result {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number | null;
}

const baseEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRTIGHT_HOME: home, ...extra };
  for (const variable of ['AIRTIGHT_DEBUG', 'AIRTIGHT_STORE_KEY', 'AIRTIGHT_PIN', 'AIRTIGHT_PUK', 'AIRTIGHT_NEW_PIN']) {
    if (!(variable in extra)) delete env[variable];
  }
  return env;
};

/** Runs the CLI as a child process without blocking this process's event loop (the issuer lives here). */
function airtight(args: readonly string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: baseEnv(options.env), stdio: 'pipe' });
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
    child.stdin.end(options.input ?? '');
  });
}

const pinFile = (name: string, pin: string): string => {
  const text = join(tmp, name);
  writeFileSync(text, `${pin}\n`, { mode: 0o600 });
  return text;
};

interface ListedKey {
  readonly keyHandle: number;
  readonly appUsage: string;
  readonly keyType: string;
  readonly commonName: string | null;
  readonly protection: string;
}

async function listKeys(dir?: string): Promise<ListedKey[]> {
  const result = await airtight(['keys', 'list', '--json', ...(dir === undefined ? [] : ['--dir', dir])]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as ListedKey[];
}

let deviceRoot: Buffer;
const issuers: HttpIssuer[] = [];
async function issuer(config: (issuerUri: string) => IssuerConfig, commonNamePrefix?: string, withholdFinalRedirect = false): Promise<HttpIssuer> {
  const httpIssuer = await startHttpIssuer(
    commonNamePrefix === undefined
      ? { deviceRoots: [deviceRoot], config, withholdFinalRedirect }
      : { deviceRoots: [deviceRoot], config, commonNamePrefix, withholdFinalRedirect },
  );
  issuers.push(httpIssuer);
  return httpIssuer;
}

/** The end-entity certificate the issuer issued for key `id` in its last session. */
const issuedCertificate = (httpIssuer: HttpIssuer, id: string): X509Certificate => {
  const required = httpIssuer.outcomes.at(-1)!.keys.find((x) => x.id === id)!;
  return new X509Certificate(Buffer.from(required.certificatePath[0], 'base64url'));
};

beforeAll(async () => {
  const init = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'device', 'init'], { cwd: ROOT, env: baseEnv(), encoding: 'utf8', timeout: 50_000 });
  expect(init.stderr).toBe('');
  expect(init.status).toBe(0);
  const pem = readFileSync(join(home, 'manufacturer-ca', 'root-ca.pem'), 'utf8');
  deviceRoot = new X509Certificate(pem).raw;
  const other = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'device', 'init', '--dir', strangerDir, '--ca-dir', join(tmp, 'stranger-ca')], {
    cwd: ROOT,
    env: baseEnv(),
    encoding: 'utf8',
    timeout: 50_000,
  });
  expect(other.status).toBe(0);
});

afterAll(async () => {
  for (const httpIssuer of issuers.splice(0)) await httpIssuer.close();
  rmSync(tmp, { recursive: true, force: true });
});

const data = Buffer.from('enrolled keys sign this');
const dataFile = (): string => {
  const text = join(tmp, 'data.bin');
  writeFileSync(text, data);
  return text;
};

describe('airtight enroll', () => {
  it('enrolls an EC P-256 key with a user PIN; keys list shows it and keys sign uses it', async () => {
    const httpIssuer = await issuer(
      (uri) => ({
        issuerUri: uri,
        pinPolicies: [
          {
            minLength: 4,
            maxLength: 8,
            retryLimit: 3,
            format: 'numeric',
            patternRestrictions: ['sequence'],
            keys: [{ keyAlgorithm: P256, appUsage: 'signature', friendlyName: 'Work signing' }],
          },
        ],
      }),
      'Alice',
    );
    const before = await listKeys();
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=ec-1'), '--yes', '--pin-file', pinFile('pin-ec', '4711')]);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain(`Issuer:   ${new URL(httpIssuer.origin).host} (http, not encrypted)`);
    expect(result.stderr).toContain('Privacy:  off');
    expect(result.stderr).toMatch(/Creating 1 key [^\n]*\nPIN for [^\n]* from --pin-file [^\n]*\n {2}created Key\.1\n/);
    expect(result.stderr).toContain(
      'PIN for the signature key Key.1 ("Work signing") from --pin-file (PIN policy PIN.1: 4 to 8 digits (format numeric); must not be an ascending',
    );
    expect(result.stderr).not.toContain('4711');
    expect(result.stdout).not.toContain('4711');
    expect(result.stdout).toMatch(/1 key installed/);
    expect(result.stdout).toMatch(/#\d+\s+Key\.1\s+ec\.nist\.p256\s+signature\s+CN=Alice Key\.1/);
    expect(result.stdout).toContain(`Redirect: ${httpIssuer.origin}/done`);
    expect(httpIssuer.outcomes).toHaveLength(1);

    const after = await listKeys();
    expect(after).toHaveLength(before.length + 1);
    const key = after.at(-1)!;
    expect(key).toMatchObject({ appUsage: 'signature', commonName: 'Alice Key.1' });
    expect(key.protection).toMatch(/^PIN \(3 of 3 tries left\)/);

    const state = await airtight(['keys', 'sign', String(key.keyHandle), '--alg', 'ecdsa-sha256', dataFile()], { env: { AIRTIGHT_PIN: '4711' } });
    expect(state.stderr).toBe('');
    expect(state.status).toBe(0);
    const cert = issuedCertificate(httpIssuer, 'Key.1');
    expect(nodeVerify('sha256', data, { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(state.stdout.trim(), 'base64url'))).toBe(true);
  });

  it('enrolls an RSA-2048 key without a PIN from an http(s) invocation URL, summary as --json', async () => {
    const httpIssuer = await issuer((uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: RSA2048, appUsage: 'authentication' }] }), 'Bob');
    // No PIN source at all: none is needed.
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=rsa-1', `${httpIssuer.origin}/invoke`), '--yes', '--json']);
    expect(result.stderr).toContain('Creating 1 key (RSA keys take a few seconds)');
    expect(result.status).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      keys: Array<{ keyHandle: number; id: string; keyAlgorithm: string; appUsage: string; certificateSubject: string }>;
      redirectUrl: string;
      privacyEnabled: boolean;
      confirmed: boolean;
    };
    expect(summary.privacyEnabled).toBe(false);
    expect(summary.confirmed).toBe(true);
    expect(summary.redirectUrl).toBe(`${httpIssuer.origin}/done`);
    expect(summary.keys).toEqual([
      expect.objectContaining({ id: 'Key.1', keyAlgorithm: RSA2048, appUsage: 'authentication', certificateSubject: 'CN=Bob Key.1' }),
    ]);
    const handle = summary.keys[0].keyHandle;
    expect((await listKeys()).find((k) => k.keyHandle === handle)).toMatchObject({ commonName: 'Bob Key.1', keyType: expect.stringMatching(/RSA/i) as string });

    const state = await airtight(['keys', 'sign', String(handle), '--alg', 'rsa-sha256', dataFile()]);
    expect(state.status).toBe(0);
    expect(nodeVerify('sha256', data, issuedCertificate(httpIssuer, 'Key.1').publicKey, Buffer.from(state.stdout.trim(), 'base64url'))).toBe(true);
  });

  it('enrolls in privacy mode (no device identity disclosed)', async () => {
    const httpIssuer = await issuer((uri) => ({ issuerUri: uri, privacyEnabled: true, keys: [{ keyAlgorithm: P256, appUsage: 'encryption' }] }), 'Private');
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=priv-1'), '--yes']);
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('Privacy:  on');
    expect(result.stdout).toContain('privacy mode on');
    expect(httpIssuer.outcomes[0].deviceCertificatePath).toBeUndefined();
    expect((await listKeys()).some((k) => k.commonName === 'Private Key.1')).toBe(true);
  });

  it('fails with exit 8 when the issuer does not trust the device; nothing is installed', async () => {
    const httpIssuer = await issuer((uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }));
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=stranger-1'), '--yes', '--dir', strangerDir]);
    expect(result.status).toBe(8);
    expect(result.stderr).toMatch(/airtight: TRANSPORT: the issuer redirected/);
    expect(result.stderr).toContain('Enrollment aborted (TRANSPORT)');
    expect(httpIssuer.failures.join('\n')).toMatch(/POLICY: Device certificate path does not chain to a trusted root/);
    expect(httpIssuer.outcomes).toHaveLength(0);
    expect(await listKeys(strangerDir)).toEqual([]);
  });

  it('refuses a PIN from --pin-file that breaks the PIN policy (exit 2), nothing installed', async () => {
    const httpIssuer = await issuer((uri) => ({
      issuerUri: uri,
      pinPolicies: [{ minLength: 6, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }],
    }));
    const before = await listKeys();
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=badpin-1'), '--yes', '--pin-file', pinFile('pin-short', '1234')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /airtight: the PIN from --pin-file does not fit the signature key Key\.1 \(PIN policy PIN\.1: 6 to 8 digits \(format numeric\)\)\. New PIN breaks the PIN policy: it must be 6 to 8 digits/,
    );
    expect(result.stderr).not.toContain('1234');
    expect(httpIssuer.outcomes).toHaveLength(0);
    expect(await listKeys()).toEqual(before);

    const env = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=badpin-2'), '--yes'], { env: { AIRTIGHT_PIN: '12ab56' } });
    expect(env.status).toBe(2);
    expect(env.stderr).toMatch(/the PIN from AIRTIGHT_PIN does not fit/);
    expect(await listKeys()).toEqual(before);
  });

  it('refuses one PIN from --pin-file for a policy whose grouping needs different PINs (exit 2)', async () => {
    const httpIssuer = await issuer((uri) => ({
      issuerUri: uri,
      pinPolicies: [
        {
          minLength: 4,
          maxLength: 8,
          retryLimit: 3,
          format: 'numeric',
          grouping: 'unique',
          keys: [
            { keyAlgorithm: P256, appUsage: 'signature' },
            { keyAlgorithm: P256, appUsage: 'authentication' },
          ],
        },
      ],
    }));
    const before = await listKeys();
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=unique-1'), '--yes', '--pin-file', pinFile('pin-unique', '4711')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /the PIN from --pin-file was refused for the authentication key Key\.2: the PIN must differ from the one chosen for the other keys of PIN policy PIN\.1 \(grouping "unique"\)/,
    );
    expect(result.stderr).not.toContain('4711');
    expect(httpIssuer.outcomes).toHaveLength(0);
    expect(await listKeys()).toEqual(before);
  });

  it('asks for a PIN source when a PIN is needed and stdin is not a terminal (exit 2)', async () => {
    const httpIssuer = await issuer((uri) => ({
      issuerUri: uri,
      pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }],
    }));
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=nopin-1'), '--yes']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/is needed and stdin is not a terminal: use --pin-file FILE or the environment variable AIRTIGHT_PIN/);
    expect(httpIssuer.outcomes).toHaveLength(0);
  });

  it('refuses without --yes when stdin is not a terminal, before contacting the issuer (exit 2)', async () => {
    const httpIssuer = await issuer((uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }));
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=noconsent-1')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('stdin is not a terminal, so nobody can consent: add --yes');
    expect(result.stderr).not.toContain('Contacting');
    expect(httpIssuer.outcomes).toHaveLength(0);
    expect(httpIssuer.failures).toHaveLength(0);
  });

  it('enrolls from an https issuer with a private CA given by --ca-file; without it the TLS check fails (exit 8)', async () => {
    const tlsDir = join(tmp, 'tls');
    mkdirSync(tlsDir);
    const { cert: pem, key } = selfSignedCertificate(tlsDir, { altName: 'IP:127.0.0.1' });
    const httpIssuer = await startHttpIssuer({
      deviceRoots: [deviceRoot],
      config: (uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }),
      commonNamePrefix: 'Tls',
      tls: { cert: pem, key, leafDer: new X509Certificate(pem).raw },
    });
    issuers.push(httpIssuer);
    expect(httpIssuer.origin).toMatch(/^https:/);
    const untrusted = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=tls-0'), '--yes']);
    expect(untrusted.status).toBe(8);
    expect(untrusted.stderr).toMatch(/airtight: TRANSPORT: the request to 127\.0\.0\.1:\d+ failed/);
    expect(untrusted.stderr).toMatch(/airtight: the issuer's TLS certificate is not trusted \(\w+\); .*--ca-file/);
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=tls-1'), '--yes', '--ca-file', join(tlsDir, 'cert.pem')]);
    expect(result.stderr).toContain('(https)');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/CN=Tls Key\.1/);
    expect(httpIssuer.outcomes).toHaveLength(1);
  });

  it('says which keys were installed when the issuer never confirms a committed session (exit 9, not "aborted")', async () => {
    const httpIssuer = await issuer((uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }), 'Unconfirmed', true);
    const before = await listKeys();
    const text = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=unconfirmed-1'), '--yes']);
    expect(text.status).toBe(9);
    expect(text.stdout).toMatch(/^NOT confirmed by 127\.0\.0\.1:\d+ \(action manage, privacy mode off\): 1 key installed, but .*airtight keys delete/);
    expect(text.stdout).toMatch(/CN=Unconfirmed \S+/);
    expect(text.stdout).not.toContain('Redirect:');
    expect(text.stderr).toContain('Keys installed, but the issuer did not confirm the enrollment (PROTOCOL).');
    expect(text.stderr).toMatch(/airtight: PROTOCOL: the device committed the session, but the issuer did not confirm it: /);
    const json = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=unconfirmed-2'), '--yes', '--json']);
    expect(json.status).toBe(9);
    const summary = JSON.parse(json.stdout) as { confirmed: boolean; redirectUrl: string | null; keys: Array<{ keyHandle: number }> };
    expect([summary.confirmed, summary.redirectUrl, summary.keys.length]).toEqual([false, null, 1]);
    const after = await listKeys();
    expect(after.length - before.length).toBe(2);
    expect(after.map((k) => k.keyHandle)).toContain(summary.keys[0].keyHandle);
  });

  it('fails with exit 6 before contacting the issuer when the store has no device', async () => {
    const httpIssuer = await issuer((uri) => ({ issuerUri: uri, keys: [{ keyAlgorithm: P256, appUsage: 'signature' }] }));
    const result = await airtight(['enroll', httpIssuer.invocationUrl('JSESSIONID=nodevice-1'), '--yes', '--dir', join(tmp, 'nowhere')]);
    expect(result.status).toBe(6);
    expect(result.stderr).toMatch(/NOT_AVAILABLE: No key store in .*run "airtight device init" first/);
    expect(httpIssuer.failures).toHaveLength(0);
    expect(httpIssuer.outcomes).toHaveLength(0);
  });

  it('refuses a malformed invocation URL (exit 2)', async () => {
    const result = await airtight(['enroll', 'webpkiproxy://keygen2?url=http%3A%2F%2F127.0.0.1%2Fkg2', '--yes']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/"init" is missing .*expected webpkiproxy:\/\/keygen2\?init=/);
  });

  it('fails with exit 8 when no issuer answers', async () => {
    const result = await airtight(['enroll', 'webpkiproxy://keygen2?init=http%3A%2F%2F127.0.0.1%3A9%2Fkg2&url=http%3A%2F%2F127.0.0.1%3A9%2Fkg2', '--yes']);
    expect(result.status).toBe(8);
    expect(result.stderr).toMatch(/airtight: TRANSPORT: the request to 127\.0\.0\.1:9 failed/);
  });
});
