/**
 * `airtight enroll URL`: runs the KeyGen2 client (spec §2.2, §3.3) against an
 * issuer that speaks the HTTP binding, into the device store. The work is
 * `runEnrollment` with the HTTP transport and the terminal UI of ui.ts;
 * this file parses the options, opens the store and prints the summary.
 *
 * Unlike the `keys` commands, enroll holds the store from the user's consent to
 * the end of the session (PIN prompts included): an open provisioning session
 * lives in the SKS's memory.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { runEnrollment, UnconfirmedEnrollmentError, type CommittedEnrollment, type EnrollmentSummary } from '../../../keygen2/client/index.js';
import { isKeyGen2Error } from '../../../keygen2/errors.js';
import { createHttpTransport, parseInvocationUrl, type HttpTransportOptions, type Invocation } from '../../../keygen2/http/index.js';
import { deviceStoreDir } from '../../home.js';
import { dirOption, jsonOption, pinFileOption, yesOption } from '../../options.js';
import { note, out, terminalSafe, usageError } from '../../output.js';
import { processSecretSources, readSecretFile } from '../../secrets.js';
import { TerminalEnrollmentUi } from './ui.js';
import type { SecureKeyStore } from '../../../sks/api.js';
import { openKeyStore, requireKeyStore } from '../keys/store.js';

export interface EnrollOptions {
  dir?: string;
  yes?: boolean;
  pinFile?: string;
  json?: boolean;
  caFile?: string;
}

/** The invocation URL, or a usage error that says what is wrong with it. */
function invocationOf(url: string): Invocation {
  try {
    return parseInvocationUrl(url);
  } catch (error) {
    if (isKeyGen2Error(error)) return usageError(`${error.message} (expected webpkiproxy://keygen2?init=...&url=...[&cookie=...])`);
    throw error;
  }
}

