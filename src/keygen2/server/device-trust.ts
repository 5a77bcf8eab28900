/**
 * Trusted device roots (spec §5.3: "issuers should validate the device certificate path against
 * the SKS vendor roots they trust"; the reference does not, quirk 17).
 *
 * A path is accepted when each certificate is issued by (a CA) and verifies with the next one, and the
 * last one either is a trusted root or is issued by and verifies with one. Validity periods are
 * not checked (SKS and KeyGen2 do not; the reference's test device certificate expires in 2050
 * but its peers expired long ago). Verified paths are cached by their DER, so the same device
 * model costs one map lookup after the first session.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { KeyGen2Error } from '../errors.js';

export interface VerifiedDevice {
  /** The device (end-entity) certificate's public key, which signs the session attestation. */
  readonly publicKey: KeyObject;
}

/**
 * @example
 * const trust = new DeviceTrust([vendorRootDer]);
 * const { publicKey } = trust.verify(response.deviceId.certificatePath); // POLICY error when untrusted
 */
export class DeviceTrust {
  readonly #roots: readonly X509Certificate[];
  readonly #rootDers: ReadonlySet<string>;
  readonly #cache = new Map<string, VerifiedDevice>();
  readonly #cacheSize: number;

  /** `roots`: DER certificates of the device vendors' CAs the issuer trusts. */
  constructor(roots: readonly Uint8Array[], options: { readonly cacheSize?: number } = {}) {
    this.#roots = roots.map((r) => new X509Certificate(Buffer.from(r)));
    this.#rootDers = new Set(roots.map((r) => Buffer.from(r).toString('base64')));
    this.#cacheSize = options.cacheSize ?? 4096;
  }

  /**
   * Verifies a device certificate path (end-entity first). Throws POLICY when it does not chain
   * to a trusted root, SCHEMA when a certificate does not parse.
   */
  verify(path: readonly Uint8Array[]): VerifiedDevice {
    if (path.length === 0) throw new KeyGen2Error('SCHEMA', 'Empty device certificate path', { path: '$.deviceId.certificatePath' });
    const cacheKey = path.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length).toString('base64')).join('.');
    const hit = this.#cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const certs = path.map((der, index) => {
      try {
        return new X509Certificate(Buffer.from(der));
      } catch (cause) {
        throw new KeyGen2Error('SCHEMA', 'Device certificate does not parse', { path: `$.deviceId.certificatePath[${index}]`, cause });
      }
    });
    for (let i = 0; i + 1 < certs.length; i++) {
      const [x509Certificate, issuer] = [certs[i], certs[i + 1]];
      if (!issuer.ca || !x509Certificate.checkIssued(issuer) || !x509Certificate.verify(issuer.publicKey)) {
        throw new KeyGen2Error('POLICY', 'Device certificate path does not chain', { path: `$.deviceId.certificatePath[${i}]` });
      }
    }
    const last = certs[certs.length - 1];
    const anchored =
      this.#rootDers.has(Buffer.from(path[path.length - 1]).toString('base64')) ||
      this.#roots.some((root) => last.checkIssued(root) && last.verify(root.publicKey));
    if (!anchored) throw new KeyGen2Error('POLICY', 'Device certificate path does not chain to a trusted root', { path: '$.deviceId.certificatePath' });
    const verified: VerifiedDevice = { publicKey: certs[0].publicKey };
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(cacheKey, verified);
    return verified;
  }
}
