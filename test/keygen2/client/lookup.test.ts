/**
 * Credential-discovery checks on the device (spec §6.5, §9.3) against the
 * recordings: signed data byte for byte, nonce binding, JSF signatures,
 * Java RFC 2253 names and Java regexes.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certificateInfo } from '../../../src/keygen2/client/certificate-info.js';
import { verifyLookupSpecifier } from '../../../src/keygen2/client/lookup-signature.js';
import { compileSearchFilter, javaRegex, REGEX_TIME_LIMIT_MS } from '../../../src/keygen2/client/search-filter.js';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import { selfSignedCertificate } from '../../support/self-signed.js';
import { decodeMessage, lookupNonce, lookupSpecifierSignedData, type LookupSpecifier } from '../../../src/keygen2/messages/index.js';
import { loadRecording, messagesOf, sessionFiles } from './support/replay-harness.js';

/** Every recorded lookup specifier (decoded) with its session ids and the recorded signed bytes. */
function recordedLookups(): Array<{ file: string; spec: LookupSpecifier; csid: string; ssid: string; signed: string | undefined }> {
  const out: ReturnType<typeof recordedLookups> = [];
  for (const file of sessionFiles()) {
    for (const node of loadRecording(file).get('sessions').items()) {
      const req = messagesOf(node).find((m) => m.qualifier === 'CredentialDiscoveryRequest');
      if (req === undefined) continue;
      const sigs =
        node
          .opt('kmk_signatures')
          ?.items()
          .filter((k) => k.get('purpose').str().startsWith('credential-discovery')) ?? [];
      const decoded = decodeMessage(req.wire, ['CredentialDiscoveryRequest']);
      decoded.lookupSpecifiers.forEach((spec, index) => {
        out.push({ file, spec, csid: decoded.clientSessionId, ssid: decoded.serverSessionId, signed: sigs[index]?.get('signed_data_hex').str() });
      });
    }
  }
  return out;
}

const lookups = recordedLookups();

const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as KeyGen2Error).code;
  }
  return undefined;
};

describe('lookup specifiers of the recordings', () => {
  it('exist', () => expect(lookups.length).toBeGreaterThan(0));
  for (const [index, list] of lookups.entries()) {
    it(`${list.file} #${index}: the signed data the client verifies equals the recorded bytes`, () => {
      const { value: _value, ...unsigned } = list.spec.signature;
      if (list.signed !== undefined) expect(Buffer.from(lookupSpecifierSignedData({ ...list.spec, signature: unsigned })).toString('hex')).toBe(list.signed);
    });
    it(`${list.file} #${index}: nonce and signature verify`, () => {
      expect(() => verifyLookupSpecifier(list.spec, lookupNonce(list.csid, list.ssid), '$')).not.toThrow();
    });
    it(`${list.file} #${index}: rejects-lookup-with-foreign-nonce`, () => {
      expect(codeOf(() => verifyLookupSpecifier(list.spec, lookupNonce(list.csid, 'another-session'), '$'))).toBe('PROTOCOL');
    });
    it(`${list.file} #${index}: rejects-lookup-with-bad-signature`, () => {
      expect(codeOf(() => verifyLookupSpecifier({ ...list.spec, id: `${list.spec.id}x` }, lookupNonce(list.csid, list.ssid), '$'))).toBe('VERIFICATION');
    });
  }
});

describe('Java regex translation (quirk 13)', () => {
  it('turns \\Q…\\E into a literal and matches the whole input', () => {
    const re = javaRegex('\\QCN=Demo Sub CA,DC=webpki,DC=org\\E', '$');
    expect(re.test('CN=Demo Sub CA,DC=webpki,DC=org')).toBe(true);
    expect(re.test('CN=Demo Sub CA,DC=webpki,DC=org,C=SE')).toBe(false);
    expect(javaRegex('\\Qa.b\\E', '$').test('axb')).toBe(false);
    expect(javaRegex('john\\.doe@.*', '$').test('john.doe@example.com')).toBe(true);
    expect(javaRegex('doe', '$').test('john.doe')).toBe(false);
  });
  it('rejects-uncompilable-regex', () => {
    expect(() => javaRegex('(', '$.x')).toThrow(KeyGen2Error);
  });
});

