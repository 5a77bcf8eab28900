/**
 * The CA directory: on first start the issuer creates its root and issuing CA
 * there (or imports existing ones); afterwards it loads them.
 *
 * | file                 | mode | content                                              |
 * |----------------------|------|------------------------------------------------------|
 * | `root-ca.pem`        | 0644 | the trust anchor relying parties install             |
 * | `issuing-ca.pem`     | 0644 | sent along with every end-entity certificate          |
 * | `issuing-ca.key.enc` | 0600 | the issuing CA key, encrypted (key-store.ts)         |
 * | `root-ca.key.enc`    | 0600 | the root key, encrypted; may be moved offline        |
 *
 * The root key is needed only to certify a new issuing CA, so an operator
 * can move `root-ca.key.enc` to offline media after the first start (or have
 * it written there with `rootKeyFile`); loading does not need it.
 *
 * `issuing-ca.pem` is written last: it marks the directory complete. A
 * directory with some files but not that one is a crashed or interrupted
 * creation (or a damaged directory) and is refused rather than overwritten,
 * because a root someone may already trust must never be silently replaced.
 */
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IssuerError } from '../errors.js';
import { caKeyTypeOf } from './algorithms.js';
import { createCaHierarchy, type CaKeyPair, type CreateCaOptions } from './create.js';
import { pem, pemBody } from './der.js';
import { IssuerKey, decryptCaKey, encryptCaKey, loadIssuerKey, type CaKeyRole, type IssuerKeySource } from './key-store.js';

export const ROOT_CA_FILE = 'root-ca.pem';
export const ISSUING_CA_FILE = 'issuing-ca.pem';
export const ISSUING_KEY_FILE = 'issuing-ca.key.enc';
export const ROOT_KEY_FILE = 'root-ca.key.enc';

/** The issuer's CAs as loaded: the issuing CA with its key, the root with its key only when online. */
export interface IssuerCa {
  readonly root: { readonly certificate: Buffer; readonly privateKey: KeyObject | undefined };
  readonly issuing: CaKeyPair;
}

/** Existing CA material to import on first start instead of creating new CAs. */
export interface ImportCaFiles {
  /** PEM certificate of the root (self-signed). */
  readonly rootCertificate: string;
  /** PEM certificate of the issuing CA, signed by the root. */
  readonly issuingCertificate: string;
  /** PEM PKCS#8 (unencrypted) private key of the issuing CA. */
  readonly issuingKey: string;
  /** PEM PKCS#8 private key of the root, if it should be kept (encrypted). */
  readonly rootKey?: string;
}

export interface OpenIssuerCaOptions {
  /** The CA directory; created (0700) if missing. */
  readonly dir: string;
  /** Where the 32-byte key that encrypts the CA keys comes from (or the key itself). */
  readonly issuerKey: IssuerKeySource | IssuerKey;
  /** How to create the CAs when the directory is empty (subjects, key type, validity); ignored once they exist. */
  readonly create?: CreateCaOptions;
  /** Import these instead of creating new CAs when the directory is empty. */
  readonly import?: ImportCaFiles;
  /** Where a newly created root key is written, encrypted; default `<dir>/root-ca.key.enc`. */
  readonly rootKeyFile?: string;
}

export interface OpenedIssuerCa {
  readonly ca: IssuerCa;
  /** `created` on first start, `imported` when {@link OpenIssuerCaOptions.import} was used, else `loaded`. */
  readonly origin: 'created' | 'imported' | 'loaded';
}

/**
 * Opens the issuer's CAs in `dir`, creating or importing them on first start.
 *
 * Throws `CONFIG` when the issuer key is missing or malformed, `CA` when
 * a key file does not decrypt with it (the message names the file and where
 * the issuer key was read from), when files do not belong together, or when
 * the directory is incomplete.
 *
 * @example
 * ```ts
 * const { ca, origin } = await openIssuerCa({ dir: '/var/lib/airtight/ca', issuerKey: { env: process.env } });
 * const issuer = new CertificateIssuer(ca.issuing);
 * ```
 */
