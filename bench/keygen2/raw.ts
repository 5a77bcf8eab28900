/**
 * The raw node:crypto work each side of a session needs, run as bare calls so the benchmark can
 * print it beside what our code costs for the same session, in the same run.
 *
 * Issuer: ephemeral EC key generation, ECDH, the HMACs its crypto port computed (counted during
 * the session: method MACs, attestation checks) plus the KDF, the device signature check (none in
 * privacy mode), one AES per encrypted value, and one ECDSA signature per certificate its CA issues.
 * Client and SKS: ephemeral key generation, ECDH, as many HMACs (it verifies every MAC the issuer
 * computed and computes every attestation the issuer checks), one key generation per key (EC: an
 * ECDH key pair's scalar and point, all a session needs of a key it does not use yet; RSA: a pair
 * with its public key exported), the device's session attestation signature, and for SQLite one
 * durable commit of about the bytes the session stores.
 */
import { createCipheriv, createECDH, createHmac, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateEcKeyPair, generateRsaKeyPair } from '../../src/sks/crypto/keygen.js';
import type { Device, DeviceKeyType, StoreKind } from './setup.js';

export interface RawSpec {
  readonly keys: number;
  readonly rsaKeys: boolean;
  readonly device: Device;
  readonly deviceKey: DeviceKeyType;
  readonly store: StoreKind;
  /** HMACs the issuer's port computed in the session (KDF not included). */
  readonly hmacs: number;
  /** AES encryptions the issuer's port did. */
  readonly encryptions: number;
}

export interface RawWork {
  /** CPU milliseconds of one session's issuer-side raw work. */
  issuer(): number;
  /** CPU milliseconds of one session's client-side raw work. */
  client(): Promise<number>;
  close(): void;
}

const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

export function rawWork(spec: RawSpec, dir: string): RawWork {
  const data = randomBytes(600);
  const key32 = randomBytes(32);
  const hmac = (count: number): void => {
    for (let i = 0; i < count; i++) createHmac('sha256', key32).update(data.subarray(0, 300)).digest();
  };
  const keyEcdh = createECDH('prime256v1');
  const peer = createECDH('prime256v1');
  peer.generateKeys();
  const caKey = generateEcKeyPair('P-256').privateKey;
  const deviceSign = (): Buffer =>
    spec.deviceKey === 'ec' ? sign('sha256', data, { key: spec.device.privateKey, dsaEncoding: 'ieee-p1363' }) : sign('sha256', data, spec.device.privateKey);
  const deviceSignature = deviceSign();
  const devicePublic: KeyObject = spec.device.publicKey;
  let db: Database.Database | undefined;
  let commit: (() => void) | undefined;
  if (spec.store === 'sqlite') {
    db = new Database(join(dir, `raw-${spec.deviceKey}-${spec.keys}-${spec.rsaKeys ? 'rsa' : 'ec'}.db`));
    db.pragma('locking_mode = EXCLUSIVE'); // as the store does
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a BLOB, b BLOB, c BLOB)');
    const insert = db.prepare('INSERT INTO t (a, b, c) VALUES (?, ?, ?)');
    const keyBytes = spec.rsaKeys ? 1700 : 500;
    commit = db.transaction(() => {
      insert.run(randomBytes(200), randomBytes(100), null); // session
      insert.run(randomBytes(100), null, null); // PIN policy
      for (let i = 0; i < spec.keys; i++) insert.run(randomBytes(keyBytes), randomBytes(200), randomBytes(100)); // key, certificate
    });
  }
  return {
    issuer() {
      const code = cpuMs();
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      ecdh.computeSecret(peer.getPublicKey());
      hmac(spec.hmacs + 1);
      verify('sha256', data, spec.deviceKey === 'ec' ? { key: devicePublic, dsaEncoding: 'ieee-p1363' } : devicePublic, deviceSignature);
      for (let i = 0; i < spec.encryptions; i++) {
        const cipher = createCipheriv('aes-256-cbc', key32, key32.subarray(0, 16));
        cipher.update(data.subarray(0, 64));
        cipher.final();
      }
      for (let i = 0; i < spec.keys; i++) sign('sha256', data, caKey);
      return cpuMs() - code;
    },
    async client() {
      const code = cpuMs();
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      ecdh.computeSecret(peer.getPublicKey());
      hmac(spec.hmacs + 1);
      for (let i = 0; i < spec.keys; i++) {
        if (spec.rsaKeys) {
          (await generateRsaKeyPair(2048, 65537)).publicKey.export({ format: 'jwk' });
        } else {
          keyEcdh.generateKeys();
          keyEcdh.getPrivateKey();
        }
      }
      deviceSign();
      commit?.();
      return cpuMs() - code;
    },
    close() {
      db?.close();
    },
  };
}
