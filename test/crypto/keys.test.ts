/**
 * The canonical key encodings of src/sks/crypto/keys.ts alone (spec §1.3,
 * §1.5): SPKI and PKCS#8 built by hand for EC, node's encoders otherwise,
 * compared with node's KeyObject.export and read back.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { EC_CURVES, type EcCurve } from '../../src/sks/algorithms.js';
import { readTlv } from '../../src/sks/crypto/der.js';
import { keyKind, parsePkcs8, parseSpki, pkcs8Of, spkiOf } from '../../src/sks/crypto/keys.js';
import { SksError, type SksErrorCode } from '../../src/sks/errors.js';

const codeOf = (fn: () => unknown): SksErrorCode | 'no error' | 'not an SksError' => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof SksError ? error.code : 'not an SksError';
  }
};

const nodeSpki = (k: KeyObject): Buffer => (k.type === 'private' ? createPublicKey(k) : k).export({ type: 'spki', format: 'der' });
const nodePkcs8 = (k: KeyObject): Buffer => k.export({ type: 'pkcs8', format: 'der' });

// Enough keys per curve that some coordinates and scalars start with a zero byte.
const PER_CURVE = 24;
const CURVES = Object.keys(EC_CURVES) as EcCurve[];
/** The total lengths spec §1.3 gives. */
const SPEC_EC_SPKI_LENGTH: Readonly<Record<EcCurve, number>> = { 'P-256': 91, 'P-384': 120, 'P-521': 158 };

describe.each(CURVES)('EC %s', (curve) => {
  const { coordinateLength, algorithmIdentifierHex } = EC_CURVES[curve];
  const pairs = Array.from({ length: PER_CURVE }, () => generateKeyPairSync('ec', { namedCurve: curve }));

  it("spkiOf equals node's SPKI export for the public and the private key", () => {
    for (const { publicKey, privateKey } of pairs) {
      expect(spkiOf(publicKey).equals(nodeSpki(publicKey))).toBe(true);
      expect(spkiOf(privateKey).equals(nodeSpki(publicKey))).toBe(true);
      expect(spkiOf(publicKey)).toHaveLength(SPEC_EC_SPKI_LENGTH[curve]);
    }
  });

  it('parseSpki reads spkiOf back to the same key', () => {
    for (const { publicKey } of pairs) {
      const parsed = parseSpki(spkiOf(publicKey));
      expect(parsed.equals(publicKey)).toBe(true);
      expect(keyKind(parsed)).toEqual({ type: 'ec', curve });
    }
  });

  it('pkcs8Of is the reference form: version 0, the algorithm identifier, ECPrivateKey { 1, d } and nothing else', () => {
    for (const { privateKey } of pairs) {
      const der = pkcs8Of(privateKey);
      const bytes = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      expect(bytes).toHaveLength(coordinateLength);
      const ecPrivateKey = Buffer.concat([Buffer.from('020101', 'hex'), Buffer.of(0x04, coordinateLength), bytes]);
      const body = Buffer.concat([
        Buffer.from('020100', 'hex'),
        Buffer.from(algorithmIdentifierHex, 'hex'),
        Buffer.of(0x04, ecPrivateKey.length + 2, 0x30, ecPrivateKey.length),
        ecPrivateKey,
      ]);
      const outer = readTlv(der, 0);
      expect(outer.tag).toBe(0x30);
      expect(outer.end).toBe(der.length);
      expect(der.subarray(outer.start).equals(body)).toBe(true);
    }
  });

  it('node and parsePkcs8 read pkcs8Of back to the same private key', () => {
    for (const { privateKey } of pairs) {
      expect(createPrivateKey({ key: pkcs8Of(privateKey), format: 'der', type: 'pkcs8' }).equals(privateKey)).toBe(true);
      expect(parsePkcs8(pkcs8Of(privateKey)).equals(privateKey)).toBe(true);
    }
  });

  it("pkcs8Of of node's own PKCS#8 (with the public key inside) gives the reference form", () => {
    for (const { privateKey } of pairs) {
      expect(pkcs8Of(parsePkcs8(nodePkcs8(privateKey))).equals(pkcs8Of(privateKey))).toBe(true);
    }
  });

  it('re-encodes a compressed point to the canonical uncompressed SPKI (spec §1.3)', () => {
    for (const { publicKey } of pairs.slice(0, 4)) {
      const jwk = publicKey.export({ format: 'jwk' });
      const bytes = Buffer.from(jwk.x ?? '', 'base64url');
      const other = Buffer.from(jwk.y ?? '', 'base64url');
      const point = Buffer.concat([Buffer.of(0x02 | (other[other.length - 1] & 1)), bytes]);
      const bitString = Buffer.concat([Buffer.of(0x03, point.length + 1, 0x00), point]);
      const inner = Buffer.concat([Buffer.from(algorithmIdentifierHex, 'hex'), bitString]);
      const compressed = Buffer.concat([Buffer.of(0x30, inner.length), inner]);
      expect(spkiOf(parseSpki(compressed)).equals(nodeSpki(publicKey))).toBe(true);
    }
  });

  it('rejects-a-point-not-on-the-curve', () => {
    const spki = Buffer.from(spkiOf(pairs[0].publicKey));
    spki[spki.length - 1] ^= 0x01;
    expect(codeOf(() => parseSpki(spki))).toBe('CRYPTO');
  });

  it('rejects-a-point-form-byte-other-than-04', () => {
    const spki = Buffer.from(spkiOf(pairs[0].publicKey));
    spki[spki.length - 1 - 2 * coordinateLength] = 0x05;
    expect(codeOf(() => parseSpki(spki))).toBe('CRYPTO');
  });

  it('rejects-a-truncated-spki', () => {
    const spki = spkiOf(pairs[0].publicKey);
    expect(codeOf(() => parseSpki(spki.subarray(0, spki.length - 1)))).toBe('CRYPTO');
  });
});

