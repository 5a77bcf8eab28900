import { X509Certificate, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  CertificateIssuer,
  ISSUING_CA_FILE,
  ISSUING_KEY_FILE,
  IssuerKey,
  ROOT_CA_FILE,
  ROOT_KEY_FILE,
  generateIssuerKeyText,
  loadIssuerKey,
  openIssuerCa,
  parseDn,
} from '../../../src/issuer/ca/index.js';
import { IssuerError } from '../../../src/issuer/errors.js';
import { openssl, subjectSpki, tempDir } from './helpers.js';

const fresh = tempDir('airtight-ca-store-');
const envWith = (key: string): Record<string, string> => ({ AIRTIGHT_ISSUER_KEY: key });

async function caught(params: Promise<unknown> | (() => unknown)): Promise<IssuerError> {
  try {
    await (typeof params === 'function' ? params() : params);
  } catch (error) {
    if (error instanceof IssuerError) return error;
    throw error;
  }
  throw new Error('expected an IssuerError');
}

describe('CA directory', () => {
  it('creates root and issuing CA on first start, with configured subjects, and loads them afterwards', async () => {
    const dir = fresh();
    const key = generateIssuerKeyText();
    const create = {
      rootSubject: parseDn('CN=Example Root CA, O=Example Bank, C=SE'),
      issuingSubject: parseDn('CN=Example Issuing CA, O=Example Bank, C=SE'),
    };
    const first = await openIssuerCa({ dir, issuerKey: { env: envWith(key) }, create });
    expect(first.origin).toBe('created');
    expect(first.ca.issuing.keyType).toBe('ec-p256');
    expect(new X509Certificate(first.ca.root.certificate).subject).toBe('C=SE\nO=Example Bank\nCN=Example Root CA');
    for (const [fn, mode] of [
      [ROOT_CA_FILE, 0o644],
      [ISSUING_CA_FILE, 0o644],
      [ISSUING_KEY_FILE, 0o600],
      [ROOT_KEY_FILE, 0o600],
    ] as const) {
      expect(statSync(join(dir, fn)).mode & 0o777).toBe(mode);
    }
    const again = await openIssuerCa({ dir, issuerKey: { env: envWith(key) } });
    expect(again.origin).toBe('loaded');
    expect(again.ca.issuing.certificate.equals(first.ca.issuing.certificate)).toBe(true);
    expect(again.ca.root.certificate.equals(first.ca.root.certificate)).toBe(true);
    expect(again.ca.root.privateKey?.equals(first.ca.root.privateKey!)).toBe(true);
    expect(again.ca.issuing.privateKey.equals(first.ca.issuing.privateKey)).toBe(true);

    // Issued under the reloaded CA, verified by openssl against the files on disk.
    const cert = new CertificateIssuer(again.ca.issuing).issue({
      profile: { subject: [{ type: 'O', value: 'Example Bank' }], validityDays: 30, appUsage: 'signature' },
      user: { commonName: 'Frank' },
      subjectPublicKey: subjectSpki('P-256'),
    });
    writeFileSync(join(dir, 'ee.pem'), cert.pem);
    const val = openssl(['verify', '-x509_strict', '-CAfile', join(dir, ROOT_CA_FILE), '-untrusted', join(dir, ISSUING_CA_FILE), join(dir, 'ee.pem')]);
    expect(val.out).toContain(': OK');
  });

  it('keeps-ca-keys-encrypted-at-rest: no PKCS#8 plaintext in the key files', async () => {
    const dir = fresh();
    const { ca } = await openIssuerCa({ dir, issuerKey: { env: envWith(generateIssuerKeyText()) } });
    for (const [file, keyObject] of [
      [ISSUING_KEY_FILE, ca.issuing.privateKey],
      [ROOT_KEY_FILE, ca.root.privateKey!],
    ] as const) {
      const text = readFileSync(join(dir, file), 'latin1');
      expect(text).toMatch(/^-----BEGIN AIRTIGHT ENCRYPTED PRIVATE KEY-----\n/);
      expect(text).not.toContain('BEGIN PRIVATE KEY');
      const body = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
      const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
      const raw = Buffer.from(keyObject.export({ format: 'jwk' }).d!, 'base64url');
      expect(body.includes(pkcs8)).toBe(false);
      expect(body.includes(raw)).toBe(false);
      expect(body.includes(pkcs8.subarray(0, 16))).toBe(false); // not even the PKCS#8 header
      // openssl cannot read it as a key either
      expect(openssl(['pkey', '-in', join(dir, file), '-noout']).ok).toBe(false);
    }
  });

  it('rejects-wrong-issuer-key with CA, naming the file and where the key was looked for', async () => {
    const dir = fresh();
    await openIssuerCa({ dir, issuerKey: { env: envWith(generateIssuerKeyText()) } });
    const wrong = generateIssuerKeyText();
    const issuerError = await caught(openIssuerCa({ dir, issuerKey: { env: envWith(wrong) } }));
    expect(issuerError.code).toBe('CA');
    expect(issuerError.message).toContain(join(dir, ISSUING_KEY_FILE));
    expect(issuerError.message).toContain('environment variable AIRTIGHT_ISSUER_KEY');
    expect(issuerError.message).not.toContain(wrong);
    expect(JSON.stringify(issuerError)).not.toContain('cause');

    const keyFile = join(dir, 'issuer.key');
    writeFileSync(keyFile, `${generateIssuerKeyText()}\n`, { mode: 0o600 });
    const fn = await caught(openIssuerCa({ dir, issuerKey: { file: keyFile } }));
    expect(fn.code).toBe('CA');
    expect(fn.message).toContain(`file ${keyFile}`);
  });

  it('reads the issuer key from a 0600 file (base64url or 32 raw octets), refuses a group-readable one', async () => {
    const dir = fresh();
    mkdirSync(dir);
    const keyFile = join(dir, 'issuer.key');
    const raw = randomBytes(32);
    writeFileSync(keyFile, raw, { mode: 0o600 });
    await openIssuerCa({ dir: join(dir, 'ca'), issuerKey: { file: keyFile } });
    writeFileSync(keyFile, raw.toString('base64url'));
    expect((await openIssuerCa({ dir: join(dir, 'ca'), issuerKey: { file: keyFile } })).origin).toBe('loaded');
    chmodSync(keyFile, 0o640);
    const issuerError = await caught(openIssuerCa({ dir: join(dir, 'ca'), issuerKey: { file: keyFile } }));
    expect(issuerError.code).toBe('CONFIG');
    expect(issuerError.message).toContain('chmod 600');
  });

  it('rejects-missing-or-malformed-issuer-key with CONFIG naming the variable or file', async () => {
    const issuerError = await caught(openIssuerCa({ dir: fresh(), issuerKey: { env: {} } }));
    expect(issuerError.code).toBe('CONFIG');
    expect(issuerError.message).toContain('AIRTIGHT_ISSUER_KEY');
    const short = await caught(() => loadIssuerKey({ env: { MY_KEY: 'abc' }, variable: 'MY_KEY' }));
    expect(short.code).toBe('CONFIG');
    expect(short.message).toContain('environment variable MY_KEY');
    expect(short.message).not.toContain('abc');
    const missing = await caught(() => loadIssuerKey({ file: '/nonexistent/issuer.key' }));
    expect(missing.code).toBe('CONFIG');
    expect(missing.message).toContain('/nonexistent/issuer.key');
  });

  it('accepts the issuer key itself (read by the caller from a secret store)', async () => {
    const dir = fresh();
    const key = IssuerKey.fromBytes(randomBytes(32), 'vault secret airtight/issuer');
    await openIssuerCa({ dir, issuerKey: key });
    expect((await openIssuerCa({ dir, issuerKey: key })).origin).toBe('loaded');
    const issuerError = await caught(openIssuerCa({ dir, issuerKey: IssuerKey.fromBytes(randomBytes(32), 'vault secret airtight/other') }));
    expect(issuerError.message).toContain('vault secret airtight/other');
  });

  it('rejects-issuer-key-of-wrong-length from any source', async () => {
    expect((await caught(() => IssuerKey.fromBytes(randomBytes(16), 'a test'))).code).toBe('CONFIG');
    expect((await caught(() => loadIssuerKey({ env: envWith(randomBytes(31).toString('base64url')) }))).code).toBe('CONFIG');
  });

  it('never prints the issuer key', () => {
    const text = generateIssuerKeyText();
    const issuerKey = loadIssuerKey({ env: envWith(text) });
    expect(inspect(issuerKey, { showHidden: true, depth: 5 })).not.toContain(text);
    expect(JSON.stringify(issuerKey)).toBe('{"where":"environment variable AIRTIGHT_ISSUER_KEY"}');
    expect(Object.values(issuerKey).join()).not.toContain(text);
  });

  it('rejects-swapped-key-files: the root key file does not decrypt as the issuing key', async () => {
    const dir = fresh();
    const key = generateIssuerKeyText();
    await openIssuerCa({ dir, issuerKey: { env: envWith(key) } });
    const tmp = join(dir, 'tmp');
    renameSync(join(dir, ISSUING_KEY_FILE), tmp);
    renameSync(join(dir, ROOT_KEY_FILE), join(dir, ISSUING_KEY_FILE));
    renameSync(tmp, join(dir, ROOT_KEY_FILE));
    expect((await caught(openIssuerCa({ dir, issuerKey: { env: envWith(key) } }))).code).toBe('CA');
  });

  it('loads without the root key once it has been moved offline (rootKeyFile)', async () => {
    const dir = fresh();
    const offline = join(fresh(), 'usb', 'root-ca.key.enc');
    const key = generateIssuerKeyText();
    await openIssuerCa({ dir, issuerKey: { env: envWith(key) }, rootKeyFile: offline });
    expect(existsSync(offline)).toBe(true);
    expect(existsSync(join(dir, ROOT_KEY_FILE))).toBe(false);
    const { ca } = await openIssuerCa({ dir, issuerKey: { env: envWith(key) } });
    expect(ca.root.privateKey).toBeUndefined();
    expect(ca.issuing.privateKey).toBeDefined();
  });

  it('refuses-incomplete-directory rather than replacing a root', async () => {
    const dir = fresh();
    const key = generateIssuerKeyText();
    await openIssuerCa({ dir, issuerKey: { env: envWith(key) } });
    unlinkSync(join(dir, ISSUING_CA_FILE));
    const issuerError = await caught(openIssuerCa({ dir, issuerKey: { env: envWith(key) } }));
    expect(issuerError.code).toBe('CA');
    expect(issuerError.message).toContain('incomplete CA directory');
  });

  it('creates RSA-3072 root over a P-384 issuing CA when configured', async () => {
    const { ca } = await openIssuerCa({
      dir: fresh(),
      issuerKey: { env: envWith(generateIssuerKeyText()) },
      create: { keyType: 'rsa-3072', issuingKeyType: 'ec-p384' },
    });
    expect(ca.issuing.keyType).toBe('ec-p384');
    expect(ca.root.privateKey?.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(new X509Certificate(ca.issuing.certificate).verify(new X509Certificate(ca.root.certificate).publicKey)).toBe(true);
  });
});

describe('importing existing CAs', () => {
  /** A root and an issuing CA made by the openssl CLI: material this code did not write. */
  function opensslHierarchy(dir: string, curve = 'prime256v1'): { root: string; issuing: string; issuingKey: string; rootKey: string } {
    mkdirSync(dir, { recursive: true });
    const pathOf = (f: string): string => join(dir, f);
    const run = (args: string[]): void => {
      const result = openssl(args);
      if (!result.ok) throw new Error(result.out);
    };
    writeFileSync(
      pathOf('ext.cnf'),
      '[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n[v3_sub]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
    );
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', pathOf('root.key')]);
    run([
      'req',
      '-new',
      '-x509',
      '-key',
      pathOf('root.key'),
      '-subj',
      '/C=SE/O=Imported/CN=Imported Root',
      '-days',
      '3650',
      '-config',
      pathOf('ext.cnf'),
      '-extensions',
      'v3_ca',
      '-out',
      pathOf('root.pem'),
    ]);
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', pathOf('issuing.key')]);
    run([
      'req',
      '-new',
      '-key',
      pathOf('issuing.key'),
      '-subj',
      '/C=SE/O=Imported/CN=Imported Issuing CA',
      '-config',
      pathOf('ext.cnf'),
      '-out',
      pathOf('issuing.csr'),
    ]);
    run([
      'x509',
      '-req',
      '-in',
      pathOf('issuing.csr'),
      '-CA',
      pathOf('root.pem'),
      '-CAkey',
      pathOf('root.key'),
      '-CAcreateserial',
      '-days',
      '1825',
      '-extfile',
      pathOf('ext.cnf'),
      '-extensions',
      'v3_sub',
      '-out',
      pathOf('issuing.pem'),
    ]);
    return { root: pathOf('root.pem'), issuing: pathOf('issuing.pem'), issuingKey: pathOf('issuing.key'), rootKey: pathOf('root.key') };
  }

  it('imports an openssl-made root and issuing CA, encrypts the keys, and issues certificates that chain to that root', async () => {
    const src = opensslHierarchy(fresh());
    const dir = fresh();
    const key = generateIssuerKeyText();
    const opened = await openIssuerCa({
      dir,
      issuerKey: { env: envWith(key) },
      import: { rootCertificate: src.root, issuingCertificate: src.issuing, issuingKey: src.issuingKey },
    });
    expect(opened.origin).toBe('imported');
    expect(opened.ca.root.privateKey).toBeUndefined();
    expect(existsSync(join(dir, ROOT_KEY_FILE))).toBe(false);
    expect(readFileSync(join(dir, ISSUING_KEY_FILE), 'latin1')).not.toContain('BEGIN PRIVATE KEY');

    const { ca, origin } = await openIssuerCa({ dir, issuerKey: { env: envWith(key) } });
    expect(origin).toBe('loaded');
    const cert = new CertificateIssuer(ca.issuing).issue({
      profile: { subject: [{ type: 'O', value: 'Imported' }], validityDays: 30, appUsage: 'authentication' },
      user: { commonName: 'Grace' },
      subjectPublicKey: subjectSpki('RSA-2048'),
    });
    writeFileSync(join(dir, 'ee.pem'), cert.pem);
    const val = openssl(['verify', '-x509_strict', '-CAfile', src.root, '-untrusted', src.issuing, join(dir, 'ee.pem')]);
    expect(val.out).toContain(': OK');
    expect(val.ok).toBe(true);
  });

  it('rejects-import-with-mismatched-key or an issuing CA from another root', async () => {
    const hierarchy = opensslHierarchy(fresh());
    const bytes = opensslHierarchy(fresh());
    const key = { env: envWith(generateIssuerKeyText()) };
    const wrongKey = await caught(
      openIssuerCa({
        dir: fresh(),
        issuerKey: key,
        import: { rootCertificate: hierarchy.root, issuingCertificate: hierarchy.issuing, issuingKey: bytes.issuingKey },
      }),
    );
    expect(wrongKey.code).toBe('CA');
    expect(wrongKey.message).toContain('does not certify the issuing CA key');
    const wrongRoot = await caught(
      openIssuerCa({
        dir: fresh(),
        issuerKey: key,
        import: { rootCertificate: bytes.root, issuingCertificate: hierarchy.issuing, issuingKey: hierarchy.issuingKey },
      }),
    );
    expect(wrongRoot.code).toBe('CA');
    expect(wrongRoot.message).toContain('is not signed by the root');
    const notKey = await caught(
      openIssuerCa({
        dir: fresh(),
        issuerKey: key,
        import: { rootCertificate: hierarchy.root, issuingCertificate: hierarchy.issuing, issuingKey: hierarchy.root },
      }),
    );
    expect(notKey.code).toBe('CA');
  });

  it('rejects an imported issuing CA whose key type the CA cannot sign with (P-521)', async () => {
    const src = opensslHierarchy(fresh(), 'secp521r1');
    const issuerError = await caught(
      openIssuerCa({
        dir: fresh(),
        issuerKey: { env: envWith(generateIssuerKeyText()) },
        import: { rootCertificate: src.root, issuingCertificate: src.issuing, issuingKey: src.issuingKey },
      }),
    );
    expect(issuerError.code).toBe('CA');
    expect(issuerError.message).toContain('a CA key must be one of');
  });

  it('keeps the imported root key encrypted when given', async () => {
    const src = opensslHierarchy(fresh());
    const dir = fresh();
    const key = { env: envWith(generateIssuerKeyText()) };
    await openIssuerCa({
      dir,
      issuerKey: key,
      import: { rootCertificate: src.root, issuingCertificate: src.issuing, issuingKey: src.issuingKey, rootKey: src.rootKey },
    });
    const { ca } = await openIssuerCa({ dir, issuerKey: key });
    expect(ca.root.privateKey).toBeDefined();
    expect(readFileSync(join(dir, ROOT_KEY_FILE), 'latin1')).toMatch(/^-----BEGIN AIRTIGHT ENCRYPTED PRIVATE KEY-----/);
  });
});
