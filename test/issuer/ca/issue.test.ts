import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pem } from '../../../src/issuer/ca/der.js';
import {
  CertificateIssuer,
  EKU,
  createCaHierarchy,
  decodeIssuancePlan,
  type AppUsage,
  type CaHierarchy,
  type CaKeyType,
  type CertificateProfile,
  type IssuancePlan,
} from '../../../src/issuer/ca/index.js';
import { IssuerError } from '../../../src/issuer/errors.js';
import { openssl, opensslText, subjectSpki, tempDir, type SubjectKeyName } from './helpers.js';

const fresh = tempDir('airtight-issue-');

const profile = (appUsage: AppUsage, extra: Partial<CertificateProfile> = {}): CertificateProfile => ({
  subject: [
    { type: 'C', value: 'SE' },
    { type: 'O', value: 'Example Bank' },
    { type: 'OU', value: 'Retail' },
  ],
  validityDays: 365,
  appUsage,
  ...extra,
});

const FIXED_NOW = new Date('2026-12-01T10:00:00.000Z');

/** Writes root, issuing and EE PEMs and runs `openssl verify -x509_strict`. */
function opensslVerify(caHierarchy: CaHierarchy, ee: Buffer): { ok: boolean; out: string } {
  const dir = fresh();
  mkdirSync(dir);
  const files = { root: join(dir, 'root.pem'), issuing: join(dir, 'issuing.pem'), ee: join(dir, 'ee.pem') };
  writeFileSync(files.root, pem('CERTIFICATE', caHierarchy.root.certificate));
  writeFileSync(files.issuing, pem('CERTIFICATE', caHierarchy.issuing.certificate));
  writeFileSync(files.ee, pem('CERTIFICATE', ee));
  return openssl(['verify', '-x509_strict', '-CAfile', files.root, '-untrusted', files.issuing, files.ee]);
}

