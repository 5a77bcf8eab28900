/**
 * The DER reader of src/sks/crypto/der.ts alone: what it accepts, each rule
 * it enforces (one negative test per rule, all ERROR_CRYPTO), and that every
 * DER value in the interop vectors and in our device certificates is read
 * under those rules (nothing relies on a lax form).
 */
import { X509Certificate } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { certificateSpki, readTlv, tlv } from '../../src/sks/crypto/der.js';
import { createManufacturerCa, issueDeviceCertificate, type CaKeyType } from '../../src/sks/device/manufacturer-ca.js';
import { SksError, type SksErrorCode } from '../../src/sks/errors.js';
import { getTestCa } from '../support/test-ca.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const codeOf = (fn: () => unknown): SksErrorCode | 'no error' | 'not an SksError' => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof SksError ? error.code : 'not an SksError';
  }
};

/** Reads every TLV of `der`, descending into constructed ones; returns how many were read. */
function walk(der: Uint8Array, start = 0, end = der.length): number {
  let count = 0;
  for (let value = start; value < end;) {
    const tlv = readTlv(der, value, end);
    count += 1 + ((tlv.tag & 0x20) !== 0 ? walk(der, tlv.start, tlv.end) : 0);
    value = tlv.end;
  }
  return count;
}

describe('readTlv accepts DER', () => {
  const cases: ReadonlyArray<{ name: string; header: string; contentLength: number }> = [
    { name: 'empty content, short form', header: '30 00', contentLength: 0 },
    { name: 'one byte, short form', header: '04 01', contentLength: 1 },
    { name: '127 bytes, the largest short form', header: '04 7f', contentLength: 127 },
    { name: '128 bytes, the smallest one-octet long form', header: '04 81 80', contentLength: 128 },
    { name: '255 bytes, the largest one-octet long form', header: '04 81 ff', contentLength: 255 },
    { name: '256 bytes, the smallest two-octet long form', header: '04 82 01 00', contentLength: 256 },
    { name: '65535 bytes, the largest two-octet long form', header: '04 82 ff ff', contentLength: 65535 },
    { name: '65536 bytes, the smallest three-octet long form', header: '04 83 01 00 00', contentLength: 65536 },
  ];
  for (const item of cases) {
    it(item.name, () => {
      const header = hex(item.header);
      const der = Buffer.concat([header, Buffer.alloc(item.contentLength, 0xa5)]);
      expect(readTlv(der, 0)).toEqual({ tag: header[0], start: header.length, end: der.length, headerStart: 0 });
    });
  }

  it('reads at an offset and within a limit', () => {
    const der = hex('ff ff 02 01 07 ee');
    expect(readTlv(der, 2, 5)).toEqual({ tag: 0x02, start: 4, end: 5, headerStart: 2 });
  });
});

describe('tlv writes what readTlv reads', () => {
  for (const count of [0, 1, 127, 128, 255, 256, 65535, 65536]) {
    it(`${count} content bytes`, () => {
      const content = Buffer.alloc(count, 0x5a);
      const der = tlv(0x04, content);
      const item = readTlv(der, 0);
      expect(item.end).toBe(der.length);
      expect(der.subarray(item.start, item.end).equals(content)).toBe(true);
    });
  }
});

describe('readTlv rules (ERROR_CRYPTO)', () => {
  const rules: ReadonlyArray<{ rule: string; der: string; offset?: number; limit?: number }> = [
    { rule: 'rejects-non-minimal-length-81-05', der: '04 81 05 0102030405' },
    { rule: 'rejects-long-form-length-below-128', der: `04 81 7f ${'00'.repeat(127)}` },
    { rule: 'rejects-long-form-length-of-zero', der: '30 81 00' },
    { rule: 'rejects-leading-zero-length-octet', der: `04 82 00 80 ${'00'.repeat(128)}` },
    { rule: 'rejects-leading-zero-in-three-length-octets', der: `04 83 00 01 00 ${'00'.repeat(256)}` },
    { rule: 'rejects-indefinite-length', der: '30 80 0000' },
    { rule: 'rejects-more-than-three-length-octets', der: `04 84 00 01 00 00 ${'00'.repeat(65536)}` },
    { rule: 'rejects-high-tag-number-form', der: '1f 81 00 00' },
    { rule: 'rejects-a-lone-tag-byte', der: '30' },
    { rule: 'rejects-length-octets-past-the-end', der: '04 82 01' },
    { rule: 'rejects-content-past-the-end', der: '04 05 010203' },
    { rule: 'rejects-content-past-the-limit', der: '04 03 010203', limit: 4 },
    { rule: 'rejects-reading-at-the-limit', der: '04 00 04 00', offset: 2, limit: 2 },
  ];
  for (const result of rules) {
    it(result.rule, () => {
      const der = hex(result.der);
      expect(codeOf(() => readTlv(der, result.offset ?? 0, result.limit ?? der.length))).toBe('CRYPTO');
    });
  }
});

