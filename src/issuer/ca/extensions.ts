/**
 * The X.509 v3 extensions the CA writes (RFC 5280 §4.2.1), each as a whole
 * DER `Extension`. The constant ones are built once per CA or per profile.
 */
import { IssuerError } from '../errors.js';
import { TAG, boolean, implicitPrimitive, octetString, oid, sequence, smallInteger, tlv } from './der.js';

/** KeyUsage bit names (RFC 5280 §4.2.1.3); `nonRepudiation` is X.509's `contentCommitment`. */
export type KeyUsageName =
  'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign' | 'encipherOnly' | 'decipherOnly';

export const KEY_USAGE_BITS: Readonly<Record<KeyUsageName, number>> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};

/** Extended key usage purposes (RFC 5280 §4.2.1.12), by name. */
export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

// Encoded once: oid() parses dotted text with BigInt, too slow to repeat per certificate.
const ID = {
  basicConstraints: oid('2.5.29.19'),
  keyUsage: oid('2.5.29.15'),
  extKeyUsage: oid('2.5.29.37'),
  subjectKeyIdentifier: oid('2.5.29.14'),
  authorityKeyIdentifier: oid('2.5.29.35'),
  subjectAltName: oid('2.5.29.17'),
};
const CRITICAL = boolean(true);

const extension = (id: Buffer, critical: boolean, value: Uint8Array): Buffer =>
  critical ? sequence(id, CRITICAL, octetString(value)) : sequence(id, octetString(value));

/** BasicConstraints, critical. `CA:false` is the empty SEQUENCE (cA's DEFAULT FALSE is omitted in DER). */
export function basicConstraints(ca: boolean, pathLength?: number): Buffer {
  const content = ca ? (pathLength === undefined ? [boolean(true)] : [boolean(true), smallInteger(pathLength)]) : [];
  return extension(ID.basicConstraints, true, sequence(...content));
}

/** KeyUsage, critical: a named-bit BIT STRING without trailing zero bits (X.690 §11.2.2). */
export function keyUsage(usages: readonly KeyUsageName[]): Buffer {
  if (usages.length === 0) throw new IssuerError('INTERNAL', 'key usage must not be empty');
  let mask = 0;
  for (const keyUsageName of usages) mask |= 1 << KEY_USAGE_BITS[keyUsageName];
  const highest = 31 - Math.clz32(mask); // bit numbers count from the most significant bit of the first octet
  const octets = Math.floor(highest / 8) + 1;
  const bytes = Buffer.alloc(octets);
  for (let bit = 0; bit <= highest; bit++) if (mask & (1 << bit)) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  const unused = octets * 8 - 1 - highest;
  return extension(ID.keyUsage, true, tlv(TAG.BIT_STRING, Buffer.from([unused]), bytes));
}

/** ExtendedKeyUsage, not critical (so relying parties that ignore it still see the KeyUsage). */
export function extendedKeyUsage(oids: readonly string[]): Buffer {
  return extension(ID.extKeyUsage, false, sequence(...oids.map(oid)));
}

/** SubjectKeyIdentifier, not critical (RFC 5280 §4.2.1.2). */
export const subjectKeyIdentifier = (keyId: Uint8Array): Buffer => extension(ID.subjectKeyIdentifier, false, octetString(keyId));

/** AuthorityKeyIdentifier with keyIdentifier only, not critical (RFC 5280 §4.2.1.1). */
export const authorityKeyIdentifier = (keyId: Uint8Array): Buffer => extension(ID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId)));

/** SubjectAltName with rfc822Name entries, not critical (the subject DN is not empty). */
export function subjectAltNameEmails(emails: readonly string[]): Buffer {
  return extension(ID.subjectAltName, false, sequence(...emails.map((e) => implicitPrimitive(1, Buffer.from(e, 'latin1')))));
}

/** RFC 5321 Mailbox shape, ASCII only (rfc822Name is an IA5String; no SmtpUTF8Mailbox here). */
export const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
