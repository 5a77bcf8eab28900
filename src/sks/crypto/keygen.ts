/**
 * Key generation whose KeyObjects share nothing with a Node key-generation job.
 *
 * Node 20's `generateKeyPair(Sync)` returns KeyObjects that share a mutex with the generation
 * job, and the job's destructor takes that mutex. Reading `asymmetricKeyDetails` or exporting a
 * JWK holds the mutex while allocating; when that allocation starts a garbage collection that
 * destroys the job, the thread waits on itself for ever (seen here: a process running KeyGen2
 * sessions stopped, idle, after some thousands of them, in GetEcKeyDetail under ~KeyGenJob).
 * So EC keys are made with an ECDH object (and imported as a JWK when a KeyObject is needed), and
 * RSA and Ed25519 keys are imported from the PKCS#8 the job encodes itself: no job ever owns a key
 * we hand out.
 */
import { createECDH, createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync, type ECDH, type KeyObject } from 'node:crypto';
import { EC_CURVES, type EcCurve } from '../algorithms.js';

export interface GeneratedKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** One ECDH object per curve, reused: constructing one costs more than generating a key with it. */
const ECDH_BY_CURVE = new Map<EcCurve, ECDH>();

/**
 * The curve's reusable ECDH object. Whoever sets or generates its key reads what it needs in the
 * same synchronous run: the next use replaces the key.
 */
export function reusableEcdh(curve: EcCurve): ECDH {
  let ecdh = ECDH_BY_CURVE.get(curve);
  if (ecdh === undefined) {
    ecdh = createECDH(EC_CURVES[curve].nodeName);
    ECDH_BY_CURVE.set(curve, ecdh);
  }
  return ecdh;
}

/** {@link reusableEcdh} holding a freshly generated key pair. */
export function freshEcdh(curve: EcCurve): ECDH {
  const ecdh = reusableEcdh(curve);
  ecdh.generateKeys();
  return ecdh;
}

/** A raw EC key pair: the private scalar padded to the curve size, and the uncompressed point `04 ‖ x ‖ y`. */
export interface RawEcKeyPair {
  readonly d: Buffer;
  readonly point: Buffer;
}

export function generateRawEcKeyPair(curve: EcCurve): RawEcKeyPair {
  const ecdh = freshEcdh(curve);
  const size = EC_CURVES[curve].coordinateLength;
  const scalar = ecdh.getPrivateKey(); // without leading zero octets
  if (scalar.length === size) return { d: scalar, point: ecdh.getPublicKey() };
  const padded = Buffer.alloc(size);
  scalar.copy(padded, size - scalar.length);
  scalar.fill(0);
  return { d: padded, point: ecdh.getPublicKey() };
}

/**
 * An EC key pair generated here, held as its raw scalar and point until a KeyObject is asked
 * for. Making the KeyObjects means a JWK import whose public-key check (a scalar multiplication)
 * costs ~65 µs, five times the generation; a key under provisioning only needs its encodings
 * (SPKI for the attestation, PKCS#8 for the store), which are built from the raw values, and its
 * KeyObjects may never be used in this process.
 */
export class GeneratedEcKeyPair implements GeneratedKeyPair {
  readonly curve: EcCurve;
  /** `04 ‖ x ‖ y`. */
  readonly point: Buffer;
  /** The scalar padded to the curve size; wiped once the private KeyObject holds it. */
  readonly #d: Buffer;
  #privateKey: KeyObject | undefined;
  #publicKey: KeyObject | undefined;

  constructor(curve: EcCurve, raw: RawEcKeyPair) {
    this.curve = curve;
    this.point = raw.point;
    this.#d = raw.d;
  }

  /** True once a KeyObject exists: from then on the scalar lives only in OpenSSL. */
  get imported(): boolean {
    return this.#privateKey !== undefined;
  }

  get privateKey(): KeyObject {
    if (this.#privateKey === undefined) {
      const size = EC_CURVES[this.curve].coordinateLength;
      this.#privateKey = createPrivateKey({
        key: {
          kty: 'EC',
          crv: this.curve,
          x: this.point.subarray(1, 1 + size).toString('base64url'),
          y: this.point.subarray(1 + size).toString('base64url'),
          d: this.#d.toString('base64url'),
        },
        format: 'jwk',
      });
      this.#d.fill(0);
    }
    return this.#privateKey;
  }

  get publicKey(): KeyObject {
    this.#publicKey ??= createPublicKey(this.privateKey);
    return this.#publicKey;
  }

  /** Wipes the scalar of a pair whose private KeyObject was never made; it cannot be made afterwards. */
  wipe(): void {
    this.#d.fill(0);
  }

  /**
   * Lends the padded scalar to `use` while no KeyObject exists (after that, undefined: read the
   * key from the KeyObject). `use` must not keep it.
   */
  withScalar<T>(use: (d: Buffer) => T): T | undefined {
    return this.imported ? undefined : use(this.#d);
  }
}

export function generateEcKeyPair(curve: EcCurve): GeneratedEcKeyPair {
  return new GeneratedEcKeyPair(curve, generateRawEcKeyPair(curve));
}

/** The pair of a PKCS#8 private key a generation job encoded; `der` is wiped. */
export const importPkcs8 = (der: Buffer): GeneratedKeyPair => {
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } finally {
    der.fill(0);
  }
};

/** RSA key generation runs on the thread pool (tens to hundreds of milliseconds). */
export function generateRsaKeyPair(modulusLength: number, publicExponent: number): Promise<GeneratedKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength, publicExponent, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } },
      (error, _publicKey, privateKey) => {
        if (error) {
          reject(error);
          return;
        }
        try {
          resolve(importPkcs8(privateKey));
        } catch (importError) {
          // A throw here would escape the callback as an uncaught exception.
          reject(importError instanceof Error ? importError : new Error(String(importError)));
        }
      },
    );
  });
}

/**
 * A copy of a private key that no key-generation job owns, for keys a caller hands in: its
 * PKCS#8 re-imported (a DER export, unlike a JWK export or the key's details, takes no lock).
 */
export function detachedPrivateKey(key: KeyObject): KeyObject {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export function generateEd25519KeyPair(): GeneratedKeyPair {
  return importPkcs8(
    generateKeyPairSync('ed25519', { publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } }).privateKey,
  );
}
