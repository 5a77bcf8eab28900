/**
 * The issuer's crypto port (spec §5.9, the reference's `ServerCryptoInterface`): every
 * operation that needs a server-held secret — the ephemeral ECDH private key, the session key,
 * key-management private keys, and secrets from the configuration — goes through it, so an HSM
 * can stand in for the node:crypto adapter. Public-key verification (device certificates,
 * session attestation signatures) is not here: it needs no secret.
 *
 * Secrets cross the state only as opaque, port-sealed strings ({@link SealedRef}): the
 * node:crypto adapter encrypts them under a key it holds, so a state persisted by one process
 * can be resumed by another process that holds the same sealing key.
 */
import type { EcCurve } from '../../sks/algorithms.js';

/** An opaque reference to a secret, produced and understood only by the port that made it. */
export type SealedRef = string & { readonly __sealed: unique symbol };

/** A fresh ephemeral EC key (spec §6.3 `serverEphemeralKey`). */
export interface EphemeralKey {
  /** Canonical SPKI of the public half (spec §4.8). */
  readonly publicKey: Uint8Array;
  /** Reference to the private half; used once, by {@link IssuerCryptoPort.deriveSessionKey}. */
  readonly handle: SealedRef;
}

export interface IssuerCryptoPort {
  /** A fresh ephemeral key pair on `curve` (spec §5.1 step 1). */
  generateEphemeralKey(curve: EcCurve): Promise<EphemeralKey>;
  /**
   * ECDH of the ephemeral private key with the client's ephemeral public key, then
   * `SK = HMAC(Z, kdfInput)` (spec §5.2). Returns a reference to `SK`.
   */
  deriveSessionKey(ephemeral: SealedRef, clientEphemeralKey: Uint8Array, kdfInput: Uint8Array): Promise<SealedRef>;
  /**
   * `HMAC(SK ‖ modifier, data)` (spec §5.4, §5.9 `mac`): method MACs and attestations
   * (`modifier = methodName ‖ u16(counter)`), the privacy-mode session attestation (empty
   * modifier) and target-key references (`modifier = deviceId`).
   */
  hmac(sessionKey: SealedRef, modifier: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** `IV ‖ AES-256-CBC(HMAC(SK, "EncryptionKey"), plaintext)` with a fresh IV (spec §5.6). */
  encrypt(sessionKey: SealedRef, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Canonical SPKI of the named key-management key (spec §5.7); INTERNAL error when unknown. */
  keyManagementKey(name: string): Promise<Uint8Array>;
  /**
   * Signs `data` with the named KMK: RSA → RSASSA-PKCS1-v1_5/SHA-256, EC → ECDSA/SHA-256 as
   * raw `r ‖ s` (spec §5.7).
   */
  sign(name: string, data: Uint8Array): Promise<Uint8Array>;
  /** Seals a secret from the configuration (PUK, preset PIN, encrypted-extension data). */
  seal(secret: Uint8Array): Promise<SealedRef>;
  /** The secret behind a {@link seal} reference. */
  unseal(ref: SealedRef): Promise<Uint8Array>;
}
