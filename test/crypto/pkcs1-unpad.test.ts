/**
 * The constant-time PKCS#1 v1.5 type 2 unpadding of src/sks/crypto/pkcs1.ts
 * alone (RFC 8017 §7.2.2): `00 02 PS 00 M` with PS at least 8 non-zero bytes.
 * Any other form yields null, which the SKS reports as one ERROR_CRYPTO.
 */
import { constants, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { unpadPkcs1Type2 } from '../../src/sks/crypto/pkcs1.js';

const value = 128; // RSA-1024 encoded message length

/** Non-zero random padding bytes. */
const nonZero = (n: number): Buffer => Buffer.from(randomBytes(n).map((b) => (b === 0 ? 1 : b)));

/** `00 02 PS 00 M` with |PS| = k - 3 - |M|. */
const encode = (message: Buffer, k = value): Buffer => Buffer.concat([Buffer.of(0x00, 0x02), nonZero(k - 3 - message.length), Buffer.of(0x00), message]);

describe('unpadPkcs1Type2 accepts', () => {
  const cases: ReadonlyArray<{ name: string; message: Buffer }> = [
    { name: 'a 32-byte message', message: randomBytes(32) },
    { name: 'a zero-length message (separator in the last byte)', message: Buffer.alloc(0) },
    { name: 'the longest message (exactly 8 padding bytes)', message: randomBytes(value - 11) },
    { name: 'a message of zero bytes', message: Buffer.alloc(16) },
    { name: 'a message that starts with 00 02', message: Buffer.concat([Buffer.of(0, 2), randomBytes(14)]) },
  ];
  for (const item of cases) {
    it(item.name, () => {
      expect(unpadPkcs1Type2(encode(item.message))).toEqual(item.message);
    });
  }

  it('what node pads with RSA_PKCS1_PADDING and decrypts raw, for every message length up to k - 11', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    for (let n = 0; n <= value - 11; n += 13) {
      const buf = randomBytes(n);
      const em = privateDecrypt(
        { key: privateKey, padding: constants.RSA_NO_PADDING },
        publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, buf),
      );
      expect(em).toHaveLength(value);
      expect(unpadPkcs1Type2(em)).toEqual(buf);
    }
  });
});

describe('unpadPkcs1Type2 rules (null)', () => {
  const valid = (): Buffer => encode(randomBytes(16));
  const rules: ReadonlyArray<{ rule: string; em: () => Buffer }> = [
    { rule: 'rejects-first-byte-not-zero', em: () => Buffer.concat([Buffer.of(0x01), valid().subarray(1)]) },
    { rule: 'rejects-block-type-1', em: () => Buffer.concat([Buffer.of(0x00, 0x01), valid().subarray(2)]) },
    { rule: 'rejects-block-type-0', em: () => Buffer.concat([Buffer.of(0x00, 0x00), valid().subarray(2)]) },
    { rule: 'rejects-block-type-3', em: () => Buffer.concat([Buffer.of(0x00, 0x03), valid().subarray(2)]) },
    { rule: 'rejects-swapped-first-bytes', em: () => Buffer.concat([Buffer.of(0x02, 0x00), valid().subarray(2)]) },
    { rule: 'rejects-no-separator', em: () => Buffer.concat([Buffer.of(0x00, 0x02), nonZero(value - 2)]) },
    { rule: 'rejects-empty-padding', em: () => Buffer.concat([Buffer.of(0x00, 0x02, 0x00), randomBytes(value - 3)]) },
    { rule: 'rejects-seven-padding-bytes', em: () => Buffer.concat([Buffer.of(0x00, 0x02), nonZero(7), Buffer.of(0x00), randomBytes(value - 10)]) },
    {
      rule: 'rejects-a-zero-inside-the-first-eight-padding-bytes',
      em: () => Buffer.concat([Buffer.of(0x00, 0x02), nonZero(4), Buffer.of(0x00), nonZero(4), Buffer.of(0x00), randomBytes(value - 12)]),
    },
    { rule: 'rejects-fewer-than-11-bytes', em: () => Buffer.concat([Buffer.of(0x00, 0x02), nonZero(7), Buffer.of(0x00)]) },
    { rule: 'rejects-an-empty-block', em: () => Buffer.alloc(0) },
  ];
  for (const result of rules) {
    it(result.rule, () => {
      expect(unpadPkcs1Type2(result.em())).toBeNull();
    });
  }
});

describe('unpadPkcs1Type2 at every separator position', () => {
  // The separator is the first zero after 00 02; PS = em[2 .. i-1] must be at least 8 bytes (i >= 10).
  for (let i = 2; i < value; i++) {
    const acceptable = i - 2 >= 8;
    it(`separator at byte ${i}: ${acceptable ? `message of ${value - i - 1} bytes` : 'rejected'}`, () => {
      const em = Buffer.concat([Buffer.of(0x00, 0x02), nonZero(i - 2), Buffer.of(0x00), randomBytes(value - i - 1)]);
      const got = unpadPkcs1Type2(em);
      if (acceptable) expect(got).toEqual(em.subarray(i + 1));
      else expect(got).toBeNull();
    });
  }
});
