/**
 * PIN policies in words (spec §2.4, §8.2, §8.3): the names of the policy
 * enumerations, a one-line description of a policy, a pre-check of a new PIN
 * against it, and friendly lines for the SKS's own PIN-rule messages.
 *
 * The pre-check runs before `changePin` so that a PIN the policy forbids is
 * refused with a sentence the key holder can act on. The SKS still has the
 * final word: grouping rules depend on other keys' PINs, which only it knows.
 * Pure functions; no secret ever appears in a returned string.
 */
import { PassphraseFormat, PinGrouping, PinPattern } from '../sks/constants.js';
import { pinRuleViolation, type PinRule } from '../sks/pin/pin-rules.js';

export const FORMAT_NAMES: Readonly<Record<number, string>> = {
  [PassphraseFormat.NUMERIC]: 'numeric',
  [PassphraseFormat.ALPHANUMERIC]: 'alphanumeric',
  [PassphraseFormat.STRING]: 'string',
  [PassphraseFormat.BINARY]: 'binary',
};

export const GROUPING_NAMES: Readonly<Record<number, string>> = {
  [PinGrouping.NONE]: 'none',
  [PinGrouping.SHARED]: 'shared',
  [PinGrouping.SIGN_PLUS_STD]: 'signature+standard',
  [PinGrouping.UNIQUE]: 'unique',
};

/** Pattern-restriction bits with their protocol names, in bit order. */
export const PATTERN_NAMES: ReadonlyArray<readonly [number, string]> = [
  [PinPattern.TWO_IN_A_ROW, 'two-in-a-row'],
  [PinPattern.THREE_IN_A_ROW, 'three-in-a-row'],
  [PinPattern.SEQUENCE, 'sequence'],
  [PinPattern.REPEATED, 'repeated'],
  [PinPattern.MISSING_GROUP, 'missing-group'],
];

/** Name of an enumerated value, or `unknown (0x..)`. */
export const nameOf = (names: Readonly<Partial<Record<number, string>>>, value: number): string =>
  names[value] ?? `unknown (0x${value.toString(16).padStart(2, '0')})`;

export const formatName = (format: number): string => nameOf(FORMAT_NAMES, format);
export const groupingName = (grouping: number): string => nameOf(GROUPING_NAMES, grouping);
export const patternNames = (bits: number): string[] => PATTERN_NAMES.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);

/** The part of `getKeyProtectionInfo` that constrains a PIN value. */
export interface PinPolicyView {
  readonly format: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly patternRestrictions: number;
  readonly grouping: number;
}

const UNIT: Readonly<Record<number, string>> = {
  [PassphraseFormat.NUMERIC]: 'digits',
  [PassphraseFormat.ALPHANUMERIC]: 'characters 0-9 and A-Z (no lower case)',
  [PassphraseFormat.STRING]: 'bytes of text',
  [PassphraseFormat.BINARY]: 'bytes (entered as hex)',
};

/** `4 to 8 digits (format numeric)`, `exactly 6 characters 0-9 and A-Z ...`. */
export function describeLengthAndFormat(pinPolicyView: PinPolicyView): string {
  const unit = UNIT[pinPolicyView.format] ?? 'bytes';
  const range =
    pinPolicyView.minLength === pinPolicyView.maxLength ? `exactly ${pinPolicyView.minLength}` : `${pinPolicyView.minLength} to ${pinPolicyView.maxLength}`;
  return `${range} ${unit} (format ${formatName(pinPolicyView.format)})`;
}

/** The sentence each pattern restriction adds, for the policy's format. */
function patternRule(bit: number, pinPolicyView: PinPolicyView): string {
  switch (bit) {
    case PinPattern.MISSING_GROUP:
      return pinPolicyView.format === PassphraseFormat.STRING
        ? 'it must contain an upper-case letter, a lower-case letter, a digit and another character'
        : 'it must contain both a letter (A-Z) and a digit';
    case PinPattern.SEQUENCE:
      return 'it must not be an ascending or descending run such as 1234 or 8765';
    case PinPattern.REPEATED:
      return 'no character may occur more than once';
    case PinPattern.TWO_IN_A_ROW:
      return 'it must not repeat a character twice in a row';
    case PinPattern.THREE_IN_A_ROW:
      return 'it must not repeat a character three times in a row';
    default:
      return `pattern restriction 0x${bit.toString(16)}`;
  }
}

