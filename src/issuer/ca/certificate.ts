/**
 * X.509 v3 certificate assembly (RFC 5280 §4.1) shared by CA creation and
 * end-entity issuance, and the reader for the CA's own certificates.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { IssuerError } from '../errors.js';
import type { CaAlgorithm } from './algorithms.js';
import { TAG, bitStringOctets, expectTlv, explicit, readTlv, sequence, smallInteger, time, unsignedInteger } from './der.js';

/** `[0] EXPLICIT Version v3`: the same three bytes in every certificate we write. */
const VERSION_V3 = explicit(0, smallInteger(2));

export interface TbsFields {
  /** Big-endian magnitude of the positive serial number. */
  readonly serial: Uint8Array;
  /** DER AlgorithmIdentifier, repeated in the Certificate's signatureAlgorithm. */
  readonly signatureAlgorithm: Buffer;
  /** DER Name of the issuer, byte-equal to the issuing certificate's subject. */
  readonly issuer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Buffer;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** DER Extension values in the order they appear. */
  readonly extensions: readonly Buffer[];
}

/** DER TBSCertificate of the fields. */
export function encodeTbs(tbsFields: TbsFields): Buffer {
  return sequence(
    VERSION_V3,
    unsignedInteger(tbsFields.serial),
    tbsFields.signatureAlgorithm,
    tbsFields.issuer,
    sequence(time(tbsFields.notBefore), time(tbsFields.notAfter)),
    tbsFields.subject,
    tbsFields.spki,
    explicit(3, sequence(...tbsFields.extensions)),
  );
}

/**
 * Signs a TBSCertificate and wraps it into a Certificate. The only place a
 * CA key signs. Throws `CA` (with OpenSSL's error only as the cause).
 */
export function signTbs(tbs: Buffer, algorithm: CaAlgorithm, key: KeyObject): Buffer {
  let signature: Buffer;
  try {
    signature = sign(algorithm.hash, tbs, { key, dsaEncoding: algorithm.dsaEncoding });
  } catch (error) {
    throw new IssuerError('CA', 'signing a certificate failed', { cause: error });
  }
  return sequence(tbs, algorithm.signatureAlgorithm, bitStringOctets(signature));
}

/**
 * {@link signTbs} on libuv's thread pool (node's callback form of `sign`):
 * the event loop stays free during an RSA signature (~0.3-0.6 ms), and with
 * several in flight the signatures use every core.
 */
export function signTbsAsync(tbs: Buffer, algorithm: CaAlgorithm, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    sign(algorithm.hash, tbs, { key, dsaEncoding: algorithm.dsaEncoding }, (error, signature) => {
      if (error) reject(new IssuerError('CA', 'signing a certificate failed', { cause: error }));
      else resolve(sequence(tbs, algorithm.signatureAlgorithm, bitStringOctets(signature)));
    });
  });
}

/** What the CA needs from a CA certificate to issue under it. */
export interface CaCertificateInfo {
  /** Its subject Name exactly as encoded: the issuer of what it signs. */
  readonly subject: Buffer;
  /** Its SubjectKeyIdentifier, or SHA-1 of its key when it has none (RFC 5280 §4.2.1.2 method 1). */
  readonly keyIdentifier: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Takes apart a DER certificate far enough for {@link CaCertificateInfo}; `what` names it in errors. */
export function readCaCertificate(der: Buffer, what: string): CaCertificateInfo {
  const fail = (): IssuerError => new IssuerError('CA', `${what} is not a valid X.509 certificate`, { field: what });
  try {
    const cert = expectTlv(der, 0, der.length, TAG.SEQUENCE, what);
    if (cert.end !== der.length) throw fail();
    const tbs = expectTlv(der, cert.start, cert.end, TAG.SEQUENCE, what);
    let tlv = readTlv(der, tbs.start, tbs.end, what);
    if (tlv.tag === 0xa0) tlv = readTlv(der, tlv.end, tbs.end, what); // version; now serialNumber
    const signature = readTlv(der, tlv.end, tbs.end, what);
    const issuer = readTlv(der, signature.end, tbs.end, what);
    const validity = expectTlv(der, issuer.end, tbs.end, TAG.SEQUENCE, what);
    const nb = readTlv(der, validity.start, validity.end, what);
    const na = readTlv(der, nb.end, validity.end, what);
    const subject = expectTlv(der, validity.end, tbs.end, TAG.SEQUENCE, what);
    const spki = expectTlv(der, subject.end, tbs.end, TAG.SEQUENCE, what);
    const alg = expectTlv(der, spki.start, spki.end, TAG.SEQUENCE, what);
    const bits = expectTlv(der, alg.end, spki.end, TAG.BIT_STRING, what);
    let keyIdentifier = createHash('sha1')
      .update(der.subarray(bits.start + 1, bits.end))
      .digest();
    for (let value = spki.end; value < tbs.end;) {
      const item = readTlv(der, value, tbs.end, what);
      value = item.end;
      if (item.tag !== 0xa3) continue; // issuerUniqueID / subjectUniqueID
      const list = expectTlv(der, item.start, item.end, TAG.SEQUENCE, what);
      for (let query = list.start; query < list.end;) {
        const ext = expectTlv(der, query, list.end, TAG.SEQUENCE, what);
        query = ext.end;
        const id = expectTlv(der, ext.start, ext.end, TAG.OID, what);
        if (!der.subarray(id.start, id.end).equals(SKI_OID)) continue;
        let tlvValue = readTlv(der, id.end, ext.end, what);
        if (tlvValue.tag === TAG.BOOLEAN) tlvValue = readTlv(der, tlvValue.end, ext.end, what);
        const inner = expectTlv(der, tlvValue.start, tlvValue.end, TAG.OCTET_STRING, what);
        keyIdentifier = Buffer.from(der.subarray(inner.start, inner.end));
      }
    }
    return {
      subject: Buffer.from(der.subarray(subject.headerStart, subject.end)),
      keyIdentifier,
      notBefore: readTime(der, nb),
      notAfter: readTime(der, na),
    };
  } catch (error) {
    if (error instanceof IssuerError && error.code === 'CA') throw error;
    throw fail();
  }
}

const SKI_OID = Buffer.from([0x55, 0x1d, 0x0e]); // 2.5.29.14

function readTime(der: Buffer, item: { tag: number; start: number; end: number }): Date {
  const text = der.toString('latin1', item.start, item.end);
  const match =
    item.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match || (item.tag !== TAG.UTC_TIME && item.tag !== TAG.GENERALIZED_TIME)) throw new Error('time');
  let year = Number(match[1]);
  if (item.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6])));
}
