/**
 * The session cryptography both sides of a provisioning session compute
 * (spec §5): KDF, method MACs, attestations, issuer encryption, target key
 * references. Pure functions over node:crypto; the SKS and the issuer share them.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Kdf, type MacMethodName } from '../constants.js';
import { SksError, cryptoFailure } from '../errors.js';
import { encoder } from './encoding.js';

export const hmacSha256 = (key: Uint8Array, data: Uint8Array): Buffer => createHmac('sha256', key).update(data).digest();

/** Constant-time equality of two MACs of any lengths (a length mismatch is simply "not equal"). */
export function macEquals(expected: Uint8Array, received: Uint8Array): boolean {
  if (expected.length !== received.length) return false;
  return timingSafeEqual(expected, received);
}

/** `session.1` KDF input (spec §5.2). */
export function sessionKdfInput(clientSessionId: string, serverSessionId: string, issuerUri: string, deviceId: Uint8Array): Buffer {
  return encoder().str(clientSessionId).str(serverSessionId).str(issuerUri).arr(deviceId).toBuffer();
}

/** Inputs of the session attestation (spec §5.3). */
export interface SessionAttestationFields {
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly issuerUri: string;
  readonly deviceId: Uint8Array;
  readonly sessionKeyAlgorithm: string;
  readonly privacyEnabled: boolean;
  /** Canonical SPKI. */
  readonly serverEphemeralKey: Uint8Array;
  /** Canonical SPKI. */
  readonly clientEphemeralKey: Uint8Array;
  /** Canonical SPKI, or absent/empty for a session without a key management key. */
  readonly keyManagementKey: Uint8Array | undefined;
  readonly clientTime: number;
  readonly sessionLifeTime: number;
  /** As passed to createProvisioningSession, before any use. */
  readonly sessionKeyLimit: number;
  readonly serverCertificate: Uint8Array;
}

/** The byte string `A` that the session attestation covers (spec §5.3). */
export const sessionAttestationInput = (f: SessionAttestationFields): Buffer =>
  encoder()
    .str(f.clientSessionId)
    .str(f.serverSessionId)
    .str(f.issuerUri)
    .arr(f.deviceId)
    .str(f.sessionKeyAlgorithm)
    .bool(f.privacyEnabled)
    .arr(f.serverEphemeralKey)
    .arr(f.clientEphemeralKey)
    .arr(f.keyManagementKey ?? new Uint8Array(0))
    .u32(f.clientTime)
    .u16(f.sessionLifeTime)
    .u16(f.sessionKeyLimit)
    .arr(f.serverCertificate, 'serverCertificate')
    .toBuffer();

/** `sessionKey = HMAC(Z, kdfInput)` (spec §5.2). */
export const deriveSessionKey = (z: Uint8Array, kdfInput: Uint8Array): Buffer => hmacSha256(z, kdfInput);

/** `macKey = sessionKey || MethodName || u16(q)` (spec §5.5). */
export function macKey(sessionKey: Uint8Array, method: MacMethodName, counter: number): Buffer {
  return encoder().raw(sessionKey).raw(Buffer.from(method, 'ascii')).u16(counter).toBuffer();
}

export const methodMac = (sessionKey: Uint8Array, method: MacMethodName, counter: number, data: Uint8Array): Buffer =>
  hmacSha256(macKey(sessionKey, method, counter), data);

/** `HMAC(sessionKey, "EncryptionKey")` (spec §5.7). */
export const encryptionKey = (sessionKey: Uint8Array): Buffer => hmacSha256(sessionKey, Buffer.from(Kdf.ENCRYPTION_KEY, 'ascii'));

/** Issuer side of spec §5.7: `IV || AES-256-CBC-PKCS7(encryptionKey, plaintext)`. */
export function encryptForSks(encKey: Uint8Array, plaintext: Uint8Array, iv: Uint8Array = randomBytes(16)): Buffer {
  const cipher = createCipheriv('aes-256-cbc', encKey, iv);
  return Buffer.concat([Buffer.from(iv), cipher.update(plaintext), cipher.final()]);
}

/** SKS side of spec §5.7. Any failure is `ERROR_CRYPTO` with a fixed message. */
export function decryptFromIssuer(encKey: Uint8Array, data: Uint8Array): Buffer {
  if (data.length < 32 || data.length % 16 !== 0) throw new SksError('CRYPTO', 'Crypto failure: decrypt issuer data');
  try {
    const decipher = createDecipheriv('aes-256-cbc', encKey, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  } catch (error) {
    throw cryptoFailure('decrypt issuer data', error);
  }
}

/** `keyId = HMAC(sessionKey || deviceId, targetEndEntityCertificate)` (spec §5.8). */
export const targetKeyReference = (sessionKey: Uint8Array, deviceId: Uint8Array, targetCertificate: Uint8Array): Buffer =>
  hmacSha256(Buffer.concat([sessionKey, deviceId]), targetCertificate);

/** The bytes a KMK signs to authorize a post-operation (spec §5.8). */
export const targetKeyReferenceSignedData = (keyId: Uint8Array): Buffer => Buffer.concat([Buffer.from(Kdf.TARGET_KEY_REFERENCE, 'ascii'), keyId]);

/** The bytes the old KMK signs to roll over to a new one (spec §5.9). */
export const rollOverSignedData = (newKmkSpki: Uint8Array): Buffer => Buffer.concat([Buffer.from(Kdf.ROLL_OVER_AUTHORIZATION, 'ascii'), newKmkSpki]);

/** Device ID of a session (spec §5.1). */
export const deviceIdFor = (privacyEnabled: boolean, deviceCertificate: Uint8Array): Buffer =>
  privacyEnabled ? Buffer.from(Kdf.ANONYMOUS, 'ascii') : Buffer.from(deviceCertificate);

/** Fills a secret buffer with zeros; used where a secret's life ends. */
export function wipe(...buffers: Array<Uint8Array | undefined | null>): void {
  for (const bytes of buffers) bytes?.fill(0);
}
