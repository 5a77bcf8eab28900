/** The generated-key type check of spec §6.8 (curve, RSA size, `.exp` exponent — quirk 11). */
import { generateKeyPairSync } from '../../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { keyMatchesAlgorithm } from '../../../src/keygen2/server/keys.js';

const SKS = 'https://webpki.github.io/sks/algorithm#';
const spki = (k: ReturnType<typeof generateKeyPairSync>['publicKey']): Uint8Array => k.export({ format: 'der', type: 'spki' });

describe('generated key matches keyAlgorithm', () => {
  const p256 = spki(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey);
  const p384 = spki(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey);
  const rsa3 = spki(generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 }).publicKey);
  const rsaF4 = spki(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
  const ed = spki(generateKeyPairSync('ed25519').publicKey);

  it('accepts-the-requested-curve-only', () => {
    expect(keyMatchesAlgorithm(p256, `${SKS}ec.nist.p256`, undefined)).toBe(true);
    expect(keyMatchesAlgorithm(p384, `${SKS}ec.nist.p256`, undefined)).toBe(false);
    expect(keyMatchesAlgorithm(p384, `${SKS}ec.nist.p384`, undefined)).toBe(true);
  });

  it('compares-the-rsa-exponent-of-exp-forms', () => {
    expect(keyMatchesAlgorithm(rsa3, `${SKS}rsa1024.exp`, Uint8Array.of(3))).toBe(true);
    expect(keyMatchesAlgorithm(rsaF4, `${SKS}rsa1024.exp`, Uint8Array.of(3))).toBe(false);
    expect(keyMatchesAlgorithm(rsaF4, `${SKS}rsa2048`, undefined)).toBe(false);
  });

  it('accepts-okp-keys-by-type', () => {
    expect(keyMatchesAlgorithm(ed, `${SKS}ed25519`, undefined)).toBe(true);
    expect(keyMatchesAlgorithm(p256, `${SKS}ed25519`, undefined)).toBe(false);
    expect(keyMatchesAlgorithm(p256, `${SKS}unknown`, undefined)).toBe(false);
  });
});
