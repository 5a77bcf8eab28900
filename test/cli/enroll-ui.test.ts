/**
 * The terminal UI of `airtight enroll` in process, with a scripted hidden
 * prompt: the policy is stated, a PIN that breaks it is asked again, the
 * confirmation must match, and no PIN ever reaches a printed line.
 */
import { describe, expect, it } from 'vitest';
import type { PinPrompt } from '../../src/keygen2/client/index.js';
import { TerminalEnrollmentUi } from '../../src/cli/commands/enroll/ui.js';
import type { SecretSources } from '../../src/cli/secrets.js';

const prompt: PinPrompt = {
  pinPolicyId: 'PIN.1',
  format: 'numeric',
  minLength: 4,
  maxLength: 8,
  patternRestrictions: ['sequence'],
  grouping: 'none',
  appUsage: 'signature',
  keys: [{ id: 'Key.1', friendlyName: 'Work' }],
  attempt: 1,
};

/** A terminal whose hidden prompt answers from `answers`, logging every line printed. */
function terminal(answers: string[], extra: Partial<SecretSources> = {}): { ui: TerminalEnrollmentUi; lines: string[]; asked: string[] } {
  const lines: string[] = [];
  const asked: string[] = [];
  const secrets: SecretSources = {
    env: {},
    files: {},
    interactive: true,
    prompt: (message) => {
      asked.push(message);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no more answers');
      return Promise.resolve(answer);
    },
    ...extra,
  };
  return { ui: new TerminalEnrollmentUi({ secrets, assumeYes: false, confirm: () => Promise.resolve(false), log: (l) => lines.push(l) }), lines, asked };
}

describe('enroll terminal UI', () => {
  it('states the policy, re-asks a PIN that breaks it, then asks for confirmation', async () => {
    const { ui, lines, asked } = terminal(['12', '1234', '4711', '4711']);
    expect(await ui.enterPin(prompt)).toBe('4711');
    expect(lines[0]).toBe(
      'PIN for the signature key Key.1 ("Work") (PIN policy PIN.1): 4 to 8 digits (format numeric); must not be an ascending or descending run such as 1234 or 8765.',
    );
    expect(lines[1]).toMatch(/^New PIN breaks the PIN policy: it must be 4 to 8 digits .*; try again\.$/);
    expect(lines[2]).toMatch(/^New PIN breaks the PIN policy: it must not be an ascending or descending run/);
    expect(asked).toEqual(['New PIN:', 'New PIN:', 'New PIN:', 'New PIN again:']);
    expect(lines.join('\n')).not.toMatch(/4711/);
  });

  it('asks again when the two entries differ', async () => {
    const { ui, lines } = terminal(['4711', '4712', '8642', '8642']);
    expect(await ui.enterPin(prompt)).toBe('8642');
    expect(lines).toContain('The two entries differ; try again.');
  });

  it('says why the client refused the previous PIN (grouping)', async () => {
    const { ui, lines } = terminal(['9753', '9753']);
    expect(await ui.enterPin({ ...prompt, grouping: 'unique', rejected: 'grouping', attempt: 2 })).toBe('9753');
    expect(lines[1]).toMatch(/^That PIN was refused: the PIN must differ from the one chosen for the other keys of PIN policy PIN\.1 \(grouping "unique"\)/);
  });

  it('gives up after five refused entries: the client is told "cancelled" (USER_ABORT)', async () => {
    const { ui, lines } = terminal(['1', '2', '3', '4', '5']);
    expect(await ui.enterPin(prompt)).toBeUndefined();
    expect(ui.failure).toBeUndefined();
    expect(lines.at(-1)).toBe('No acceptable PIN for the signature key Key.1 ("Work") after 5 entries.');
  });

  it('a failure of the PIN source is kept for the command and the client told "cancelled"', async () => {
    const { ui } = terminal([], { interactive: false });
    expect(await ui.enterPin(prompt)).toBeUndefined();
    expect(ui.failure).toBeDefined();
  });

  it('declined consent is false, and the issuer is shown first', async () => {
    const { ui, lines } = terminal([]);
    const ok = await ui.consent({
      issuerHost: 'issuer.example:8443',
      secure: true,
      action: 'manage',
      privacyEnabled: true,
      preferredLanguages: [],
      capabilityQueries: [],
    });
    expect(ok).toBe(false);
    expect(lines).toEqual([
      'Issuer:   issuer.example:8443 (https)',
      'Action:   manage (create, update or delete keys)',
      'Privacy:  on (the device identity is not disclosed to the issuer)',
    ]);
  });
});
