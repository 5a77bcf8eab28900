/** The CLI's pre-check of a new PIN (spec §8.3 steps 1-4) and its policy texts. */
import { describe, expect, it } from 'vitest';
import { PassphraseFormat, PinGrouping, PinPattern } from '../../src/sks/constants.js';
import { checkNewPin, describePinPolicy, explainPinRuleError, patternNames, type PinPolicyView } from '../../src/cli/pin-policy-text.js';

const policy = (p: Partial<PinPolicyView> = {}): PinPolicyView => ({
  format: PassphraseFormat.NUMERIC,
  minLength: 4,
  maxLength: 8,
  patternRestrictions: 0,
  grouping: PinGrouping.NONE,
  ...p,
});

const pin = (s: string): Buffer => Buffer.from(s, 'utf8');
const PREFIX = 'New PIN breaks the PIN policy: ';

describe('checkNewPin', () => {
  it('accepts a PIN that keeps every rule', () => {
    expect(checkNewPin(pin('1357'), policy())).toBeUndefined();
    expect(checkNewPin(pin('AB12'), policy({ format: PassphraseFormat.ALPHANUMERIC, patternRestrictions: PinPattern.MISSING_GROUP }))).toBeUndefined();
    expect(checkNewPin(pin('aB1!'), policy({ format: PassphraseFormat.STRING, patternRestrictions: PinPattern.MISSING_GROUP }))).toBeUndefined();
  });

  it('rejects-pin-outside-length-range', () => {
    expect(checkNewPin(pin('123'), policy())).toBe(`${PREFIX}it must be 4 to 8 digits (format numeric)`);
    expect(checkNewPin(pin('123456789'), policy())).toBe(`${PREFIX}it must be 4 to 8 digits (format numeric)`);
    expect(checkNewPin(pin('12345'), policy({ minLength: 6, maxLength: 6 }))).toBe(`${PREFIX}it must be exactly 6 digits (format numeric)`);
  });

  it('rejects-non-digits-in-numeric-format', () => {
    expect(checkNewPin(pin('12a4'), policy())).toBe(`${PREFIX}it must be 4 to 8 digits (format numeric)`);
  });

  it('rejects-lower-case-in-alphanumeric-format', () => {
    expect(checkNewPin(pin('AB1c'), policy({ format: PassphraseFormat.ALPHANUMERIC }))).toMatch(
      /characters 0-9 and A-Z \(no lower case\) \(format alphanumeric\)$/,
    );
  });

  it('rejects-missing-character-group', () => {
    const alnum = policy({ format: PassphraseFormat.ALPHANUMERIC, patternRestrictions: PinPattern.MISSING_GROUP });
    expect(checkNewPin(pin('ABCD'), alnum)).toBe(`${PREFIX}it must contain both a letter (A-Z) and a digit`);
    const str = policy({ format: PassphraseFormat.STRING, patternRestrictions: PinPattern.MISSING_GROUP });
    expect(checkNewPin(pin('aB12'), str)).toMatch(/another character$/);
  });

  it('rejects-sequences (spec §8.3: 1234, 8765, abcd fail; 1235 passes)', () => {
    const pinPolicyView = policy({ format: PassphraseFormat.STRING, patternRestrictions: PinPattern.SEQUENCE });
    for (const text of ['1234', '8765', 'abcd']) expect(checkNewPin(pin(text), pinPolicyView)).toMatch(/ascending or descending run/);
    expect(checkNewPin(pin('1235'), pinPolicyView)).toBeUndefined();
    expect(checkNewPin(pin('1345'), pinPolicyView)).toBeUndefined();
  });

  it('rejects-repeated-characters', () => {
    expect(checkNewPin(pin('1315'), policy({ patternRestrictions: PinPattern.REPEATED }))).toBe(`${PREFIX}no character may occur more than once`);
  });

  it('rejects-two-and-three-in-a-row', () => {
    const two = policy({ patternRestrictions: PinPattern.TWO_IN_A_ROW });
    expect(checkNewPin(pin('11345'), two)).toMatch(/twice in a row/);
    expect(checkNewPin(pin('13455'), two)).toMatch(/twice in a row/);
    const three = policy({ patternRestrictions: PinPattern.THREE_IN_A_ROW });
    expect(checkNewPin(pin('111345'), three)).toMatch(/three times in a row/);
    expect(checkNewPin(pin('134555'), three)).toMatch(/three times in a row/);
    expect(checkNewPin(pin('11232'), three)).toBeUndefined();
  });
});

describe('policy texts', () => {
  it('describes a policy in one line', () => {
    expect(describePinPolicy(policy({ patternRestrictions: PinPattern.SEQUENCE | PinPattern.TWO_IN_A_ROW | PinPattern.THREE_IN_A_ROW }))).toBe(
      '4 to 8 digits (format numeric); must not repeat a character twice in a row; must not be an ascending or descending run such as 1234 or 8765',
    );
    expect(patternNames(0x1f)).toEqual(['two-in-a-row', 'three-in-a-row', 'sequence', 'repeated', 'missing-group']);
  });

  it('maps every PIN-rule message of the SKS to a friendly line, nothing else', () => {
    for (const text of [
      'PIN length error',
      'PIN syntax error',
      'Missing character group in PIN',
      'PIN must not be a sequence',
      'Repeated PIN character',
      'PIN with 2 or more of same the character in a row',
      'PIN with 3 or more of same the character in a row',
      'Grouping = "shared" requires identical PINs',
      'Grouping = "unique" PIN error',
      'Grouping = "signature+standard" PIN error',
    ]) {
      expect(explainPinRuleError(text, policy())).toMatch(/^New PIN breaks the PIN (policy|grouping)/);
    }
    expect(explainPinRuleError('Key #3 has no PIN policy', policy())).toBeUndefined();
  });
});
