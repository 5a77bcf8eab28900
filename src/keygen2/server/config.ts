/**
 * What an issuer provisions in one session, as plain data (JSON-safe: binary values are
 * base64url strings). The shape follows the processing order of spec §6.7.3: PUK policies hold
 * their PIN policies, PIN policies hold their keys, and keys without a PIN policy stand alone —
 * so each PIN policy is nested under its own PUK (spec §6.7.3 recommendation; the reference's
 * "all PIN policies under the first PUK" quirk 4 cannot arise).
 *
 * @example
 * const config: IssuerConfig = {
 *   issuerUri: 'https://issuer.example.com/keygen2',
 *   pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric',
 *                   keys: [{ keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256', appUsage: 'authentication' }] }],
 * };
 */
import type { EcCurve } from '../../sks/algorithms.js';
import type { SearchFilter } from '../messages/credential-discovery/types.js';
import type {
  Action,
  AppUsage,
  BiometricProtection,
  DeleteProtection,
  ExportProtection,
  Grouping,
  InputMethod,
  KeyContainer,
  PassphraseFormat,
  PatternRestriction,
} from '../messages/enums.js';

/** base64url without padding (spec §4.5). */
export type Base64Url = string;

/** One capability query (spec §10.1); `kind` says which answer the issuer accepts. */
export interface CapabilityQuery {
  readonly type: string;
  readonly kind: 'feature' | 'values' | 'image';
}

/**
 * A key of an earlier session that a post-operation targets (spec §6.9.2, §9.2). `kmk` names the
 * key-management key that currently governs the target's session (after any roll-over, §9.4).
 */
export interface TargetKeyConfig {
  /** DER of the target key's end-entity certificate (the keyId is an HMAC over it, §5.7). */
  readonly certificate: Base64Url;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly kmk: string;
}

/** An older KMK rolling over to its parent (spec §6.3, §9.4): signed by the port, or pre-signed. */
export type UpdatableKmkConfig =
  | { readonly kmk: string; readonly updatableKeyManagementKeys?: readonly UpdatableKmkConfig[] }
  | {
      /** SPKI of the older KMK. */
      readonly publicKey: Base64Url;
      /** Its signature over `"RollOverAuthorization" ‖ SPKI(parent)`, verified before use. */
      readonly authorization: Base64Url;
      readonly updatableKeyManagementKeys?: readonly UpdatableKmkConfig[];
    };

/**
 * `searchFilter` of a lookup (spec §6.5): the message's {@link SearchFilter} with its binary and
 * date-time members as JSON-safe text.
 */
export type SearchFilterConfig = Omit<SearchFilter, 'fingerPrint' | 'issuedBefore' | 'issuedAfter'> & {
  readonly fingerPrint?: Base64Url;
  /** `YYYY-MM-DDThh:mm:ssZ`. */
  readonly issuedBefore?: string;
  /** `YYYY-MM-DDThh:mm:ssZ`. */
  readonly issuedAfter?: string;
};

/** One credential-discovery lookup, signed by the named KMK (spec §6.5). */
export interface LookupConfig {
  readonly id?: string;
  readonly kmk: string;
  readonly searchFilter?: SearchFilterConfig;
}

/** Extension data to add to a key (spec §6.9.1). */
export interface ExtensionConfig {
  readonly type: string;
  readonly data: Base64Url;
}

export interface PropertyBagConfig {
  readonly type: string;
  readonly properties: ReadonlyArray<{ readonly name: string; readonly value: string; readonly writable?: boolean }>;
}

export interface LogotypeConfig {
  readonly type: string;
  readonly mimeType: string;
  readonly data: Base64Url;
}

