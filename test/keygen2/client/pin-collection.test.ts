/** Client-side PIN collection (spec §8) and capability answers (spec §10). */
import { describe, expect, it } from 'vitest';
import { answerCapabilities } from '../../../src/keygen2/client/capabilities.js';
import { collectUserPins, pinBytes, pinPolicyViolation } from '../../../src/keygen2/client/pin-collection.js';
import type { EnrollmentUi, PinPrompt } from '../../../src/keygen2/client/ports.js';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import type { DeviceInfo } from '../../../src/sks/api.js';
import type { AppUsage, KeyEntrySpecifier, PinPolicySpecifier } from '../../../src/keygen2/messages/index.js';

const mac = new Uint8Array(32);
const key = (id: string, appUsage: AppUsage = 'authentication', extra: Partial<KeyEntrySpecifier> = {}): KeyEntrySpecifier => ({
  id,
  appUsage,
  keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256',
  mac,
  ...extra,
});
const policy = (keys: KeyEntrySpecifier[], extra: Partial<PinPolicySpecifier> = {}): PinPolicySpecifier => ({
  id: 'PIN.1',
  minLength: 4,
  maxLength: 8,
  retryLimit: 3,
  format: 'numeric',
  mac,
  keyEntrySpecifiers: keys,
  ...extra,
});

/** A UI that answers from a script and records the prompts. */
function scriptedUi(answers: Array<string | undefined>): EnrollmentUi & { prompts: PinPrompt[] } {
  const prompts: PinPrompt[] = [];
  return {
    prompts,
    consent: () => Promise.resolve(true),
    enterPin: (pinPrompt) => {
      prompts.push(pinPrompt);
      return Promise.resolve(answers.shift());
    },
  };
}

const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

describe('PIN prompts per grouping (spec §8 table)', () => {
  it('none: one prompt per key', async () => {
    const ui = scriptedUi(['1357', '2468']);
    const pins = await collectUserPins([policy([key('K1'), key('K2')])], ui, 5);
    expect(ui.prompts.map((p) => p.keys.map((k) => k.id))).toEqual([['K1'], ['K2']]);
    expect([text(pins.get('K1')), text(pins.get('K2'))]).toEqual(['1357', '2468']);
  });

  it('shared: one prompt for all keys', async () => {
    const ui = scriptedUi(['1357']);
    const pins = await collectUserPins([policy([key('K1'), key('K2', 'signature')], { grouping: 'shared' })], ui, 5);
    expect(ui.prompts).toHaveLength(1);
    expect(text(pins.get('K2'))).toBe('1357');
  });

  it('unique: one prompt per app usage, and the PINs must differ', async () => {
    const ui = scriptedUi(['1357', '1357', '2468']);
    const pins = await collectUserPins([policy([key('K1', 'signature'), key('K2'), key('K3', 'signature')], { grouping: 'unique' })], ui, 5);
    expect(ui.prompts.map((p) => [p.appUsage, p.keys.map((k) => k.id), p.rejected])).toEqual([
      ['signature', ['K1', 'K3'], undefined],
      ['authentication', ['K2'], undefined],
      ['authentication', ['K2'], 'grouping'],
    ]);
    expect([text(pins.get('K1')), text(pins.get('K2')), text(pins.get('K3'))]).toEqual(['1357', '2468', '1357']);
  });

  it('signature+standard: signature keys and all others', async () => {
    const ui = scriptedUi(['1357', '2468']);
    await collectUserPins([policy([key('K1'), key('K2', 'signature'), key('K3', 'encryption')], { grouping: 'signature+standard' })], ui, 5);
    expect(ui.prompts.map((p) => p.keys.map((k) => k.id))).toEqual([['K1', 'K3'], ['K2']]);
  });

  it('skips policies with preset PINs', async () => {
    const ui = scriptedUi([]);
    const pins = await collectUserPins([policy([key('K1', 'authentication', { encryptedPin: new Uint8Array(32) })])], ui, 5);
    expect(ui.prompts).toHaveLength(0);
    expect(pins.size).toBe(0);
  });
});

