/**
 * Certificate profiles: what an end-entity certificate issued from a KeyGen2
 * key template looks like (subject, validity, key usages).
 *
 * Key usages follow from the key's KeyGen2 `AppUsage` (spec: signature,
 * authentication, encryption, universal) and its algorithm, so a template
 * cannot ask for a combination the key cannot honour:
 *
 * | app usage        | KeyUsage                                              | EKU        |
 * |------------------|-------------------------------------------------------|------------|
 * | `signature`      | digitalSignature, nonRepudiation                      |            |
 * | `authentication` | digitalSignature                                      | clientAuth |
 * | `encryption`     | RSA: keyEncipherment, dataEncipherment; EC: keyAgreement |         |
 * | `universal`      | all of the above that the key type allows             | clientAuth |
 *
 * EC keys never get keyEncipherment or dataEncipherment (RFC 5480 §3 allows
 * only digitalSignature, nonRepudiation and keyAgreement for id-ecPublicKey);
 * Ed25519 keys only sign (RFC 8410 §5), so `encryption` is refused for them.
 */
import { IssuerError } from '../errors.js';
import { EKU, type KeyUsageName } from './extensions.js';
import type { DnAttribute } from './name.js';
import type { SubjectKeyKind } from './subject-key.js';

/** KeyGen2's `AppUsage` of a key. */
export type AppUsage = 'signature' | 'authentication' | 'encryption' | 'universal';

export const APP_USAGES: readonly AppUsage[] = ['signature', 'authentication', 'encryption', 'universal'];

/** Where the user's e-mail address goes in the certificate. */
export type EmailPlacement = 'san' | 'subject' | 'both' | 'none';

/**
 * The issuer's description of the certificates one key template gets.
 *
 * @example
 * ```ts
 * const profile: CertificateProfile = {
 *   subject: [{ type: 'C', value: 'SE' }, { type: 'O', value: 'Example Bank' }],
 *   validityDays: 730,
 *   appUsage: 'authentication',
 * };
 * ```
 */
export interface CertificateProfile {
  /**
   * The template's part of the subject, most significant first; the user's
   * attributes ({@link SubjectUser}) are appended after it.
   */
  readonly subject: readonly DnAttribute[];
  /** Validity in whole days from notBefore, 1 to 9125 (25 years). */
  readonly validityDays: number;
  readonly appUsage: AppUsage;
  /** Default `san`: a SubjectAltName rfc822Name (RFC 5280 §4.1.2.6 deprecates emailAddress in the DN). */
  readonly email?: EmailPlacement;
  /** Purposes added to the derived extended key usages, as OIDs (e.g. {@link EKU}.emailProtection for S/MIME). */
  readonly extraExtendedKeyUsage?: readonly string[];
  /** notBefore is set this many seconds before the issuance time, for clients with slow clocks; default 0, at most 1 day. */
  readonly backdateSeconds?: number;
}

/** The user-specific part of a subject. */
export interface SubjectUser {
  /** CN; usually the user's name or account. */
  readonly commonName?: string;
  /** The user's e-mail address, placed as the profile's {@link CertificateProfile.email} says. */
  readonly email?: string;
  /** Further attributes, appended after CN (e.g. `serialNumber`, `OU`). */
  readonly attributes?: readonly DnAttribute[];
}

export interface DerivedUsage {
  readonly keyUsage: readonly KeyUsageName[];
  readonly extendedKeyUsage: readonly string[];
}

/**
 * The KeyUsage bits and EKU purposes of a certificate for a key of `kind`
 * with KeyGen2 app usage `appUsage` (table above). Throws `POLICY` when the
 * key cannot serve the usage at all (Ed25519 with `encryption`).
 */
export function deriveUsage(appUsage: AppUsage, kind: SubjectKeyKind): DerivedUsage {
  const sign: KeyUsageName[] = ['digitalSignature', 'nonRepudiation'];
  const encrypt: KeyUsageName[] = kind === 'rsa' ? ['keyEncipherment', 'dataEncipherment'] : kind === 'ec' ? ['keyAgreement'] : [];
  switch (appUsage) {
    case 'signature':
      return { keyUsage: sign, extendedKeyUsage: [] };
    case 'authentication':
      return { keyUsage: ['digitalSignature'], extendedKeyUsage: [EKU.clientAuth] };
    case 'encryption':
      if (encrypt.length === 0) {
        throw new IssuerError('POLICY', 'an Ed25519 key cannot be certified for encryption', { field: 'appUsage' });
      }
      return { keyUsage: encrypt, extendedKeyUsage: [] };
    case 'universal':
      return { keyUsage: [...sign, ...encrypt], extendedKeyUsage: [EKU.clientAuth] };
  }
}

const MAX_VALIDITY_DAYS = 9125;
const DOTTED_OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/** Checks a profile from configuration; throws `CONFIG` naming the bad field. */
export function checkProfile(profile: CertificateProfile, field = 'profile'): void {
  const fail = (name: string, why: string): never => {
    throw new IssuerError('CONFIG', `${field}.${name} ${why}`, { field: `${field}.${name}` });
  };
  if (!Number.isInteger(profile.validityDays) || profile.validityDays < 1 || profile.validityDays > MAX_VALIDITY_DAYS) {
    fail('validityDays', `must be a whole number of days from 1 to ${MAX_VALIDITY_DAYS}`);
  }
  if (!APP_USAGES.includes(profile.appUsage)) fail('appUsage', `must be one of ${APP_USAGES.join(', ')}`);
  if (profile.email !== undefined && !['san', 'subject', 'both', 'none'].includes(profile.email)) {
    fail('email', 'must be san, subject, both or none');
  }
  for (const text of profile.extraExtendedKeyUsage ?? []) if (!DOTTED_OID.test(text)) fail('extraExtendedKeyUsage', 'must hold dotted OIDs');
  const byte = profile.backdateSeconds ?? 0;
  if (!Number.isInteger(byte) || byte < 0 || byte > 86_400) fail('backdateSeconds', 'must be 0 to 86400');
}
