/**
 * The steps of `airtight demo`: the whole life of one key, in a temporary
 * directory, with nothing configured beforehand.
 *
 * 1. a fresh software device (its own manufacturer CA) and an issuer that
 *    trusts that CA (its own SQLite database, CA, sealing key, admin token),
 *    started in this process on a free port of 127.0.0.1;
 * 2. a one-time enrollment URL from the admin API, enrolled over real HTTP by
 *    the code of `airtight enroll` (PIN from a 0600 file, consent given);
 * 3. a signature with the new key, verified with node:crypto against the
 *    issued chain (end entity → issuing CA → root, from the issuer's /ca.pem);
 * 4. a delete scheduled through the admin API and run by a management session,
 *    again through `airtight enroll`'s code; then the key is gone from the
 *    device and the issuer lists the credential as deleted.
 */
import { createHash, randomBytes, verify as nodeVerify, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveServiceConfig } from '../../../issuer/config.js';
import { startIssuerService, type RunningIssuerService } from '../../../issuer/service/app.js';
import type { KeyHandle, SecureKeyStore } from '../../../sks/api.js';
import { initDevice } from '../../../sks/device/provision-device.js';
import { enroll } from '../enroll/index.js';
import { adminRequest, type AdminOptions } from '../issuer/common.js';
import { openKeyStore } from '../keys/store.js';

export const DEMO_TEMPLATE = 'ec-p256-auth-pin';
const DEMO_PIN = '1357';
const DEMO_USER = 'Demo User';
const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const MESSAGE = Buffer.from('Signed by a key that KeyGen2 put into an SKS', 'utf8');

/** One finished step: its name and a one-line detail. */
export interface DemoStep {
  readonly step: string;
  readonly detail: string;
}

export interface DemoOptions {
  /** Keep the temporary directory (default: removed at the end). */
  readonly keep?: boolean;
  /** Called as each step succeeds. */
  readonly onStep?: (s: DemoStep) => void;
  /** Receives the issuer's log lines and the enroll progress lines (default: dropped). */
  readonly log?: (line: string) => void;
}

export interface DemoResult {
  readonly steps: readonly DemoStep[];
  /** The temporary directory; it still exists only with `keep`. */
  readonly dir: string;
}

/** A failure of one named step; `cause` is what went wrong (secret-free: SKS, KeyGen2 or issuer errors). */
export class DemoStepFailure extends Error {
  override readonly name = 'DemoStepFailure';
  constructor(
    readonly step: string,
    readonly steps: readonly DemoStep[],
    options: { cause: unknown },
  ) {
    super(`step ${step} failed`, options);
  }
}

interface CredentialRow {
  readonly fingerprint: string;
  readonly status: string;
  readonly deviceId: string | null;
}

/** A check of the demo itself that did not hold; its message names what (never a secret). */
export class DemoCheckFailed extends Error {
  override readonly name = 'DemoCheckFailed';
}

const fail = (message: string): never => {
  throw new DemoCheckFailed(message);
};

/** The CN of a node:crypto subject (`C=..\nCN=Alice` → `Alice`). */
const cn = (dn: string): string => /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.split('\n').join(', ');

/** Every certificate in a PEM bundle. */
const pemCertificates = (text: string): X509Certificate[] =>
  (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b));

async function keyHandles(sks: SecureKeyStore): Promise<KeyHandle[]> {
  const handles: KeyHandle[] = [];
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) handles.push(k.keyHandle);
  return handles;
}

/** Runs `fn` on the device store and closes it again (as every `keys` command does). */
async function withStore<T>(dir: string, fn: (sks: SecureKeyStore) => Promise<T>): Promise<T> {
  const sks = openKeyStore(dir);
  try {
    return await fn(sks);
  } finally {
    await sks.close();
  }
}