/** `https://i.example/kg2` → TLS trust from `--ca-file` (PEM), else the system's. */
function transportOptions(opts: EnrollOptions): HttpTransportOptions {
  if (opts.caFile === undefined) return {};
  let ca: Buffer;
  try {
    ca = readFileSync(opts.caFile);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return usageError(`cannot read --ca-file ${opts.caFile}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  return { tls: { ca } };
}

/** A line for a TRANSPORT failure caused by an untrusted TLS certificate (node's error code names it, never a secret). */
function tlsHint(err: unknown): string | undefined {
  if (!isKeyGen2Error(err) || err.code !== 'TRANSPORT') return undefined;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !/CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS/.test(code)) return undefined;
  return `the issuer's TLS certificate is not trusted (${code}); if it comes from a private CA, give that CA with --ca-file`;
}

/** The last segment of an SKS algorithm URI (`...#ec.nist.p256` → `ec.nist.p256`). */
const shortAlgorithm = (uri: string): string => uri.slice(uri.lastIndexOf('#') + 1) || uri;

/** What the summary shows: a whole enrollment, or one the device committed but the issuer never confirmed (no redirect). */
type ShownEnrollment = CommittedEnrollment & { readonly redirectUrl?: string };

/**
 * The summary as plain JSON (handles as numbers, fingerprints as hex). `confirmed` is false when
 * the device committed the session but the issuer's final redirect never came (`redirectUrl` null).
 */
export function summaryJson(enrollmentSummary: ShownEnrollment): unknown {
  return {
    confirmed: enrollmentSummary.redirectUrl !== undefined,
    issuerHost: enrollmentSummary.issuerHost,
    issuerUri: enrollmentSummary.issuerUri,
    action: enrollmentSummary.action,
    privacyEnabled: enrollmentSummary.privacyEnabled,
    serverSessionId: enrollmentSummary.serverSessionId,
    clientSessionId: enrollmentSummary.clientSessionId,
    keys: enrollmentSummary.keys.map((k) => ({
      keyHandle: k.keyHandle,
      id: k.id,
      keyAlgorithm: k.keyAlgorithm,
      appUsage: k.appUsage,
      friendlyName: k.friendlyName ?? null,
      certificateSubject: k.certificateSubject,
      pinPolicyId: k.pinPolicyId ?? null,
      imported: k.imported ?? null,
    })),
    postOperations: enrollmentSummary.postOperations.map((p) => ({
      operation: p.operation,
      targetKeyHandle: p.targetKeyHandle,
      fingerPrint: Buffer.from(p.fingerPrint).toString('hex'),
      newKeyId: p.newKeyId ?? null,
    })),
    redirectUrl: enrollmentSummary.redirectUrl ?? null,
  };
}

function printSummary(enrollmentSummary: ShownEnrollment): void {
  const count = enrollmentSummary.keys.length;
  const how = `(action ${enrollmentSummary.action}, privacy mode ${enrollmentSummary.privacyEnabled ? 'on' : 'off'}): ${count} key${count === 1 ? '' : 's'} installed`;
  out(
    enrollmentSummary.redirectUrl === undefined
      ? `NOT confirmed by ${enrollmentSummary.issuerHost} ${how}, but the issuer may not have recorded the enrollment and may revoke their certificates; ask the issuer, or remove them with "airtight keys delete".`
      : `Enrolled with ${enrollmentSummary.issuerHost} ${how}.`,
  );
  if (count > 0) {
    const rows = [
      ['KEY', 'ID', 'ALGORITHM', 'USAGE', 'SUBJECT'],
      ...enrollmentSummary.keys.map((k) => [`#${k.keyHandle}`, k.id, shortAlgorithm(k.keyAlgorithm), k.appUsage, terminalSafe(k.certificateSubject) || '-']),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const texts of rows) out(`  ${texts.map((c, i) => (i === texts.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`);
  }
  for (const postOperationDone of enrollmentSummary.postOperations) {
    out(
      `Post-operation: ${postOperationDone.operation} of key #${postOperationDone.targetKeyHandle}${postOperationDone.newKeyId === undefined ? '' : ` (by ${postOperationDone.newKeyId})`}`,
    );
  }
  if (enrollmentSummary.redirectUrl !== undefined) out(`Redirect: ${enrollmentSummary.redirectUrl}`);
}

export function enrollCommand(): Command {
  return new Command('enroll')
    .description('enroll keys from a KeyGen2 issuer into the device store (HTTP binding)')
    .argument('<url>', 'invocation URL: webpkiproxy://keygen2?init=...&url=...&cookie=... (or the same query on http(s)://)')
    .addOption(yesOption('consent without asking (required when stdin is not a terminal)'))
    .addOption(pinFileOption('use the first line of this file (mode 0600) as every PIN the issuer asks for'))
    .option('--ca-file <file>', 'trust this PEM CA (bundle) for an https issuer')
    .addOption(jsonOption('print the summary as JSON'))
    .addOption(dirOption())
    .addHelpText(
      'after',
      '\nShows the issuer and asks for consent, then asks for each PIN on a hidden prompt that states\n' +
        'the PIN policy (or takes every PIN from --pin-file or AIRTIGHT_PIN). Progress goes to stderr,\n' +
        'the summary of installed keys to stdout. Exit status: 0 enrolled, 2 usage (also a PIN from\n' +
        '--pin-file/AIRTIGHT_PIN that breaks the policy), 7 declined or cancelled, 8 issuer unreachable\n' +
        'or ended the session (e.g. it does not trust this device), 9 issuer messages refused,\n' +
        '3-7 the SKS refused (as for "keys").',
    )
    .action(async (url: string, opts: EnrollOptions) => {
      let summary: EnrollmentSummary;
      try {
        summary = await enroll(url, opts);
      } catch (error) {
        // The keys are on the device although the enrollment failed: say which, then fail as usual.
        if (error instanceof UnconfirmedEnrollmentError) {
          if (opts.json === true) out(JSON.stringify(summaryJson(error.installed), null, 2));
          else printSummary(error.installed);
        }
        throw error;
      }
      if (opts.json === true) out(JSON.stringify(summaryJson(summary), null, 2));
      else printSummary(summary);
    });
}

/**
 * What `airtight enroll URL` does before it prints: parses the invocation URL,
 * runs the KeyGen2 client over HTTP with the terminal UI into the device store
 * (`opts.dir`, else the default), and returns the summary. `airtight demo`
 * enrolls through this same function; `log` replaces the progress lines on stderr.
 *
 * @example
 * const summary = await enroll(invocationUrl, { dir: '/tmp/device', yes: true, pinFile: '/tmp/pin' });
 */
export async function enroll(url: string, opts: EnrollOptions, log?: (line: string) => void): Promise<EnrollmentSummary> {
  const invocation = invocationOf(url);
  if (opts.yes !== true && !process.stdin.isTTY) {
    usageError('stdin is not a terminal, so nobody can consent: add --yes to enroll without asking');
  }
  // A --pin-file that cannot be used fails now, not at the first PIN: by then the issuer has
  // opened a session it never sees closed (seen live against the reference issuer).
  if (opts.pinFile !== undefined) readSecretFile(opts.pinFile, '--pin-file').fill(0);
  const transport = createHttpTransport(transportOptions(opts));
  const ui = new TerminalEnrollmentUi({
    secrets: processSecretSources({ pin: opts.pinFile }),
    assumeYes: opts.yes === true,
    ...(log === undefined ? {} : { log }),
  });
  const dir = deviceStoreDir(opts.dir);
  // A missing store fails before the issuer is contacted; the store itself is opened (and held)
  // only once the user has consented, so other commands can use it while the question waits.
  requireKeyStore(dir);
  let sks: SecureKeyStore | undefined;
  let summary: EnrollmentSummary;
  try {
    summary = await runEnrollment({ sks: () => (sks = openKeyStore(dir)), transport, ui, invocationUrl: invocation });
  } catch (error) {
    await sks?.close().catch(() => undefined);
    const hint = tlsHint(error);
    if (hint !== undefined) note(`airtight: ${hint}`);
    // A failure of the UI (already on stderr) is the real reason the client gave up.
    throw ui.failure ?? error;
  }
  await sks?.close();
  return summary;
}