/** One key to create (spec §6.7.1) and what to add to it at finalization (spec §6.9.1). */
export interface KeyConfig {
  /** Default `Key.<n>` in processing order. */
  readonly id?: string;
  /** SKS key algorithm URI (spec §4.11). */
  readonly keyAlgorithm: string;
  readonly keyParameters?: Base64Url;
  readonly appUsage: AppUsage;
  /** Issuer-set PIN (UTF-8 text; hex digits for `binary`); all keys of a PIN policy or none (§6.7.2). */
  readonly presetPin?: string;
  readonly serverSeed?: Base64Url;
  readonly devicePinProtection?: boolean;
  readonly enablePinCaching?: boolean;
  readonly biometricProtection?: BiometricProtection;
  readonly exportProtection?: ExportProtection;
  readonly deleteProtection?: DeleteProtection;
  readonly friendlyName?: string;
  /** Sorted and de-duplicated by the issuer (the wire requires strictly ascending, §6.7.1). */
  readonly endorsedAlgorithms?: readonly string[];
  readonly trustAnchor?: boolean;
  readonly extensions?: readonly ExtensionConfig[];
  /** Plaintext; encrypted under the session (spec §5.6) when the request is built. */
  readonly encryptedExtensions?: readonly ExtensionConfig[];
  readonly propertyBags?: readonly PropertyBagConfig[];
  readonly logotypes?: readonly LogotypeConfig[];
  /** The new key replaces this one (spec §9.2). */
  readonly updateKey?: TargetKeyConfig;
  /** The new key shares this one's PIN (spec §9.2). */
  readonly cloneKeyProtection?: TargetKeyConfig;
}

export interface PinPolicyConfig {
  /** Default `PIN.<n>`. */
  readonly id?: string;
  readonly minLength: number;
  readonly maxLength: number;
  readonly retryLimit: number;
  readonly format: PassphraseFormat;
  readonly userModifiable?: boolean;
  readonly grouping?: Grouping;
  readonly inputMethod?: InputMethod;
  readonly patternRestrictions?: readonly PatternRestriction[];
  readonly keys: readonly KeyConfig[];
}

export interface PukPolicyConfig {
  /** Default `PUK.<n>`. */
  readonly id?: string;
  /** The PUK value (UTF-8 text). */
  readonly puk: string;
  readonly format: PassphraseFormat;
  readonly retryLimit: number;
  readonly pinPolicies: readonly PinPolicyConfig[];
}

/** Everything one session provisions (spec §7). */
export interface IssuerConfig {
  /** The transaction URL (spec §2.2, §5.2); never normalized. */
  readonly issuerUri: string;
  /** Default: reference style (hex milliseconds + base64url characters, 32 in all, §3.2). */
  readonly serverSessionId?: string;
  /** DER of the TLS server certificate the client saw; absent = empty (plain HTTP, §2.3). */
  readonly serverCertificate?: Base64Url;
  /** Default `manage`. */
  readonly action?: Action;
  /** Written in the InvocationRequest only when set (as the reference does). */
  readonly privacyEnabled?: boolean;
  readonly preferredLanguages?: readonly string[];
  readonly targetKeyContainers?: readonly KeyContainer[];
  readonly capabilityQueries?: readonly CapabilityQuery[];
  /** Default P-256. */
  readonly ephemeralCurve?: EcCurve;
  /** Default: an upper bound of the uses this session causes (spec §5.8). */
  readonly sessionKeyLimit?: number;
  /** Seconds; default 3600. */
  readonly sessionLifeTime?: number;
  /** Name of the KMK (known to the crypto port) that makes the session updatable (§9). */
  readonly keyManagementKey?: string;
  readonly updatableKeyManagementKeys?: readonly UpdatableKmkConfig[];
  readonly lookups?: readonly LookupConfig[];
  readonly deferredIssuance?: boolean;
  readonly pukPolicies?: readonly PukPolicyConfig[];
  readonly pinPolicies?: readonly PinPolicyConfig[];
  readonly keys?: readonly KeyConfig[];
  readonly unlockKeys?: readonly TargetKeyConfig[];
  readonly deleteKeys?: readonly TargetKeyConfig[];
}
