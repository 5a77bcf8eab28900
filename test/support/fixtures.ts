/**
 * Shared scenario fixtures (spec §15.1): a test device identity, the four KMKs,
 * the test profile (device PIN "1234", spec §12.3), and `describeStores`, which
 * runs one suite against every store adapter (STYLE rule 13).
 */
import { constants, createPublicKey, randomBytes, verify as nodeVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from './keygen.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect } from 'vitest';
import type { KeyAttributes, KeyHandle, KeyProtectionInfo, ProvisioningHandle, ProvisioningSessionInfo, SecureKeyStore } from '../../src/sks/api.js';
import { ProtectionStatus } from '../../src/sks/constants.js';
import type { DeviceIdentity, DeviceProfile } from '../../src/sks/device/identity.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { SksError, type SksErrorCode } from '../../src/sks/errors.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { readAll, type KeyStorePort } from '../../src/sks/store/records.js';
import { ADAPTERS } from './adapters.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';
import { IssuerSession, type IssuerOptions, type Kmk } from './issuer-emulator.js';
import { getTestCa, type TestCa } from './test-ca.js';

/** The reference's test stub for device PINs: exactly ASCII "1234" (spec §12.3). */
export const DEVICE_PIN = Buffer.from('1234', 'ascii');

/** Test profile: device-PIN support with the "1234" stub. */
export const TEST_PROFILE: Partial<DeviceProfile> = {
  devicePinSupport: true,
  biometricSupport: true,
  verifyDevicePin: (pin) => pin !== undefined && Buffer.from(pin).equals(DEVICE_PIN),
};

let device: Promise<DeviceIdentity> | undefined;

/** RSA-2048 device key certified by the test CA; created once per test file (worker). */
export function testDevice(): Promise<DeviceIdentity> {
  device ??= (async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ca = await getTestCa();
    const cert = await ca.issue(pair.publicKey, { commonName: 'Airtight Test Device' });
    return { privateKey: pair.privateKey, certificatePath: [cert, ca.certificate] };
  })();
  return device;
}

/**
 * The KMKs of spec §15.1: #0 RSA-2048, #1 another RSA-2048, #2 EC P-256,
 * #3 RSA-512 (deliberately invalid; node/OpenSSL 3 still generates 512-bit RSA).
 */
export type TestKmks = readonly [Kmk, Kmk, Kmk, Kmk];

let kmkCache: TestKmks | undefined;

export function testKmks(): TestKmks {
  kmkCache ??= [
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
    generateKeyPairSync('rsa', { modulusLength: 512 }),
  ];
  return kmkCache;
}

export type StoreKind = 'memory' | 'sqlite';

/** What a suite body gets; the getters are valid inside tests and hooks only. */
export interface StoreContext {
  readonly kind: StoreKind;
  /** The SKS under test (a fresh, empty store for every test). */
  readonly sks: SecureKeyStore;
  readonly device: DeviceIdentity;
  readonly kmks: TestKmks;
  readonly ca: TestCa;
  /** Opens an emulated provisioning session with the §15.1 defaults and this context's CA. */
  issuer(options?: IssuerOptions): Promise<IssuerSession>;
  /** The current test intends to leave provisioning sessions open (skips the global check once). */
  allowOpenSessions(): void;
  /** Closes the store and the engine and opens them again over the same committed state. */
  reopen(): Promise<SecureKeyStore>;
}

interface Opened {
  readonly port: KeyStorePort;
  readonly sks: SecureKeyStore;
}

/**
 * Runs `fn` once per store adapter (memory, SQLite in a temporary directory
 * with a random 32-byte store key). Every test gets a fresh store; after each
 * test, no provisioning session may be left open (spec §15.1 "Global") unless
 * the test called `allowOpenSessions()`.
 */
