/** KeyCreationRequest / KeyCreationResponse (spec §6.7, §6.8). */
import type {
  AppUsage,
  BiometricProtection,
  DeleteProtection,
  ExportProtection,
  Grouping,
  InputMethod,
  PassphraseFormat,
  PatternRestriction,
} from '../enums.js';
import type { Id, PublicKeySpki } from '../common.js';

/**
 * One key to create (§6.7.1). Optional members keep "absent" distinct from a default so a message
 * round-trips; the MAC defaults (§5.5) are applied by the `…Byte` helpers of `enums.ts`.
 */
export interface KeyEntrySpecifier {
  readonly id: Id;
  /** 0…64 bytes of extra entropy. */
  readonly serverSeed?: Uint8Array;
  /** Top-level keys only; protects with the platform device PIN. */
  readonly devicePinProtection?: boolean;
  /** Keys inside a PIN policy only: `encrypt(preset PIN)`, 32…160 bytes (§6.7.2). */
  readonly encryptedPin?: Uint8Array;
  readonly enablePinCaching?: boolean;
  /** Absent = `none`. */
  readonly biometricProtection?: BiometricProtection;
  /** Absent = `non-exportable`. */
  readonly exportProtection?: ExportProtection;
  /** Absent = `none`. */
  readonly deleteProtection?: DeleteProtection;
  readonly friendlyName?: string;
  readonly appUsage: AppUsage;
  /** An SKS key algorithm URI (§4.11). */
  readonly keyAlgorithm: string;
  /** RSA `.exp` algorithms only: the public exponent, 1…8 bytes. */
  readonly keyParameters?: Uint8Array;
  /** Strictly ascending URIs, non-empty when present. */
  readonly endorsedAlgorithms?: readonly string[];
  /** `createKeyEntry` MAC (32 bytes). */
  readonly mac: Uint8Array;
}

/** A PIN policy and the keys it protects (§6.7.1). */
export interface PinPolicySpecifier {
  readonly id: Id;
  /** 0…128 (the SKS requires ≥ 1). */
  readonly minLength: number;
  /** `minLength`…128. */
  readonly maxLength: number;
  /** 1…10000. */
  readonly retryLimit: number;
  readonly format: PassphraseFormat;
  /** Absent = true. */
  readonly userModifiable?: boolean;
  /** Absent = `none`. */
  readonly grouping?: Grouping;
  /** Absent = `any`. */
  readonly inputMethod?: InputMethod;
  /** Non-empty when present. */
  readonly patternRestrictions?: readonly PatternRestriction[];
  /** `createPINPolicy` MAC (32 bytes). */
  readonly mac: Uint8Array;
  /** Non-empty. All carry `encryptedPin` or none do (§6.7.2). */
  readonly keyEntrySpecifiers: readonly KeyEntrySpecifier[];
}

/** A PUK policy and the PIN policies it governs (§6.7.1). */
export interface PukPolicySpecifier {
  readonly id: Id;
  /** `encrypt(PUK)`, 32…160 bytes. */
  readonly encryptedPuk: Uint8Array;
  /** 0…10000. */
  readonly retryLimit: number;
  readonly format: PassphraseFormat;
  /** `createPUKPolicy` MAC (32 bytes). */
  readonly mac: Uint8Array;
  /** Non-empty. */
  readonly pinPolicySpecifiers: readonly PinPolicySpecifier[];
}

/** Issuer → client: the keys to create, in processing order (§6.7.3). */
export interface KeyCreationRequest {
  readonly qualifier: 'KeyCreationRequest';
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** `https://webpki.github.io/sks/algorithm#key.1`. */
  readonly keyEntryAlgorithm: string;
  readonly deferredIssuance?: boolean;
  /** Each non-empty when present; at least one key in total. */
  readonly pukPolicySpecifiers?: readonly PukPolicySpecifier[];
  readonly pinPolicySpecifiers?: readonly PinPolicySpecifier[];
  readonly keyEntrySpecifiers?: readonly KeyEntrySpecifier[];
}

/** One created key (§6.8). */
export interface GeneratedKey {
  readonly id: Id;
  readonly publicKey: PublicKeySpki;
  /** `ATTEST(arr(SPKI) ‖ arr(key MAC))` (§5.5). */
  readonly attestation: Uint8Array;
}

/** Client → issuer: the generated keys in processing order (§6.8). */
export interface KeyCreationResponse {
  readonly qualifier: 'KeyCreationResponse';
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** Non-empty; ids unique. */
  readonly generatedKeys: readonly GeneratedKey[];
}
