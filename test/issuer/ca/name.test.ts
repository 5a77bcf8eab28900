import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCaHierarchy, parseDn } from '../../../src/issuer/ca/index.js';
import { encodeName } from '../../../src/issuer/ca/name.js';

describe('distinguished names', () => {
  it('parses the RFC 4514 configuration form into most-significant-first attributes', () => {
    expect(parseDn('CN=Example\\, Inc. Root, OU=PKI, O=Example, C=SE')).toEqual([
      { type: 'C', value: 'SE' },
      { type: 'O', value: 'Example' },
      { type: 'OU', value: 'PKI' },
      { type: 'CN', value: 'Example, Inc. Root' },
    ]);
  });

  it('rejects-unknown-attribute-in-configuration with CONFIG', () => {
    expect(() => parseDn('CN=x, FOO=bar', 'rootSubject')).toThrow(expect.objectContaining({ code: 'CONFIG', field: 'rootSubject' }));
    expect(() => parseDn(' , ')).toThrow(expect.objectContaining({ code: 'CONFIG' }));
  });

  it('uses the string types X.520 and PKCS #9 fix (PrintableString C, IA5String emailAddress, UTF8String CN)', () => {
    const der = encodeName([
      { type: 'C', value: 'SE' },
      { type: 'CN', value: 'Å' },
      { type: 'E', value: 'a@b.se' },
    ]);
    expect(der.includes(Buffer.from('13025345', 'hex'))).toBe(true); // PrintableString "SE"
    expect(der.includes(Buffer.from([0x0c, 0x02, 0xc3, 0x85]))).toBe(true); // UTF8String "Å"
    expect(der.includes(Buffer.concat([Buffer.from([0x16, 0x06]), Buffer.from('a@b.se')]))).toBe(true); // IA5String
  });

  it('rejects-same-subject-for-root-and-issuing-ca with CONFIG', async () => {
    const same = parseDn('CN=Only CA');
    await expect(createCaHierarchy({ rootSubject: same, issuingSubject: same })).rejects.toThrow(expect.objectContaining({ code: 'CONFIG' }));
  });

  it('puts configured subjects on the CA certificates', async () => {
    const caHierarchy = await createCaHierarchy({ issuingSubject: parseDn('CN=Ops Issuing CA, O=Ops') });
    expect(new X509Certificate(caHierarchy.issuing.certificate).subject).toBe('O=Ops\nCN=Ops Issuing CA');
    expect(new X509Certificate(caHierarchy.issuing.certificate).issuer).toBe('O=Airtight\nCN=Airtight Issuer Root CA');
  });
});
