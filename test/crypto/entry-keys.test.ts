/**
 * A key entry's KeyObjects (src/sks/engine/entry-keys.ts): made from the stored SPKI and PKCS#8
 * on first use, the plaintext PKCS#8 wiped once parsed or when the entry goes, a PKCS#8 that
 * does not parse failing every use alike, and a key written back unchanged storing the bytes it
 * was read from.
 */
import { sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateEcKeyPair } from '../../src/sks/crypto/keygen.js';
import { pkcs8OfGeneratedPair, spkiOfGeneratedPair } from '../../src/sks/crypto/keys.js';
import { EntryKeys } from '../../src/sks/engine/entry-keys.js';
import { SksError } from '../../src/sks/errors.js';

const stored = (): { spki: Buffer; pkcs8: Buffer } => {
  const pair = generateEcKeyPair('P-256');
  return { spki: spkiOfGeneratedPair(pair), pkcs8: pkcs8OfGeneratedPair(pair) };
};

describe('EntryKeys.stored', () => {
  it('parses on first use, then wipes the plaintext PKCS#8 it was handed', () => {
    const { spki, pkcs8 } = stored();
    const keys = EntryKeys.stored(spki, pkcs8);
    const before = Buffer.from(pkcs8);
    expect(keys.pkcs8(), 'the stored bytes, before any parse').toEqual(before);
    const data = Buffer.from('data');
    expect(verify('sha256', data, keys.publicKey, sign('sha256', data, keys.privateKey!))).toBe(true);
    expect(pkcs8.every((b) => b === 0)).toBe(true);
    expect(keys.pkcs8(), 'the same bytes from the KeyObject').toEqual(before);
    expect(keys.publicIsRsa).toBe(false);
    expect(keys.stillGenerated).toBe(false);
  });

  it('fails every use of a PKCS#8 that does not parse with ERROR_CRYPTO', () => {
    const { spki } = stored();
    const keys = EntryKeys.stored(spki, Buffer.from('3003020100', 'hex'));
    for (let i = 0; i < 2; i++) expect(() => keys.privateKey).toThrow(expect.objectContaining({ code: 'CRYPTO' }) as SksError);
  });

  it('wipes an unparsed PKCS#8 when the entry goes', () => {
    const { spki, pkcs8 } = stored();
    const keys = EntryKeys.stored(spki, pkcs8);
    keys.wipe();
    expect(pkcs8.every((b) => b === 0)).toBe(true);
  });

  it('answers "not RSA" for a canonical EC SPKI without parsing it (a signature needs only the private key)', () => {
    const { spki } = stored();
    const offCurve = Buffer.from(spki);
    offCurve[offCurve.length - 1] ^= 1; // same layout, point no longer on the curve: parsing would fail
    const keys = EntryKeys.stored(offCurve, null);
    expect(keys.publicIsRsa).toBe(false);
    expect(() => keys.publicKey).toThrow(expect.objectContaining({ code: 'CRYPTO' }) as SksError);
  });

  it('holds no private key for a record without one', () => {
    const keys = EntryKeys.stored(stored().spki, null);
    expect(keys.privateKey).toBeNull();
    expect(keys.pkcs8()).toBeNull();
  });
});

describe('EntryKeys.generated', () => {
  it('stays the generated pair until a half is replaced', () => {
    const pair = generateEcKeyPair('P-256');
    const keys = EntryKeys.generated(pair);
    expect(keys.stillGenerated).toBe(true);
    expect(keys.publicIsRsa).toBe(false);
    expect(pair.imported).toBe(false);
    keys.publicKey = generateEcKeyPair('P-256').publicKey;
    expect(keys.stillGenerated).toBe(false);
    expect(keys.privateKey).toBe(pair.privateKey);
  });

  it('wipes the scalar of a pair never imported when the entry goes', () => {
    const pair = generateEcKeyPair('P-256');
    let lent: Buffer | undefined;
    pair.withScalar((d) => (lent = d));
    EntryKeys.generated(pair).wipe();
    expect(lent?.every((b) => b === 0)).toBe(true);
  });
});
