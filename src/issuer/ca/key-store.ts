/**
 * CA private keys at rest: AES-256-GCM under the issuer key, a 32-byte
 * secret kept apart from the CA directory (a mode-0600 file, or the
 * environment variable `AIRTIGHT_ISSUER_KEY`, base64url), so a copy of the
 * directory or a backup alone reveals no CA key.
 *
 * Encrypted file (`*.key.enc`), PEM-armoured so it survives copy and paste:
 *
 *     -----BEGIN AIRTIGHT ENCRYPTED PRIVATE KEY-----
 *     base64( 0x01 | nonce (12) | GCM tag (16) | AES-256-GCM(PKCS#8 DER) )
 *     -----END AIRTIGHT ENCRYPTED PRIVATE KEY-----
 *
 * The associated data is `airtight-issuer-ca-key/1/<role>` (role `root-ca`
 * or `issuing-ca`), so the root's and the issuing CA's files cannot be
 * swapped for one another unnoticed. Every decryption failure is the same
 * `CA` error, naming the file and where the issuer key came from.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { IssuerError } from '../errors.js';
import { requireOwnerOnly } from '../secret-file.js';
import { pem, pemBody } from './der.js';

/** The environment variable the issuer key is read from by default. */
export const ISSUER_KEY_VARIABLE = 'AIRTIGHT_ISSUER_KEY';

/** Where the 32-byte issuer key comes from. */
export type IssuerKeySource =
  /** A file holding the key as base64url text (43 characters) or 32 raw octets; must be mode 0600 or stricter. */
  | { readonly file: string }
  /** An environment (pass `process.env`) holding the key base64url-encoded in `variable` (default {@link ISSUER_KEY_VARIABLE}). */
  | { readonly env: Readonly<Record<string, string | undefined>>; readonly variable?: string };

// The secrets live here, not on the objects: nothing reachable from an
// IssuerKey (inspection, JSON, property walks) leads to the key bytes.
const secrets = new WeakMap<IssuerKey, KeyObject>();

/** The key-encryption key, opaque: it prints as its origin only. */
export class IssuerKey {
  /** Where the key was found, e.g. `file /etc/airtight/issuer.key`: for error messages, never the key. */
  readonly where: string;

  private constructor(where: string) {
    this.where = where;
  }

  /** An issuer key from its 32 octets (tests, or a secret store the caller reads itself); `where` names the origin in errors. */
  static fromBytes(bytes: Uint8Array, where: string): IssuerKey {
    if (bytes.length !== 32) throw new IssuerError('CONFIG', `the issuer key from ${where} must be 32 octets`, { field: 'issuerKey' });
    const issuerKeyValue = new IssuerKey(where);
    secrets.set(issuerKeyValue, createSecretKey(bytes));
    return issuerKeyValue;
  }

  toJSON(): { where: string } {
    return { where: this.where };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `IssuerKey { ${this.where} }`;
  }
}

function secretOf(issuerKey: IssuerKey): KeyObject {
  const state = secrets.get(issuerKey);
  if (state === undefined) throw new IssuerError('INTERNAL', 'not an issuer key');
  return state;
}

const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;

/**
 * Reads the issuer key. Throws `CONFIG` naming the file or variable when it
 * is missing, readable by others, or not exactly 32 octets.
 *
 * @example
 * ```ts
 * const key = loadIssuerKey({ env: process.env }); // AIRTIGHT_ISSUER_KEY
 * const key2 = loadIssuerKey({ file: '/etc/airtight/issuer.key' });
 * ```
 */
export function loadIssuerKey(source: IssuerKeySource): IssuerKey {
  if ('file' in source) {
    const where = `file ${source.file}`;
    let raw: Buffer;
    try {
      requireOwnerOnly(source.file, `the issuer key ${where}`, 'issuerKey');
      raw = readFileSync(source.file);
    } catch (error) {
      if (error instanceof IssuerError) throw error;
      throw new IssuerError('CONFIG', `cannot read the issuer key from ${where}`, { field: 'issuerKey', cause: error });
    }
    const text = raw.toString('latin1').trim();
    const bytes = BASE64URL_32.test(text) ? Buffer.from(text, 'base64url') : raw.length === 32 ? raw : undefined;
    if (bytes === undefined) {
      throw new IssuerError('CONFIG', `the issuer key in ${where} must be 32 octets, raw or base64url`, { field: 'issuerKey' });
    }
    try {
      return IssuerKey.fromBytes(bytes, where);
    } finally {
      bytes.fill(0); // createSecretKey copied it
      raw.fill(0);
    }
  }
  const variable = source.variable ?? ISSUER_KEY_VARIABLE;
  const where = `environment variable ${variable}`;
  const text = source.env[variable]?.trim();
  if (text === undefined || text === '') {
    throw new IssuerError('CONFIG', `no issuer key: set the ${where} (32 octets, base64url) or configure a key file`, { field: 'issuerKey' });
  }
  if (!BASE64URL_32.test(text)) throw new IssuerError('CONFIG', `the ${where} must hold 32 octets, base64url`, { field: 'issuerKey' });
  const bytes = Buffer.from(text, 'base64url');
  try {
    return IssuerKey.fromBytes(bytes, where);
  } finally {
    bytes.fill(0);
  }
}

/** A fresh issuer key as base64url text, for `airtight issuer init` to write to a 0600 file or a secret store. */
export const generateIssuerKeyText = (): string => randomBytes(32).toString('base64url');

/** Which CA a key file belongs to; bound into the encryption. */
export type CaKeyRole = 'root-ca' | 'issuing-ca';

const LABEL = 'AIRTIGHT ENCRYPTED PRIVATE KEY';
const FORMAT = 1;
const aad = (role: CaKeyRole): Buffer => Buffer.from(`airtight-issuer-ca-key/${FORMAT}/${role}`, 'latin1');

/** Encrypts a CA private key for its `*.key.enc` file; returns the PEM text. */
export function encryptCaKey(privateKey: KeyObject, role: CaKeyRole, key: IssuerKey): string {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', secretOf(key), nonce);
    cipher.setAAD(aad(role));
    const body = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
    return pem(LABEL, Buffer.concat([Buffer.from([FORMAT]), nonce, cipher.getAuthTag(), body]));
  } catch (error) {
    throw new IssuerError('CA', `encrypting the ${role} key failed`, { cause: error });
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * Decrypts a `*.key.enc` file's text. Any failure (wrong issuer key, damaged
 * or swapped file) is one `CA` error naming `path` and the key's origin.
 */
export function decryptCaKey(text: string, role: CaKeyRole, key: IssuerKey, path: string): KeyObject {
  const fail = (cause?: unknown): IssuerError =>
    new IssuerError(
      'CA',
      `cannot decrypt ${path} with the issuer key from ${key.where}: wrong issuer key, or the file is damaged or belongs to another CA`,
      cause === undefined ? { field: path } : { field: path, cause },
    );
  const blob = pemBody(LABEL, text);
  if (blob === undefined || blob.length < 1 + 12 + 16 + 1 || blob[0] !== FORMAT) throw fail();
  let pkcs8: Buffer | undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretOf(key), blob.subarray(1, 13));
    decipher.setAAD(aad(role));
    decipher.setAuthTag(blob.subarray(13, 29));
    pkcs8 = Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]);
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch (error) {
    // OpenSSL's text may describe the data: cause only. Unsupported state / auth failures look alike on purpose.
    throw fail(error);
  } finally {
    pkcs8?.fill(0);
  }
}
