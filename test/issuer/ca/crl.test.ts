import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pem } from '../../../src/issuer/ca/der.js';
import { CertificateIssuer, createCaHierarchy, signCrl, type CaHierarchy, type IssuedCertificate } from '../../../src/issuer/ca/index.js';
import { openssl, subjectSpki, tempDir } from './helpers.js';

const fresh = tempDir('airtight-crl-');

describe.each(['ec-p256', 'rsa-2048'] as const)('CRL from a %s issuing CA', (keyType) => {
  let caHierarchy: CaHierarchy;
  let revoked: IssuedCertificate;
  let good: IssuedCertificate;
  beforeAll(async () => {
    caHierarchy = await createCaHierarchy({ keyType });
    const issuer = new CertificateIssuer(caHierarchy.issuing);
    const request = {
      profile: { subject: [{ type: 'O' as const, value: 'Example' }], validityDays: 30, appUsage: 'authentication' as const },
      user: { commonName: 'Ivan' },
      subjectPublicKey: subjectSpki('P-256'),
    };
    revoked = issuer.issue(request);
    good = issuer.issue(request);
  });

  it('openssl reads it and verify -crl_check rejects the revoked certificate only', () => {
    const dir = fresh();
    mkdirSync(dir);
    const now = new Date();
    const crl = signCrl(caHierarchy.issuing, {
      crlNumber: 7n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
      revoked: [{ serial: revoked.serial, revokedAt: now, reason: 'keyCompromise' }],
    });
    const fn = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const root = fn('root.pem', pem('CERTIFICATE', caHierarchy.root.certificate));
    const issuing = fn('issuing.pem', pem('CERTIFICATE', caHierarchy.issuing.certificate));
    const crlFile = fn('crl.pem', crl.pem);
    const text = openssl(['crl', '-in', crlFile, '-text', '-noout']);
    expect(text.ok).toBe(true);
    expect(text.out).toMatch(/Version 2 \(0x1\)/);
    expect(text.out).toMatch(/X509v3 CRL Number:\s+7/);
    expect(text.out).toMatch(/X509v3 Authority Key Identifier:/);
    expect(text.out.replace(/:/g, '').toLowerCase()).toContain(revoked.serial);
    expect(text.out).toMatch(/Key Compromise/);
    const check = (ee: IssuedCertificate) =>
      openssl(['verify', '-crl_check', '-CAfile', root, '-untrusted', issuing, '-CRLfile', crlFile, fn(`${ee.serial}.pem`, ee.pem)]);
    const bad = check(revoked);
    expect(bad.ok).toBe(false);
    expect(bad.out).toMatch(/certificate revoked/);
    const ok = check(good);
    expect(ok.out).toContain(': OK');
    expect(ok.ok).toBe(true);
  });

  it('an empty CRL omits revokedCertificates and still verifies', () => {
    const dir = fresh();
    mkdirSync(dir);
    const crl = signCrl(caHierarchy.issuing, { crlNumber: 1n, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), revoked: [] });
    writeFileSync(join(dir, 'crl.pem'), crl.pem);
    writeFileSync(join(dir, 'issuing.pem'), pem('CERTIFICATE', caHierarchy.issuing.certificate));
    const result = openssl(['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'issuing.pem'), '-noout', '-text']);
    expect(result.out).toMatch(/No Revoked Certificates/);
    expect(result.out).toMatch(/verify OK/);
  });

  it('rejects-crl-with-nextUpdate-not-after-thisUpdate', () => {
    const date = new Date();
    expect(() => signCrl(caHierarchy.issuing, { crlNumber: 1n, thisUpdate: date, nextUpdate: date, revoked: [] })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', field: 'nextUpdate' }),
    );
  });
});