/**
 * Runs the demo. Resolves with the steps when every one succeeded; rejects
 * with a {@link DemoStepFailure} naming the failed step otherwise. The issuer
 * is stopped and the temporary directory removed (unless `keep`) either way.
 *
 * @example
 * const { steps } = await runDemo({ onStep: (s) => console.log(`✓ ${s.step}: ${s.detail}`) });
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? ((): void => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'airtight-demo-'));
  const deviceDir = join(dir, 'device');
  const caDir = join(dir, 'manufacturer-ca');
  const dataDir = join(dir, 'issuer');
  const pinFile = join(dir, 'pin.txt');
  const steps: DemoStep[] = [];
  let issuer: RunningIssuerService | undefined;
  let current = 'setup';
  const step = async (name: string, fn: () => Promise<string>): Promise<void> => {
    current = name;
    const state = { step: name, detail: await fn() };
    steps.push(state);
    options.onStep?.(state);
  };

  try {
    let admin: AdminOptions = {};
    await step('device', async () => {
      const initDeviceResult = await initDevice({ dir: deviceDir, caDir, keyType: 'ec-p256' });
      const cert = new X509Certificate(initDeviceResult.certificatePath[0]);
      return `new SKS with an EC P-256 device key, certified by "${cn(cert.issuer)}" (a manufacturer CA made for this run)`;
    });

    await step('issuer', async () => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const token = randomBytes(32).toString('base64url');
      const tokenFile = join(dataDir, 'admin.token');
      writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
      // Nothing from the environment: the demo's issuer is its own, whatever AIRTIGHT_ISSUER_* say.
      const config = resolveServiceConfig({ dataDir, port: 0, adminToken: token, trustRootsDir: caDir, trustManufacturerCa: false, logLevel: 'warn' }, {});
      issuer = await startIssuerService(config, { env: {}, logStream: { write: (line) => log(line.trimEnd()) } });
      admin = { url: issuer.url, tokenFile };
      return `listening on ${issuer.url} (SQLite, new issuer CA, trusts the device's manufacturer CA)`;
    });

    let invocationUrl = '';
    await step('invite', async () => {
      const created = await adminRequest<{ invocationUrl: string; expiresAt: number }>(admin, 'POST', '/enrollments', {
        template: DEMO_TEMPLATE,
        userName: DEMO_USER,
      });
      invocationUrl = created.invocationUrl;
      return `one-time enrollment URL for "${DEMO_USER}" (template ${DEMO_TEMPLATE}) from the admin API`;
    });

    let handle: KeyHandle | undefined;
    await step('enroll', async () => {
      writeFileSync(pinFile, `${DEMO_PIN}\n`, { mode: 0o600 });
      const summary = await enroll(invocationUrl, { dir: deviceDir, yes: true, pinFile }, log);
      const key = summary.keys.length === 1 ? summary.keys[0] : fail(`expected 1 installed key, got ${summary.keys.length}`);
      handle = key.keyHandle;
      return `key #${key.keyHandle} (${key.id}, EC P-256, ${key.appUsage}, PIN-protected) installed over HTTP from ${summary.issuerHost}; certificate ${key.certificateSubject}`;
    });
    const keyHandle = handle!;

    let signature: Uint8Array = new Uint8Array();
    let ee: X509Certificate | undefined;
    await step('sign', async () => {
      const pin = Buffer.from(DEMO_PIN, 'utf8');
      await withStore(deviceDir, async (sks) => {
        signature = await sks.signData({ keyHandle, algorithm: ECDSA_SHA256, data: MESSAGE, authorization: pin });
        ee = new X509Certificate((await sks.getKeyAttributes(keyHandle)).certificatePath[0]);
      });
      return `ECDSA P-256/SHA-256 signature (${signature.length} bytes) over "${MESSAGE.toString('utf8')}", with the PIN`;
    });

    await step('verify', async () => {
      const leaf = ee!;
      const response = await fetch(`${issuer!.url}/ca.pem`);
      if (!response.ok) fail(`GET /ca.pem answered HTTP ${response.status}`);
      const cas = pemCertificates(await response.text());
      const root = cas.find((c) => c.checkIssued(c) && c.verify(c.publicKey)) ?? fail('no self-signed root in /ca.pem');
      const issuing = cas.find((c) => c !== root && leaf.checkIssued(c)) ?? fail('no CA in /ca.pem issued the key certificate');
      if (!leaf.verify(issuing.publicKey)) fail('the key certificate signature does not verify with the issuing CA key');
      if (!issuing.checkIssued(root) || !issuing.verify(root.publicKey)) fail('the issuing CA does not chain to the root');
      if (!nodeVerify('sha256', MESSAGE, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, signature))
        fail('the signature does not verify with the certificate key');
      return `signature valid under "${cn(leaf.subject)}", which chains to "${cn(issuing.subject)}" and "${cn(root.subject)}" (node:crypto)`;
    });

    const fingerprint = createHash('sha256').update(ee!.raw).digest('hex');
    let deviceId = '';
    await step('schedule', async () => {
      const { credentials } = await adminRequest<{ credentials: CredentialRow[] }>(admin, 'GET', '/credentials');
      const credential = credentials.find((c) => c.fingerprint === fingerprint) ?? fail('the issuer does not list the credential');
      deviceId = credential.deviceId ?? fail('the issuer did not record the device of the credential');
      const op = await adminRequest<{ status: string }>(admin, 'POST', `/credentials/${fingerprint}/operations`, { kind: 'delete' });
      return `delete of credential ${fingerprint.slice(0, 16)}... ${op.status} (admin API)`;
    });

    await step('manage', async () => {
      const created = await adminRequest<{ invocationUrl: string; pendingOperations: number }>(admin, 'POST', '/management-sessions', { deviceId });
      const summary = await enroll(created.invocationUrl, { dir: deviceDir, yes: true }, log);
      const ops = summary.postOperations.map((p) => `${p.operation} of key #${p.targetKeyHandle}`);
      if (!summary.postOperations.some((p) => p.operation === 'delete' && p.targetKeyHandle === keyHandle))
        fail(`the management session did not delete key #${keyHandle}`);
      return `management session (${created.pendingOperations} pending operation) over HTTP: ${ops.join(', ')}`;
    });

    await step('check', async () => {
      const left = await withStore(deviceDir, keyHandles);
      if (left.includes(keyHandle)) fail(`key #${keyHandle} is still in the device`);
      const { credentials } = await adminRequest<{ credentials: CredentialRow[] }>(admin, 'GET', '/credentials');
      const status = credentials.find((c) => c.fingerprint === fingerprint)?.status;
      if (status !== 'deleted') fail(`the issuer lists the credential as ${status ?? 'missing'}, not deleted`);
      return `the device holds ${left.length} keys; the issuer lists the credential as deleted`;
    });
  } catch (error) {
    throw new DemoStepFailure(current, steps, { cause: error });
  } finally {
    await issuer?.close().catch(() => undefined);
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
  return { steps, dir };
}
