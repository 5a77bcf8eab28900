/**
 * Where the CLI gets PINs and PUKs from, in this order:
 *
 * 1. a file named by an option (`--pin-file`, `--puk-file`, `--new-pin-file`):
 *    its first line, without the line break; the file must be a regular file
 *    that neither group nor others can access (chmod 600);
 * 2. an environment variable (`AIRTIGHT_PIN`, `AIRTIGHT_PUK`, `AIRTIGHT_NEW_PIN`);
 * 3. a hidden prompt on the terminal (masked with `*`), when stdin is a TTY.
 *
 * Without any of these the command fails at once with a usage error naming
 * the options: it never waits on a stdin that is not a terminal.
 *
 * A PIN or PUK in binary format (spec §8.1) is given as hex in every source.
 * Secrets are never echoed, logged or put into an error message.
 */
import password from '@inquirer/password';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { PassphraseFormat } from '../sks/constants.js';
import { SksError } from '../sks/errors.js';
import { usageError } from './output.js';

export type SecretKind = 'pin' | 'puk' | 'new-pin';

export const SECRET_ENV: Readonly<Record<SecretKind, string>> = {
  pin: 'AIRTIGHT_PIN',
  puk: 'AIRTIGHT_PUK',
  'new-pin': 'AIRTIGHT_NEW_PIN',
};

export const SECRET_FILE_OPTION: Readonly<Record<SecretKind, string>> = {
  pin: '--pin-file',
  puk: '--puk-file',
  'new-pin': '--new-pin-file',
};

/** Everything secret acquisition depends on, passed in (STYLE rule 4). */
export interface SecretSources {
  readonly env: NodeJS.ProcessEnv;
  /** Files named on the command line, by kind. */
  readonly files: Partial<Record<SecretKind, string | undefined>>;
  /** True when a hidden prompt may be shown (stdin is a terminal). */
  readonly interactive: boolean;
  /** Asks for a secret without echoing it. */
  readonly prompt: (message: string) => Promise<string>;
}

export interface SecretRequest {
  readonly kind: SecretKind;
  /** What to ask for, e.g. `PIN for key #3`. Never contains the secret. */
  readonly label: string;
  /** The passphrase format (spec §2.4); binary secrets are read as hex. */
  readonly format?: number;
  /** Ask twice and compare (prompt only), for a new PIN. */
  readonly confirm?: boolean;
  /**
   * Checks the value (e.g. a new PIN against its policy) as soon as it is
   * known: on the terminal before it is asked again. Throws to refuse it.
   */
  readonly check?: (value: Buffer) => void;
}

/** The hidden terminal prompt: @inquirer/password on stdin, drawn on stderr so stdout stays clean. */
export async function promptHidden(message: string): Promise<string> {
  try {
    return await password({ message, mask: '*' }, { output: process.stderr, clearPromptOnDone: false });
  } catch (error) {
    if (error instanceof Error && (error.name === 'ExitPromptError' || error.name === 'AbortPromptError')) {
      throw new SksError('USER_ABORT', 'Cancelled by the user');
    }
    throw error;
  }
}

/** The sources of the running process, with the file options of a command. */
export function processSecretSources(files: Partial<Record<SecretKind, string | undefined>>): SecretSources {
  return { env: process.env, files, interactive: process.stdin.isTTY, prompt: promptHidden };
}

/** True when {@link readSecret} would ask on the terminal for this kind (no file, no variable). */
export const willPrompt = (sources: SecretSources, kind: SecretKind): boolean =>
  sources.files[kind] === undefined && (sources.env[SECRET_ENV[kind]] ?? '') === '' && sources.interactive;

/** Which sources a secret of this kind can come from, for messages. */
export const secretSourcesText = (kind: SecretKind): string =>
  `${SECRET_FILE_OPTION[kind]} FILE or the environment variable ${SECRET_ENV[kind]} (or run it on a terminal to be asked)`;

/**
 * Reads the first line of a secret file after checking that it is a regular
 * file only its owner can access.
 */
export function readSecretFile(path: string, option: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return usageError(`cannot open ${option} ${path}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) usageError(`${option} ${path} is not a regular file`);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      usageError(`${option} ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    }
    const content = readFileSync(fd);
    const nl = content.indexOf(0x0a);
    let end = nl < 0 ? content.length : nl;
    if (end > 0 && content[end - 1] === 0x0d) end -= 1;
    const line = Buffer.from(content.subarray(0, end));
    content.fill(0);
    return line;
  } finally {
    closeSync(fd);
  }
}

/** Turns entered text into the secret's bytes: UTF-8, or hex for binary format. */
function toBytes(text: Buffer, request: SecretRequest, source: string): Buffer {
  if (request.format !== PassphraseFormat.BINARY) return text;
  const hex = text.toString('latin1');
  text.fill(0);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) usageError(`the ${request.label} from ${source} must be hex (the format is binary)`);
  return Buffer.from(hex, 'hex');
}

/**
 * Gets one secret from the first source that has it. Fails with a usage
 * error (exit 2) when none has it or the value is empty.
 */
export async function readSecret(sources: SecretSources, request: SecretRequest): Promise<Buffer> {
  const { kind, label } = request;
  const file = sources.files[kind];
  const fromEnv = sources.env[SECRET_ENV[kind]];
  let text: Buffer;
  let source: string;
  if (file !== undefined) {
    source = SECRET_FILE_OPTION[kind];
    text = readSecretFile(file, source);
  } else if (fromEnv !== undefined && fromEnv !== '') {
    source = SECRET_ENV[kind];
    text = Buffer.from(fromEnv, 'utf8');
  } else if (sources.interactive) {
    source = 'the prompt';
    const first = await sources.prompt(`${capitalize(label)}:`);
    if (request.confirm === true && first !== '') {
      checked(toBytes(Buffer.from(first, 'utf8'), request, source), request).fill(0);
      const again = await sources.prompt(`${capitalize(label)} again:`);
      if (again !== first) usageError(`the two entries of the ${label} differ`);
    }
    text = Buffer.from(first, 'utf8');
  } else {
    return usageError(`the ${label} is needed and stdin is not a terminal: use ${secretSourcesText(kind)}`);
  }
  if (text.length === 0) usageError(`empty ${label} from ${source}`);
  return checked(toBytes(text, request, source), request);
}

/** Applies `request.check`, wiping the value when it is refused. */
function checked(value: Buffer, request: SecretRequest): Buffer {
  try {
    request.check?.(value);
  } catch (error) {
    value.fill(0);
    throw error;
  }
  return value;
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
