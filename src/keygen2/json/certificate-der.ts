/**
 * The parts of a DER X.509 certificate (RFC 5280 §4.1) that a certificate-path check needs,
 * located with the SKS's strict DER reader. Parsing a certificate with OpenSSL
 * (`X509Certificate`) costs about 60 µs, a tenth of a whole KeyGen2 session's own work; this
 * walks the same structure in a few microseconds and checks a link's signature with one
 * `verify` call. Algorithms it does not know are left to OpenSSL by the caller.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readTlv, type Tlv } from '../../sks/crypto/der.js';

export interface CertificateParts {
  /** The whole TBSCertificate TLV: the signed bytes. */
  readonly tbs: Uint8Array;
  /** The outer signatureAlgorithm TLV (equal to the one inside the TBSCertificate). */
  readonly signatureAlgorithm: Uint8Array;
  /** The signature value (the BIT STRING's content after its zero unused-bits octet). */
  readonly signature: Uint8Array;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly subjectPublicKeyInfo: Uint8Array;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const BOOLEAN = 0x01;
const OID = 0x06;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const EXTENSIONS = 0xa3;
/** The optional TBSCertificate fields after the key, by tag, in their order: [1] and [2] IMPLICIT unique ids, [3] EXPLICIT extensions. */
const OPTIONAL_FIELDS: ReadonlyMap<number, number> = new Map([
  [0x81, 1],
  [0x82, 2],
  [EXTENSIONS, 3],
]);

class NotACertificate extends Error {}

function expect(der: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(der, offset, limit);
  if (tlv.tag !== tag) throw new NotACertificate(`${what}: tag 0x${tlv.tag.toString(16)}`);
  return tlv;
}

const whole = (der: Uint8Array, tlv: Tlv): Uint8Array => der.subarray(tlv.headerStart, tlv.end);

