/**
 * Spec §13.2 scenario 31, MassiveUserPINCollection: no session. Synthetic KeyCreationRequests
 * (one PIN policy, lengths 4…8, dummy MACs, RSA-2048 keys) are encoded, parsed strictly, and the
 * client's PIN collection (spec §8) runs over their PIN policy: which PINs it accepts, which it
 * asks for again, and which PIN each key gets under each grouping.
 */
import { describe, expect, it } from 'vitest';
import { collectUserPins } from '../../../src/keygen2/client/pin-collection.js';
import type { EnrollmentUi, PinPrompt } from '../../../src/keygen2/client/ports.js';
import { decodeMessage, encodeMessage } from '../../../src/keygen2/messages/index.js';
import type { AppUsage, Grouping, PassphraseFormat, PatternRestriction, PinPolicySpecifier } from '../../../src/keygen2/messages/index.js';
import { ALG } from './common.js';

const mac = new Uint8Array(32);

/** A KeyCreationRequest with one PIN policy over keys of these app usages, through the wire codec. */
function parsedPolicy(
  format: PassphraseFormat,
  usages: readonly AppUsage[],
  grouping: Grouping = 'none',
  patterns: readonly PatternRestriction[] = [],
): PinPolicySpecifier {
  const text = encodeMessage({
    qualifier: 'KeyCreationRequest',
    serverSessionId: 'S.1',
    clientSessionId: 'C.1',
    keyEntryAlgorithm: 'https://webpki.github.io/sks/algorithm#key.1',
    pinPolicySpecifiers: [
      {
        id: 'PIN.1',
        minLength: 4,
        maxLength: 8,
        retryLimit: 3,
        format,
        grouping,
        ...(patterns.length === 0 ? {} : { patternRestrictions: patterns }),
        mac,
        keyEntrySpecifiers: usages.map((appUsage, i) => ({ id: `Key.${i + 1}`, keyAlgorithm: ALG.RSA2048, appUsage, mac })),
      },
    ],
  });
  const policy = decodeMessage(text, ['KeyCreationRequest']).pinPolicySpecifiers?.[0];
  if (policy === undefined) throw new Error('no PIN policy');
  return policy;
}

/** The user types `pins` in order, then cancels. */
function user(pins: readonly string[]): EnrollmentUi & { prompts: PinPrompt[] } {
  const queue = [...pins];
  const prompts: PinPrompt[] = [];
  return {
    prompts,
    consent: async () => true,
    enterPin: async (pinPrompt) => {
      prompts.push(pinPrompt);
      return queue.shift();
    },
  };
}

const ACCEPTED: ReadonlyArray<[PassphraseFormat, readonly PatternRestriction[], string]> = [
  ['alphanumeric', [], 'AB123'],
  ['numeric', [], '1234'],
  ['string', [], 'azAB13.\n'],
  ['binary', [], '12300234FF'],
  ['binary', [], '12300234ff'],
  ['numeric', ['sequence'], '1235'],
  ['numeric', ['sequence'], '1345'],
  ['numeric', ['two-in-a-row'], '1232'],
  ['numeric', ['three-in-a-row'], '11232'],
  ['numeric', ['sequence', 'three-in-a-row'], '1235'],
  ['string', ['missing-group'], '2aZ.'],
  ['alphanumeric', ['missing-group'], 'AB34'],
  ['numeric', ['repeated'], '1345'],
];

const REJECTED: ReadonlyArray<[PassphraseFormat, readonly PatternRestriction[], string]> = [
  ['binary', [], '3034ff'],
  ['binary', [], '12300234fp'],
  ['alphanumeric', [], 'ab123'],
  ['numeric', [], 'AB1234'],
  ['numeric', ['sequence'], '1234'],
  ['numeric', ['sequence'], '8765'],
  ['numeric', ['two-in-a-row'], '11345'],
  ['numeric', ['two-in-a-row'], '13455'],
  ['numeric', ['three-in-a-row'], '111345'],
  ['numeric', ['three-in-a-row'], '134555'],
  ['numeric', ['sequence', 'three-in-a-row'], '6789'],
  ['numeric', ['sequence', 'three-in-a-row'], '1115'],
  ['numeric', ['missing-group'], '1476'],
  ['binary', ['missing-group'], '12300234FF'],
  ['string', ['missing-group'], '2aZA'],
  ['string', ['missing-group'], 'a.jZ'],
  ['string', ['missing-group'], '2 ZA'],
  ['string', ['missing-group'], '2a 6'],
  ['alphanumeric', ['missing-group'], 'ABCK'],
  ['alphanumeric', ['missing-group'], '1235'],
  ['numeric', ['repeated'], '1315'],
];

