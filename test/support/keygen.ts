/**
 * `generateKeyPairSync` for tests, with node's signature, returning key objects that no Node
 * key-generation job owns: the job encodes the pair and src/sks/crypto/keygen.ts importPkcs8
 * imports it. Node 20's own keys share a mutex with the job, and reading their details or JWK
 * while a GC destroys the job deadlocks the process; a test suite reads thousands of them.
 */
import { generateKeyPairSync as nodeGenerateKeyPairSync, type KeyObject } from 'node:crypto';
import { importPkcs8 } from '../../src/sks/crypto/keygen.js';

/** The key types node generates. */
export type KeyType = 'rsa' | 'rsa-pss' | 'dsa' | 'ec' | 'ed25519' | 'ed448' | 'x25519' | 'x448' | 'dh';

export function generateKeyPairSync(type: KeyType, options: Record<string, unknown> = {}): { privateKey: KeyObject; publicKey: KeyObject } {
  const der = (nodeGenerateKeyPairSync as unknown as (t: KeyType, o: Record<string, unknown>) => { privateKey: Buffer })(type, {
    ...options,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  }).privateKey;
  return importPkcs8(der);
}
