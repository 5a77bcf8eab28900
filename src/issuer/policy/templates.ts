/**
 * Enrollment templates: what one enrollment provisions (key algorithm, PIN
 * policy, app usage, friendly name, extensions) and what its certificate
 * says (subject from the template plus the user, validity; usages follow
 * from the app usage, src/issuer/ca/profile.ts). Named, from the service
 * configuration; {@link BUILTIN_TEMPLATES} are always available unless the
 * configuration replaces one by name.
 */
import type { KeyConfig, PinPolicyConfig, PukPolicyConfig } from '../../keygen2/server/config.js';
import type { AppUsage, Grouping, PassphraseFormat, PatternRestriction } from '../../keygen2/messages/enums.js';
import type { CertificateProfile, DnAttribute, EmailPlacement, SubjectUser } from '../ca/index.js';
import { parseDn } from '../ca/index.js';
import { IssuerError } from '../errors.js';

const SKS = 'https://webpki.github.io/sks/algorithm#';

/** Short names for SKS key algorithm URIs; templates may use either form. */
export const KEY_ALGORITHMS: Readonly<Record<string, string>> = {
  'ec-p256': `${SKS}ec.nist.p256`,
  'ec-p384': `${SKS}ec.nist.p384`,
  'ec-p521': `${SKS}ec.nist.p521`,
  rsa2048: `${SKS}rsa2048`,
  rsa3072: `${SKS}rsa3072`,
  rsa4096: `${SKS}rsa4096`,
};

/** Resolves a short name or a URI to the URI (unknown short names are refused). */
export function keyAlgorithmUri(name: string, field = 'keyAlgorithm'): string {
  // An index read misses for an unknown name (the Record type does not say so).
  const uri = (KEY_ALGORITHMS as Partial<Record<string, string>>)[name] ?? (name.startsWith('https://') ? name : undefined);
  if (uri === undefined)
    throw new IssuerError('CONFIG', `unknown key algorithm "${name}" (known: ${Object.keys(KEY_ALGORITHMS).join(', ')} or an SKS URI)`, { field });
  return uri;
}

export interface TemplatePinPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  readonly retryLimit: number;
  readonly format: PassphraseFormat;
  readonly userModifiable?: boolean;
  readonly grouping?: Grouping;
  readonly patternRestrictions?: readonly PatternRestriction[];
}

export interface TemplatePukPolicy {
  /** The PUK value (a secret of the configuration file; never logged). */
  readonly value: string;
  readonly format: PassphraseFormat;
  readonly retryLimit: number;
}

/** One named enrollment template (JSON in the service configuration). */
export interface EnrollmentTemplate {
  readonly description?: string;
  /** A short name of {@link KEY_ALGORITHMS} or an SKS algorithm URI. */
  readonly keyAlgorithm: string;
  readonly appUsage: AppUsage;
  readonly friendlyName?: string;
  readonly endorsedAlgorithms?: readonly string[];
  readonly extensions?: ReadonlyArray<{ readonly type: string; readonly data: string }>;
  /** Absent: the key has no PIN. */
  readonly pin?: TemplatePinPolicy;
  /** Only with `pin`. */
  readonly puk?: TemplatePukPolicy;
  /** Ask the device for a privacy-mode session (refused unless the issuer allows privacy). */
  readonly privacy?: boolean;
  readonly certificate: {
    /**
     * The template's part of the subject: RFC 4514 text (most significant last, e.g. `OU=Staff, O=Example`)
     * or attributes most significant first; the user's CN (and e-mail) follow it.
     */
    readonly subject: string | readonly DnAttribute[];
    readonly validityDays: number;
    readonly email?: EmailPlacement;
  };
}