describe('31 MassiveUserPINCollection (spec §13.2, §8)', () => {
  it.each(ACCEPTED)('accepts %s %j PIN %j', async (format, patterns, pin) => {
    const ui = user([pin]);
    const pins = await collectUserPins([parsedPolicy(format, ['authentication'], 'none', patterns)], ui, 5);
    expect(ui.prompts).toHaveLength(1);
    expect(pins.get('Key.1')).toBeDefined();
  });

  it.each(REJECTED)('rejects %s %j PIN %j (asked again; cancelling is USER_ABORT)', async (format, patterns, pin) => {
    const ui = user([pin]);
    await expect(collectUserPins([parsedPolicy(format, ['authentication'], 'none', patterns)], ui, 5)).rejects.toMatchObject({ code: 'USER_ABORT' });
    expect(ui.prompts).toHaveLength(2);
    expect(ui.prompts[1]?.rejected).toBeDefined();
  });

  const texts = ['1234', '2345', '3456'];
  /** How a grouping case fails: fewer prompts than PINs, a prompt left unanswered, or an equal PIN refused. */
  type Failure = 'one-prompt-only' | 'needs-another-pin' | 'equal-pin-refused';
  const GROUPING: ReadonlyArray<[Grouping, readonly AppUsage[], readonly string[], readonly number[] | Failure]> = [
    ['none', ['authentication'], ['1234'], [0]],
    ['none', ['authentication', 'signature'], ['1234', '1234'], [0, 1]],
    ['none', ['authentication', 'signature'], ['1234', '2345'], [0, 1]],
    ['shared', ['authentication', 'signature'], ['1234', '2345'], 'one-prompt-only'],
    ['shared', ['authentication', 'signature', 'signature'], ['1234'], [0, 0, 0]],
    ['unique', ['authentication', 'signature'], ['1234'], 'needs-another-pin'],
    ['unique', ['authentication', 'signature'], ['1234', '2345'], [0, 1]],
    ['unique', ['authentication', 'signature'], ['1234', '1234'], 'equal-pin-refused'],
    ['unique', ['signature', 'authentication', 'signature'], ['1234', '2345'], [0, 1, 0]],
    ['unique', ['signature', 'authentication', 'signature', 'encryption'], texts, [0, 1, 0, 2]],
    ['signature+standard', ['signature', 'authentication', 'signature', 'encryption'], ['1234', '2345'], [0, 1, 0, 1]],
    ['signature+standard', ['signature', 'authentication', 'signature', 'encryption'], ['1234', '1234'], 'equal-pin-refused'],
  ];

  it.each(GROUPING)('grouping %s over %j with PINs %j: %j', async (grouping, usages, entered, expected) => {
    const ui = user(entered);
    const run = collectUserPins([parsedPolicy('numeric', usages, grouping)], ui, 5);
    if (expected === 'one-prompt-only') {
      await run;
      expect(ui.prompts).toHaveLength(1);
      return;
    }
    if (expected === 'needs-another-pin' || expected === 'equal-pin-refused') {
      await expect(run).rejects.toMatchObject({ code: 'USER_ABORT' });
      if (expected === 'needs-another-pin') expect(ui.prompts.map((p) => p.rejected)).toEqual([undefined, undefined]);
      else expect(ui.prompts.map((p) => p.rejected)).toEqual([undefined, undefined, 'grouping']);
      return;
    }
    const pins = await run;
    expect(ui.prompts).toHaveLength(entered.length);
    expect(usages.map((_, i) => Buffer.from(pins.get(`Key.${i + 1}`) ?? []).toString())).toEqual(expected.map((n) => entered[n]));
  });
});
