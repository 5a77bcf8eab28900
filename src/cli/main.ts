#!/usr/bin/env node
/**
 * The `airtight` command. Each subcommand lives in its own small file under
 * `commands/` and delegates to the library; this file only assembles them and
 * turns failures into one line on stderr and a stable exit status.
 *
 * Exit status (stable: scripts may test for it):
 *
 * | status | meaning                                                       |
 * |--------|---------------------------------------------------------------|
 * | 0      | success (also `--help`, `--version`)                          |
 * | 1      | generic failure: unexpected error, file-system error          |
 * | 2      | usage: unknown command or option, missing or invalid argument |
 * | 3      | SKS AUTHORIZATION (wrong PIN or PUK)                          |
 * | 4      | SKS NOT_ALLOWED (e.g. `device init` on an initialized store)  |
 * | 5      | SKS NO_KEY, NO_SESSION                                        |
 * | 6      | SKS STORAGE, NOT_AVAILABLE (e.g. no store, no device yet)     |
 * | 7      | any other SKS code (MAC, CRYPTO, ALGORITHM, OPTION, INTERNAL, |
 * |        | EXTERNAL, USER_ABORT); also the user declined or cancelled    |
 * |        | an enrollment (KeyGen2 USER_ABORT)                            |
 * | 8      | enroll: the issuer could not be reached or ended the session  |
 * |        | (KeyGen2 TRANSPORT: connection, HTTP status, redirect to its  |
 * |        | error page, e.g. when it does not trust this device)          |
 * | 9      | enroll: the issuer's messages were refused (KeyGen2 SYNTAX,   |
 * |        | SCHEMA, PROTOCOL, VERIFICATION, POLICY, SESSION)              |
 *
 * An enrollment the SKS refused (KeyGen2 SKS) exits with the status of the
 * SKS code underneath; KeyGen2 INTERNAL is 1.
 *
 * The statuses live in exit-status.ts; SKS, KeyGen2 and issuer codes map through its tables
 * (issuer BAD_REQUEST is 2, any other issuer code 1).
 *
 * Set AIRTIGHT_DEBUG=1 to get stack traces on stderr.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isIssuerError } from '../issuer/errors.js';
import { isKeyGen2Error } from '../keygen2/errors.js';
import { isSksError } from '../sks/errors.js';
import { demoCommand } from './commands/demo/index.js';
import { deviceCommand } from './commands/device/index.js';
import { enrollCommand } from './commands/enroll/index.js';
import { interopCommand } from './commands/interop/index.js';
import { issuerCommand } from './commands/issuer/index.js';
import { keysCommand } from './commands/keys/index.js';
import { EXIT_GENERIC, EXIT_SUCCESS, EXIT_USAGE, ISSUER_EXIT_STATUS, SKS_EXIT_STATUS, keygen2ExitStatus } from './exit-status.js';
import { debugReport, terminalSafe } from './output.js';

function packageVersion(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : '0.0.0';
}

function buildProgram(): Command {
  const program = new Command('airtight')
    .description('SKS/KeyGen2: air-tight provisioning of keys into a secure key store')
    .version(packageVersion(), '-V, --version')
    .showSuggestionAfterError()
    .addCommand(demoCommand())
    .addCommand(deviceCommand())
    .addCommand(enrollCommand())
    .addCommand(interopCommand())
    .addCommand(issuerCommand())
    .addCommand(keysCommand());
  // Commander calls process.exit itself unless told otherwise, and
  // `addCommand` does not pass the setting down: apply it to every command.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  return program;
}

const isErrnoError = (e: unknown): e is NodeJS.ErrnoException => e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && 'syscall' in e;

/** Runs the CLI and returns its exit status; prints nothing on stdout itself. */
async function run(argv: readonly string[]): Promise<number> {
  const debug = process.env['AIRTIGHT_DEBUG'] === '1';
  try {
    await buildProgram().parseAsync([...argv]);
    return EXIT_SUCCESS;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (or the help text).
      return error.exitCode === EXIT_SUCCESS ? EXIT_SUCCESS : EXIT_USAGE;
    }
    if (debug) process.stderr.write(debugReport(error));
    // One line per failure; a message can carry text from a hostile message or file (a key id, a
    // JSON member name), so no control or reordering character reaches the terminal as itself.
    const report = (line: string): void => void process.stderr.write(`airtight: ${terminalSafe(line)}\n`);
    if (isSksError(error)) {
      report(`${error.code}: ${error.message}`);
      return SKS_EXIT_STATUS[error.code];
    }
    if (isKeyGen2Error(error)) {
      // KeyGen2 messages are secret-free by design (keygen2/errors.ts); an SKS refusal names its SKS code.
      const line = error.code === 'SKS' && isSksError(error.cause) ? `SKS ${error.cause.code}: ${error.cause.message}` : `${error.code}: ${error.message}`;
      report(line);
      return keygen2ExitStatus(error);
    }
    if (isIssuerError(error)) {
      // Issuer errors are secret-free by contract (src/issuer/errors.ts).
      report(`${error.code}: ${error.message}`);
      return ISSUER_EXIT_STATUS[error.code];
    }
    if (isErrnoError(error)) {
      // File-system and OS errors name a path and an errno, never a secret.
      report(error.message);
      return EXIT_GENERIC;
    }
    // Anything else may carry text from deep inside a dependency: say nothing specific.
    process.stderr.write(`airtight: unexpected error${error instanceof Error ? ` (${error.name})` : ''}${debug ? '' : '; set AIRTIGHT_DEBUG=1 for details'}\n`);
    return EXIT_GENERIC;
  }
}

const status = await run(process.argv);
// A command may set a failing process.exitCode itself; success does not overwrite it.
if (status !== EXIT_SUCCESS || process.exitCode === undefined) process.exitCode = status;
