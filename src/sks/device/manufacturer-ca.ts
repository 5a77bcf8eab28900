/**
 * A local "manufacturer CA" that certifies device keys of software SKS
 * instances, so that issuers can check session attestations (spec §5.3)
 * against a device certificate (spec §5.1) that chains to a root they trust.
 *
 * A real device maker keeps this key in an HSM on the production line; for a
 * software SKS it lives in a directory: `ca-key.pem` (PKCS#8, mode 0600) and
 * `root-ca.pem` (world-readable, handed to issuers as a trust anchor).
 *
 * @peculiar/x509 builds the certificates (about 600-700 per second: fine for
 * one certificate per device, not for a hot path). Its crypto provider is
 * passed on every call rather than installed globally.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { generateEcKeyPair, generateRsaKeyPair } from '../crypto/keygen.js';
import { SksError } from '../errors.js';

/** Key types the manufacturer CA (and `airtight device init`) can generate. */
export type CaKeyType = 'ec-p256' | 'rsa-2048';

export const CA_KEY_FILE = 'ca-key.pem';
export const ROOT_CA_FILE = 'root-ca.pem';
export const DEFAULT_CA_SUBJECT = 'O=Airtight, CN=Airtight Manufacturer Root CA';
export const DEFAULT_DEVICE_COMMON_NAME = 'Airtight Device';

const CA_VALIDITY_YEARS = 20;
const DEVICE_VALIDITY_YEARS = 15;
/** X.520 ub-serial-number; the attribute is a PrintableString. */
const DEVICE_SERIAL_PATTERN = /^[A-Za-z0-9-]{1,64}$/;

export interface ManufacturerCa {
  /** The CA signing key (EC P-256 or RSA-2048). */
  readonly privateKey: KeyObject;
  /** DER of the self-signed root certificate. */
  readonly certificate: Buffer;
  readonly keyType: CaKeyType;
}

export interface LoadedManufacturerCa extends ManufacturerCa {
  /** True when this call generated the CA; false when it reused the one in the directory. */
  readonly created: boolean;
  readonly keyPath: string;
  readonly rootCaPemPath: string;
}

export interface CreateManufacturerCaOptions {
  /** Distinguished name, e.g. `CN=Example Devices Root, O=Example`; default {@link DEFAULT_CA_SUBJECT}. */
  readonly subject?: string;
  /** Default `ec-p256`. */
  readonly keyType?: CaKeyType;
  /** Start of validity; default now. */
  readonly now?: Date;
}

export interface IssueDeviceCertificateOptions {
  /**
   * The device's serial number, placed in the subject's `serialNumber`
   * attribute (PrintableString: letters, digits and `-`, at most 64).
   */
  readonly serialNumber: string;
  /**
   * Replaces the whole subject DN (default `CN=Airtight Device, serialNumber=<serialNumber>`);
   * a caller that sets it includes the serial number itself if it wants one.
   */
  readonly subject?: string;
  /** Start of validity; default now. */
  readonly now?: Date;
}

const subtle = webcrypto.subtle;
// @peculiar/x509 types its provider and keys with the DOM lib, which this
// project does not load; node's webcrypto objects are those at run time.
// Without the DOM lib those types resolve to error types, which the unsafe-assignment rule reports.
/* eslint-disable @typescript-eslint/no-unsafe-assignment */
type X509Provider = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
type X509SigningKey = x509.X509CertificateCreateWithKeyParams['signingKey'];
type X509SigningAlgorithm = NonNullable<x509.X509CertificateCreateParamsBase['signingAlgorithm']>;
const provider = webcrypto as unknown as X509Provider;

/**
 * Creates a new manufacturer CA in memory: a fresh key and a self-signed
 * X.509 v3 root (BasicConstraints CA:true and KeyUsage keyCertSign|cRLSign,
 * both critical; SubjectKeyIdentifier), valid for 20 years.
 *
 * @example
 * ```ts
 * const ca = await createManufacturerCa({ subject: 'CN=Test Devices Root' });
 * const der = await issueDeviceCertificate(ca, devicePublicKey, { serialNumber: '0a1b2c' });
 * ```
 */
