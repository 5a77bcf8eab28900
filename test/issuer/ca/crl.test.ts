import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pem } from '../../../src/issuer/ca/der.js';
import { CertificateIssuer, createCaHierarchy, signCrl, type CaHierarchy, type IssuedCertificate } from '../../../src/issuer/ca/index.js';
import { openssl, subjectSpki, tempDir } from './helpers.js';

const fresh = tempDir('airtight-crl-');

describe.each(['ec-p256', 'rsa-2048'] as const)('CRL from a %s issuing CA', (keyType) => {
  let h: CaHierarchy;
  let revoked: IssuedCertificate;
  let good: IssuedCertificate;
  beforeAll(async () => {
    h = await createCaHierarchy({ keyType });
    const issuer = new CertificateIssuer(h.issuing);
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
    const crl = signCrl(h.issuing, {
      crlNumber: 7n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
      revoked: [{ serial: revoked.serial, revokedAt: now, reason: 'keyCompromise' }],
    });
    const f = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const root = f('root.pem', pem('CERTIFICATE', h.root.certificate));
    const issuing = f('issuing.pem', pem('CERTIFICATE', h.issuing.certificate));
    const crlFile = f('crl.pem', crl.pem);
    const text = openssl(['crl', '-in', crlFile, '-text', '-noout']);
    expect(text.ok).toBe(true);
    expect(text.out).toMatch(/Version 2 \(0x1\)/);
    expect(text.out).toMatch(/X509v3 CRL Number:\s+7/);
    expect(text.out).toMatch(/X509v3 Authority Key Identifier:/);
    expect(text.out.replace(/:/g, '').toLowerCase()).toContain(revoked.serial);
    expect(text.out).toMatch(/Key Compromise/);
    const check = (ee: IssuedCertificate) =>
      openssl(['verify', '-crl_check', '-CAfile', root, '-untrusted', issuing, '-CRLfile', crlFile, f(`${ee.serial}.pem`, ee.pem)]);
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
    const crl = signCrl(h.issuing, { crlNumber: 1n, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), revoked: [] });
    writeFileSync(join(dir, 'crl.pem'), crl.pem);
    writeFileSync(join(dir, 'issuing.pem'), pem('CERTIFICATE', h.issuing.certificate));
    const r = openssl(['crl', '-in', join(dir, 'crl.pem'), '-CAfile', join(dir, 'issuing.pem'), '-noout', '-text']);
    expect(r.out).toMatch(/No Revoked Certificates/);
    expect(r.out).toMatch(/verify OK/);
  });

  it('rejects-crl-with-nextUpdate-not-after-thisUpdate', () => {
    const t = new Date();
    expect(() => signCrl(h.issuing, { crlNumber: 1n, thisUpdate: t, nextUpdate: t, revoked: [] })).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', field: 'nextUpdate' }),
    );
  });
});