export function describeStores(name: string, fn: (ctx: StoreContext) => void): void {
  for (const kind of ADAPTERS.map((a) => a.name)) {
    describe(`${name} [${kind}]`, () => {
      let dir: string | undefined;
      let testDir = '';
      let storeKey = Buffer.alloc(0);
      let current: Opened | undefined;
      let identity: DeviceIdentity | undefined;
      let ca: TestCa | undefined;
      let allowOpen = false;
      let counter = 0;

      const openPort = async (): Promise<KeyStorePort> =>
        kind === 'memory' ? createMemoryKeyStore() : openSqliteKeyStore({ path: join(testDir, 'sks.db'), storeKey });

      const engine = (port: KeyStorePort): SecureKeyStore => openSecureKeyStore({ store: port, device: must(identity, 'device'), profile: TEST_PROFILE });

      const ctx: StoreContext = {
        kind,
        get sks() {
          return must(current, 'store').sks;
        },
        get device() {
          return must(identity, 'device');
        },
        get kmks() {
          return testKmks();
        },
        get ca() {
          return must(ca, 'CA');
        },
        issuer: (options = {}) => IssuerSession.open(must(current, 'store').sks, { ca: must(ca, 'CA'), ...options }),
        allowOpenSessions: () => {
          allowOpen = true;
        },
        reopen: async () => {
          const old = must(current, 'store');
          let port: KeyStorePort;
          if (kind === 'memory') {
            const contents = readAll(old.port.load());
            old.port.close();
            port = createMemoryKeyStore(contents);
          } else {
            old.port.close();
            port = await openPort();
          }
          current = { port, sks: engine(port) };
          return current.sks;
        },
      };

      beforeAll(async () => {
        identity = await testDevice();
        ca = await getTestCa();
        testKmks();
        if (kind === 'sqlite') dir = mkdtempSync(join(tmpdir(), 'airtight-sks-'));
      });

      afterAll(() => {
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      });

      beforeEach(async () => {
        allowOpen = false;
        counter += 1;
        if (dir !== undefined) {
          testDir = join(dir, `t${counter}`);
          mkdirSync(testDir, { recursive: true });
        }
        storeKey = randomBytes(32);
        const port = await openPort();
        current = { port, sks: engine(port) };
      });

      afterEach(async () => {
        const item = current;
        current = undefined;
        if (item === undefined) return;
        try {
          if (!allowOpen) {
            expect(await item.sks.enumerateProvisioningSessions(0, true), 'a provisioning session was left open').toBeUndefined();
          }
        } finally {
          item.port.close();
        }
      });

      fn(ctx);
    });
  }
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`fixtures: ${what} is only available inside a test`);
  return value;
}

/**
 * Asserts that `promise` rejects with an `SksError` of `code` and, when given,
 * exactly `message` (a string) or a message matching `message` (a RegExp).
 */
export async function expectSksError(promise: Promise<unknown>, code: SksErrorCode, message?: string | RegExp): Promise<SksError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected SksError ${code}${message === undefined ? '' : ` "${String(message)}"`}`).toBeInstanceOf(SksError);
  const err = caught as SksError;
  if (message === undefined) {
    expect(err.code, err.message).toBe(code);
  } else if (typeof message === 'string') {
    expect({ code: err.code, message: err.message }).toEqual({ code, message });
  } else {
    expect(err.code, err.message).toBe(code);
    expect(err.message).toMatch(message);
  }
  return err;
}

/** Algorithm URIs the scenarios use (spec §9.2). */
export const Alg = {
  AES128_CBC: 'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  AES192_CBC: 'http://www.w3.org/2001/04/xmlenc#aes192-cbc',
  AES256_CBC: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  HMAC_SHA256: 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
  RSA_SHA256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  RSA_SHA512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  ECDSA_SHA256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  RSA_ES_PKCS1_5: 'https://webpki.github.io/sks/algorithm#rsa.es.pkcs1_5',
  EC_P256: 'https://webpki.github.io/sks/algorithm#ec.nist.p256',
  EC_P384: 'https://webpki.github.io/sks/algorithm#ec.nist.p384',
  RSA1024: 'https://webpki.github.io/sks/algorithm#rsa1024',
  RSA2048: 'https://webpki.github.io/sks/algorithm#rsa2048',
  RSA2048_EXP: 'https://webpki.github.io/sks/algorithm#rsa2048.exp',
  ED25519: 'https://webpki.github.io/sks/algorithm#ed25519',
  NONE: 'https://webpki.github.io/sks/algorithm#none',
} as const;

/** Verifies an SKS signature (spec §1.4): RSA PKCS#1 v1.5, ECDSA raw R||S, Ed25519 pure. */
export function verifySignature(publicKey: KeyObject | Uint8Array, algorithm: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = publicKey instanceof Uint8Array ? createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' }) : publicKey;
  if (algorithm === Alg.ED25519) return nodeVerify(null, data, key, signature);
  const pss = /#sha(\d+)-rsa-MGF1$/.exec(algorithm)?.[1];
  if (pss !== undefined) {
    return nodeVerify(`sha${pss}`, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  }
  const hash = /sha(\d+)$/.exec(algorithm)?.[1];
  if (hash === undefined) throw new Error(`verifySignature: no hash in ${algorithm}`);
  if (key.asymmetricKeyType === 'ec') return nodeVerify(`sha${hash}`, data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  return nodeVerify(`sha${hash}`, data, key, signature);
}

/** The public key of a key's end-entity certificate as the SKS reports it. */
export async function certifiedPublicKey(sks: SecureKeyStore, handle: KeyHandle): Promise<KeyObject> {
  const ee = (await sks.getKeyAttributes(handle)).certificatePath.at(0);
  if (ee === undefined) throw new Error(`key #${handle} has no certificate`);
  return new X509Certificate(ee).publicKey;
}

