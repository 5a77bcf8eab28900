/**
 * The terminal side of `airtight enroll`: the KeyGen2 client's UI port
 * (`EnrollmentUi`) on stderr and stdin. Consent shows who is asking and what
 * for; each PIN the client asks for gets a hidden prompt that states the
 * policy, is entered twice and is asked again while it breaks the policy, or
 * comes from `--pin-file`/`AIRTIGHT_PIN` for every PIN of the enrollment
 * (refused at once, no loop, when it breaks a policy). Nothing here prints a PIN.
 *
 * A UI callback must not throw (the client would report a bare INTERNAL
 * error), so a failure to act on (a PIN source missing, a PIN from a file the
 * policy forbids) is kept in {@link TerminalEnrollmentUi.failure}, already
 * reported on stderr, and the client is told "cancelled"; the command rethrows it.
 */
import { confirmOnTerminal } from '../../confirm.js';
import type { ConsentRequest, EnrollmentUi, PinPrompt, ProgressEvent } from '../../../keygen2/client/index.js';
import { pinBytes } from '../../../keygen2/client/index.js';
import { groupingByte, passphraseFormatByte, patternMask, type PatternRestriction } from '../../../keygen2/messages/index.js';
import { note, terminalSafe, usageError } from '../../output.js';
import { checkNewPin, describePinPolicy, type PinPolicyView } from '../../pin-policy-text.js';
import { readSecret, SECRET_ENV, SECRET_FILE_OPTION, willPrompt, type SecretSources } from '../../secrets.js';

/** Entries per PIN on the terminal before the enrollment is given up. */
const MAX_TERMINAL_ENTRIES = 5;

export interface TerminalUiOptions {
  /** Where PINs come from (`processSecretSources({ pin: opts.pinFile })`). */
  readonly secrets: SecretSources;
  /** `--yes`: consent without asking (the issuer is still shown). */
  readonly assumeYes: boolean;
  /** Asks a yes/no question on the terminal; default a readline question on stderr. */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** Writes one line to stderr; default {@link note}. */
  readonly log?: (line: string) => void;
}

/** The client's PIN prompt as the CLI's policy view (for the policy sentence and the pre-check). */
export const policyViewOf = (p: PinPrompt): PinPolicyView => ({
  format: passphraseFormatByte(p.format),
  minLength: p.minLength,
  maxLength: p.maxLength,
  patternRestrictions: patternMask(p.patternRestrictions as readonly PatternRestriction[]),
  grouping: groupingByte(p.grouping),
});

/** `the signature key Key.1 ("My key")`, `the authentication keys Key.1, Key.2`. */
function keysText(pinPrompt: PinPrompt): string {
  const names = pinPrompt.keys.map((k) =>
    k.friendlyName === undefined || k.friendlyName === '' ? k.id : `${k.id} (${terminalSafe(JSON.stringify(k.friendlyName))})`,
  );
  return `the ${pinPrompt.appUsage} ${names.length === 1 ? 'key' : 'keys'} ${names.join(', ')}`;
}

/** Why a typed PIN breaks the policy (spec §8 steps 1-3), or undefined when it complies. */
export function pinProblem(text: string, pinPrompt: PinPrompt): string | undefined {
  const bytes = pinBytes(text, pinPrompt.format);
  if (bytes === undefined) return 'the PIN must be an even number of hex digits (the format is binary)';
  try {
    return checkNewPin(bytes, policyViewOf(pinPrompt));
  } finally {
    bytes.fill(0);
  }
}

/** What the client's `rejected` means, for a line before asking again. */
function rejectionText(pinPrompt: PinPrompt): string {
  switch (pinPrompt.rejected) {
    case 'grouping':
      return `the PIN must differ from the one chosen for the other keys of PIN policy ${pinPrompt.pinPolicyId} (grouping "${pinPrompt.grouping}")`;
    case 'not-hex':
      return 'the PIN must be an even number of hex digits (the format is binary)';
    case 'mismatch':
      return 'the two entries differ';
    case undefined:
      return '';
    default:
      return `the PIN breaks the PIN policy (${pinPrompt.rejected})`;
  }
}

export class TerminalEnrollmentUi implements EnrollmentUi {
  /** A failure already reported on stderr, to rethrow once the client has aborted. */
  failure: unknown;
  readonly #options: TerminalUiOptions;
  readonly #log: (line: string) => void;

  constructor(options: TerminalUiOptions) {
    this.#options = options;
    this.#log = options.log ?? note;
  }