describe.each<CaKeyType>(['ec-p256', 'rsa-2048', 'ec-p384'])('issuing CA %s', (keyType) => {
  let caHierarchy: CaHierarchy;
  let issuer: CertificateIssuer;
  beforeAll(async () => {
    caHierarchy = await createCaHierarchy({ keyType });
    issuer = new CertificateIssuer(caHierarchy.issuing);
  });

  const sigAlg = keyType === 'ec-p256' ? 'ecdsa-with-SHA256' : keyType === 'ec-p384' ? 'ecdsa-with-SHA384' : 'sha256WithRSAEncryption';

  it('creates a root and an issuing CA that openssl parses as CAs (pathlen 0 below the root)', () => {
    const dir = fresh();
    mkdirSync(dir);
    const root = opensslText(caHierarchy.root.certificate, join(dir, 'root.pem'));
    expect(root).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE\n/);
    expect(root).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(root).toMatch(/Issuer: O ?= ?Airtight, CN ?= ?Airtight Issuer Root CA/);
    expect(root).toMatch(/Subject: O ?= ?Airtight, CN ?= ?Airtight Issuer Root CA/);
    expect(root).toContain(`Signature Algorithm: ${sigAlg}`);
    const issuing = opensslText(caHierarchy.issuing.certificate, join(dir, 'issuing.pem'));
    expect(issuing).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(issuing).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    const rootSki = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(root)![1];
    expect(issuing).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${rootSki}`));
    const result = openssl(['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), join(dir, 'issuing.pem')]);
    expect(result.out).toContain(': OK');
    expect(result.ok).toBe(true);
  });

  it.each<SubjectKeyName>(['P-256', 'P-384', 'P-521', 'RSA-1024', 'RSA-2048', 'RSA-4096', 'Ed25519'])(
    'issues for a %s key: openssl parses and verifies, node verifies, @peculiar/x509 parses',
    (name) => {
      const spki = subjectSpki(name);
      const cert = issuer.issue({
        profile: profile('authentication'),
        user: { commonName: 'Alice Andersson', email: 'alice@example.com' },
        subjectPublicKey: spki,
      });
      const dir = fresh();
      mkdirSync(dir);
      const text = opensslText(cert.der, join(dir, 'ee.pem'));
      expect(text).toMatch(/Version: 3 \(0x2\)/);
      expect(text).toMatch(/Subject: C ?= ?SE, O ?= ?Example Bank, OU ?= ?Retail, CN ?= ?Alice Andersson/);
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
      expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/);
      expect(text).toMatch(/X509v3 Subject Alternative Name:\s+email:alice@example.com/);
      expect(text).toContain(`Signature Algorithm: ${sigAlg}`);
      const serialText = /Serial Number:\s*\n?\s*([0-9a-f:]+)/.exec(text)![1].replace(/:/g, '');
      expect(serialText).toBe(cert.serial);

      const value = opensslVerify(caHierarchy, cert.der);
      expect(value.out).toContain(': OK');
      expect(value.ok).toBe(true);

      const node = new X509Certificate(cert.der);
      const ca = new X509Certificate(caHierarchy.issuing.certificate);
      expect(node.verify(ca.publicKey)).toBe(true);
      expect(node.checkIssued(ca)).toBe(true);
      expect(node.ca).toBe(false);
      expect(node.serialNumber.toLowerCase()).toBe(cert.serial);
      expect(node.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)).toBe(true);
      expect(createPublicKey(cert.pem).export({ type: 'spki', format: 'der' }).equals(spki)).toBe(true);

      const x509Certificate = new x509.X509Certificate(cert.der);
      expect(x509Certificate.subject).toContain('CN=Alice Andersson');
      expect(x509Certificate.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
      expect(x509Certificate.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([EKU.clientAuth]);
    },
  );
});

describe('key usage from the KeyGen2 app usage', () => {
  let caHierarchy: CaHierarchy;
  let issuer: CertificateIssuer;
  beforeAll(async () => {
    caHierarchy = await createCaHierarchy();
    issuer = new CertificateIssuer(caHierarchy.issuing);
  });

  const cases: ReadonlyArray<{ usage: AppUsage; key: SubjectKeyName; ku: string; eku: string | undefined }> = [
    { usage: 'signature', key: 'P-256', ku: 'Digital Signature, Non Repudiation', eku: undefined },
    { usage: 'signature', key: 'RSA-2048', ku: 'Digital Signature, Non Repudiation', eku: undefined },
    { usage: 'authentication', key: 'P-256', ku: 'Digital Signature', eku: 'TLS Web Client Authentication' },
    { usage: 'encryption', key: 'RSA-2048', ku: 'Key Encipherment, Data Encipherment', eku: undefined },
    { usage: 'encryption', key: 'P-256', ku: 'Key Agreement', eku: undefined },
    {
      usage: 'universal',
      key: 'RSA-2048',
      ku: 'Digital Signature, Non Repudiation, Key Encipherment, Data Encipherment',
      eku: 'TLS Web Client Authentication',
    },
    { usage: 'universal', key: 'P-384', ku: 'Digital Signature, Non Repudiation, Key Agreement', eku: 'TLS Web Client Authentication' },
    { usage: 'universal', key: 'Ed25519', ku: 'Digital Signature, Non Repudiation', eku: 'TLS Web Client Authentication' },
  ];

  it.each(cases)('$usage with $key: KeyUsage "$ku", EKU $eku', ({ usage, key, ku, eku }) => {
    const cert = issuer.issue({ profile: profile(usage), user: { commonName: 'Bob' }, subjectPublicKey: subjectSpki(key) });
    const dir = fresh();
    mkdirSync(dir);
    const text = opensslText(cert.der, join(dir, 'ee.pem'));
    expect(text).toMatch(new RegExp(`X509v3 Key Usage: critical\\s+${ku}\\n`));
    if (eku === undefined) expect(text).not.toContain('Extended Key Usage');
    else expect(text).toMatch(new RegExp(`X509v3 Extended Key Usage:\\s+${eku}\\n`));
    expect(text).not.toContain('Subject Alternative Name'); // no e-mail given
    expect(opensslVerify(caHierarchy, cert.der).ok).toBe(true);
  });

  it('refuses-encryption-for-ed25519 with POLICY', () => {
    expect(() => issuer.plan({ profile: profile('encryption'), user: { commonName: 'Bob' }, subjectPublicKey: subjectSpki('Ed25519') })).toThrow(
      expect.objectContaining({ code: 'POLICY', field: 'appUsage' }),
    );
  });

  it('places the e-mail in the subject (emailAddress) when the profile says so, and adds extra EKUs', () => {
    const cert = issuer.issue({
      profile: profile('signature', { email: 'both', extraExtendedKeyUsage: [EKU.emailProtection] }),
      user: { commonName: 'Carol', email: 'carol@example.org', attributes: [{ type: 'serialNumber', value: 'PNOSE-197001011234' }] },
      subjectPublicKey: subjectSpki('P-256'),
    });
    const dir = fresh();
    mkdirSync(dir);
    const text = opensslText(cert.der, join(dir, 'ee.pem'));
    expect(text).toMatch(/CN ?= ?Carol, emailAddress ?= ?carol@example.org, serialNumber ?= ?PNOSE-197001011234/);
    expect(text).toMatch(/email:carol@example.org/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+E-mail Protection\n/);
  });

  it('encodes non-ASCII names as UTF8String that openssl and node read back', () => {
    const cert = issuer.issue({ profile: profile('signature'), user: { commonName: 'Åsa Öberg' }, subjectPublicKey: subjectSpki('P-256') });
    expect(new X509Certificate(cert.der).subject).toContain('CN=Åsa Öberg');
    expect(opensslVerify(caHierarchy, cert.der).ok).toBe(true);
  });
});

describe('serial numbers', () => {
  it('are unique over 10,000 issuances, 16 octets, positive minimal DER integers', async () => {
    const caHierarchy = await createCaHierarchy();
    const issuer = new CertificateIssuer(caHierarchy.issuing);
    const spki = subjectSpki('P-256');
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const cert = issuer.issue({ profile: profile('authentication'), user: { commonName: `user ${i}` }, subjectPublicKey: spki });
      // Certificate SEQUENCE > TBSCertificate SEQUENCE > [0] version (a0 03 02 01 02) > INTEGER
      const tbsStart = cert.der[1] & 0x80 ? 2 + (cert.der[1] & 0x7f) : 2;
      const tbsHeader = cert.der[tbsStart + 1] & 0x80 ? 2 + (cert.der[tbsStart + 1] & 0x7f) : 2;
      const serialAt = tbsStart + tbsHeader + 5;
      expect(cert.der[serialAt]).toBe(0x02);
      expect(cert.der[serialAt + 1]).toBe(16);
      const first = cert.der[serialAt + 2];
      expect(first).toBeGreaterThan(0);
      expect(first).toBeLessThan(0x80);
      expect(cert.der.subarray(serialAt + 2, serialAt + 18).toString('hex')).toBe(cert.serial);
      seen.add(cert.serial);
    }
    expect(seen.size).toBe(10_000);
  });

  it('redraws a zero first octet and clears the sign bit', async () => {
    const caHierarchy = await createCaHierarchy();
    const draws = [Buffer.alloc(16, 0x00), Buffer.alloc(16, 0x80), Buffer.alloc(16, 0xff)];
    const issuer = new CertificateIssuer(caHierarchy.issuing, { random: () => draws.shift()! });
    const issuancePlan = issuer.plan({ profile: profile('signature'), user: { commonName: 'x' }, subjectPublicKey: subjectSpki('P-256') });
    // 0x00.. and 0x80.. (-> 0x00..) are redrawn; 0xff.. becomes 0x7f..
    expect(issuancePlan.serial).toBe(`7f${'ff'.repeat(15)}`);
  });
});

describe('plan, record, sign', () => {
  let caHierarchy: CaHierarchy;
  let issuer: CertificateIssuer;
  const request = {
    profile: profile('universal', { backdateSeconds: 300 }),
    user: { commonName: 'Dave', email: 'dave@example.com' },
    subjectPublicKey: subjectSpki('RSA-2048'),
  };
  beforeAll(async () => {
    caHierarchy = await createCaHierarchy();
    issuer = new CertificateIssuer(caHierarchy.issuing, { clock: () => FIXED_NOW });
  });

  it('re-signing a recorded plan reproduces the same TBSCertificate and serial', () => {
    const plan = issuer.plan(request);
    expect(plan.notBefore).toBe('2026-12-01T09:55:00Z');
    expect(plan.notAfter).toBe('2027-12-01T10:00:00Z');
    const stored = JSON.stringify(plan);
    const first = issuer.sign(plan);
    // After a crash: a new process, a new issuer object, the plan from the database.
    const again = new CertificateIssuer(caHierarchy.issuing, { clock: () => new Date('2030-01-01T00:00:00Z') }).sign(decodeIssuancePlan(JSON.parse(stored)));
    expect(again.tbs.equals(first.tbs)).toBe(true);
    expect(again.serial).toBe(first.serial);
    // ECDSA is randomized: the signature (and so the DER) differs, both verify.
    expect(again.der.equals(first.der)).toBe(false);
    const ca = new X509Certificate(caHierarchy.issuing.certificate);
    expect(new X509Certificate(first.der).verify(ca.publicKey)).toBe(true);
    expect(new X509Certificate(again.der).verify(ca.publicKey)).toBe(true);
    expect(new X509Certificate(again.der).serialNumber.toLowerCase()).toBe(plan.serial);
  });

  it('signAsync signs the same TBS on the thread pool', async () => {
    const plan = issuer.plan(request);
    const [issuedCertificate, bytes] = await Promise.all([issuer.signAsync(plan), issuer.signAsync(plan)]);
    expect(issuedCertificate.tbs.equals(issuer.sign(plan).tbs)).toBe(true);
    expect(bytes.tbs.equals(issuedCertificate.tbs)).toBe(true);
    expect(new X509Certificate(issuedCertificate.der).verify(new X509Certificate(caHierarchy.issuing.certificate).publicKey)).toBe(true);
  });

  it('with an RSA issuing CA (PKCS#1 v1.5 is deterministic) a re-run is byte-identical', async () => {
    const rsa = await createCaHierarchy({ keyType: 'rsa-2048' });
    const certificateIssuer = new CertificateIssuer(rsa.issuing, { clock: () => FIXED_NOW });
    const plan = certificateIssuer.plan(request);
    expect(new CertificateIssuer(rsa.issuing).sign(decodeIssuancePlan(JSON.parse(JSON.stringify(plan)))).der.equals(certificateIssuer.sign(plan).der)).toBe(
      true,
    );
  });

  it('draws a new serial for each plan, never for a sign', () => {
    const issuancePlan = issuer.plan(request);
    const bytes = issuer.plan(request);
    expect(issuancePlan.serial).not.toBe(bytes.serial);
    expect(issuer.sign(issuancePlan).serial).toBe(issuancePlan.serial);
  });

  it('refuses-plan-of-another-ca with CONFLICT', async () => {
    const other = new CertificateIssuer((await createCaHierarchy()).issuing);
    const plan = issuer.plan(request);
    expect(() => other.sign(plan)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  });

  it('rejects-malformed-stored-plan naming the member', () => {
    const plan: IssuancePlan = issuer.plan(request);
    const bad = (patch: Record<string, unknown>, field: string): void => {
      expect(() => decodeIssuancePlan({ ...plan, ...patch })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', field }));
    };
    bad({ extra: 1 }, 'extra');
    bad({ serial: `80${plan.serial.slice(2)}` }, 'serial'); // negative
    bad({ serial: `00${plan.serial.slice(2)}` }, 'serial'); // not minimal
    bad({ notBefore: '2026-12-01 10:00:00' }, 'notBefore');
    bad({ keyUsage: ['digitalSignature', 'sign'] }, 'keyUsage');
    bad({ version: 2 }, 'version');
    bad({ subject: [{ type: 'XX', value: 'a' }] }, 'subject');
    expect(decodeIssuancePlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });

  it('clamps notAfter to the issuing CA and refuses once the CA has expired', async () => {
    const short = await createCaHierarchy({ issuingValidityDays: 30, now: FIXED_NOW });
    const certificateIssuer = new CertificateIssuer(short.issuing, { clock: () => FIXED_NOW });
    const plan = certificateIssuer.plan(request);
    expect(plan.notAfter).toBe('2026-12-31T10:00:00Z');
    const late = new CertificateIssuer(short.issuing, { clock: () => new Date('2027-01-01T00:00:00Z') });
    expect(() => late.plan(request)).toThrow(expect.objectContaining({ code: 'CA' }));
  });

  it('uses GeneralizedTime from 2050 (RFC 5280 §4.1.2.5) and openssl reads it', async () => {
    const long = await createCaHierarchy({ now: FIXED_NOW, rootValidityDays: 36_500, issuingValidityDays: 36_000 });
    const certificateIssuer = new CertificateIssuer(long.issuing, { clock: () => FIXED_NOW });
    const cert = certificateIssuer.issue({ ...request, profile: profile('signature', { validityDays: 9125 }) });
    expect(cert.tbs.includes(Buffer.from('20511125100000Z'))).toBe(true);
    const dir = fresh();
    mkdirSync(dir);
    expect(opensslText(cert.der, join(dir, 'ee.pem'))).toContain('Not After : Nov 25 10:00:00 2051 GMT');
  });
});

describe('request validation', () => {
  let issuer: CertificateIssuer;
  beforeAll(async () => {
    issuer = new CertificateIssuer((await createCaHierarchy()).issuing);
  });
  const plan = (patch: { spki?: Buffer; user?: object; profile?: CertificateProfile }): IssuancePlan =>
    issuer.plan({
      profile: patch.profile ?? profile('signature'),
      user: patch.user ?? { commonName: 'Eve' },
      subjectPublicKey: patch.spki ?? subjectSpki('P-256'),
    });
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (error) {
      return error instanceof IssuerError ? `${error.code}:${error.field ?? ''}` : String(error);
    }
    return undefined;
  };

  it('rejects-point-not-on-curve', () => {
    const spki = Buffer.from(subjectSpki('P-256'));
    spki[spki.length - 1] ^= 1;
    expect(code(() => plan({ spki }))).toBe('BAD_REQUEST:subjectPublicKey');
  });
  it('rejects-compressed-or-truncated-keys and trailing bytes', () => {
    const spki = subjectSpki('P-256');
    expect(code(() => plan({ spki: spki.subarray(0, spki.length - 1) }))).toBe('BAD_REQUEST:subjectPublicKey');
    expect(code(() => plan({ spki: Buffer.concat([spki, Buffer.from([0])]) }))).toBe('BAD_REQUEST:subjectPublicKey');
  });
  it('rejects-unsupported-key-algorithms (X25519, RSA-512)', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const buf = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' });
    expect(code(() => plan({ spki: buf }))).toBe('BAD_REQUEST:subjectPublicKey');
    const result = generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey.export({ type: 'spki', format: 'der' });
    expect(code(() => plan({ spki: result }))).toBe('BAD_REQUEST:subjectPublicKey');
  });
  it('rejects-bad-subject-values naming the attribute', () => {
    expect(code(() => plan({ user: { commonName: 'x'.repeat(65) } }))).toBe('BAD_REQUEST:subject.CN');
    expect(code(() => plan({ user: { commonName: 'a\u0000b' } }))).toBe('BAD_REQUEST:subject.CN');
    expect(code(() => plan({ user: { email: 'not an address' } }))).toBe('BAD_REQUEST:user.email');
    expect(code(() => plan({ profile: { ...profile('signature'), subject: [{ type: 'C', value: 'Sweden' }] } }))).toBe('BAD_REQUEST:subject.C');
  });
  it('rejects-bad-profile with CONFIG', () => {
    expect(code(() => plan({ profile: profile('signature', { validityDays: 0 }) }))).toBe('CONFIG:profile.validityDays');
    expect(code(() => plan({ profile: profile('signing' as AppUsage) }))).toBe('CONFIG:profile.appUsage');
  });
});
