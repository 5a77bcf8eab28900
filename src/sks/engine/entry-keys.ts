/**
 * A key entry's public and private KeyObjects, made on first use. Making one costs an OpenSSL
 * import (~65 µs for an EC key, ~370 µs for a PKCS#8 decode), while provisioning and the close
 * need only the key's encodings, and a store visits every key it holds at each close (the
 * duplicate-certificate test). A generated EC pair keeps its raw values until then
 * (crypto/keygen.ts `GeneratedEcKeyPair`); a key read from the store keeps its SPKI and PKCS#8.
 * While both halves are still the generated pair they match by construction, and the close
 * needs no key-match test.
 */
import type { KeyObject } from 'node:crypto';
import { GeneratedEcKeyPair } from '../crypto/keygen.js';
import { canonicalEcPoint, isRsa, parsePkcs8, parseSpki, pkcs8Of, pkcs8OfGeneratedPair } from '../crypto/keys.js';
import { wipe } from '../crypto/primitives.js';

interface Pair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A key as the store holds it: SPKI, and PKCS#8 (plaintext, owned here and wiped once parsed). */
interface Stored {
  readonly spki: Buffer;
  pkcs8: Buffer | null;
}

export class EntryKeys {
  readonly #generated: Pair | null;
  readonly #stored: Stored | null;
  /** Set once made from the stored form, or once a half is replaced (a certificate for another key, an imported private key). */
  #publicKey: KeyObject | undefined;
  #privateKey: KeyObject | null | undefined;

  private constructor(generated: Pair | null, stored: Stored | null) {
    this.#generated = generated;
    this.#stored = stored;
  }

  /** The pair createKeyEntry generated. */
  static generated(pair: Pair): EntryKeys {
    return new EntryKeys(pair, null);
  }

  /** A key read back from the store; `pkcs8` (null without a private key) is handed over. */
  static stored(spki: Buffer, pkcs8: Buffer | null): EntryKeys {
    return new EntryKeys(null, { spki, pkcs8 });
  }

  get publicKey(): KeyObject {
    if (this.#publicKey !== undefined) return this.#publicKey;
    if (this.#generated !== null) return this.#generated.publicKey;
    this.#publicKey = parseSpki(this.#stored!.spki);
    return this.#publicKey;
  }

  set publicKey(key: KeyObject) {
    this.#publicKey = key;
  }

  get privateKey(): KeyObject | null {
    if (this.#privateKey !== undefined) return this.#privateKey;
    if (this.#generated !== null) return this.#generated.privateKey;
    const stored = this.#stored!;
    if (stored.pkcs8 === null) {
      this.#privateKey = null;
      return null;
    }
    // A PKCS#8 that does not parse stays, so that every use fails alike (ERROR_CRYPTO).
    const privateKey = parsePkcs8(stored.pkcs8);
    wipe(stored.pkcs8); // the KeyObject is the live form now
    stored.pkcs8 = null;
    this.#privateKey = privateKey;
    return privateKey;
  }

  set privateKey(key: KeyObject | null) {
    this.#privateKey = key;
  }

  /** Both halves are still the generated pair. */
  get stillGenerated(): boolean {
    return this.#generated !== null && this.#publicKey === undefined && this.#privateKey === undefined;
  }

  /** Whether the public key is RSA; a generated EC pair's or a canonical EC SPKI's answer needs no KeyObject. */
  get publicIsRsa(): boolean {
    if (this.#publicKey === undefined) {
      if (this.#generated instanceof GeneratedEcKeyPair) return false;
      if (this.#stored !== null && canonicalEcPoint(this.#stored.spki) !== undefined) return false;
    }
    return isRsa(this.publicKey);
  }

  /** PKCS#8 of the private key (the caller owns and wipes it), or null without one. */
  pkcs8(): Buffer | null {
    if (this.#privateKey === undefined) {
      if (this.#generated !== null) return pkcs8OfGeneratedPair(this.#generated);
      const stored = this.#stored!.pkcs8;
      if (stored !== null) return Buffer.from(stored); // what the store holds, not re-encoded
    }
    const privateKey = this.privateKey;
    return privateKey === null ? null : pkcs8Of(privateKey);
  }

  /** Wipes the plaintext private key held outside a KeyObject, for an entry that is going away. */
  wipe(): void {
    if (this.#generated instanceof GeneratedEcKeyPair && !this.#generated.imported) this.#generated.wipe();
    if (this.#stored?.pkcs8 != null) {
      wipe(this.#stored.pkcs8);
      this.#stored.pkcs8 = null;
    }
  }
}
