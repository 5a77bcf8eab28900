/**
 * KeyGen2 enumerated strings and their SKS byte values (spec §4.10).
 *
 * The wire strings are the TypeScript string unions; each table is the one place that maps a
 * string to the byte the SKS and the MAC inputs (§5.5) use.
 */

/** `appUsage` (§4.10). */
export type AppUsage = 'signature' | 'authentication' | 'encryption' | 'universal';
/** `format` of PIN and PUK policies (§4.10). */
export type PassphraseFormat = 'numeric' | 'alphanumeric' | 'string' | 'binary';
/** PIN `grouping` (§4.10). */
export type Grouping = 'none' | 'shared' | 'signature+standard' | 'unique';
/** One PIN `patternRestrictions` value (§4.10); the policy's mask ORs them. */
export type PatternRestriction = 'two-in-a-row' | 'three-in-a-row' | 'sequence' | 'repeated' | 'missing-group';
/** PIN `inputMethod` (§4.10). */
export type InputMethod = 'any' | 'programmatic' | 'trusted-gui';
/** Key `biometricProtection` (§4.10). */
export type BiometricProtection = 'none' | 'alternative' | 'combined' | 'exclusive';
/** Key `exportProtection` (§4.10). */
export type ExportProtection = 'none' | 'pin' | 'puk' | 'non-exportable';
/** Key `deleteProtection` (§4.10). */
export type DeleteProtection = 'none' | 'pin' | 'puk' | 'non-deletable';
/** InvocationRequest `targetKeyContainers` values (§4.10; no SKS value). */
export type KeyContainer = 'software' | 'embedded' | 'uicc' | 'sdcard' | 'external';
/** InvocationRequest `action` (§3.1). */
export type Action = 'manage' | 'unlock';

/** String → SKS byte tables (§4.10). Insertion order is the reference's writing order. */
export const APP_USAGE: Readonly<Record<AppUsage, number>> = { signature: 0, authentication: 1, encryption: 2, universal: 3 };
export const PASSPHRASE_FORMAT: Readonly<Record<PassphraseFormat, number>> = { numeric: 0, alphanumeric: 1, string: 2, binary: 3 };
export const GROUPING: Readonly<Record<Grouping, number>> = { none: 0, shared: 1, 'signature+standard': 2, unique: 3 };
export const PATTERN_RESTRICTION: Readonly<Record<PatternRestriction, number>> = {
  'two-in-a-row': 0x01,
  'three-in-a-row': 0x02,
  sequence: 0x04,
  repeated: 0x08,
  'missing-group': 0x10,
};
export const INPUT_METHOD: Readonly<Record<InputMethod, number>> = { any: 0, programmatic: 1, 'trusted-gui': 2 };
export const BIOMETRIC_PROTECTION: Readonly<Record<BiometricProtection, number>> = { none: 0, alternative: 1, combined: 2, exclusive: 3 };
export const EXPORT_PROTECTION: Readonly<Record<ExportProtection, number>> = { none: 0, pin: 1, puk: 2, 'non-exportable': 3 };
export const DELETE_PROTECTION: Readonly<Record<DeleteProtection, number>> = { none: 0, pin: 1, puk: 2, 'non-deletable': 3 };
export const KEY_CONTAINERS: readonly KeyContainer[] = ['software', 'embedded', 'uicc', 'sdcard', 'external'];
export const ACTIONS: readonly Action[] = ['manage', 'unlock'];

/** SKS byte of an `appUsage`. @example appUsageByte('authentication') === 1 */
export const appUsageByte = (v: AppUsage): number => APP_USAGE[v];
/** SKS byte of a PIN/PUK `format`. */
export const passphraseFormatByte = (v: PassphraseFormat): number => PASSPHRASE_FORMAT[v];
/** SKS byte of a `grouping`; absent means `none` (§5.5). */
export const groupingByte = (v: Grouping = 'none'): number => GROUPING[v];
/** SKS byte of an `inputMethod`; absent means `any` (§5.5). */
export const inputMethodByte = (v: InputMethod = 'any'): number => INPUT_METHOD[v];
/** SKS byte of a `biometricProtection`; absent means `none` (§5.5). */
export const biometricProtectionByte = (v: BiometricProtection = 'none'): number => BIOMETRIC_PROTECTION[v];
/** SKS byte of an `exportProtection`; absent means **non-exportable** (3) (§5.5). */
export const exportProtectionByte = (v: ExportProtection = 'non-exportable'): number => EXPORT_PROTECTION[v];
/** SKS byte of a `deleteProtection`; absent means `none` (§5.5). */
export const deleteProtectionByte = (v: DeleteProtection = 'none'): number => DELETE_PROTECTION[v];
/**
 * The SKS pattern mask of `patternRestrictions`: the OR of the bits, so order and duplicates do
 * not matter (§4.10); absent means 0.
 * @example patternMask(['three-in-a-row', 'sequence']) === 0x06
 */
export const patternMask = (v: readonly PatternRestriction[] = []): number => v.reduce((m, p) => m | PATTERN_RESTRICTION[p], 0);

/** Reverse lookups (SKS byte → wire string), for building messages from SKS data. */
const reverse = <T extends string>(table: Readonly<Record<T, number>>, byte: number): T | undefined =>
  (Object.keys(table) as T[]).find((k) => table[k] === byte);
export const appUsageFromByte = (b: number): AppUsage | undefined => reverse(APP_USAGE, b);
export const groupingFromByte = (b: number): Grouping | undefined => reverse(GROUPING, b);
export const passphraseFormatFromByte = (b: number): PassphraseFormat | undefined => reverse(PASSPHRASE_FORMAT, b);

const keysOf = <T extends string>(table: Readonly<Record<T, number>>): readonly T[] => Object.keys(table) as T[];
/** The wire strings of each enumeration, in §4.10 order (what decoders accept). */
export const APP_USAGES = keysOf(APP_USAGE);
export const PASSPHRASE_FORMATS = keysOf(PASSPHRASE_FORMAT);
export const GROUPINGS = keysOf(GROUPING);
export const PATTERN_RESTRICTIONS = keysOf(PATTERN_RESTRICTION);
export const INPUT_METHODS = keysOf(INPUT_METHOD);
export const BIOMETRIC_PROTECTIONS = keysOf(BIOMETRIC_PROTECTION);
export const EXPORT_PROTECTIONS = keysOf(EXPORT_PROTECTION);
export const DELETE_PROTECTIONS = keysOf(DELETE_PROTECTION);
