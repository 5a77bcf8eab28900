/**
 * The issuer's certificate authority: a root and an issuing CA kept encrypted
 * at rest, and end-entity certificates for attested keys, issued in two
 * steps (plan, record, sign) so a crash never yields two certificates for one
 * key.
 *
 * @example
 * ```ts
 * import { openIssuerCa, CertificateIssuer, decodeIssuancePlan } from './issuer/ca/index.js';
 *
 * const { ca } = await openIssuerCa({ dir: '/var/lib/airtight/ca', issuerKey: { env: process.env } });
 * const issuer = new CertificateIssuer(ca.issuing);
 * const plan = issuer.plan({
 *   profile: { subject: [{ type: 'O', value: 'Example' }], validityDays: 365, appUsage: 'authentication' },
 *   user: { commonName: 'Alice', email: 'alice@example.com' },
 *   subjectPublicKey: spkiDer,
 * });
 * // persist { session, key, serial: plan.serial, plan: JSON.stringify(plan) } durably, then:
 * const { der, pem } = issuer.sign(plan);
 * ```
 */
export { CA_KEY_TYPES, type CaKeyType } from './algorithms.js';
export { createCaHierarchy, DEFAULT_ISSUING_SUBJECT, DEFAULT_ROOT_SUBJECT, type CaHierarchy, type CaKeyPair, type CreateCaOptions } from './create.js';
export { ISSUER_KEY_VARIABLE, IssuerKey, generateIssuerKeyText, loadIssuerKey, type IssuerKeySource } from './key-store.js';
export {
  ISSUING_CA_FILE,
  ISSUING_KEY_FILE,
  ROOT_CA_FILE,
  ROOT_KEY_FILE,
  openIssuerCa,
  type ImportCaFiles,
  type IssuerCa,
  type OpenIssuerCaOptions,
  type OpenedIssuerCa,
} from './ca-store.js';
export { CRL_REASONS, signCrl, type CrlInput, type CrlReason, type RevokedCertificate } from './crl.js';
export { EKU, type KeyUsageName } from './extensions.js';
export { parseDn, type DnAttribute, type DnAttributeType } from './name.js';
export {
  APP_USAGES,
  checkProfile,
  deriveUsage,
  type AppUsage,
  type CertificateProfile,
  type DerivedUsage,
  type EmailPlacement,
  type SubjectUser,
} from './profile.js';
export {
  CertificateIssuer,
  decodeIssuancePlan,
  type CertificateIssuerOptions,
  type IssuanceRequest,
  type IssuancePlan,
  type IssuedCertificate,
} from './issue.js';
export { issueOnce, type IssuanceLedger, type IssueOnceInput, type IssueOnceResult } from './issue-once.js';
export type { RandomSource } from './serial.js';
export { parseSubjectKey, type SubjectKey, type SubjectKeyKind } from './subject-key.js';