function checkSpki(der: Uint8Array, spki: Tlv): void {
  const algorithm = expect(der, spki.start, spki.end, SEQUENCE, 'subjectPublicKeyInfo.algorithm');
  expect(der, algorithm.start, algorithm.end, OID, 'subjectPublicKeyInfo.algorithm.algorithm');
  const key = expect(der, algorithm.end, spki.end, BIT_STRING, 'subjectPublicKeyInfo.subjectPublicKey');
  if (key.end !== spki.end || key.start === key.end) throw new NotACertificate('subjectPublicKeyInfo');
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function checkExtensions(der: Uint8Array, wrapper: Tlv): void {
  const list = expect(der, wrapper.start, wrapper.end, SEQUENCE, 'extensions');
  if (list.end !== wrapper.end || list.start === list.end) throw new NotACertificate('extensions');
  for (let at = list.start; at < list.end;) {
    const extension = expect(der, at, list.end, SEQUENCE, 'extension');
    let field = expect(der, extension.start, extension.end, OID, 'extension.extnID');
    field = readTlv(der, field.end, extension.end);
    if (field.tag === BOOLEAN) field = readTlv(der, field.end, extension.end);
    if (field.tag !== OCTET_STRING || field.end !== extension.end) throw new NotACertificate('extension.extnValue');
    at = extension.end;
  }
}

/**
 * Locates the parts of `der` and checks the certificate's structure: the three outer elements,
 * the TBSCertificate's fields in order (optional version, serial, signature, issuer, validity
 * with two times, subject, subjectPublicKeyInfo, then optional unique ids and extensions), the
 * two signature algorithms equal, nothing after the end. Throws on anything else.
 */
export function certificateParts(der: Uint8Array): CertificateParts {
  const certificate = expect(der, 0, der.length, SEQUENCE, 'Certificate');
  if (certificate.end !== der.length) throw new NotACertificate('bytes after the certificate');
  const tbs = expect(der, certificate.start, certificate.end, SEQUENCE, 'tbsCertificate');
  const outerAlgorithm = expect(der, tbs.end, certificate.end, SEQUENCE, 'signatureAlgorithm');
  const signature = expect(der, outerAlgorithm.end, certificate.end, BIT_STRING, 'signatureValue');
  if (signature.end !== certificate.end || signature.start === signature.end || der[signature.start] !== 0) throw new NotACertificate('signatureValue');

  let field = readTlv(der, tbs.start, tbs.end);
  if (field.tag === 0xa0) {
    const version = expect(der, field.start, field.end, INTEGER, 'version');
    if (version.end !== field.end) throw new NotACertificate('version');
    field = readTlv(der, field.end, tbs.end);
  }
  if (field.tag !== INTEGER) throw new NotACertificate('serialNumber');
  const innerAlgorithm = expect(der, field.end, tbs.end, SEQUENCE, 'signature');
  if (Buffer.compare(whole(der, innerAlgorithm), whole(der, outerAlgorithm)) !== 0) throw new NotACertificate('the two signature algorithms differ');
  const issuer = expect(der, innerAlgorithm.end, tbs.end, SEQUENCE, 'issuer');
  const validity = expect(der, issuer.end, tbs.end, SEQUENCE, 'validity');
  const notBefore = readTlv(der, validity.start, validity.end);
  const notAfter = readTlv(der, notBefore.end, validity.end);
  for (const time of [notBefore, notAfter]) if (time.tag !== UTC_TIME && time.tag !== GENERALIZED_TIME) throw new NotACertificate('validity');
  if (notAfter.end !== validity.end) throw new NotACertificate('validity');
  const subject = expect(der, validity.end, tbs.end, SEQUENCE, 'subject');
  const spki = expect(der, subject.end, tbs.end, SEQUENCE, 'subjectPublicKeyInfo');
  checkSpki(der, spki);
  let lastOptional = 0;
  for (let at = spki.end; at < tbs.end;) {
    const optional = readTlv(der, at, tbs.end);
    const order = OPTIONAL_FIELDS.get(optional.tag);
    if (order === undefined || order <= lastOptional) throw new NotACertificate('tbsCertificate: unexpected field');
    if (optional.tag === EXTENSIONS) checkExtensions(der, optional);
    lastOptional = order;
    at = optional.end;
  }
  return {
    tbs: whole(der, tbs),
    signatureAlgorithm: whole(der, outerAlgorithm),
    signature: der.subarray(signature.start + 1, signature.end),
    issuer: whole(der, issuer),
    subject: whole(der, subject),
    subjectPublicKeyInfo: whole(der, spki),
  };
}

/** Bytes as hex, without copying them first. */
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** AlgorithmIdentifier DER (hex) → the digest and key type `verify` needs. */
const SIGNATURE_ALGORITHMS: ReadonlyMap<string, { readonly digest: string | null; readonly keyType: string }> = new Map([
  ['300a06082a8648ce3d040302', { digest: 'sha256', keyType: 'ec' }],
  ['300a06082a8648ce3d040303', { digest: 'sha384', keyType: 'ec' }],
  ['300a06082a8648ce3d040304', { digest: 'sha512', keyType: 'ec' }],
  ['300d06092a864886f70d01010b0500', { digest: 'sha256', keyType: 'rsa' }],
  ['300d06092a864886f70d01010c0500', { digest: 'sha384', keyType: 'rsa' }],
  ['300d06092a864886f70d01010d0500', { digest: 'sha512', keyType: 'rsa' }],
  // SHA-1 RSA: the reference's own device certificates are signed so (OpenSSL still verifies it).
  ['300d06092a864886f70d0101050500', { digest: 'sha1', keyType: 'rsa' }],
  ['300506032b6570', { digest: null, keyType: 'ed25519' }],
]);

/** Issuer public keys by SPKI (hex): a path's CA certificates repeat from session to session. Bounded. */
const issuerKeys = new Map<string, KeyObject>();
const ISSUER_KEYS_MAX = 256;

function issuerKey(spki: Uint8Array): KeyObject {
  const id = hex(spki);
  let key = issuerKeys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    if (issuerKeys.size >= ISSUER_KEYS_MAX) issuerKeys.delete(issuerKeys.keys().next().value!);
    issuerKeys.set(id, key);
  }
  return key;
}

/**
 * Is `child` issued by `parent`: issuer name equal to the parent's subject, byte for byte, and
 * the signature valid under the parent's key? `undefined` when this reader cannot decide (names
 * that differ only in encoding, a signature algorithm it does not know): the caller asks OpenSSL.
 */
export function issuedBy(child: CertificateParts, parent: CertificateParts): boolean | undefined {
  if (Buffer.compare(child.issuer, parent.subject) !== 0) return undefined;
  const algorithm = SIGNATURE_ALGORITHMS.get(hex(child.signatureAlgorithm));
  if (algorithm === undefined) return undefined;
  const key = issuerKey(parent.subjectPublicKeyInfo);
  if (key.asymmetricKeyType !== algorithm.keyType) return false;
  return verify(algorithm.digest, child.tbs, key, child.signature);
}
