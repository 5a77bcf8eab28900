/**
 * Gives a software SKS its dual-use device ID (spec §5.1): a fresh device key,
 * certified by the manufacturer CA, stored with its certificate path in the
 * store's device record. The key then signs every non-privacy session
 * attestation (spec §5.3) and the path is what `getDeviceInfo` reports
 * (spec §10.13).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { generateEcKeyPair, generateRsaKeyPair } from '../crypto/keygen.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SksError } from '../errors.js';
import { DATABASE_FILE, STORE_KEY_ENV, STORE_KEY_FILE, openKeyStoreDirectory } from '../store/store-key.js';
import { deviceIdentityFromRecord, deviceRecordOf, type DeviceIdentity } from './identity.js';
import { caKeyTypeOfKey, issueDeviceCertificate, loadOrCreateManufacturerCa, type CaKeyType } from './manufacturer-ca.js';

export type DeviceKeyType = CaKeyType;

export interface InitDeviceOptions {
  /** The store directory (`sks.db`, `store.key`); created if absent. */
  readonly dir: string;
  /** The manufacturer CA directory (`ca-key.pem`, `root-ca.pem`); the CA is created on first use. */
  readonly caDir: string;
  /** The device key's type; the attestation signature follows it (spec §5.3). */
  readonly keyType: DeviceKeyType;
  /** Where `AIRTIGHT_STORE_KEY` is looked up; default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface InitDeviceResult {
  /** Device certificate first, then the manufacturer root. */
  readonly certificatePath: Buffer[];
  /** The root issuers should trust to verify this device's attestations. */
  readonly rootCaPemPath: string;
  /** True when this call created the manufacturer CA (false: an existing CA issued the certificate). */
  readonly created: boolean;
  readonly databasePath: string;
  /** The store key file, or null when the key came from `AIRTIGHT_STORE_KEY`. */
  readonly storeKeyPath: string | null;
  /** The `serialNumber` attribute of the device certificate's subject. */
  readonly serialNumber: string;
}

/**
 * Creates the device identity of the store in `dir`.
 *
 * Refuses with `ERROR_NOT_ALLOWED`, changing nothing, when the store already
 * has a device: a new device key would orphan every attestation issuers have
 * recorded for this device and every key they provisioned because of it.
 *
 * @example
 * ```ts
 * const { certificatePath, rootCaPemPath } = await initDevice({
 *   dir: '/home/me/.airtight/device',
 *   caDir: '/home/me/.airtight/manufacturer-ca',
 *   keyType: 'ec-p256',
 * });
 * ```
 */
export async function initDevice(options: InitDeviceOptions): Promise<InitDeviceResult> {
  const env = options.env ?? process.env;
  const port = openKeyStoreDirectory(options.dir, env);
  try {
    if (port.load().device !== null) {
      throw new SksError(
        'NOT_ALLOWED',
        `The store in ${options.dir} already has a device identity; re-keying the device would orphan ` +
          'the attestations issuers have recorded for it and the keys they provisioned',
      );
    }
    const ca = await loadOrCreateManufacturerCa(options.caDir);
    const { privateKey } = options.keyType === 'ec-p256' ? generateEcKeyPair('P-256') : await generateRsaKeyPair(2048, 65537);
    const serialNumber = deviceSerialNumberOf(privateKey);
    const deviceCertificate = await issueDeviceCertificate(ca, privateKey, { serialNumber });
    const identity: DeviceIdentity = { privateKey, certificatePath: [deviceCertificate, ca.certificate] };
    port.apply([{ kind: 'putDevice', device: deviceRecordOf(identity) }]);
    return {
      certificatePath: [deviceCertificate, Buffer.from(ca.certificate)],
      rootCaPemPath: ca.rootCaPemPath,
      created: ca.created,
      databasePath: join(options.dir, DATABASE_FILE),
      storeKeyPath: storeKeyPathOf(options.dir, env),
      serialNumber,
    };
  } finally {
    port.close();
  }
}

/**
 * Reads the device identity of the store in `dir`. Fails with
 * `ERROR_NOT_AVAILABLE` when there is no store or it has no device yet; never
 * creates a store.
 */
export function loadDeviceIdentity(dir: string, env: NodeJS.ProcessEnv = process.env): DeviceIdentity {
  return inspectDevice(dir, env).identity;
}

export interface DeviceSummary {
  readonly identity: DeviceIdentity;
  /** `ec-p256`, `rsa-2048`, or a description of a key this module did not generate. */
  readonly keyType: string;
  /** Committed key entries in the store (open sessions are never persisted). */
  readonly keyCount: number;
  readonly databasePath: string;
  /** The store key file, or null when the key came from `AIRTIGHT_STORE_KEY`. */
  readonly storeKeyPath: string | null;
}

/** What `airtight device info` shows; same failures as {@link loadDeviceIdentity}. */
export function inspectDevice(dir: string, env: NodeJS.ProcessEnv = process.env): DeviceSummary {
  if (!existsSync(join(dir, DATABASE_FILE))) {
    throw new SksError('NOT_AVAILABLE', `No key store in ${dir}: run "airtight device init" first`);
  }
  const port = openKeyStoreDirectory(dir, env);
  try {
    const snapshot = port.load();
    if (snapshot.device === null) {
      throw new SksError('NOT_AVAILABLE', `The store in ${dir} has no device identity: run "airtight device init" first`);
    }
    const identity = deviceIdentityFromRecord(snapshot.device.read());
    return {
      identity,
      keyType: describeKeyType(identity.privateKey),
      keyCount: snapshot.keys.length,
      databasePath: join(dir, DATABASE_FILE),
      storeKeyPath: storeKeyPathOf(dir, env),
    };
  } finally {
    port.close();
  }
}

function storeKeyPathOf(dir: string, env: NodeJS.ProcessEnv): string | null {
  const fromEnv = env[STORE_KEY_ENV];
  return fromEnv !== undefined && fromEnv !== '' ? null : join(dir, STORE_KEY_FILE);
}

function describeKeyType(key: KeyObject): string {
  const known = caKeyTypeOfKey(key);
  if (known !== undefined) return known;
  const data = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `rsa-${data.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `ec-${data.namedCurve ?? '?'}`;
  return key.asymmetricKeyType ?? 'unknown';
}

/** Names the device after its key: the first 16 bytes of SHA-256 over the SPKI, in hex. */
export function deviceSerialNumberOf(key: KeyObject): string {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest().subarray(0, 16).toString('hex');
}