/**
 * Signs test data with the key and checks the signature against its
 * certificate; returns the signature. `pin` as a string is ASCII.
 */
export async function signAndVerify(
  sks: SecureKeyStore,
  handle: KeyHandle,
  pin?: string | Uint8Array,
  algorithm: string = Alg.ECDSA_SHA256,
): Promise<Uint8Array> {
  const data = Buffer.from('Some data to sign');
  const signature = await sks.signData({
    keyHandle: handle,
    algorithm,
    authorization: pin === undefined ? undefined : Buffer.from(pin),
    data,
  });
  expect(verifySignature(await certifiedPublicKey(sks, handle), algorithm, data, signature), 'signature verifies').toBe(true);
  return signature;
}

/** Gives `retryLimit` wrong PINs to a signing call so the key ends up PIN-blocked. */
export async function lockKey(sks: SecureKeyStore, handle: KeyHandle, retryLimit = 3, algorithm: string = Alg.ECDSA_SHA256): Promise<void> {
  for (let i = 0; i < retryLimit; i++) {
    await expectSksError(
      sks.signData({ keyHandle: handle, algorithm, authorization: Buffer.from('9999'), data: Buffer.from('x') }),
      'AUTHORIZATION',
      `"authorization" error for key #${handle}`,
    );
  }
  const info = await sks.getKeyProtectionInfo(handle);
  expect(info.protectionStatus & ProtectionStatus.PIN_BLOCKED, 'key is PIN blocked').toBe(ProtectionStatus.PIN_BLOCKED);
}

/** Asserts that the emulated session no longer exists in the SKS (torn down, spec §4.2). */
export async function expectTornDown(session: IssuerSession): Promise<void> {
  await expectSksError(session.abort(), 'NO_SESSION', `No such provisioning session: ${session.provisioningHandle}`);
}

/** The handles of every enumerable key, in store order, with their owners. */
export async function listKeys(sks: SecureKeyStore): Promise<Array<{ keyHandle: KeyHandle; provisioningHandle: ProvisioningHandle }>> {
  const out: Array<{ keyHandle: KeyHandle; provisioningHandle: ProvisioningHandle }> = [];
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) {
    out.push({ keyHandle: k.keyHandle, provisioningHandle: k.provisioningHandle });
  }
  return out;
}

/** The handles of every provisioning session in `state` (true = open, false = closed). */
export async function listSessions(sks: SecureKeyStore, open: boolean): Promise<ProvisioningSessionInfo[]> {
  const out: ProvisioningSessionInfo[] = [];
  for (
    let stateValue = await sks.enumerateProvisioningSessions(0, open);
    stateValue !== undefined;
    stateValue = await sks.enumerateProvisioningSessions(stateValue.provisioningHandle, open)
  ) {
    out.push(stateValue);
  }
  return out;
}

export interface ObservableState {
  readonly keys: ReadonlyArray<{ keyHandle: KeyHandle; provisioningHandle: ProvisioningHandle; attributes: KeyAttributes; protection: KeyProtectionInfo }>;
  readonly closedSessions: readonly ProvisioningSessionInfo[];
  readonly openSessions: readonly ProvisioningSessionInfo[];
}

/** Everything the user and management API can observe about the store. */
export async function observableState(sks: SecureKeyStore): Promise<ObservableState> {
  const keys = [];
  for (const key of await listKeys(sks)) {
    keys.push({
      ...key,
      attributes: await sks.getKeyAttributes(key.keyHandle),
      protection: await sks.getKeyProtectionInfo(key.keyHandle),
    });
  }
  return { keys, closedSessions: await listSessions(sks, false), openSessions: await listSessions(sks, true) };
}

/** Hex of bytes, so that a Buffer and a Uint8Array with the same content compare equal. */
export const hex = (b: Uint8Array | undefined | null): string | undefined => (b === undefined || b === null ? undefined : Buffer.from(b).toString('hex'));