describe('PIN validation before the SKS (spec §8 order)', () => {
  const pinPolicySpecifier = policy([key('K1')], { patternRestrictions: ['three-in-a-row', 'sequence'] });
  it.each([
    ['12', 'length'],
    ['123456789', 'length'],
    ['12a4', 'syntax'],
    ['1234', 'sequence'],
    ['1112', 'three-in-a-row'],
    ['1357', undefined],
  ])('%s → %s', (pin, rule) => expect(pinPolicyViolation(pinBytes(pin, 'numeric')!, pinPolicySpecifier)).toBe(rule));

  it('asks again with the reason, then accepts', async () => {
    const ui = scriptedUi(['1234', '1357']);
    const pins = await collectUserPins([pinPolicySpecifier], ui, 5);
    expect(ui.prompts.map((x) => [x.attempt, x.rejected])).toEqual([
      [1, undefined],
      [2, 'sequence'],
    ]);
    expect(text(pins.get('K1'))).toBe('1357');
  });

  it('binary PINs are typed as hex', () => {
    expect(pinBytes('0aFF', 'binary')).toEqual(new Uint8Array([0x0a, 0xff]));
    expect(pinBytes('abc', 'binary')).toBeUndefined();
    expect(pinBytes('zz', 'binary')).toBeUndefined();
  });

  it('user-cancels-pin-entry → USER_ABORT', async () => {
    await expect(collectUserPins([pinPolicySpecifier], scriptedUi([undefined]), 5)).rejects.toMatchObject({ code: 'USER_ABORT' });
  });

  it('gives-up-after-too-many-refused-entries → USER_ABORT', async () => {
    const error = await collectUserPins([pinPolicySpecifier], scriptedUi(['1', '2', '3']), 3).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(KeyGen2Error);
    expect((error as KeyGen2Error).code).toBe('USER_ABORT');
  });
});

describe('capability answers (spec §10)', () => {
  const device = {
    devicePinSupport: false,
    biometricSupport: true,
    supportedAlgorithms: ['https://webpki.github.io/sks/algorithm#ec.nist.p256'],
  } as unknown as DeviceInfo;
  const platform = {
    clientAttributes: {
      'https://webpki.github.io/keygen2/clientattr#imei-number': ['490154203237518'],
      'https://webpki.github.io/keygen2/clientattr#os-vendor': ['Linux'],
    },
    imagePreferences: { 'https://webpki.github.io/keygen2/logotype#list': { mimeType: 'image/png', width: 94, height: 74 } },
  };
  const queries = [
    'https://webpki.github.io/keygen2/feature#device-pin-support',
    'https://webpki.github.io/keygen2/feature#biometric-support',
    'https://webpki.github.io/sks/algorithm#ec.nist.p256',
    'https://webpki.github.io/sks/algorithm#rsa4096',
    'https://webpki.github.io/keygen2/clientattr#imei-number',
    'https://webpki.github.io/keygen2/clientattr#os-vendor',
    'https://webpki.github.io/keygen2/logotype#list',
    'https://webpki.github.io/keygen2/logotype#card',
    'https://example.com/unknown',
  ];

  it('answers from the device info and the platform, false for the rest', () => {
    const clientCapabilities = answerCapabilities(queries, device, platform, false);
    expect(clientCapabilities.map((c) => (c.kind === 'supported' ? c.supported : c.kind === 'values' ? c.values : c.imageAttributes))).toEqual([
      false,
      true,
      true,
      false,
      ['490154203237518'],
      ['Linux'],
      { mimeType: 'image/png', width: 94, height: 74 },
      false,
      false,
    ]);
    expect(clientCapabilities.map((c) => c.type)).toEqual(queries);
  });

  it('never-discloses-device-identifiers-in-privacy-mode', () => {
    const clientCapabilities = answerCapabilities(queries, device, platform, true);
    expect(clientCapabilities[4]).toEqual({ type: queries[4], kind: 'supported', supported: false });
    expect(clientCapabilities[5]).toEqual({ type: queries[5], kind: 'values', values: ['Linux'] });
  });
});
