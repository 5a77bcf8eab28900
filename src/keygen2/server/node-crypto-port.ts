/**
 * The node:crypto adapter of the issuer's crypto port (spec §5.9).
 *
 * Secrets that must survive between protocol steps (the ephemeral ECDH private key, the session
 * key, configured PUKs/PINs) are sealed with AES-256-GCM under the port's sealing key and kept in
 * the issuer state as strings; a port built with the same sealing key in another process can
 * resume the session. Each sealed string names its kind in the AEAD's associated data, so an
 * ephemeral-key reference cannot be replayed as a session key or a configured secret.
 *
 * Ephemeral keys are generated on demand with a reused ECDH object (~30 µs for P-256). A
 * background pool was tried and removed: taking each pooled KeyObject apart (JWK export) on the
 * main thread cost ~95 µs a key, three times what it saved.
 */
import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes, sign as nodeSign, type KeyObject, createPrivateKey } from 'node:crypto';
import type { EcCurve } from '../../sks/algorithms.js';
import {
  deriveSessionKey,
  ecSpkiOfPoint,
  encryptForSks,
  encryptionKey,
  generateRawEcKeyPair,
  hmacSha256,
  reusableEcdh,
  spkiOf,
  type RawEcKeyPair,
} from '../../sks/session-crypto.js';
import { KeyGen2Error, verificationError } from '../errors.js';
import type { EphemeralKey, IssuerCryptoPort, SealedRef } from './crypto-port.js';
import { ecPointOf } from './keys.js';

export interface NodeIssuerCryptoOptions {
  /**
   * 32-byte AES-256-GCM key that seals secrets into the state. Give every process that may
   * resume a session the same key; when omitted a random key is drawn and states only resume in
   * this process.
   */
  readonly sealingKey?: Uint8Array;
  /** Key-management private keys by name (KeyObject or PKCS#8 DER). RSA or EC P-256 (spec §5.7). */
  readonly keyManagementKeys?: Readonly<Record<string, KeyObject | Uint8Array>>;
  /** Random source for IVs (default node:crypto). */
  readonly randomBytes?: (length: number) => Uint8Array;
  /**
   * Supplies each ephemeral private key instead of generating one (an external generator, or
   * recorded keys in replay tests).
   */
  readonly ephemeralKeyFactory?: (curve: EcCurve) => KeyObject;
  /** How many unsealed session keys, and unused ephemeral keys, to keep at hand (default 1024 each). */
  readonly sessionKeyCacheSize?: number;
}

type SealKind = 'e' | 's' | 'x';
const AAD: Record<SealKind, Buffer> = {
  e: Buffer.from('airtight.keygen2.ephemeral', 'ascii'),
  s: Buffer.from('airtight.keygen2.session-key', 'ascii'),
  x: Buffer.from('airtight.keygen2.secret', 'ascii'),
};

/**
 * The node:crypto {@link IssuerCryptoPort}.
 *
 * @example
 * const crypto = new NodeIssuerCrypto({
 *   sealingKey: Buffer.from(process.env.ISSUER_SEALING_KEY!, 'base64url'), // same in every process
 *   keyManagementKeys: { 'kmk-2026': kmkPrivateKey },
 * });
 */
export class NodeIssuerCrypto implements IssuerCryptoPort {
  readonly #sealingKey: Buffer;
  readonly #kmks = new Map<string, { privateKey: KeyObject; spki: Buffer }>();
  readonly #random: (length: number) => Uint8Array;
  readonly #cacheSize: number;
  readonly #factory: ((curve: EcCurve) => KeyObject) | undefined;
  readonly #sessionKeys = new Map<string, Buffer>();
  readonly #ephemeralKeys = new Map<string, Buffer>();
  #ivPool: Buffer = Buffer.alloc(0);
  #ivOffset = 0;

  constructor(options: NodeIssuerCryptoOptions = {}) {
    const key = options.sealingKey ?? nodeRandomBytes(32);
    if (key.length !== 32) throw new RangeError('sealingKey must be 32 bytes');
    this.#sealingKey = Buffer.from(key);
    for (const [name, kmkEntry] of Object.entries(options.keyManagementKeys ?? {})) {
      const privateKey = kmkEntry instanceof Uint8Array ? createPrivateKey({ key: Buffer.from(kmkEntry), format: 'der', type: 'pkcs8' }) : kmkEntry;
      this.#kmks.set(name, { privateKey, spki: spkiOf(privateKey) });
    }
    this.#random = options.randomBytes ?? nodeRandomBytes;
    this.#cacheSize = options.sessionKeyCacheSize ?? 1024;
    this.#factory = options.ephemeralKeyFactory;
  }

