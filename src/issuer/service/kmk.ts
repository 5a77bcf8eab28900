/**
 * Key-management keys (spec §5.7, §9.4) of the issuer: P-256 keys whose
 * private halves are kept AES-256-GCM-sealed under a key derived from the
 * service's sealing key, inline in the database's `privateKeyRef` as
 * `sealed:<base64url>` (the encrypted key, never the key), so every issuer
 * process that shares the sealing key and the database can sign lookups and
 * roll-over authorizations.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { generateEcKeyPair } from '../../sks/crypto/keygen.js';
import { IssuerError } from '../errors.js';
import type { IssuerDatabase, KeyManagementKey } from '../db/port.js';

const AAD = Buffer.from('airtight-issuer-kmk/1', 'ascii');
const PREFIX = 'sealed:';

const kmkSealKey = (sealingKey: Uint8Array): Buffer => Buffer.from(hkdfSync('sha256', sealingKey, Buffer.alloc(0), 'airtight issuer kmk', 32));

export function sealKmk(privateKey: KeyObject, sealingKey: Uint8Array): string {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', kmkSealKey(sealingKey), iv);
    cipher.setAAD(AAD);
    const body = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  } finally {
    pkcs8.fill(0);
  }
}

export function unsealKmk(ref: string, sealingKey: Uint8Array, id: string): KeyObject {
  if (!ref.startsWith(PREFIX)) throw new IssuerError('CONFIG', `KMK ${id}: unsupported private key reference`, { field: 'privateKeyRef' });
  const blob = Buffer.from(ref.slice(PREFIX.length), 'base64url');
  let pkcs8: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kmkSealKey(sealingKey), blob.subarray(0, 12));
    decipher.setAAD(AAD);
    decipher.setAuthTag(blob.subarray(12, 28));
    pkcs8 = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new IssuerError('CONFIG', `KMK ${id} does not unseal with this sealing key (every issuer process needs the same one)`, {
      field: 'sealingKey',
      cause,
    });
  } finally {
    pkcs8?.fill(0);
  }
}

/** Generates a new KMK and makes it current (the previous one is kept for roll-over authorizations). */
export async function rollKmk(db: IssuerDatabase, issuer: string, sealingKey: Uint8Array, clock: () => number): Promise<KeyManagementKey> {
  const { privateKey } = generateEcKeyPair('P-256');
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const id = `KMK.${clock().toString(16)}.${randomBytes(3).toString('hex')}`;
  return db.rollKeyManagementKey({ id, issuer, spki, privateKeyRef: sealKmk(privateKey, sealingKey) });
}
