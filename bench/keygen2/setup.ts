/**
 * What the KeyGen2 benchmark provisions into and with: a manufacturer CA and device identities
 * (EC P-256 or RSA-2048 device key), SKS instances on the memory or the SQLite store, an issuer
 * with the node:crypto port, and the session configurations.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import {
  createIssuer,
  DeviceTrust,
  NodeIssuerCrypto,
  type IssuerConfig,
  type IssuerCryptoPort,
  type IssuerEnvironment,
  type KeyGen2Issuer,
} from '../../src/keygen2/server/index.js';
import type { SecureKeyStore } from '../../src/sks/api.js';
import { generateEcKeyPair, generateRsaKeyPair } from '../../src/sks/crypto/keygen.js';
import { createManufacturerCa, issueDeviceCertificate } from '../../src/sks/device/manufacturer-ca.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import type { KeyStorePort } from '../../src/sks/store/records.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';
import { createBenchCa } from './bench-ca.js';
import { ISSUER_URI } from './session.js';

export type DeviceKeyType = 'ec' | 'rsa';
export type StoreKind = 'memory' | 'sqlite';

export interface Device {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly certificatePath: readonly Buffer[];
}

export interface Devices {
  /** DER of the manufacturer root the issuer trusts. */
  readonly root: Buffer;
  readonly ec: Device;
  readonly rsa: Device;
}

export async function createDevices(): Promise<Devices> {
  const ca = await createManufacturerCa({ keyType: 'ec-p256' });
  const make = async (type: DeviceKeyType): Promise<Device> => {
    const pair = type === 'ec' ? generateEcKeyPair('P-256') : await generateRsaKeyPair(2048, 65537);
    const cert = await issueDeviceCertificate(ca, pair.publicKey, { serialNumber: `bench-${type}` });
    return { privateKey: pair.privateKey, publicKey: pair.publicKey, certificatePath: [cert, ca.certificate] };
  };
  return { root: ca.certificate, ec: await make('ec'), rsa: await make('rsa') };
}

export interface OpenedSks {
  readonly sks: SecureKeyStore;
  readonly close: () => void;
}

export function openSks(kind: StoreKind, device: Device, dir: string, name: string): OpenedSks {
  const store: KeyStorePort = kind === 'memory' ? createMemoryKeyStore() : openSqliteKeyStore({ path: join(dir, `${name}.db`), storeKey: randomBytes(32) });
  const sks = openSecureKeyStore({ store, device: { privateKey: device.privateKey, certificatePath: device.certificatePath } });
  return { sks, close: () => store.close() };
}

/** How many HMACs and encryptions the issuer's crypto port did (for the raw-work figure). */
export interface PortCounts {
  hmacs: number;
  encryptions: number;
}

/** The node:crypto port, counting the calls whose raw cost the benchmark prints beside the issuer's. */
function countingPort(port: IssuerCryptoPort, counts: PortCounts): IssuerCryptoPort {
  return {
    generateEphemeralKey: (curve) => port.generateEphemeralKey(curve),
    deriveSessionKey: (e, k, i) => port.deriveSessionKey(e, k, i),
    hmac: (sk, bytes, data) => {
      counts.hmacs++;
      return port.hmac(sk, bytes, data);
    },
    encrypt: (sk, bytes) => {
      counts.encryptions++;
      return port.encrypt(sk, bytes);
    },
    keyManagementKey: (n) => port.keyManagementKey(n),
    sign: (n, d) => port.sign(n, d),
    seal: (s) => port.seal(s),
    unseal: (r) => port.unseal(r),
  };
}

/**
 * An issuer that trusts `root` and certifies every attested key with a fast bench CA; its port
 * counts into `counts`.
 */
export function createBenchIssuer(root: Buffer, counts: PortCounts = { hmacs: 0, encryptions: 0 }, extra: Partial<IssuerEnvironment> = {}): KeyGen2Issuer {
  const ca = createBenchCa();
  return createIssuer({
    crypto: countingPort(new NodeIssuerCrypto({ sealingKey: randomBytes(32) }), counts),
    deviceTrust: new DeviceTrust([root]),
    certify: (k) => ({ certificatePath: [ca.issue(k.publicKey, k.id)] }),
    ...extra,
  });
}

export const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
export const RSA2048 = 'https://webpki.github.io/sks/algorithm#rsa2048';

/** `keys` keys of `keyAlgorithm` under one user-chosen PIN (numeric, 4-8 digits, 3 tries). */
export const sessionConfig = (keyAlgorithm: string, keys: number): IssuerConfig => ({
  issuerUri: ISSUER_URI,
  pinPolicies: [
    {
      minLength: 4,
      maxLength: 8,
      retryLimit: 3,
      format: 'numeric',
      grouping: 'shared',
      keys: Array.from({ length: keys }, () => ({ keyAlgorithm, appUsage: 'authentication' as const })),
    },
  ],
});
