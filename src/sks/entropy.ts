/**
 * The store's source of randomness and fresh key pairs, passed in so that
 * interop replays can inject the recorded values. The default is node:crypto.
 */
import { createECDH, generateKeyPair as generateKeyPairCb, generateKeyPairSync, randomBytes as nodeRandomBytes, type ECDH, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { EC_CURVES, type EcCurve } from './algorithms.js';
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
 * One ECDH object per curve, reused: constructing one costs more than the key generation.
 * Each caller generates, derives and reads the public point in one synchronous run.
 */
const ECDH_BY_CURVE = new Map<EcCurve, ECDH>();

const generate = promisify(generateKeyPairCb);

/**
 * node:crypto (OpenSSL) randomness. RSA key generation (tens to hundreds of
 * milliseconds) runs on the thread pool; EC and Ed25519 generation (~30 µs)
 * costs less than the thread hand-off, so it runs inline.
 */
export const systemEntropy: Entropy = {
  randomBytes: (n) => nodeRandomBytes(n),
  async generateKeyPair(request) {
    switch (request.kind) {
      case 'ec':
        return generateKeyPairSync('ec', { namedCurve: EC_CURVES[request.curve].nodeName });
      case 'rsa': {
        // node takes the exponent as a uint32; larger exponents cannot be generated here.
        if (request.exponent > 0xffffffffn || request.exponent < 1n) throw cryptoFailure('key generation');
        return generate('rsa', { modulusLength: request.bits, publicExponent: Number(request.exponent) });
      }
      case 'ed25519':
        return generateKeyPairSync('ed25519');
    }
  },
  ephemeralEcdh(curve) {
    let ecdh = ECDH_BY_CURVE.get(curve);
    if (ecdh === undefined) {
      ecdh = createECDH(EC_CURVES[curve].nodeName);
      ECDH_BY_CURVE.set(curve, ecdh);
    }
    ecdh.generateKeys();
    return ecdh;
  },
};
