/**
 * Certificate paths (spec §4.9): base64url DER certificates, end-entity first, each signed by
 * the next. Like the reference reader, the order is checked (issuer DN of element i equals the
 * subject DN of element i+1 and i verifies with i+1's key) but no trust anchor is required.
 * Each certificate's structure is read by certificate-der.ts; OpenSSL is asked only about a link
 * that reader cannot decide.
 */
import { X509Certificate } from 'node:crypto';
import { schemaError } from '../errors.js';
import { certificateParts, issuedBy, type CertificateParts } from './certificate-der.js';
import { decodeBase64Url } from './base64url.js';
import { indexPath } from './path.js';
import { asSchema, type ObjectReader } from './reader.js';

const parts = (der: Uint8Array, path: string): CertificateParts => asSchema(path, 'not a DER X.509 certificate', () => certificateParts(der));

/** OpenSSL's answer for a link the DER reader cannot decide (names equal only after normalization, an unlisted algorithm). */
const opensslIssuedBy = (child: Uint8Array, parent: Uint8Array): boolean => {
  const [issued, issuing] = [new X509Certificate(Buffer.from(child)), new X509Certificate(Buffer.from(parent))];
  return issued.issuer === issuing.subject && issued.verify(issuing.publicKey);
};

/**
 * Paths that passed the check, by their base64url elements joined with '.'. The check is a pure
 * function of the bytes, so a device's certificate path (the same in every session it runs, and
 * re-checked there by both the message decoder and the issuer's trust check) costs one structure
 * check and signature verification per process instead of one per session. Bounded; oldest first out.
 */
const checked = new Set<string>();
const CHECKED_MAX = 1024;

/**
 * Checks that DER certificates form a path in §4.9 order; throws SCHEMA at the offending
 * element's path (`base` is the array's path).
 */
export function checkCertificatePath(ders: readonly Uint8Array[], base: string): void {
  checkPath(ders, base, ders.map((d) => Buffer.from(d.buffer, d.byteOffset, d.length).toString('base64url')).join('.'));
}

function checkPath(ders: readonly Uint8Array[], base: string, key: string): void {
  if (ders.length === 0) throw schemaError(base, 'empty certificate path');
  if (checked.has(key)) return;
  const certs = ders.map((der, i) => parts(der, indexPath(base, i)));
  for (let i = 0; i + 1 < certs.length; i++) {
    const [child, parent, childDer, parentDer] = [certs.at(i), certs.at(i + 1), ders.at(i), ders.at(i + 1)];
    if (child === undefined || parent === undefined || childDer === undefined || parentDer === undefined) break;
    const ok = asSchema(indexPath(base, i), 'certificate path order error', () => issuedBy(child, parent) ?? opensslIssuedBy(childDer, parentDer));
    if (!ok) throw schemaError(indexPath(base, i), 'certificate path order error (not issued by the next certificate)');
  }
  if (checked.size >= CHECKED_MAX) checked.delete(checked.values().next().value!);
  checked.add(key);
}

/** Reads a required certificate-path member (§4.9) as DER bytes, exactly as received. */
export function readCertificatePath(reader: ObjectReader, name = 'certificatePath'): Uint8Array[] {
  const base = reader.pathOf(name);
  const strings = reader.stringArray(name, { nonEmpty: true });
  const ders = strings.map((s, i) => decodeBase64Url(s, indexPath(base, i)));
  // decodeBase64Url accepts canonical base64url only, so the strings name the bytes one-to-one.
  checkPath(ders, base, strings.join('.'));
  return ders;
}

/** True if the DER certificate is a CA (basicConstraints cA), the client's `trustAnchor` check (§6.9.1). */
export function isCaCertificate(der: Uint8Array): boolean {
  try {
    return new X509Certificate(Buffer.from(der)).ca;
  } catch {
    return false;
  }
}
