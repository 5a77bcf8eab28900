/**
 * The attestation policy: which devices an issuer accepts (device certificate
 * paths chaining to a trusted manufacturer root; privacy-mode devices only
 * when allowed) and which key algorithms it certifies. A device that fails
 * it is refused before anything is issued (the KeyGen2 route answers a 302
 * to the error page that says why).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IssuerError } from '../errors.js';
import { KEY_ALGORITHMS } from './templates.js';

export interface AttestationPolicy {
  /** DER of each trusted manufacturer (device vendor) root. */
  readonly trustRoots: readonly Uint8Array[];
  /** Whether privacy-enabled sessions (no device identity) are accepted. */
  readonly allowPrivacy: boolean;
  /** SKS key algorithm URIs the issuer certifies. */
  readonly allowedAlgorithms: readonly string[];
}

/** Default allowed algorithms: EC P-256/P-384 and RSA 2048-4096. */
export const DEFAULT_ALLOWED_ALGORITHMS: readonly string[] = ['ec-p256', 'ec-p384', 'rsa2048', 'rsa3072', 'rsa4096'].map((n) => KEY_ALGORITHMS[n]);

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

/**
 * Every certificate in the PEM (or DER `.cer`/`.der`) files of `dirs`
 * (missing folders are skipped: the manufacturer-CA folder of
 * `$AIRTIGHT_HOME` exists only after `airtight device init`). A certificate
 * that does not parse is a CONFIG error naming the file.
 */
export function loadTrustRoots(dirs: readonly string[]): Uint8Array[] {
  const roots: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (!statSync(file).isFile()) continue;
      const ders: Buffer[] = [];
      try {
        if (/\.(pem|crt)$/i.test(name)) {
          for (const block of readFileSync(file, 'latin1').match(PEM_CERT) ?? []) ders.push(new X509Certificate(block).raw);
        } else if (/\.(der|cer)$/i.test(name)) {
          ders.push(new X509Certificate(readFileSync(file)).raw);
        }
      } catch (cause) {
        throw new IssuerError('CONFIG', `trust root ${file} does not parse as an X.509 certificate`, { field: 'trustRootsDir', cause });
      }
      for (const der of ders) {
        const key = der.toString('base64');
        if (!seen.has(key)) roots.push(der);
        seen.add(key);
      }
    }
  }
  return roots;
}

/** Refuses a key algorithm the policy does not allow (POLICY: nothing is issued for it). */
export function checkKeyAlgorithm(policy: AttestationPolicy, keyAlgorithm: string): void {
  if (!policy.allowedAlgorithms.includes(keyAlgorithm)) {
    throw new IssuerError('POLICY', `key algorithm ${keyAlgorithm} is not allowed by this issuer`, { field: 'keyAlgorithm' });
  }
}
