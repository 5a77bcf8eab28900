/**
 * `npm run bench`: what SKS calls cost on the SQLite store, side by side with
 * the raw node:crypto primitives (and durable commits) each one needs, measured
 * in the same run; then full KeyGen2 sessions per second (bench/keygen2/run.ts).
 * Keys are provisioned by our issuer (`keygen2/server`) through our client
 * (`keygen2/client`). Only time spent inside SKS calls is counted here: the
 * issuer's and the client's own work runs outside the timers.
 */
import { createHmac, generateKeyPair, randomBytes, sign, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { SecureKeyStore } from '../src/sks/api.js';
import type { DeviceIdentity } from '../src/sks/device/identity.js';
import { createManufacturerCa, issueDeviceCertificate } from '../src/sks/device/manufacturer-ca.js';
import { openSecureKeyStore } from '../src/sks/engine/secure-key-store.js';
import type { Mutation } from '../src/sks/store/records.js';
import { openSqliteKeyStore } from '../src/sks/store/sqlite/store.js';
import type { KeyHandle } from '../src/sks/api.js';
import type { IssuerConfig, KeyConfig } from '../src/keygen2/server/index.js';
import { freshEcdh, generateEcKeyPair, generateRsaKeyPair } from '../src/sks/crypto/keygen.js';
import { createBenchCa } from './keygen2/bench-ca.js';
import { runKeyGen2Bench } from './keygen2/run.js';
import { runSession as runKeyGen2Session, ISSUER_URI } from './keygen2/session.js';
import { createBenchIssuer, P256, sessionConfig } from './keygen2/setup.js';

const generate = promisify(generateKeyPair);
const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const HMAC_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256';
const RSA_2048 = 'https://webpki.github.io/sks/algorithm#rsa2048';

/** Accumulates wall time spent inside each SKS method. */
class Timings {
  private readonly totals = new Map<string, { ms: number; n: number }>();
  add(name: string, ms: number): void {
    const total = this.totals.get(name) ?? { ms: 0, n: 0 };
    total.ms += ms;
    total.n += 1;
    this.totals.set(name, total);
  }
  perOp(name: string): number {
    const total = this.totals.get(name);
    return total ? total.ms / total.n : NaN;
  }
  reset(): void {
    this.totals.clear();
  }
}

function timed(sks: SecureKeyStore, timings: Timings): SecureKeyStore {
  return new Proxy(sks, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const start = performance.now();
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          timings.add(String(prop), performance.now() - start);
        }
      };
    },
  });
}

