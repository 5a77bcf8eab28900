/**
 * Certificate revocation lists (RFC 5280 §5) signed by the issuing CA, from
 * the revoked credentials the issuer's database lists: version 2, with
 * AuthorityKeyIdentifier and CRLNumber, and a reasonCode per entry when known.
 */
import { IssuerError } from '../errors.js';
import { CA_ALGORITHMS } from './algorithms.js';
import { readCaCertificate, signTbs } from './certificate.js';
import type { CaKeyPair } from './create.js';
import { TAG, explicit, octetString, oid, pem, sequence, smallInteger, time, tlv, unsignedInteger } from './der.js';
import { authorityKeyIdentifier } from './extensions.js';

/** CRLReason (RFC 5280 §5.3.1), by name; 7 is unused in the standard. */
export const CRL_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type CrlReason = keyof typeof CRL_REASONS;

export interface RevokedCertificate {
  /** Serial number, hex as in the issuance plan. */
  readonly serial: string;
  readonly revokedAt: Date;
  /** Omitted from the entry when absent (RFC 5280 says: rather than `unspecified`). */
  readonly reason?: CrlReason;
}

export interface CrlInput {
  /** Monotonically increasing per CA (RFC 5280 §5.2.3). */
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: readonly RevokedCertificate[];
}

const CRL_NUMBER = oid('2.5.29.20');
const REASON_CODE = oid('2.5.29.21');
const V2 = smallInteger(1);

const wholeSecond = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

/**
 * Signs a CRL for the issuing CA; returns DER and PEM. Throws `BAD_REQUEST`
 * for a malformed serial or a nextUpdate not after thisUpdate.
 *
 * @example
 * ```ts
 * const crl = signCrl(ca.issuing, { crlNumber: 42n, thisUpdate: now, nextUpdate: in7days, revoked });
 * ```
 */
export function signCrl(issuing: CaKeyPair, input: CrlInput): { readonly der: Buffer; readonly pem: string } {
  const info = readCaCertificate(issuing.certificate, 'issuing CA certificate');
  const algorithm = CA_ALGORITHMS[issuing.keyType];
  const thisUpdate = wholeSecond(input.thisUpdate);
  const nextUpdate = wholeSecond(input.nextUpdate);
  if (!(nextUpdate > thisUpdate)) throw new IssuerError('BAD_REQUEST', 'nextUpdate must be after thisUpdate', { field: 'nextUpdate' });
  if (input.crlNumber < 0n || input.crlNumber >= 1n << 159n) {
    throw new IssuerError('BAD_REQUEST', 'crlNumber must be a non-negative integer below 2^159', { field: 'crlNumber' });
  }
  const entries = input.revoked.map((revokedCertificate) => {
    if (!/^([0-9a-f]{2}){1,20}$/.test(revokedCertificate.serial))
      throw new IssuerError('BAD_REQUEST', 'revoked serial must be hex octets', { field: 'serial' });
    const fields = [unsignedInteger(Buffer.from(revokedCertificate.serial, 'hex')), time(wholeSecond(revokedCertificate.revokedAt))];
    if (revokedCertificate.reason !== undefined) {
      const enumerated = tlv(TAG.ENUMERATED, Buffer.from([CRL_REASONS[revokedCertificate.reason]]));
      fields.push(sequence(sequence(REASON_CODE, octetString(enumerated))));
    }
    return sequence(...fields);
  });
  const crlNumberHex = input.crlNumber.toString(16);
  const crlNumber = unsignedInteger(Buffer.from(crlNumberHex.length % 2 ? `0${crlNumberHex}` : crlNumberHex, 'hex'));
  const tbs = sequence(
    V2,
    algorithm.signatureAlgorithm,
    info.subject,
    time(thisUpdate),
    time(nextUpdate),
    // revokedCertificates is absent, not empty, when nothing is revoked (RFC 5280 §5.1.2.6).
    ...(entries.length > 0 ? [sequence(...entries)] : []),
    explicit(0, sequence(authorityKeyIdentifier(info.keyIdentifier), sequence(CRL_NUMBER, octetString(crlNumber)))),
  );
  const der = signTbs(tbs, algorithm, issuing.privateKey);
  return { der, pem: pem('X509 CRL', der) };
}
