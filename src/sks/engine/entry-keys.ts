/**
 * A key entry's public and private KeyObjects. While they are the pair createKeyEntry generated,
 * they are taken from that pair on first use only: a generated EC pair makes its KeyObjects
 * lazily (crypto/keygen.ts `GeneratedEcKeyPair` says why), and provisioning needs only the
 * key's encodings. While both halves are still that pair they match by construction, and the
 * close needs no key-match test.
 */
import type { KeyObject } from 'node:crypto';
import { GeneratedEcKeyPair } from '../crypto/keygen.js';
import { isRsa, pkcs8Of, pkcs8OfGeneratedPair } from '../crypto/keys.js';

interface Pair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export class EntryKeys {
  readonly #generated: Pair | null;
  /** Set once a half is replaced (a certificate for another key, an imported private key). */
  #publicKey: KeyObject | undefined;
  #privateKey: KeyObject | null | undefined;

  private constructor(generated: Pair | null, publicKey?: KeyObject, privateKey?: KeyObject | null) {
    this.#generated = generated;
    this.#publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /** The pair createKeyEntry generated. */
  static generated(pair: Pair): EntryKeys {
    return new EntryKeys(pair);
  }

  /** Keys read back from the store. */
  static loaded(publicKey: KeyObject, privateKey: KeyObject | null): EntryKeys {
    return new EntryKeys(null, publicKey, privateKey);
  }

  get publicKey(): KeyObject {
    // One of the two is always set: `loaded` sets the public key, `generated` the pair.
    return this.#publicKey ?? this.#generated!.publicKey;
  }

  set publicKey(key: KeyObject) {
    this.#publicKey = key;
  }

  get privateKey(): KeyObject | null {
    if (this.#privateKey !== undefined) return this.#privateKey;
    return this.#generated?.privateKey ?? null;
  }

  set privateKey(key: KeyObject | null) {
    this.#privateKey = key;
  }

  /** Both halves are still the generated pair. */
  get stillGenerated(): boolean {
    return this.#generated !== null && this.#publicKey === undefined && this.#privateKey === undefined;
  }

  /** Whether the public key is RSA; a generated EC pair's answer needs no KeyObject. */
  get publicIsRsa(): boolean {
    if (this.#publicKey === undefined && this.#generated instanceof GeneratedEcKeyPair) return false;
    return isRsa(this.publicKey);
  }

  /** PKCS#8 of the private key (the caller owns and wipes it), or null without one. */
  pkcs8(): Buffer | null {
    if (this.#privateKey === undefined && this.#generated !== null) return pkcs8OfGeneratedPair(this.#generated);
    const privateKey = this.privateKey;
    return privateKey === null ? null : pkcs8Of(privateKey);
  }
}