async function timeLoop(count: number, fn: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await fn();
  return (performance.now() - start) / count;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Alternates `ours` and `raw` in rounds and returns the medians, so drift hits both alike. */
async function sideBySide(rounds: number, count: number, ours: () => unknown, raw: () => unknown): Promise<[number, number]> {
  const oursTimes: number[] = [];
  const rawTimes: number[] = [];
  for (let round = 0; round < rounds; round++) {
    oursTimes.push(await timeLoop(count, ours));
    rawTimes.push(await timeLoop(count, raw));
  }
  return [median(oursTimes), median(rawTimes)];
}

const hmac = (key: Buffer, data: Buffer): Buffer => createHmac('sha256', key).update(data).digest();

function line(name: string, ms: number, rawMs?: number): void {
  const ops = (1000 / ms).toFixed(0).padStart(7);
  const ratio = rawMs === undefined ? '' : `   raw ${(1000 / rawMs).toFixed(0).padStart(7)} ops/s   ratio ${(ms / rawMs).toFixed(2)}x`;
  console.log(`${name.padEnd(46)} ${ops} ops/s  (${ms.toFixed(3)} ms)${ratio}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airtight-bench-'));
  try {
    const ca = await createManufacturerCa({ keyType: 'ec-p256' });
    const devicePair = generateEcKeyPair('P-256');
    const deviceCert = await issueDeviceCertificate(ca, devicePair.publicKey, { serialNumber: 'bench' });
    const device = { privateKey: devicePair.privateKey, certificatePath: [deviceCert, ca.certificate] };
    const port = openSqliteKeyStore({ path: join(dir, 'sks.db'), storeKey: randomBytes(32) });
    const timings = new Timings();
    const sks = timed(openSecureKeyStore({ store: port, device }), timings);
    // Symmetric keys to import, by key id; every other key keeps the key the SKS generated.
    const symmetric = new Map<string, Buffer>();
    const benchCa = createBenchCa();
    const issuer = createBenchIssuer(ca.certificate, undefined, {
      certify: (attestedKey) => {
        const secret = symmetric.get(attestedKey.id);
        return { certificatePath: [benchCa.issue(attestedKey.publicKey, attestedKey.id)], ...(secret === undefined ? {} : { importSymmetricKey: secret }) };
      },
    });
    /** One enrollment of `key`, under a user PIN "1357" unless `retryLimit` is null; returns its handle. */
    const provision = async (key: Omit<KeyConfig, 'appUsage'>, retryLimit: number | null = 3): Promise<KeyHandle> => {
      const keyConfig: KeyConfig = { appUsage: 'authentication', ...key };
      const config: IssuerConfig =
        retryLimit === null
          ? { issuerUri: ISSUER_URI, keys: [keyConfig] }
          : { issuerUri: ISSUER_URI, pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit, format: 'numeric', keys: [keyConfig] }] };
      const { summary } = await runKeyGen2Session(issuer, sks, config, false);
      return (summary.keys[0] as { keyHandle: KeyHandle }).keyHandle;
    };

    // ---------------------------------------------------------------- raw primitives
    const raw = new Database(join(dir, 'raw.db'));
    raw.pragma('locking_mode = EXCLUSIVE'); // as the store does: no lock traffic per transaction
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL');
    raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a BLOB, b BLOB, c BLOB)');
    const insert = raw.prepare('INSERT INTO t (a, b, c) VALUES (?, ?, ?)');
    const commit = raw.transaction(() => {
      // about what a one-key session commits: session row, policy row, key row with certificate
      insert.run(randomBytes(200), randomBytes(100), null);
      insert.run(randomBytes(100), null, null);
      insert.run(randomBytes(1200), randomBytes(200), randomBytes(100));
    });
    const sessionKey = randomBytes(32);
    const data = randomBytes(700);
    const rawTimings = new Timings();
    const step = (name: string, fn: () => void): void => {
      const start = performance.now();
      fn();
      rawTimings.add(name, performance.now() - start);
    };
    /**
     * The primitives one session needs, without the SKS around them: ephemeral key
     * generation and export, import of the issuer's (fresh) key, ECDH, KDF and device
     * signature; one HMAC per method MAC and attestation; key generation (scalar and
     * point); and one durable SQLite commit of about the same bytes. Run right after each SKS
     * session, so both see the same machine conditions.
     */
    const rawSession = (peerJwk: JsonWebKey, certificate: Buffer): void => {
      step('createProvisioningSession', () => {
        const ephemeral = freshEcdh('P-256');
        ephemeral.getPublicKey(); // the client ephemeral key goes into the attestation
        const sharedSecret = ephemeral.computeSecret(
          Buffer.concat([Buffer.of(4), Buffer.from(peerJwk.x ?? '', 'base64url'), Buffer.from(peerJwk.y ?? '', 'base64url')]),
        );
        hmac(sharedSecret, data.subarray(0, 200));
        sign('sha256', data, { key: devicePair.privateKey, dsaEncoding: 'ieee-p1363' });
      });
      step('createPinPolicy', () => hmac(sessionKey, data.subarray(0, 40)));
      step('createKeyEntry', () => {
        // An ECDH pair's scalar and point: all a session needs of a key it does not use yet (sks/crypto/keygen.ts).
        freshEcdh('P-256').getPrivateKey();
        hmac(sessionKey, data.subarray(0, 300));
        hmac(sessionKey, data.subarray(0, 150));
      });
      step('setCertificatePath', () => hmac(sessionKey, certificate));
      step('closeProvisioningSession', () => {
        hmac(sessionKey, data.subarray(0, 120));
        hmac(sessionKey, data.subarray(0, 40));
        commit();
      });
    };
    const rawCreateKeyRsa = await timeLoop(8, async () => {
      await generate('rsa', { modulusLength: 2048 });
      hmac(sessionKey, data.subarray(0, 300));
      hmac(sessionKey, data.subarray(0, 150));
    });

    // ---------------------------------------------------------------- SKS, one-key EC P-256 sessions
    const ecHandles: KeyHandle[] = [];
    const runSession = async (keyAlgorithm?: string): Promise<void> => {
      const keyHandle = await provision({ keyAlgorithm: keyAlgorithm ?? P256 });
      ecHandles.push(keyHandle);
      const peer = generateEcKeyPair('P-256').publicKey.export({ format: 'jwk' });
      const attributes = await sks.getKeyAttributes(keyHandle);
      rawSession(peer, Buffer.from(attributes.certificatePath[0]));
    };
    for (let i = 0; i < 10; i++) await runSession(); // warm-up
    timings.reset();
    rawTimings.reset();
    const sessions = 200;
    for (let i = 0; i < sessions; i++) await runSession();
    const methods = ['createProvisioningSession', 'createPinPolicy', 'createKeyEntry', 'setCertificatePath', 'closeProvisioningSession'];
    const sum = (t: Timings): number => methods.reduce((acc, m) => acc + t.perOp(m), 0);
    const whole = sum(timings);
    const rawWhole = sum(rawTimings);
    const perMethod = methods.map((m) => [m, timings.perOp(m), rawTimings.perOp(m)] as const);
    timings.reset();
    for (let i = 0; i < 8; i++) await runSession(RSA_2048);
    const keyRsa = timings.perOp('createKeyEntry');

    console.log(`Airtight SKS benchmark (SQLite store, WAL, synchronous=FULL; Node ${process.version}; ${sessions} sessions)`);
    console.log('Provisioning (SKS time only; raw = node:crypto primitives [+ one durable SQLite commit for close])');
    for (const [method, ours, raw] of perMethod) {
      const label =
        method === 'createKeyEntry' ? 'createKeyEntry EC P-256' : method === 'closeProvisioningSession' ? 'closeProvisioningSession (durable commit)' : method;
      line(label, ours, raw);
    }
    line('createKeyEntry RSA-2048', keyRsa, rawCreateKeyRsa);
    line('whole one-key EC P-256 session', whole, rawWhole);

    // ---------------------------------------------------------------- user API
    const signer = ecHandles[ecHandles.length - 9];
    const rsaSigner = ecHandles[ecHandles.length - 1];
    const pinBytes = Buffer.from('1357');
    const msg = randomBytes(64);
    const userN = 2000;
    const ecPriv = generateEcKeyPair('P-256').privateKey;
    const rsaPriv = (await generateRsaKeyPair(2048, 65537)).privateKey;
    const [sksEcSign, rawEcSign] = await sideBySide(
      7,
      userN,
      () => sks.signData({ keyHandle: signer, algorithm: ECDSA_SHA256, authorization: pinBytes, data: msg }),
      () => sign('sha256', msg, { key: ecPriv, dsaEncoding: 'ieee-p1363' }),
    );
    const [sksRsaSign, rawRsaSign] = await sideBySide(
      5,
      100,
      () => sks.signData({ keyHandle: rsaSigner, algorithm: RSA_SHA256, authorization: pinBytes, data: msg }),
      () => sign('sha256', msg, rsaPriv),
    );
    console.log('User API (correct PIN, no write)');
    line('signData ECDSA P-256', sksEcSign, rawEcSign);
    line('signData RSA-2048', sksRsaSign, rawRsaSign);

    // HMAC key: import a symmetric key
    const secret = randomBytes(32);
    symmetric.set('Hmac', secret);
    const hk = await provision({ id: 'Hmac', keyAlgorithm: P256, endorsedAlgorithms: [HMAC_SHA256] }, null);
    const [sksHmac, rawHmac] = await sideBySide(
      5,
      userN,
      () => sks.performHmac({ keyHandle: hk, algorithm: HMAC_SHA256, data: msg }),
      () => createHmac('sha256', secret).update(msg).digest(),
    );
    line('performHmac HMAC-SHA256', sksHmac, rawHmac);

    // Wrong PIN: one durable counter write before the error leaves the store.
    const wk = await provision({ keyAlgorithm: P256 }, 10000);
    const wrong = Buffer.from('9999');
    const sksWrong = await timeLoop(500, () =>
      sks.signData({ keyHandle: wk, algorithm: ECDSA_SHA256, authorization: wrong, data: msg }).catch(() => undefined),
    );
    const update = raw.prepare('UPDATE t SET c = ? WHERE id = 1');
    const rawWrite = await timeLoop(500, () => update.run(randomBytes(4)));
    line('wrong-PIN attempt (durable counter write)', sksWrong, rawWrite);
    console.log('  (raw for the wrong PIN = one durable single-row SQLite UPDATE)');
    raw.close();
    port.close();

    await benchOpen(dir, device);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Opening cost: what every CLI command pays before its work. Rows are checked
 * and decoded on first use, so opening reads only handles; the figure should
 * stay far below the ~0.5 ms per key that decoding every key at open cost.
 */
async function benchOpen(dir: string, device: DeviceIdentity): Promise<void> {
  const keyCount = 10_000;
  const path = join(dir, 'open.db');
  const storeKey = randomBytes(32);
  const pair = generateEcKeyPair('P-256');
  const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
  const pkcs8 = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
  const certificate = randomBytes(600); // size of a typical end-entity certificate; never parsed here
  const mutations: Mutation[] = [{ kind: 'setCounters', counters: { session: keyCount + 1, key: keyCount + 1, pinPolicy: keyCount + 1, pukPolicy: 1 } }];
  for (let handle = 1; handle <= keyCount; handle++) {
    mutations.push({
      kind: 'putSession',
      session: {
        handle,
        privacyEnabled: false,
        clientSessionId: `C-${handle}`,
        serverSessionId: `S-${handle}`,
        issuerUri: 'https://issuer.example/kg2',
        keyManagementKey: null,
        clientTime: 1_700_000_000,
        sessionLifeTime: 3600,
      },
    });
    mutations.push({
      kind: 'putPinPolicy',
      policy: {
        handle,
        id: 'PIN',
        owner: handle,
        pukPolicy: 0,
        retryLimit: 3,
        format: 0,
        userDefined: true,
        userModifiable: true,
        inputMethod: 0,
        grouping: 0,
        patternRestrictions: 0,
        minLength: 4,
        maxLength: 8,
      },
    });
    mutations.push({
      kind: 'putKey',
      key: {
        handle,
        id: 'Key',
        owner: handle,
        appUsage: 1,
        publicKey: spki,
        privateKey: pkcs8,
        symmetricKey: null,
        certificatePath: [certificate],
        endorsedAlgorithms: [],
        friendlyName: null,
        devicePinProtection: false,
        pinPolicy: handle,
        pinValue: Buffer.from('1357'),
        errorCount: 0,
        enablePinCaching: false,
        biometricProtection: 0,
        exportProtection: 3,
        deleteProtection: 0,
        keyBackup: 0,
        extensions: [],
      },
    });
  }
  const fill = openSqliteKeyStore({ path, storeKey });
  fill.apply(mutations);
  fill.close();

  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const sks = openSecureKeyStore({ store: openSqliteKeyStore({ path, storeKey }), device });
    times.push(performance.now() - start);
    if (i === 4) {
      // First use of a key: its row, policy and session are checked and decoded then (median of 9 keys).
      const firsts: number[] = [];
      for (let k = 1; k <= 9; k++) {
        const first = performance.now();
        await sks.signData({ keyHandle: (k * 1000) as never, algorithm: ECDSA_SHA256, authorization: Buffer.from('1357'), data: Buffer.from('x') });
        firsts.push(performance.now() - first);
      }
      firsts.sort((a, b) => a - b);
      console.log(`first use of a key in that store (verify + decode + sign): ${firsts[4].toFixed(2)} ms (median of 9)`);
      // The close tests the new certificate against every key's: each row is checked and decoded, no key parsed.
      const issuer = createBenchIssuer(device.certificatePath[device.certificatePath.length - 1]);
      const session = performance.now();
      await runKeyGen2Session(issuer, sks, sessionConfig(P256, 1), false);
      console.log(`one KeyGen2 session into that store (its close visits all 10,000 keys): ${(performance.now() - session).toFixed(1)} ms`);
    }
    await sks.close();
  }
  times.sort((a, b) => a - b);
  console.log(`open store with 10,000 keys: ${times[2].toFixed(1)} ms (median of 5)`);
}

await main();
if (process.env['BENCH_SKS_ONLY'] === undefined) await runKeyGen2Bench();
