/** PIN and PUK value rules: formats, patterns and grouping (spec §8.2, §8.3, §8.5). */
import { AppUsage, PassphraseFormat, PinGrouping, PinPattern } from '../constants.js';
import { macEquals } from '../crypto/primitives.js';
import { optionError } from '../errors.js';
import type { KeyEntry, PinPolicy, SksState } from '../engine/state.js';

const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isUpper = (b: number): boolean => b >= 0x41 && b <= 0x5a;
const isLower = (b: number): boolean => b >= 0x61 && b <= 0x7a;

/** Constant-time equality of two secrets, either possibly absent ({@link macEquals}: length leaks, content does not). */
export function secretEquals(left: Uint8Array | null | undefined, right: Uint8Array | null | undefined): boolean {
  return !!left && !!right && macEquals(left, right);
}

/** PUK syntax at policy creation (spec §6.6 step 6). */
export function pukSyntaxOk(puk: Uint8Array, format: number): boolean {
  for (const byte of puk) {
    if (format === PassphraseFormat.NUMERIC && !isDigit(byte)) return false;
    if (format === PassphraseFormat.ALPHANUMERIC && !isDigit(byte) && !isUpper(byte)) return false;
  }
  return true;
}

/** True when the PIN is an ascending or descending run (spec §8.3 step 4, modulo 256). */
function isSequence(pin: Uint8Array): boolean {
  // A 1-byte PIN is not a sequence (spec §17 #1: the reference reads past the end).
  if (pin.length < 2) return false;
  const value = ((pin[1] - pin[0]) << 24) >> 24;
  if (value !== 1 && value !== -1) return false;
  for (let i = 2; i < pin.length; i++) {
    if (((pin[i] - pin[i - 1]) & 0xff) !== (value & 0xff)) return false;
  }
  return true;
}

/** Which keys a PIN change or counter update applies to (spec §8.5). */
export function pinGroupOf(state: SksState, key: KeyEntry): KeyEntry[] {
  const policy = key.pinPolicy;
  if (!policy || policy.grouping === PinGrouping.NONE) return [key];
  const isSignature = (k: KeyEntry): boolean => k.appUsage === AppUsage.SIGNATURE;
  const sameGroup: (k: KeyEntry) => boolean =
    policy.grouping === PinGrouping.SHARED
      ? () => true
      : policy.grouping === PinGrouping.SIGN_PLUS_STD
        ? (k) => isSignature(k) === isSignature(key)
        : (k) => k.appUsage === key.appUsage; // unique
  const members = [...state.keys.values()].filter((k) => k.pinPolicy === policy && sameGroup(k));
  // A key no longer in the store (a replaced update target) is still its own group.
  return members.includes(key) ? members : [key, ...members];
}

/** The rules a PIN value can break on its own, before grouping (spec §8.3 steps 1-4). */
export type PinRule = 'length' | 'syntax' | 'missing-group' | 'sequence' | 'repeated' | 'two-in-a-row' | 'three-in-a-row';

export interface PinValueRules {
  readonly format: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly patternRestrictions: number;
}

/**
 * The first rule of spec §8.3 steps 1-4 that `pin` breaks, in the spec's order,
 * or undefined. Pure, so user interfaces can pre-validate with the same rules.
 */
export function pinRuleViolation(pin: Uint8Array, rules: PinValueRules): PinRule | undefined {
  if (pin.length < rules.minLength || pin.length > rules.maxLength) return 'length';
  let upper = false;
  let lower = false;
  let digit = false;
  let other = false;
  for (const byte of pin) {
    if (isUpper(byte)) upper = true;
    else if (isLower(byte)) lower = true;
    else if (isDigit(byte)) digit = true;
    else other = true;
  }
  if (rules.format === PassphraseFormat.NUMERIC && (upper || lower || other)) return 'syntax';
  if (rules.format === PassphraseFormat.ALPHANUMERIC && (lower || other)) return 'syntax';
  const value = rules.patternRestrictions;
  if (value & PinPattern.MISSING_GROUP) {
    const needsMore = rules.format === PassphraseFormat.STRING;
    if (!upper || !digit || (needsMore && (!lower || !other))) return 'missing-group';
  }
  if (value & PinPattern.SEQUENCE && isSequence(pin)) return 'sequence';
  if (value & PinPattern.REPEATED && new Set(pin).size !== pin.length) return 'repeated';
  if (value & (PinPattern.TWO_IN_A_ROW | PinPattern.THREE_IN_A_ROW)) {
    const max = value & PinPattern.TWO_IN_A_ROW ? 2 : 3;
    let run = 1;
    for (let i = 1; i < pin.length; i++) {
      run = pin[i] === pin[i - 1] ? run + 1 : 1;
      if (run >= max) return max === 2 ? 'two-in-a-row' : 'three-in-a-row';
    }
  }
  return undefined;
}

/** The reference's message for each broken rule (spec §13). */
const RULE_MESSAGES: Readonly<Record<PinRule, string>> = {
  length: 'PIN length error',
  syntax: 'PIN syntax error',
  'missing-group': 'Missing character group in PIN',
  sequence: 'PIN must not be a sequence',
  repeated: 'Repeated PIN character',
  'two-in-a-row': 'PIN with 2 or more of same the character in a row',
  'three-in-a-row': 'PIN with 3 or more of same the character in a row',
};

/**
 * The PIN compliance check of spec §8.3. `forced` is true for changePin/setPin,
 * where only keys whose PIN equals the new one are examined for grouping.
 */
export function checkPinCompliance(state: SksState, pin: Uint8Array, policy: PinPolicy, appUsage: number, forced: boolean): void {
  const broken = pinRuleViolation(pin, policy);
  if (broken !== undefined) throw optionError(RULE_MESSAGES[broken], 'pinValue');
  if (policy.grouping === PinGrouping.NONE) return; // no constraint between keys

  for (const keyEntry of state.keys.values()) {
    if (keyEntry.pinPolicy !== policy) continue;
    const equal = secretEquals(keyEntry.pinValue, pin);
    if (forced && !equal) continue;
    switch (policy.grouping) {
      case PinGrouping.SHARED:
        if (!equal) throw optionError('Grouping = "shared" requires identical PINs', 'pinValue');
        break;
      case PinGrouping.UNIQUE:
        if (equal !== (appUsage === keyEntry.appUsage)) throw optionError('Grouping = "unique" PIN error', 'pinValue');
        break;
      case PinGrouping.SIGN_PLUS_STD:
        if (equal !== ((appUsage === AppUsage.SIGNATURE) === (keyEntry.appUsage === AppUsage.SIGNATURE))) {
          throw optionError('Grouping = "signature+standard" PIN error', 'pinValue');
        }
        break;
      default:
        break;
    }
  }
}