export async function openIssuerCa(options: OpenIssuerCaOptions): Promise<OpenedIssuerCa> {
  const key = options.issuerKey instanceof IssuerKey ? options.issuerKey : loadIssuerKey(options.issuerKey);
  const { dir } = options;
  const paths = {
    root: join(dir, ROOT_CA_FILE),
    issuing: join(dir, ISSUING_CA_FILE),
    issuingKey: join(dir, ISSUING_KEY_FILE),
    rootKey: options.rootKeyFile ?? join(dir, ROOT_KEY_FILE),
  };
  if (exists(paths.issuing)) return { ca: loadCa(paths, key), origin: 'loaded' };
  const leftovers = [paths.root, paths.issuingKey, paths.rootKey].filter(exists);
  if (leftovers.length > 0) {
    throw new IssuerError(
      'CA',
      `incomplete CA directory ${dir}: ${leftovers.join(', ')} exist(s) without ${ISSUING_CA_FILE}; restore it, or remove the files to create a new CA`,
      { field: 'dir' },
    );
  }

  let hierarchy: IssuerCa;
  if (options.import) {
    hierarchy = importCa(options.import);
  } else {
    const created = await createCaHierarchy(options.create);
    hierarchy = { root: created.root, issuing: created.issuing };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (hierarchy.root.privateKey) {
    mkdirSync(dirname(paths.rootKey), { recursive: true, mode: 0o700 });
    publish(paths.rootKey, encryptCaKey(hierarchy.root.privateKey, 'root-ca', key), 0o600);
  }
  publish(paths.issuingKey, encryptCaKey(hierarchy.issuing.privateKey, 'issuing-ca', key), 0o600);
  publish(paths.root, pem('CERTIFICATE', hierarchy.root.certificate), 0o644);
  publish(paths.issuing, pem('CERTIFICATE', hierarchy.issuing.certificate), 0o644); // the commit point
  syncDir(dir);
  return { ca: hierarchy, origin: options.import ? 'imported' : 'created' };
}

function loadCa(paths: { root: string; issuing: string; issuingKey: string; rootKey: string }, key: IssuerKey): IssuerCa {
  const issuingKey = decryptCaKey(readText(paths.issuingKey), 'issuing-ca', key, paths.issuingKey);
  const rootKey = exists(paths.rootKey) ? decryptCaKey(readText(paths.rootKey), 'root-ca', key, paths.rootKey) : undefined;
  return checkHierarchy(
    { path: paths.root, der: certificateDer(readText(paths.root), paths.root) },
    { path: paths.issuing, der: certificateDer(readText(paths.issuing), paths.issuing) },
    issuingKey,
    rootKey,
  );
}

function importCa(files: ImportCaFiles): IssuerCa {
  const readKey = (path: string, role: CaKeyRole): KeyObject => {
    const der = pemBody('PRIVATE KEY', readText(path));
    try {
      if (der === undefined) throw new Error('no PEM PRIVATE KEY block');
      return privateKeyFromPkcs8(der);
    } catch (error) {
      throw new IssuerError('CA', `${path} does not hold an unencrypted PKCS#8 "PRIVATE KEY" for the ${role}`, { field: path, cause: error });
    }
  };
  return checkHierarchy(
    { path: files.rootCertificate, der: certificateDer(readText(files.rootCertificate), files.rootCertificate) },
    { path: files.issuingCertificate, der: certificateDer(readText(files.issuingCertificate), files.issuingCertificate) },
    readKey(files.issuingKey, 'issuing-ca'),
    files.rootKey === undefined ? undefined : readKey(files.rootKey, 'root-ca'),
  );
}

/** A private key from PKCS#8 DER; the DER copy is wiped afterwards. */
function privateKeyFromPkcs8(pkcs8: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } finally {
    pkcs8.fill(0);
  }
}

/**
 * The checks that make a root, an issuing CA and its key one usable CA:
 * both are CA certificates, the root is self-signed, the issuing CA is
 * signed by the root, and each key matches its certificate.
 */
function checkHierarchy(
  root: { path: string; der: Buffer },
  issuing: { path: string; der: Buffer },
  issuingKey: KeyObject,
  rootKey: KeyObject | undefined,
): IssuerCa {
  const parse = (item: { path: string; der: Buffer }): X509Certificate => {
    try {
      return new X509Certificate(item.der);
    } catch (error) {
      throw new IssuerError('CA', `${item.path} is not a valid X.509 certificate`, { field: item.path, cause: error });
    }
  };
  const x509Certificate = parse(root);
  const index = parse(issuing);
  const fail = (path: string, why: string): never => {
    throw new IssuerError('CA', `${path} ${why}`, { field: path });
  };
  if (!x509Certificate.ca) fail(root.path, 'is not a CA certificate (BasicConstraints CA:true)');
  if (!index.ca) fail(issuing.path, 'is not a CA certificate (BasicConstraints CA:true)');
  if (!x509Certificate.verify(x509Certificate.publicKey)) fail(root.path, 'is not a self-signed root');
  if (!index.checkIssued(x509Certificate) || !index.verify(x509Certificate.publicKey)) fail(issuing.path, `is not signed by the root in ${root.path}`);
  if (!index.checkPrivateKey(issuingKey)) fail(issuing.path, 'does not certify the issuing CA key');
  if (rootKey !== undefined && !x509Certificate.checkPrivateKey(rootKey)) fail(root.path, 'does not certify the root key');
  const keyType = caKeyTypeOf(issuingKey, issuing.path);
  return {
    root: { certificate: root.der, privateKey: rootKey },
    issuing: { certificate: issuing.der, privateKey: issuingKey, keyType },
  };
}

function certificateDer(text: string, path: string): Buffer {
  const der = pemBody('CERTIFICATE', text);
  if (der === undefined) throw new IssuerError('CA', `${path} holds no PEM CERTIFICATE`, { field: path });
  return der;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (error) {
    throw new IssuerError('CA', `cannot read ${path}`, { field: path, cause: error });
  }
}

/**
 * Writes `data` to `path` only if nothing is there: write and fsync a
 * temporary file with the exact mode, then hard-link it into place (atomic;
 * fails if taken, so a concurrent first start cannot overwrite a CA).
 */
function publish(path: string, data: string, mode: number): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      fchmodSync(fd, mode); // whatever the umask
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(tmp, path);
  } catch (error) {
    const taken = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new IssuerError('STORAGE', taken ? `${path} appeared while creating the CA: another process is creating one; restart` : `cannot write ${path}`, {
      field: path,
      cause: error,
    });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new IssuerError('STORAGE', `cannot access ${path}`, { field: path, cause: error });
  }
}
