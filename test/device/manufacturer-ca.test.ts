import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CA_KEY_FILE,
  ROOT_CA_FILE,
  certificatePem,
  createManufacturerCa,
  issueDeviceCertificate,
  loadOrCreateManufacturerCa,
  type CaKeyType,
} from '../../src/sks/device/manufacturer-ca.js';
import { SksError } from '../../src/sks/errors.js';

const OPENSSL = '/usr/bin/openssl';
const tmp = mkdtempSync(join(tmpdir(), 'airtight-ca-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let count = 0;
const freshDir = (): string => join(tmp, `d${count++}`);

const opensslText = (pemPath: string): string => execFileSync(OPENSSL, ['x509', '-in', pemPath, '-text', '-noout'], { encoding: 'utf8' });

/** Serial hex as openssl prints it (colon-separated or inline) without separators. */
const serialBytes = (cert: X509Certificate): number => cert.serialNumber.replace(/^0+/, '').length / 2;

describe.each<CaKeyType>(['ec-p256', 'rsa-2048'])('manufacturer CA (%s)', (keyType) => {
  it('issues a device certificate that openssl parses and verifies against root-ca.pem', async () => {
    const dir = freshDir();
    const ca = await loadOrCreateManufacturerCa(dir, { keyType });
    expect(ca.created).toBe(true);
    expect(ca.keyType).toBe(keyType);

    const device = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = await issueDeviceCertificate(ca, device.publicKey, { serialNumber: '00c0ffee' });
    const devicePem = join(dir, 'device.pem');
    writeFileSync(devicePem, certificatePem(der));

    const caText = opensslText(ca.rootCaPemPath);
    expect(caText).toMatch(/Version: 3 \(0x2\)/);
    expect(caText).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(caText).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(caText).toMatch(/X509v3 Subject Key Identifier:/);
    expect(caText).toContain(keyType === 'ec-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption');

    const devText = opensslText(devicePem);
    expect(devText).toMatch(/Version: 3 \(0x2\)/);
    expect(devText).toMatch(/Subject: CN ?= ?Airtight Device, serialNumber ?= ?00c0ffee/);
    expect(devText).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(devText).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(devText).toMatch(/X509v3 Authority Key Identifier:/);
    expect(devText).toContain(keyType === 'ec-p256' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption');

    const verify = spawnSync(OPENSSL, ['verify', '-x509_strict', '-CAfile', ca.rootCaPemPath, devicePem], { encoding: 'utf8' });
    expect(verify.stdout + verify.stderr).toContain(': OK');
    expect(verify.status).toBe(0);

    // Node agrees: issuer, key identifiers, validity periods, positive 16-byte serials.
    const root = new X509Certificate(readFileSync(ca.rootCaPemPath));
    const leaf = new X509Certificate(der);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(root.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    for (const x509Certificate of [root, leaf]) expect(serialBytes(x509Certificate)).toBe(16);
    const years = (c: X509Certificate): number => new Date(c.validTo).getUTCFullYear() - new Date(c.validFrom).getUTCFullYear();
    expect(years(root)).toBe(20);
    expect(years(leaf)).toBe(15);
  });
});

describe('loadOrCreateManufacturerCa', () => {
  it('writes the CA key with mode 0600 and the root certificate world-readable', async () => {
    const dir = freshDir();
    const ca = await loadOrCreateManufacturerCa(dir);
    expect(ca.keyType).toBe('ec-p256');
    expect(statSync(join(dir, CA_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, ROOT_CA_FILE)).mode & 0o004).toBe(0o004);
    expect(readFileSync(join(dir, CA_KEY_FILE), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('reuses the same CA on a second call', async () => {
    const dir = freshDir();
    const first = await loadOrCreateManufacturerCa(dir);
    const second = await loadOrCreateManufacturerCa(dir, { keyType: 'rsa-2048' });
    expect(second.created).toBe(false);
    expect(second.keyType).toBe('ec-p256');
    expect(second.certificate.equals(first.certificate)).toBe(true);
    expect(second.privateKey.equals(first.privateKey)).toBe(true);
  });

  it('lets concurrent creators share one CA', async () => {
    const dir = freshDir();
    const all = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateManufacturerCa(dir)));
    expect(all.filter((c) => c.created)).toHaveLength(1);
    for (const loadedManufacturerCa of all) expect(loadedManufacturerCa.certificate.equals(all[0].certificate)).toBe(true);
  });

  it('re-issues a missing root certificate for the existing key', async () => {
    const dir = freshDir();
    const first = await loadOrCreateManufacturerCa(dir);
    unlinkSync(join(dir, ROOT_CA_FILE));
    const again = await loadOrCreateManufacturerCa(dir);
    expect(again.privateKey.equals(first.privateKey)).toBe(true);
    expect(new X509Certificate(again.certificate).checkPrivateKey(first.privateKey)).toBe(true);
  });

  it('refuses-root-without-key', async () => {
    const dir = freshDir();
    await loadOrCreateManufacturerCa(dir);
    unlinkSync(join(dir, CA_KEY_FILE));
    await expect(loadOrCreateManufacturerCa(dir)).rejects.toMatchObject({ code: 'STORAGE' });
  });

  it.skipIf(process.platform === 'win32')('refuses-ca-key-readable-by-others', async () => {
    const dir = freshDir();
    await loadOrCreateManufacturerCa(dir);
    chmodSync(join(dir, CA_KEY_FILE), 0o644);
    await expect(loadOrCreateManufacturerCa(dir)).rejects.toMatchObject({ code: 'STORAGE' });
  });

  it('refuses-root-of-another-key', async () => {
    const dir = freshDir();
    await loadOrCreateManufacturerCa(dir);
    const other = await createManufacturerCa();
    writeFileSync(join(dir, ROOT_CA_FILE), certificatePem(other.certificate));
    await expect(loadOrCreateManufacturerCa(dir)).rejects.toMatchObject({ code: 'STORAGE' });
  });
});

describe('issueDeviceCertificate', () => {
  it('accepts an RSA device key and a custom subject', async () => {
    const ca = await createManufacturerCa({ subject: 'O=Example, CN=Example Devices Root' });
    const device = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = await issueDeviceCertificate(ca, device.privateKey, {
      serialNumber: 'x',
      subject: 'CN=Custom Device',
    });
    const cert = new X509Certificate(der);
    expect(cert.subject).toBe('CN=Custom Device');
    expect(cert.issuer).toBe('O=Example\nCN=Example Devices Root');
    expect(cert.publicKey.equals(device.publicKey)).toBe(true);
  });

  it('rejects-bad-device-serial-number', async () => {
    const ca = await createManufacturerCa();
    const device = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (const serialNumber of ['', 'a,b', 'x'.repeat(65), 'caf\u00e9']) {
      const promise = issueDeviceCertificate(ca, device.publicKey, { serialNumber });
      await expect(promise).rejects.toBeInstanceOf(SksError);
      await expect(promise).rejects.toMatchObject({ code: 'OPTION' });
    }
  });
});