describe('certificate fields of the recorded end-entity certificates', () => {
  // The first issued certificate of the recordings (any file); scenario 7's recorded
  // lookup results additionally prove issuerRegEx matching against the Java rendering.
  const ee = sessionFiles()
    .flatMap((f) => loadRecording(f).get('sessions').items())
    .flatMap((s) =>
      s
        .get('issued_certificate_paths')
        .entries()
        .map(([, p]) => p.hexes()[0]),
    )[0];
  const info = certificateInfo(ee);

  it('renders names most-specific first', () => {
    expect(info.issuer).toMatch(/^CN=[^,]+(,(DC|O|OU|C|L|ST)=[^,]+)*$/);
    expect(info.subject).toMatch(/^(1\.2\.840\.113549\.1\.9\.1=#16[0-9a-f]+,)?CN=[^,]+/);
    expect(info.isCa).toBe(false);
  });

  it('matches search filters with AND semantics', () => {
    const facts = { certificatePath: [ee], appUsage: 'authentication', grouping: undefined };
    const message = (filter: Parameters<typeof compileSearchFilter>[0]): boolean => compileSearchFilter(filter, '$')(facts);
    const quoted = (s: string): string => `\\Q${s}\\E`;
    expect(message(undefined)).toBe(true);
    expect(message({ issuerRegEx: quoted(info.issuer), appUsage: 'authentication' })).toBe(true);
    expect(message({ issuerRegEx: quoted(info.issuer), appUsage: 'signature' })).toBe(false);
    expect(message({ subjectRegEx: quoted(info.subject) })).toBe(true);
    expect(message({ subjectRegEx: quoted(info.subject.slice(1)) })).toBe(false);
    for (const text of info.emails) expect(message({ emailRegEx: quoted(text) })).toBe(true);
    expect(message({ serialNumber: info.serialNumber.toString() })).toBe(true);
    expect(message({ serialNumber: (info.serialNumber + 1n).toString() })).toBe(false);
    expect(message({ grouping: 'shared' })).toBe(false); // no PIN policy never matches a grouping filter
    expect(message({ keyUsageRules: ['digitalSignature'] })).toBe(info.keyUsage?.has('digitalSignature') === true);
    expect(message({ keyUsageRules: ['-digitalSignature'] })).toBe(info.keyUsage !== undefined && !info.keyUsage.has('digitalSignature'));
    expect(message({ extendedKeyUsageRules: ['1.3.6.1.5.5.7.3.2'] })).toBe(info.extendedKeyUsage?.has('1.3.6.1.5.5.7.3.2') === true);
    expect(message({ policyRules: ['1.2.3.4'] })).toBe(info.policies?.has('1.2.3.4') === true);
  });
});

describe('an issuer pattern that backtracks for ever', () => {
  it('is refused (POLICY, naming the member) once it has run for the time limit, instead of freezing the client', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kg2-redos-'));
    try {
      const { cert } = selfSignedCertificate(dir, { subject: `/CN=${'a'.repeat(40)}`, days: 1 });
      const facts = { certificatePath: [new X509Certificate(cert).raw], appUsage: 'authentication', grouping: undefined };
      const started = Date.now();
      let caught: unknown;
      try {
        compileSearchFilter({ subjectRegEx: 'CN=(a+)+b' }, '$.lookupSpecifiers[0].searchFilter')(facts);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(KeyGen2Error);
      expect(caught).toMatchObject({ code: 'POLICY', path: '$.lookupSpecifiers[0].searchFilter.subjectRegEx' });
      expect(Date.now() - started).toBeLessThan(REGEX_TIME_LIMIT_MS + 5000); // 2^40 steps unbounded
      // The same pattern on a name it settles quickly still works.
      expect(compileSearchFilter({ subjectRegEx: 'CN=(a+)+' }, '$')(facts)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Java RFC 2253 escaping', () => {
  it('escapes ,=+<>#;"\\ and edge spaces, renders other attributes as #hex (spec §6.5 example 2.5.4.5=#1303313233)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kg2-dn-'));
    try {
      const { cert } = selfSignedCertificate(dir, { subject: '/C=SE/O=Acme, Inc./CN=John=Doe; #1 /serialNumber=123', days: 1 });
      const info = certificateInfo(new X509Certificate(cert).raw);
      expect(info.subject).toBe('2.5.4.5=#1303313233,CN=John\\=Doe\\; \\#1\\ ,O=Acme\\, Inc.,C=SE');
      expect(info.issuer).toBe(info.subject);
      expect(info.isCa).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
