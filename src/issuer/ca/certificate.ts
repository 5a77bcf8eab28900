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
export function encodeTbs(f: TbsFields): Buffer {
  return sequence(
    VERSION_V3,
    unsignedInteger(f.serial),
    f.signatureAlgorithm,
    f.issuer,
    sequence(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, sequence(...f.extensions)),
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
  } catch (e) {
    throw new IssuerError('CA', 'signing a certificate failed', { cause: e });
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
    sign(algorithm.hash, tbs, { key, dsaEncoding: algorithm.dsaEncoding }, (e, signature) => {
      if (e) reject(new IssuerError('CA', 'signing a certificate failed', { cause: e }));
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
    let f = readTlv(der, tbs.start, tbs.end, what);
    if (f.tag === 0xa0) f = readTlv(der, f.end, tbs.end, what); // version; now serialNumber
    const signature = readTlv(der, f.end, tbs.end, what);
    const issuer = readTlv(der, signature.end, tbs.end, what);
    const validity = expectTlv(der, issuer.end, tbs.end, TAG.SEQUENCE, what);
    const nb = readTlv(der, validity.start, validity.end, what);
    const na = readTlv(der, nb.end, validity.end, what);
    const subject = expectTlv(der, validity.end, tbs.end, TAG.SEQUENCE, what);
    const spki = expectTlv(der, subject.end, tbs.end, TAG.SEQUENCE, what);
    const alg = expectTlv(der, spki.start, spki.end, TAG.SEQUENCE, what);
    const bits = expectTlv(der, alg.end, spki.end, TAG.BIT_STRING, what);
    let keyIdentifier = createHash('sha1').update(der.subarray(bits.start + 1, bits.end)).digest();
    for (let p = spki.end; p < tbs.end; ) {
      const t = readTlv(der, p, tbs.end, what);
      p = t.end;
      if (t.tag !== 0xa3) continue; // issuerUniqueID / subjectUniqueID
      const list = expectTlv(der, t.start, t.end, TAG.SEQUENCE, what);
      for (let q = list.start; q < list.end; ) {
        const ext = expectTlv(der, q, list.end, TAG.SEQUENCE, what);
        q = ext.end;
        const id = expectTlv(der, ext.start, ext.end, TAG.OID, what);
        if (!der.subarray(id.start, id.end).equals(SKI_OID)) continue;
        let v = readTlv(der, id.end, ext.end, what);
        if (v.tag === TAG.BOOLEAN) v = readTlv(der, v.end, ext.end, what);
        const inner = expectTlv(der, v.start, v.end, TAG.OCTET_STRING, what);
        keyIdentifier = Buffer.from(der.subarray(inner.start, inner.end));
      }
    }
    return {
      subject: Buffer.from(der.subarray(subject.headerStart, subject.end)),
      keyIdentifier,
      notBefore: readTime(der, nb),
      notAfter: readTime(der, na),
    };
  } catch (e) {
    if (e instanceof IssuerError && e.code === 'CA') throw e;
    throw fail();
  }
}

const SKI_OID = Buffer.from([0x55, 0x1d, 0x0e]); // 2.5.29.14

function readTime(der: Buffer, t: { tag: number; start: number; end: number }): Date {
  const s = der.toString('latin1', t.start, t.end);
  const m =
    t.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m || (t.tag !== TAG.UTC_TIME && t.tag !== TAG.GENERALIZED_TIME)) throw new Error('time');
  let year = Number(m[1]);
  if (t.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