describe.each([1024, 2048])('RSA-%i', (bits) => {
  const pairs = Array.from({ length: 2 }, () => generateKeyPairSync('rsa', { modulusLength: bits }));

  it("spkiOf and pkcs8Of equal node's exports and read back", () => {
    for (const { publicKey, privateKey } of pairs) {
      expect(spkiOf(publicKey).equals(nodeSpki(publicKey))).toBe(true);
      expect(spkiOf(privateKey).equals(nodeSpki(publicKey))).toBe(true);
      expect(pkcs8Of(privateKey).equals(nodePkcs8(privateKey))).toBe(true);
      expect(parseSpki(spkiOf(publicKey)).equals(publicKey)).toBe(true);
      expect(parsePkcs8(pkcs8Of(privateKey)).equals(privateKey)).toBe(true);
      expect(keyKind(publicKey)).toEqual({ type: 'rsa', bits, exponent: 65537n });
    }
  });

  it('has the SPKI length that spec §1.3 gives for e = 65537', () => {
    const SPEC_SPKI_LENGTH: Readonly<Record<number, number>> = { 1024: 162, 2048: 294 };
    expect(spkiOf(pairs[0].publicKey)).toHaveLength(SPEC_SPKI_LENGTH[bits] ?? -1);
  });
});

describe('Ed25519', () => {
  const pairs = Array.from({ length: 4 }, () => generateKeyPairSync('ed25519'));

  it("spkiOf and pkcs8Of equal node's exports, are the forms of spec §1.3/§1.5 and read back", () => {
    for (const { publicKey, privateKey } of pairs) {
      const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
      const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      expect(spkiOf(publicKey).equals(nodeSpki(publicKey))).toBe(true);
      expect(spkiOf(publicKey).equals(Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]))).toBe(true);
      expect(pkcs8Of(privateKey).equals(nodePkcs8(privateKey))).toBe(true);
      expect(pkcs8Of(privateKey).equals(Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]))).toBe(true);
      expect(parseSpki(spkiOf(publicKey)).equals(publicKey)).toBe(true);
      expect(parsePkcs8(pkcs8Of(privateKey)).equals(privateKey)).toBe(true);
      expect(keyKind(publicKey)).toEqual({ type: 'ed25519' });
    }
  });
});

describe('parse rules (ERROR_CRYPTO)', () => {
  it('rejects-an-spki-that-is-not-der', () => {
    expect(codeOf(() => parseSpki(Buffer.from('not a key')))).toBe('CRYPTO');
  });

  it('rejects-an-empty-spki', () => {
    expect(codeOf(() => parseSpki(Buffer.alloc(0)))).toBe('CRYPTO');
  });

  it('rejects-a-pkcs8-that-is-not-der', () => {
    expect(codeOf(() => parsePkcs8(Buffer.from('not a key')))).toBe('CRYPTO');
  });

  it('rejects-an-spki-given-as-pkcs8', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(() => parsePkcs8(spkiOf(publicKey)))).toBe('CRYPTO');
  });
});