  async consent(consentRequest: ConsentRequest): Promise<boolean> {
    const log = this.#log;
    log(`Issuer:   ${consentRequest.issuerHost} (${consentRequest.secure ? 'https' : 'http, not encrypted'})`);
    log(`Action:   ${consentRequest.action === 'manage' ? 'manage (create, update or delete keys)' : 'unlock (unblock keys)'}`);
    log(
      `Privacy:  ${consentRequest.privacyEnabled ? 'on (the device identity is not disclosed to the issuer)' : "off (the issuer learns this device's identity)"}`,
    );
    if (consentRequest.capabilityQueries.length > 0) log(`Asks for: ${terminalSafe(consentRequest.capabilityQueries.join(', '))}`);
    if (this.#options.assumeYes) {
      log('Consent given with --yes.');
      return true;
    }
    try {
      return await (this.#options.confirm ?? confirmOnTerminal)(`Let ${consentRequest.issuerHost} put keys into this device?`);
    } catch (error) {
      this.failure = error;
      return false;
    }
  }

  async enterPin(pinPrompt: PinPrompt): Promise<string | undefined> {
    try {
      return await this.#enterPin(pinPrompt);
    } catch (error) {
      this.failure = error;
      return undefined;
    }
  }

  async #enterPin(pinPrompt: PinPrompt): Promise<string | undefined> {
    const { secrets } = this.#options;
    const policy = describePinPolicy(policyViewOf(pinPrompt));
    const label = `PIN for ${keysText(pinPrompt)}`;
    if (!willPrompt(secrets, 'pin')) {
      // One value for every PIN of the enrollment: refused at once, never asked again.
      const source = secrets.files.pin !== undefined ? SECRET_FILE_OPTION.pin : SECRET_ENV.pin;
      if (pinPrompt.rejected !== undefined) return usageError(`the PIN from ${source} was refused for ${keysText(pinPrompt)}: ${rejectionText(pinPrompt)}`);
      const bytes = await readSecret(secrets, { kind: 'pin', label });
      const text = bytes.toString('utf8');
      bytes.fill(0);
      const problem = pinProblem(text, pinPrompt);
      if (problem !== undefined) {
        return usageError(`the PIN from ${source} does not fit ${keysText(pinPrompt)} (PIN policy ${pinPrompt.pinPolicyId}: ${policy}). ${problem}`);
      }
      this.#log(`${capitalize(label)} from ${source} (PIN policy ${pinPrompt.pinPolicyId}: ${policy}).`);
      return text;
    }
    const log = this.#log;
    log(`${capitalize(label)} (PIN policy ${pinPrompt.pinPolicyId}): ${policy}.`);
    if (pinPrompt.rejected !== undefined) log(`That PIN was refused: ${rejectionText(pinPrompt)}.`);
    for (let entry = 1; entry <= MAX_TERMINAL_ENTRIES; entry++) {
      const first = await secrets.prompt('New PIN:');
      if (first === '') {
        log('An empty PIN is not a PIN; try again.');
        continue;
      }
      const problem = pinProblem(first, pinPrompt);
      if (problem !== undefined) {
        log(`${problem}; try again.`);
        continue;
      }
      const again = await secrets.prompt('New PIN again:');
      if (again !== first) {
        log('The two entries differ; try again.');
        continue;
      }
      return first;
    }
    // Cancelled, as the client itself gives up after too many refused entries (USER_ABORT).
    log(`No acceptable PIN for ${keysText(pinPrompt)} after ${MAX_TERMINAL_ENTRIES} entries.`);
    return undefined;
  }

  progress(progressEvent: ProgressEvent): void {
    const log = this.#log;
    switch (progressEvent.step) {
      case 'invocation':
        log(`Contacting ${progressEvent.issuerHost}...`);
        return;
      case 'initialization':
        log(`Provisioning session opened (server session ${progressEvent.serverSessionId}).`);
        return;
      case 'credential-discovery':
        log(`Looking up keys of earlier sessions (${progressEvent.lookups} lookup${progressEvent.lookups === 1 ? '' : 's'})...`);
        return;
      case 'key-creation':
        log(`Creating ${progressEvent.keys} key${progressEvent.keys === 1 ? '' : 's'} (RSA keys take a few seconds)...`);
        return;
      case 'key-created':
        log(`  created ${progressEvent.id}`);
        return;
      case 'finalization':
        log(`Installing ${progressEvent.credentials} certificate${progressEvent.credentials === 1 ? '' : 's'} and closing the session...`);
        return;
      case 'done':
        log('Done.');
        return;
      case 'aborted':
        log(`Enrollment aborted (${progressEvent.code}).`);
        return;
      case 'unconfirmed':
        log(`Keys installed, but the issuer did not confirm the enrollment (${progressEvent.code}).`);
        return;
    }
  }
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
