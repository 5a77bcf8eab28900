/**
 * Sealing of the secret fields a store writes to disk: AES-256-GCM under the
 * 32-byte store key, one fresh random 96-bit nonce per value.
 *
 * Sealed format (version 1):
 *
 * ```
 * sealed = u8(0x01) || nonce[12] || ciphertext || tag[16]
 * AAD    = u8(0x01) || UTF8(aad)
 * ```
 *
 * The caller's `aad` names the table, row and column the value belongs to
 * (for example `keys:12:private_key`), so a ciphertext copied into another row or
 * column fails authentication instead of handing one key's secret to another.
 * The version byte is authenticated too, so it cannot be rewritten to select
 * another format.
 *
 * @example
 * ```ts
 * const sealed = sealSecret(storeKey, pkcs8, 'keys:12:private_key');
 * const pkcs8Again = openSecret(storeKey, sealed, 'keys:12:private_key');
 * ```
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SksError } from '../errors.js';

/** Format/version byte of the sealed values this module writes. */
export const SEAL_VERSION = 0x01;
const STORE_KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** Size of a sealed value minus the size of its plaintext. */
export const SEAL_OVERHEAD = 1 + NONCE_LENGTH + TAG_LENGTH;

const integrityError = (): SksError => new SksError('STORAGE', 'Stored secret failed integrity check');

function checkStoreKey(storeKey: Uint8Array): void {
  if (storeKey.length !== STORE_KEY_LENGTH) {
    throw new SksError('STORAGE', `Store key must be ${STORE_KEY_LENGTH} bytes`);
  }
}

function additionalData(aad: string): Buffer {
  return Buffer.concat([Buffer.of(SEAL_VERSION), Buffer.from(aad, 'utf8')]);
}

/** Encrypts and authenticates `plaintext`, bound to `aad` (the value's row and column). */
export function sealSecret(storeKey: Uint8Array, plaintext: Uint8Array, aad: string): Buffer {
  checkStoreKey(storeKey);
  const nonce = randomBytes(NONCE_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', storeKey, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(additionalData(aad));
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return Buffer.concat([Buffer.of(SEAL_VERSION), nonce, body, final, cipher.getAuthTag()]);
}

/**
 * Authenticates and decrypts a value made by {@link sealSecret} with the same
 * `aad`. Any failure (wrong key, wrong row, tampering, truncation, unknown
 * version) is `ERROR_STORAGE` with one fixed message.
 */
export function openSecret(storeKey: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  checkStoreKey(storeKey);
  if (sealed.length < SEAL_OVERHEAD || sealed[0] !== SEAL_VERSION) throw integrityError();
  const nonce = sealed.subarray(1, 1 + NONCE_LENGTH);
  const body = sealed.subarray(1 + NONCE_LENGTH, sealed.length - TAG_LENGTH);
  const tag = sealed.subarray(sealed.length - TAG_LENGTH);
  try {
    const decipher = createDecipheriv('aes-256-gcm', storeKey, nonce, { authTagLength: TAG_LENGTH });
    decipher.setAAD(additionalData(aad));
    decipher.setAuthTag(tag);
    const plain = decipher.update(body);
    return Buffer.concat([plain, decipher.final()]);
  } catch {
    throw integrityError();
  }
}
