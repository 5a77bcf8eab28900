/**
 * NodeIssuerCrypto's caches of unsealed secrets (src/keygen2/server/node-crypto-port.ts): an
 * entry evicted from a full cache is wiped, and the secret is unsealed again from its reference,
 * so a session whose key left the cache still MACs the same, here and in another port with the
 * same sealing key.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NodeIssuerCrypto } from '../../../src/keygen2/server/index.js';
import { ecSpkiOfPoint } from '../../../src/sks/session-crypto.js';

const clientKey = (): Buffer => {
  const ecdh = createECDH('prime256v1');
  return ecSpkiOfPoint('P-256', ecdh.generateKeys());
};
const data = Buffer.from('MAC input');

describe('NodeIssuerCrypto secret caches', () => {
  it.each([0, 1, 2])('a session key evicted from a cache of %i still MACs alike, and resumes in another port', async (size) => {
    const sealingKey = randomBytes(32);
    const port = new NodeIssuerCrypto({ sealingKey, sessionKeyCacheSize: size });
    const refs = [];
    const first: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) {
      const ephemeral = await port.generateEphemeralKey('P-256');
      const ref = await port.deriveSessionKey(ephemeral.handle, clientKey(), randomBytes(40));
      refs.push(ref);
      first.push(await port.hmac(ref, new Uint8Array(0), data));
    }
    const other = new NodeIssuerCrypto({ sealingKey });
    for (const [index, ref] of refs.entries()) {
      expect(await port.hmac(ref, new Uint8Array(0), data)).toEqual(first[index]);
      expect(await other.hmac(ref, new Uint8Array(0), data)).toEqual(first[index]);
    }
    expect(new Set(first.map((m) => Buffer.from(m).toString('hex'))).size, 'three different session keys').toBe(3);
  });
});
