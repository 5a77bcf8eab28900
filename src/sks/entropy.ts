/**
 * The store's source of randomness and fresh key pairs, passed in so that
 * interop replays can inject the recorded values. The default is node:crypto.
 */
import { randomBytes as nodeRandomBytes, type ECDH, type KeyObject } from 'node:crypto';
import type { EcCurve } from './algorithms.js';
import { freshEcdh, generateEcKeyPair, generateEd25519KeyPair, generateRsaKeyPair } from './crypto/keygen.js';
import { cryptoFailure } from './errors.js';

export type KeyPairRequest =
  { readonly kind: 'ec'; readonly curve: EcCurve } | { readonly kind: 'rsa'; readonly bits: number; readonly exponent: bigint } | { readonly kind: 'ed25519' };

export interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface Entropy {
  randomBytes(n: number): Buffer;
  /** `purpose` tells replays apart: the session's ephemeral key or a key entry's pair. */
  generateKeyPair(request: KeyPairRequest, purpose: 'ephemeral' | 'key-entry'): Promise<KeyPair>;
  /**
   * A session's ephemeral ECDH key as a raw node `ECDH` holding a fresh key pair, used at once
   * (synchronously) and never again. Optional: without it the session's ephemeral key comes from
   * `generateKeyPair(…, 'ephemeral')` (replays inject recorded pairs that way).
   */
  ephemeralEcdh?(curve: EcCurve): ECDH;
}

/**
 * node:crypto (OpenSSL) randomness, and key pairs from crypto/keygen.ts (which says why not
 * straight from `generateKeyPair`). RSA key generation (tens to hundreds of milliseconds) runs
 * on the thread pool; EC and Ed25519 generation costs less than the thread hand-off, so it runs inline.
 */
export const systemEntropy: Entropy = {
  randomBytes: (n) => nodeRandomBytes(n),
  async generateKeyPair(request) {
    switch (request.kind) {
      case 'ec':
        return generateEcKeyPair(request.curve);
      case 'rsa': {
        // node takes the exponent as a uint32; larger exponents cannot be generated here.
        if (request.exponent > 0xffffffffn || request.exponent < 1n) throw cryptoFailure('key generation');
        return generateRsaKeyPair(request.bits, Number(request.exponent));
      }
      case 'ed25519':
        return generateEd25519KeyPair();
    }
  },
  ephemeralEcdh: freshEcdh,
};