export async function createManufacturerCa(options: CreateManufacturerCaOptions = {}): Promise<ManufacturerCa> {
  const keyType = options.keyType ?? 'ec-p256';
  const { privateKey } = keyType === 'ec-p256' ? generateEcKeyPair('P-256') : await generateRsaKeyPair(2048, 65537);
  const certificate = await selfSignedRootFor(privateKey, keyType, options.subject, options.now ?? new Date());
  return { privateKey, certificate, keyType };
}

/**
 * Issues a device certificate for `devicePublicKey` (RSA or EC), valid for 15
 * years: BasicConstraints CA:false, KeyUsage digitalSignature (critical), and
 * key identifiers linking it to the CA. Returns the DER.
 */
export async function issueDeviceCertificate(ca: ManufacturerCa, devicePublicKey: KeyObject, options: IssueDeviceCertificateOptions): Promise<Buffer> {
  if (!DEVICE_SERIAL_PATTERN.test(options.serialNumber)) {
    throw new SksError('OPTION', 'Device serial number must be 1-64 letters, digits or "-"', { field: 'serialNumber' });
  }
  const publicKey = devicePublicKey.type === 'private' ? createPublicKey(devicePublicKey) : devicePublicKey;
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const caCert = new x509.X509Certificate(ca.certificate);
  const notBefore = wholeSeconds(options.now ?? new Date());
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      // Copy the CA's subject as encoded, so issuer and subject compare byte-equal.
      issuer: caCert.subjectName,
      subject: options.subject ?? [{ CN: [DEFAULT_DEVICE_COMMON_NAME] }, { '2.5.4.5': [options.serialNumber] }],
      notBefore,
      notAfter: addYears(notBefore, DEVICE_VALIDITY_YEARS),
      publicKey: spki,
      signingKey: await toSigningCryptoKey(ca.privateKey, ca.keyType),
      signingAlgorithm: signingAlgorithmOf(ca.keyType),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(spki, false, provider),
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey.rawData, false, provider),
      ],
    },
    provider,
  );
  return Buffer.from(cert.rawData);
}

/**
 * Opens the manufacturer CA kept in `dir`, creating it (and `dir`) on first
 * use. Creation is race-free: each file is written under a temporary name and
 * published with an exclusive link, so concurrent callers end up sharing
 * whichever CA was published first.
 *
 * Fails with `ERROR_STORAGE` when `root-ca.pem` exists without `ca-key.pem`,
 * when the key file is readable by group or others, or when the files do not
 * belong together.
 */
export async function loadOrCreateManufacturerCa(dir: string, options: Omit<CreateManufacturerCaOptions, 'now'> = {}): Promise<LoadedManufacturerCa> {
  const keyPath = join(dir, CA_KEY_FILE);
  const rootCaPemPath = join(dir, ROOT_CA_FILE);
  mkdirSync(dir, { recursive: true, mode: 0o755 });

  let created = false;
  if (!exists(keyPath)) {
    if (exists(rootCaPemPath)) {
      throw new SksError('STORAGE', `${rootCaPemPath} exists without ${CA_KEY_FILE}: refusing to replace a root others may trust`);
    }
    const ca = await createManufacturerCa(options);
    const keyPem = ca.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    created = publishExclusive(keyPath, keyPem, 0o600);
    if (created) publishExclusive(rootCaPemPath, certificatePem(ca.certificate), 0o644);
  }

  const privateKey = readCaKey(keyPath);
  const keyType = caKeyTypeOf(privateKey, keyPath);
  if (!exists(rootCaPemPath)) {
    // A creator crashed (or is still running) between the two files: the key is
    // what matters; re-issue the self-signed root and let the first link win.
    const certificate = await selfSignedRootFor(privateKey, keyType, options.subject, new Date());
    publishExclusive(rootCaPemPath, certificatePem(certificate), 0o644);
  }
  const certificate = readRootCertificate(rootCaPemPath, privateKey);
  return { privateKey, certificate, keyType, created, keyPath, rootCaPemPath };
}