  async generateEphemeralKey(curve: EcCurve): Promise<EphemeralKey> {
    const raw = this.#factory === undefined ? generateRawEcKeyPair(curve) : rawOf(this.#factory(curve));
    const secret = Buffer.concat([Buffer.of(curveIndex(curve)), raw.d]);
    raw.d.fill(0);
    const handle = this.#seal('e', secret);
    // The common case resumes in this process: keep the key at hand (used once, then dropped).
    remember(this.#ephemeralKeys, handle, secret, this.#cacheSize);
    return { publicKey: ecSpkiOfPoint(curve, raw.point), handle };
  }

  async deriveSessionKey(ephemeral: SealedRef, clientEphemeralKey: Uint8Array, kdfInput: Uint8Array): Promise<SealedRef> {
    const cached = this.#ephemeralKeys.get(ephemeral);
    this.#ephemeralKeys.delete(ephemeral);
    const sealed = cached ?? this.#unseal('e', ephemeral);
    const curve = CURVES.at(sealed.at(0) ?? 255);
    if (curve === undefined) throw new KeyGen2Error('INTERNAL', 'Unknown ephemeral key curve');
    const point = ecPointOf(curve, clientEphemeralKey);
    if (point === undefined)
      throw new KeyGen2Error('PROTOCOL', 'Client ephemeral key is not on the server ephemeral key curve', { path: '$.clientEphemeralKey' });
    let shared: Buffer;
    try {
      const ecdh = reusableEcdh(curve);
      ecdh.setPrivateKey(sealed.subarray(1));
      shared = ecdh.computeSecret(point);
    } catch (cause) {
      throw new KeyGen2Error('VERIFICATION', 'Verification failed', { path: '$.clientEphemeralKey', cause });
    } finally {
      sealed.fill(0);
    }
    const sk = deriveSessionKey(shared, kdfInput);
    shared.fill(0);
    const ref = this.#seal('s', sk);
    remember(this.#sessionKeys, ref, sk, this.#cacheSize);
    return ref;
  }

  async hmac(sessionKey: SealedRef, modifier: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
    const sk = this.#sessionKey(sessionKey);
    if (modifier.length === 0) return hmacSha256(sk, data);
    const key = Buffer.concat([sk, modifier]); // holds the session key: wiped once used
    try {
      return hmacSha256(key, data);
    } finally {
      key.fill(0);
    }
  }

  async encrypt(sessionKey: SealedRef, plaintext: Uint8Array): Promise<Uint8Array> {
    const ek = encryptionKey(this.#sessionKey(sessionKey));
    try {
      return encryptForSks(ek, plaintext, this.#random(16));
    } finally {
      ek.fill(0);
    }
  }

  async keyManagementKey(name: string): Promise<Uint8Array> {
    return this.#kmk(name).spki;
  }

  async sign(name: string, data: Uint8Array): Promise<Uint8Array> {
    const { privateKey } = this.#kmk(name);
    if (privateKey.asymmetricKeyType === 'ec') return nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    if (privateKey.asymmetricKeyType === 'rsa') return nodeSign('sha256', data, privateKey);
    throw new KeyGen2Error('INTERNAL', `Key management key "${name}" is neither RSA nor EC`);
  }

  async seal(secret: Uint8Array): Promise<SealedRef> {
    return this.#seal('x', Buffer.from(secret));
  }

  async unseal(ref: SealedRef): Promise<Uint8Array> {
    return this.#unseal('x', ref);
  }

  #kmk(name: string): { privateKey: KeyObject; spki: Buffer } {
    const kmkEntry = this.#kmks.get(name);
    if (kmkEntry === undefined) throw new KeyGen2Error('INTERNAL', `Unknown key management key "${name}"`);
    return kmkEntry;
  }

  #sessionKey(ref: SealedRef): Buffer {
    const cached = this.#sessionKeys.get(ref);
    if (cached !== undefined) return cached;
    const sk = this.#unseal('s', ref);
    remember(this.#sessionKeys, ref, sk, this.#cacheSize);
    return sk;
  }

  #seal(kind: SealKind, plaintext: Buffer): SealedRef {
    const iv = this.#iv();
    const cipher = createCipheriv('aes-256-gcm', this.#sealingKey, iv);
    cipher.setAAD(AAD[kind]);
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return `${kind}.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')}` as SealedRef;
  }

  /** A random 96-bit GCM nonce, drawn from a refilled 4 KiB buffer (one RNG call per 341 seals). */
  #iv(): Buffer {
    if (this.#ivPool.length - this.#ivOffset < 12) {
      this.#ivPool = nodeRandomBytes(4092);
      this.#ivOffset = 0;
    }
    const iv = this.#ivPool.subarray(this.#ivOffset, this.#ivOffset + 12);
    this.#ivOffset += 12;
    return iv;
  }

  #unseal(kind: SealKind, ref: string): Buffer {
    try {
      if (!ref.startsWith(`${kind}.`)) throw new Error('kind');
      const raw = Buffer.from(ref.slice(2), 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', this.#sealingKey, raw.subarray(0, 12));
      decipher.setAAD(AAD[kind]);
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    } catch (cause) {
      // A state sealed by another key, or tampered with: never say more.
      throw verificationErrorWithCause(cause);
    }
  }
}

/**
 * Bounded insertion-order cache of secrets: the oldest entry goes first, wiped (no caller keeps a
 * cached secret past its own synchronous use; a later use unseals it again from the state).
 */
function remember(cache: Map<string, Buffer>, ref: string, value: Buffer, size: number): void {
  if (size <= 0) return;
  if (cache.size >= size) {
    const oldest = cache.entries().next();
    if (oldest.done !== true) {
      cache.delete(oldest.value[0]);
      oldest.value[1].fill(0);
    }
  }
  cache.set(ref, value);
}

const CURVES: readonly EcCurve[] = ['P-256', 'P-384', 'P-521'];
const curveIndex = (c: EcCurve): number => CURVES.indexOf(c);

function rawOf(privateKey: KeyObject): RawEcKeyPair {
  const jwk = privateKey.export({ format: 'jwk' });
  return {
    d: Buffer.from(jwk.d ?? '', 'base64url'),
    point: Buffer.concat([Buffer.of(4), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]),
  };
}

function verificationErrorWithCause(cause: unknown): KeyGen2Error {
  const error = verificationError();
  return new KeyGen2Error(error.code, error.message, { cause });
}