export const BUILTIN_TEMPLATES: Readonly<Record<string, EnrollmentTemplate>> = {
  'ec-p256-auth-pin': {
    description: 'P-256 authentication key protected by a 4-8 digit PIN (3 tries)',
    keyAlgorithm: 'ec-p256',
    appUsage: 'authentication',
    friendlyName: 'Authentication key',
    pin: { minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric' },
    certificate: { subject: 'OU=Authentication, O=Airtight', validityDays: 365 },
  },
  'rsa2048-sign': {
    description: 'RSA-2048 signature key protected by a 6-12 digit PIN (3 tries)',
    keyAlgorithm: 'rsa2048',
    appUsage: 'signature',
    friendlyName: 'Signature key',
    pin: { minLength: 6, maxLength: 12, retryLimit: 3, format: 'numeric' },
    certificate: { subject: 'OU=Signature, O=Airtight', validityDays: 730 },
  },
  'ec-p256-auth': {
    description: 'P-256 authentication key without PIN',
    keyAlgorithm: 'ec-p256',
    appUsage: 'authentication',
    friendlyName: 'Authentication key',
    certificate: { subject: 'OU=Authentication, O=Airtight', validityDays: 365 },
  },
};

/** The key id every template key gets in its enrollment session. */
export const TEMPLATE_KEY_ID = 'Key.1';

/** The key part of an IssuerConfig for one template (the PIN/PUK nesting of spec §6.7.3). */
export function templateKeys(enrollmentTemplate: EnrollmentTemplate): { keys?: KeyConfig[]; pinPolicies?: PinPolicyConfig[]; pukPolicies?: PukPolicyConfig[] } {
  const key: KeyConfig = {
    id: TEMPLATE_KEY_ID,
    keyAlgorithm: keyAlgorithmUri(enrollmentTemplate.keyAlgorithm),
    appUsage: enrollmentTemplate.appUsage,
    ...(enrollmentTemplate.friendlyName === undefined ? {} : { friendlyName: enrollmentTemplate.friendlyName }),
    ...(enrollmentTemplate.endorsedAlgorithms === undefined ? {} : { endorsedAlgorithms: enrollmentTemplate.endorsedAlgorithms }),
    ...(enrollmentTemplate.extensions === undefined ? {} : { extensions: enrollmentTemplate.extensions }),
  };
  if (enrollmentTemplate.pin === undefined) return { keys: [key] };
  const pin: PinPolicyConfig = { id: 'PIN.1', ...enrollmentTemplate.pin, keys: [key] };
  if (enrollmentTemplate.puk === undefined) return { pinPolicies: [pin] };
  return {
    pukPolicies: [
      {
        id: 'PUK.1',
        puk: enrollmentTemplate.puk.value,
        format: enrollmentTemplate.puk.format,
        retryLimit: enrollmentTemplate.puk.retryLimit,
        pinPolicies: [pin],
      },
    ],
  };
}

/** The certificate profile of a template (usages come from the app usage). */
export function templateProfile(enrollmentTemplate: EnrollmentTemplate): CertificateProfile {
  const subject =
    typeof enrollmentTemplate.certificate.subject === 'string'
      ? parseDn(enrollmentTemplate.certificate.subject, 'certificate.subject')
      : enrollmentTemplate.certificate.subject;
  return {
    subject,
    validityDays: enrollmentTemplate.certificate.validityDays,
    appUsage: enrollmentTemplate.appUsage,
    ...(enrollmentTemplate.certificate.email === undefined ? {} : { email: enrollmentTemplate.certificate.email }),
  };
}

/** The user's part of a subject. */
export const templateUser = (userName: string, email: string | null | undefined): SubjectUser =>
  email === null || email === undefined ? { commonName: userName } : { commonName: userName, email };

/** Checks a template once at startup, so a bad one fails the start and not an enrollment. */
export function checkTemplate(name: string, enrollmentTemplate: EnrollmentTemplate, allowedAlgorithms: readonly string[]): void {
  const where = `templates.${name}`;
  const uri = keyAlgorithmUri(enrollmentTemplate.keyAlgorithm, `${where}.keyAlgorithm`);
  if (!allowedAlgorithms.includes(uri)) {
    throw new IssuerError('CONFIG', `${where}: key algorithm ${enrollmentTemplate.keyAlgorithm} is not in allowedAlgorithms`, {
      field: `${where}.keyAlgorithm`,
    });
  }
  if (enrollmentTemplate.puk !== undefined && enrollmentTemplate.pin === undefined)
    throw new IssuerError('CONFIG', `${where}: a PUK needs a PIN`, { field: `${where}.puk` });
  templateProfile(enrollmentTemplate);
}
