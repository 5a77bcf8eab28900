/**
 * JWK public keys (§4.7) to and from canonical SPKI (§4.8): every key object of every interop
 * file (P-256/384/521, RSA) converts both ways to the recorded bytes, plus one negative test
 * per rule.
 */
import { generateKeyPairSync } from '../../support/keygen.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalSpki, publicKeyToJwk, readPublicKey, type JwkPolicy } from '../../../src/keygen2/json/jwk.js';
import { parseJson } from '../../../src/keygen2/json/parse.js';
import { ObjectReader } from '../../../src/keygen2/json/reader.js';
import { serializeJson } from '../../../src/keygen2/json/serialize.js';
import { INTEROP_DIR } from '../messages/recordings.js';

interface KeyObject {
  readonly spki_hex: string;
  readonly jwk: Record<string, string>;
}

function keyObjects(value: unknown, out: KeyObject[] = []): KeyObject[] {
  if (Array.isArray(value)) value.forEach((x) => keyObjects(x, out));
  else if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.spki_hex === 'string' && record.jwk !== null && typeof record.jwk === 'object') out.push(record as unknown as KeyObject);
    Object.values(record).forEach((x) => keyObjects(x, out));
  }
  return out;
}

const recordedKeys = readdirSync(INTEROP_DIR)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => keyObjects(JSON.parse(readFileSync(path.join(INTEROP_DIR, f), 'utf8'))));

const publicJwk = (jwk: Record<string, string>): string => {
  const order = jwk.kty === 'RSA' ? ['kty', 'n', 'e'] : jwk.kty === 'EC' ? ['kty', 'crv', 'x', 'y'] : ['kty', 'crv', 'x'];
  return JSON.stringify(Object.fromEntries(order.map((k) => [k, jwk[k]])));
};

/** Reads a JWK text the way a decoder does, including the unread-member check. */
function read(text: string, policy: JwkPolicy = {}): Uint8Array {
  const reader = ObjectReader.root(parseJson(text), '$.k');
  const spki = readPublicKey(reader, policy);
  reader.finish();
  return spki;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const schemaAt = (path: string): unknown => expect.objectContaining({ code: 'SCHEMA', path });

const P256 = '{"kty":"EC","crv":"P-256","x":"lNxNvAUEE8t7DSQBft93LVSXxKCiVjhbWWfyg023FCk","y":"LmTlQxXB3LgZrNLmhOfMaCnDizczC_RfQ6Kx8iNwfFA"}';

describe('JWK <-> SPKI', () => {
  it('finds recorded keys', () => expect(recordedKeys.length).toBeGreaterThan(10));

  it('converts every recorded key to its recorded SPKI and back to the same JWK', () => {
    for (const keyObject of recordedKeys) {
      const text = publicJwk(keyObject.jwk);
      expect(hex(read(text))).toBe(keyObject.spki_hex);
      expect(serializeJson(publicKeyToJwk(new Uint8Array(Buffer.from(keyObject.spki_hex, 'hex'))))).toBe(text);
    }
  });

  it.each(['secp256k1', 'brainpoolP256r1', 'ed25519', 'ed448', 'x25519', 'x448'] as const)('round-trips a %s key', (type) => {
    const key =
      type === 'secp256k1' || type === 'brainpoolP256r1' ? generateKeyPairSync('ec', { namedCurve: type }).publicKey : generateKeyPairSync(type).publicKey;
    const spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
    const jwk = serializeJson(publicKeyToJwk(spki));
    expect(hex(read(jwk))).toBe(hex(spki));
  });

  it('writes the SKS URI for curves without a JOSE name and accepts SKS URIs for the others', () => {
    const k1 = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'der', type: 'spki' }));
    expect(serializeJson(publicKeyToJwk(k1))).toContain('"crv":"https://webpki.github.io/sks/algorithm#ec.secg.p256k1"');
    const viaUri = P256.replace('"P-256"', '"https://webpki.github.io/sks/algorithm#ec.nist.p256"');
    expect(read(viaUri)).toEqual(read(P256));
  });

  it('canonicalSpki uncompresses a compressed EC point', () => {
    const spki = read(P256);
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const uncompressed = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
    expect(canonicalSpki(uncompressed)).toEqual(uncompressed);
    expect(canonicalSpki(spki)).toEqual(spki);
  });
});

describe('JWK rules (§4.7)', () => {
  const rsa = recordedKeys.find((k) => k.jwk.kty === 'RSA');
  const rsaText = rsa === undefined ? '' : publicJwk(rsa.jwk);
  const name = rsa?.jwk.n ?? '';

  it.each([
    ['rejects-extra-member kid', P256.replace('{', '{"kid":"1",'), '$.k.kid'],
    ['rejects-extra-member alg', P256.replace('}', ',"alg":"ES256"}'), '$.k.alg'],
    ['rejects-private-member d', P256.replace('}', ',"d":"AAAA"}'), '$.k.d'],
    ['rejects-ec-coordinate-too-short', P256.replace('"x":"lNxN', '"x":"'), '$.k.x'],
    [
      'rejects-ec-coordinate-with-extra-leading-zero-byte',
      P256.replace(/"y":"([^"]*)"/, (_, y: string) => `"y":"${Buffer.concat([Buffer.alloc(1), Buffer.from(y, 'base64url')]).toString('base64url')}"`),
      '$.k.y',
    ],
    ['rejects-unknown-kty', P256.replace('"EC"', '"oct"'), '$.k.kty'],
    ['rejects-lower-case-kty', P256.replace('"EC"', '"ec"'), '$.k.kty'],
    ['rejects-unknown-crv', P256.replace('"P-256"', '"P-257"'), '$.k.crv'],
    ['rejects-crv-of-wrong-key-type', P256.replace('"P-256"', '"Ed25519"'), '$.k.crv'],
    ['rejects-point-not-on-curve', P256.replace('"y":"LmTl', '"y":"LmTm'), '$.k'],
    ['rejects-missing-y', P256.replace(/,"y":"[^"]*"/, ''), '$.k.y'],
    ['rejects-rsa-leading-zero-in-n', rsaText.replace(`"n":"${name}"`, `"n":"AA${name}"`), '$.k.n'],
    ['rejects-rsa-leading-zero-in-e', rsaText.replace('"e":"AQAB"', '"e":"AAEAAQ"'), '$.k.e'],
    ['rejects-rsa-empty-e', rsaText.replace('"e":"AQAB"', '"e":""'), '$.k.e'],
    ['rejects-rsa-extra-crv', rsaText.replace('{', '{"crv":"P-256",'), '$.k.crv'],
  ])('%s', (_, text, params) => {
    expect(() => read(text)).toThrow(schemaAt(params));
  });

  it('rejects-key-type-not-allowed-here (RSA where EC is required)', () => {
    expect(() => read(rsaText, { types: ['EC'] })).toThrow(schemaAt('$.k.kty'));
  });

  it('rejects-sks-curve-uri-in-jsf-keys (JOSE names only)', () => {
    const viaUri = P256.replace('"P-256"', '"https://webpki.github.io/sks/algorithm#ec.nist.p256"');
    expect(() => read(viaUri, { joseOnly: true })).toThrow(schemaAt('$.k.crv'));
  });

  it('publicKeyToJwk refuses bytes that are not a public key', () => {
    expect(() => publicKeyToJwk(new Uint8Array([0x30, 0x00]))).toThrow(RangeError);
  });
});