describe('certificateSpki', () => {
  it('returns the exact SPKI bytes of RSA, EC and Ed25519 end-entity certificates', async () => {
    const ca = await getTestCa();
    const keys = [
      generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
    ];
    for (const key of [...keys]) {
      const der = await ca.issue(key);
      expect(certificateSpki(der).equals(key.export({ type: 'spki', format: 'der' }))).toBe(true);
    }
    expect(certificateSpki(ca.certificate).equals(new X509Certificate(ca.certificate).publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
  });

  it('rejects-trailing-bytes-after-the-certificate', async () => {
    const der = Buffer.concat([(await getTestCa()).certificate, Buffer.of(0)]);
    expect(codeOf(() => certificateSpki(der))).toBe('CRYPTO');
  });

  it('rejects-a-certificate-that-is-not-a-sequence', async () => {
    const der = Buffer.from((await getTestCa()).certificate);
    der[0] = 0x31;
    expect(codeOf(() => certificateSpki(der))).toBe('CRYPTO');
  });

  it('rejects-a-certificate-with-a-non-minimal-outer-length', async () => {
    const der = (await getTestCa()).certificate;
    const outer = readTlv(der, 0);
    const lengthOctets = outer.start - 2; // a certificate is longer than 255 bytes: 30 82 hi lo
    expect(lengthOctets).toBe(2);
    const padded = Buffer.concat([Buffer.of(0x30, 0x80 | (lengthOctets + 1), 0x00), der.subarray(2)]);
    expect(codeOf(() => certificateSpki(padded))).toBe('CRYPTO');
  });

  it('rejects-a-truncated-certificate', async () => {
    const der = (await getTestCa()).certificate;
    expect(codeOf(() => certificateSpki(der.subarray(0, der.length - 1)))).toBe('CRYPTO');
  });
});

describe('nothing relies on a lax DER form', () => {
  const VECTORS = path.resolve(fileURLToPath(new URL('../..', import.meta.url)), '..', 'shared', 'interop');
  const DER_MEMBER = /(_der_hex|spki_hex|pkcs8_hex)$/;

  /** Every DER value of a vector document: `*_der_hex`, `*spki_hex` and `*pkcs8_hex` members, strings or lists. */
  function derValues(value: unknown, out: Buffer[] = []): Buffer[] {
    if (Array.isArray(value)) for (const val of value) derValues(val, out);
    else if (value !== null && typeof value === 'object') {
      for (const [key, element] of Object.entries(value)) {
        if (DER_MEMBER.test(key) && typeof element === 'string') out.push(Buffer.from(element, 'hex'));
        else if (DER_MEMBER.test(key) && Array.isArray(element))
          out.push(...element.filter((x): x is string => typeof x === 'string').map((x) => Buffer.from(x, 'hex')));
        else derValues(element, out);
      }
    }
    return out;
  }

  const files = readdirSync(VECTORS)
    .filter((f) => f.endsWith('.json'))
    .sort();
  for (const file of files) {
    it(`every DER value in ${file}`, () => {
      const values = derValues(JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')));
      expect(values.length).toBeGreaterThan(0);
      // An absent key is recorded as an empty value (e.g. no KMK in an attestation input).
      for (const der of values.filter((v) => v.length > 0)) expect(walk(der)).toBeGreaterThan(0);
    });
  }

  for (const keyType of ['ec-p256', 'rsa-2048'] as const satisfies readonly CaKeyType[]) {
    it(`the ${keyType} manufacturer root and the device certificates it issues`, async () => {
      const ca = await createManufacturerCa({ keyType });
      const devices = [generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey];
      for (const der of [ca.certificate, ...(await Promise.all(devices.map((k) => issueDeviceCertificate(ca, k, { serialNumber: 'A1-b2' }))))]) {
        expect(walk(der)).toBeGreaterThan(0);
        expect(certificateSpki(der).equals(new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
      }
    });
  }
});
