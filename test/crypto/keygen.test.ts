/**
 * Key generation (src/sks/crypto/keygen.ts): working keys of every kind, the EC private scalar
 * padded to the curve size, and the reason the module exists — key objects whose details and
 * JWK can be read while garbage is collected, without the Node 20 self-deadlock that
 * `generateKeyPairSync` keys hit within a few thousand reads.
 */
import { spawnSync } from 'node:child_process';
import { sign, verify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EC_CURVES, type EcCurve } from '../../src/sks/algorithms.js';
import { freshEcdh, generateEcKeyPair, generateEd25519KeyPair, generateRsaKeyPair } from '../../src/sks/crypto/keygen.js';
import { parsePkcs8, pkcs8Of, pkcs8OfGeneratedPair, spkiOf, spkiOfGeneratedPair } from '../../src/sks/crypto/keys.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const data = Buffer.from('signed by a generated key');

describe('generateEcKeyPair', () => {
  it.each(Object.keys(EC_CURVES) as EcCurve[])('makes %s pairs whose halves sign and verify together', (curve) => {
    const pair = generateEcKeyPair(curve);
    expect(pair.privateKey.asymmetricKeyDetails?.namedCurve).toBe(EC_CURVES[curve].nodeName);
    expect(pair.publicKey.type).toBe('public');
    expect(verify('sha256', data, pair.publicKey, sign('sha256', data, pair.privateKey))).toBe(true);
    expect(pair.publicKey.export({ format: 'jwk' })).toEqual({ ...pair.privateKey.export({ format: 'jwk' }), d: undefined });
  });

  it('pads a private scalar with leading zero octets to the curve size', () => {
    // About one P-256 scalar in 256 is shorter than 32 octets; 3,000 pairs all but surely include one.
    let short = 0;
    for (let i = 0; i < 3000; i++) {
      const pair = generateEcKeyPair('P-256');
      const scalar = Buffer.from(pair.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
      expect(scalar.length).toBe(32);
      if (scalar[0] === 0) short++;
    }
    expect(short).toBeGreaterThan(0);
  });

  it('never hands out the key the reusable ECDH object holds next', () => {
    const pair = generateEcKeyPair('P-256');
    const before = pair.privateKey.export({ format: 'jwk' }).d;
    freshEcdh('P-256');
    expect(pair.privateKey.export({ format: 'jwk' }).d).toBe(before);
  });
});

describe('GeneratedEcKeyPair', () => {
  it.each(Object.keys(EC_CURVES) as EcCurve[])('builds the %s SPKI and PKCS#8 from raw values that the KeyObjects have too', (curve) => {
    const pair = generateEcKeyPair(curve);
    const spki = spkiOfGeneratedPair(pair);
    const pkcs8 = pkcs8OfGeneratedPair(pair);
    expect(pair.imported).toBe(false);
    expect(spki).toEqual(spkiOf(pair.publicKey));
    expect(pair.imported).toBe(true);
    expect(pkcs8).toEqual(pkcs8Of(pair.privateKey));
    expect(parsePkcs8(pkcs8).export({ format: 'jwk' })).toEqual(pair.privateKey.export({ format: 'jwk' }));
  });

  it('wipes its copy of the scalar once the private KeyObject holds it', () => {
    const pair = generateEcKeyPair('P-256');
    let lent: Buffer | undefined;
    pair.withScalar((d) => (lent = d));
    expect(lent?.some((b) => b !== 0)).toBe(true);
    expect(pair.privateKey.type).toBe('private');
    expect(lent?.every((b) => b === 0)).toBe(true);
    expect(pair.withScalar((d) => d)).toBeUndefined();
  });
});

describe('RSA and Ed25519', () => {
  it('makes RSA pairs of the requested size and exponent', async () => {
    const pair = await generateRsaKeyPair(2048, 3);
    expect(pair.privateKey.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 3n });
    expect(verify('sha256', data, pair.publicKey, sign('sha256', data, pair.privateKey))).toBe(true);
  });

  it('makes Ed25519 pairs', () => {
    const pair = generateEd25519KeyPair();
    expect(pair.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(verify(null, data, pair.publicKey, sign(null, data, pair.privateKey))).toBe(true);
  });
});

describe('reading generated keys under garbage collection', () => {
  it('reads details and JWKs of 20,000 fresh pairs without the process stopping', () => {
    // The loop that stops a plain generateKeyPairSync process (idle, in GetEcKeyDetail under
    // ~KeyGenJob) after a few hundred to some tens of thousands of pairs on Node 20.
    const script = `
      import { generateEcKeyPair } from './src/sks/crypto/keygen.ts';
      let junk = [];
      for (let i = 0; i < 20000; i++) {
        const pair = generateEcKeyPair('P-256');
        if (pair.publicKey.asymmetricKeyDetails.namedCurve !== 'prime256v1') throw new Error('curve');
        pair.privateKey.export({ format: 'jwk' });
        junk.push('x'.repeat(64) + i);
        if (junk.length > 1000) junk = [];
      }
      console.log('done');
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('done');
  });
});
