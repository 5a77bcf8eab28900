/**
 * Client-side PIN collection (spec §8): which PINs the user must choose for a
 * KeyCreationRequest, and checking each entry against its policy before the
 * SKS sees it (the SKS aborts the whole session on a bad PIN).
 */
// pinRuleViolation is the SKS's own pure rule function (spec §8.3 steps 1-4);
// it is not (yet) exported from airtight/sks, so it is imported by path.
import { pinRuleViolation } from '../../sks/index.js';
import { KeyGen2Error } from '../errors.js';
import { passphraseFormatByte, patternMask, type KeyEntrySpecifier, type PinPolicySpecifier } from '../messages/index.js';
import type { EnrollmentUi, PinPrompt, PinRejection } from './ports.js';

/** One prompt and the keys (by id) its PIN goes to. */
interface PromptPlan {
  readonly policy: PinPolicySpecifier;
  readonly keys: readonly KeyEntrySpecifier[];
  /** Keys whose PIN must differ from this one (grouping `unique` / `signature+standard`). */
  readonly classKey: string;
}

/** The prompts of one user-defined PIN policy (spec §8 table). */
function promptsOf(policy: PinPolicySpecifier): PromptPlan[] {
  const keys = policy.keyEntrySpecifiers;
  const byClass = (classOf: (k: KeyEntrySpecifier) => string): PromptPlan[] => {
    const order: string[] = [];
    const groups = new Map<string, KeyEntrySpecifier[]>();
    for (const keyEntrySpecifier of keys) {
      const text = classOf(keyEntrySpecifier);
      if (!groups.has(text)) {
        groups.set(text, []);
        order.push(text);
      }
      groups.get(text)!.push(keyEntrySpecifier);
    }
    return order.map((c) => ({ policy, keys: groups.get(c)!, classKey: c }));
  };
  switch (policy.grouping ?? 'none') {
    case 'none':
      return keys.map((k) => ({ policy, keys: [k], classKey: k.id }));
    case 'shared':
      return [{ policy, keys, classKey: 'all' }];
    case 'unique':
      return byClass((k) => k.appUsage);
    case 'signature+standard':
      return byClass((k) => (k.appUsage === 'signature' ? 'signature' : 'standard'));
  }
}

/** Input text → PIN bytes (spec §8: hex for `binary`, UTF-8 otherwise); undefined for bad hex. */
export function pinBytes(text: string, format: PinPolicySpecifier['format']): Uint8Array | undefined {
  if (format !== 'binary') return new Uint8Array(Buffer.from(text, 'utf8'));
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** The first rule of spec §8 (steps 1-3) a PIN breaks under `policy`, or undefined. */
export function pinPolicyViolation(pin: Uint8Array, policy: PinPolicySpecifier): PinRejection | undefined {
  return pinRuleViolation(pin, {
    format: passphraseFormatByte(policy.format),
    minLength: policy.minLength,
    maxLength: policy.maxLength,
    patternRestrictions: patternMask(policy.patternRestrictions),
  });
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * Asks the user for every user-defined PIN of `policies` (spec §8), in
 * processing order. The enrollment calls it one policy at a time, after the
 * SKS verified that policy's MAC. Returns the PIN bytes by key id. A cancel
 * (undefined) or too many refused entries is USER_ABORT.
 */
export async function collectUserPins(policies: readonly PinPolicySpecifier[], ui: EnrollmentUi, maxEntriesPerPin: number): Promise<Map<string, Uint8Array>> {
  const pins = new Map<string, Uint8Array>();
  for (const policy of policies) {
    if (policy.keyEntrySpecifiers.some((k) => k.encryptedPin !== undefined)) continue; // preset PINs (§6.7.2)
    const chosen: Array<{ classKey: string; pin: Uint8Array }> = [];
    const grouping = policy.grouping ?? 'none';
    const distinctClasses = grouping === 'unique' || grouping === 'signature+standard';
    for (const plan of promptsOf(policy)) {
      let rejected: PinRejection | undefined;
      let pin: Uint8Array | undefined;
      for (let attempt = 1; pin === undefined; attempt++) {
        if (attempt > maxEntriesPerPin) throw new KeyGen2Error('USER_ABORT', 'too many refused PIN entries');
        const first = plan.keys[0];
        const prompt: PinPrompt = {
          pinPolicyId: policy.id,
          format: policy.format,
          minLength: policy.minLength,
          maxLength: policy.maxLength,
          patternRestrictions: policy.patternRestrictions ?? [],
          grouping,
          appUsage: first.appUsage,
          keys: plan.keys.map((k) => ({ id: k.id, friendlyName: k.friendlyName })),
          rejected,
          attempt,
        };
        const text = await ui.enterPin(prompt);
        if (text === undefined) throw new KeyGen2Error('USER_ABORT', 'PIN entry cancelled');
        const bytes = pinBytes(text, policy.format);
        if (bytes === undefined) {
          rejected = 'not-hex';
          continue;
        }
        rejected = pinPolicyViolation(bytes, policy);
        // Step 4 (grouping): a PIN of another class of the same policy must differ.
        if (rejected === undefined && distinctClasses && chosen.some((c) => c.classKey !== plan.classKey && sameBytes(c.pin, bytes))) {
          rejected = 'grouping';
        }
        if (rejected === undefined) pin = bytes;
        else bytes.fill(0);
      }
      chosen.push({ classKey: plan.classKey, pin });
      for (const keyEntrySpecifier of plan.keys) pins.set(keyEntrySpecifier.id, pin);
    }
  }
  return pins;
}