/** Every rule of the policy in one line, e.g. for a prompt or `keys show`. */
export function describePinPolicy(pinPolicyView: PinPolicyView): string {
  const rules = [describeLengthAndFormat(pinPolicyView)];
  for (const [bit] of PATTERN_NAMES) {
    // three-in-a-row adds nothing when two-in-a-row is set as well.
    if (bit === PinPattern.THREE_IN_A_ROW && (pinPolicyView.patternRestrictions & PinPattern.TWO_IN_A_ROW) !== 0) continue;
    if ((pinPolicyView.patternRestrictions & bit) !== 0) rules.push(patternRule(bit, pinPolicyView).replace(/^it /, ''));
  }
  return rules.join('; ');
}

const PREFIX = 'New PIN breaks the PIN policy: ';

const RULE_BIT: Readonly<Record<Exclude<PinRule, 'length' | 'syntax'>, number>> = {
  'missing-group': PinPattern.MISSING_GROUP,
  sequence: PinPattern.SEQUENCE,
  repeated: PinPattern.REPEATED,
  'two-in-a-row': PinPattern.TWO_IN_A_ROW,
  'three-in-a-row': PinPattern.THREE_IN_A_ROW,
};

/**
 * Checks a new PIN against the length, format and pattern rules of spec §8.3
 * (steps 1-4, with the SKS's own rule function; grouping is left to the SKS).
 * Returns `undefined` when it complies, else a message naming the rule it
 * breaks, e.g. `New PIN breaks the PIN policy: it must be 4 to 8 digits (format numeric)`.
 */
export function checkNewPin(pin: Uint8Array, pinPolicyView: PinPolicyView): string | undefined {
  const broken = pinRuleViolation(pin, pinPolicyView);
  if (broken === undefined) return undefined;
  if (broken === 'length' || broken === 'syntax') return `${PREFIX}it must be ${describeLengthAndFormat(pinPolicyView)}`;
  return `${PREFIX}${patternRule(RULE_BIT[broken], pinPolicyView)}`;
}

/**
 * A friendly line for an `ERROR_OPTION` message the SKS gives when it refuses
 * a new PIN (spec §13), or `undefined` for any other message.
 */
export function explainPinRuleError(message: string, pinPolicyView: PinPolicyView): string | undefined {
  switch (message) {
    case 'PIN length error':
    case 'PIN syntax error':
      return `${PREFIX}it must be ${describeLengthAndFormat(pinPolicyView)}`;
    case 'Missing character group in PIN':
      return `${PREFIX}${patternRule(PinPattern.MISSING_GROUP, pinPolicyView)}`;
    case 'PIN must not be a sequence':
      return `${PREFIX}${patternRule(PinPattern.SEQUENCE, pinPolicyView)}`;
    case 'Repeated PIN character':
      return `${PREFIX}${patternRule(PinPattern.REPEATED, pinPolicyView)}`;
    case 'PIN with 2 or more of same the character in a row':
      return `${PREFIX}${patternRule(PinPattern.TWO_IN_A_ROW, pinPolicyView)}`;
    case 'PIN with 3 or more of same the character in a row':
      return `${PREFIX}${patternRule(PinPattern.THREE_IN_A_ROW, pinPolicyView)}`;
    case 'Grouping = "shared" requires identical PINs':
      return 'New PIN breaks the PIN grouping "shared": all keys under this PIN policy must keep one PIN';
    case 'Grouping = "unique" PIN error':
      return 'New PIN breaks the PIN grouping "unique": it is already the PIN of a key with another app usage under this PIN policy, and each app usage needs its own PIN';
    case 'Grouping = "signature+standard" PIN error':
      return 'New PIN breaks the PIN grouping "signature+standard": signature keys and the other keys under this PIN policy need different PINs, and this one is already used by the other kind';
    default:
      return undefined;
  }
}