/** PEM text of a DER certificate. */
export const certificatePem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END CERTIFICATE-----\n`;

/** The key type of a CA or device key, or undefined for keys this module does not generate. */
export function caKeyTypeOfKey(key: KeyObject): CaKeyType | undefined {
  const data = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec' && data.namedCurve === 'prime256v1') return 'ec-p256';
  if (key.asymmetricKeyType === 'rsa' && data.modulusLength === 2048) return 'rsa-2048';
  return undefined;
}

// ---------------------------------------------------------------------------

async function selfSignedRootFor(privateKey: KeyObject, keyType: CaKeyType, subject: string | undefined, now: Date): Promise<Buffer> {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const notBefore = wholeSeconds(now);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: subject ?? DEFAULT_CA_SUBJECT,
      issuer: subject ?? DEFAULT_CA_SUBJECT,
      notBefore,
      notAfter: addYears(notBefore, CA_VALIDITY_YEARS),
      publicKey: spki,
      signingKey: await toSigningCryptoKey(privateKey, keyType),
      signingAlgorithm: signingAlgorithmOf(keyType),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(spki, false, provider),
      ],
    },
    provider,
  );
  return Buffer.from(cert.rawData);
}

function readCaKey(keyPath: string): KeyObject {
  if (process.platform !== 'win32' && (statSync(keyPath).mode & 0o077) !== 0) {
    throw new SksError('STORAGE', `${keyPath} is accessible by group or others: run "chmod 600 ${keyPath}"`);
  }
  try {
    return createPrivateKey({ key: readFileSync(keyPath), format: 'pem' });
  } catch (error) {
    throw new SksError('STORAGE', `${keyPath} does not hold a readable private key`, { cause: error });
  }
}

function readRootCertificate(path: string, privateKey: KeyObject): Buffer {
  let cert: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(readFileSync(path));
  } catch (error) {
    throw new SksError('STORAGE', `${path} does not hold a readable certificate`, { cause: error });
  }
  if (!cert.checkPrivateKey(privateKey)) {
    throw new SksError('STORAGE', `${path} does not certify the key in ${CA_KEY_FILE}`);
  }
  return cert.raw;
}

function caKeyTypeOf(key: KeyObject, path: string): CaKeyType {
  const item = caKeyTypeOfKey(key);
  if (item === undefined) throw new SksError('STORAGE', `${path}: CA key must be EC P-256 or RSA-2048`);
  return item;
}

/**
 * Writes `data` to `path` only if `path` does not exist: write and fsync a
 * temporary file, then hard-link it into place (atomic, fails if taken).
 * Returns false when another writer got there first.
 */
function publishExclusive(path: string, data: string, mode: number): boolean {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // exact mode, whatever the umask: the root must stay readable to issuers
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function toSigningCryptoKey(privateKey: KeyObject, keyType: CaKeyType): Promise<X509SigningKey> {
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const algorithm = keyType === 'ec-p256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  return await subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
}

const signingAlgorithmOf = (keyType: CaKeyType): X509SigningAlgorithm =>
  keyType === 'ec-p256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };

/** A random positive serial of exactly 16 bytes (top bit clear, next bit set: no sign or padding byte). */
function randomSerialHex(): string {
  const buf = randomBytes(16);
  buf[0] = (buf[0] & 0x7f) | 0x40;
  return buf.toString('hex');
}

const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

function addYears(date: Date, years: number): Date {
  const result = new Date(date.getTime());
  result.setUTCFullYear(result.getUTCFullYear() + years);
  return result;
}
