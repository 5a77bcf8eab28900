/**
 * Shared output helpers of the `airtight` commands: usage errors that fit
 * main.ts's exit-status table, byte encodings, and writing results to stdout
 * or to files without leaking secrets onto a terminal or into loose files.
 */
import { closeSync, existsSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { CommanderError } from 'commander';
import { EXIT_USAGE } from './exit-status.js';

/**
 * Prints `airtight: <message>` and fails with exit status 2 (usage).
 * main.ts treats a CommanderError as already reported and maps it to 2.
 */
export function usageError(message: string): never {
  process.stderr.write(`airtight: ${message}\n`);
  throw new CommanderError(EXIT_USAGE, 'airtight.usage', message);
}

/**
 * What `AIRTIGHT_DEBUG=1` prints for a failure: its stack, then each `cause`
 * in turn (an `INTERNAL` or `CRYPTO` error keeps the failure underneath as its
 * cause). Causes may quote the data that failed, so nothing else prints them.
 */
export function debugReport(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  // A cause chain can loop (a.cause = b, b.cause = a); eight levels is plenty.
  for (let depth = 0; current !== undefined && !seen.has(current) && depth < 8; depth++) {
    seen.add(current);
    // Debug output: whatever was thrown, as String() prints it.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(depth === 0 ? text : `Caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return `${parts.join('\n')}\n`;
}

/** Control characters, and the ones that reorder text (bidi overrides and isolates), by code point. */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Text from an issuer (a certificate subject, a friendly name) as it may go to a terminal: an
 * escape sequence or a bidi override would let it rewrite what the user reads, so each such
 * character is shown as `\uXXXX` instead.
 */
export const terminalSafe = (text: string): string => text.replace(UNPRINTABLE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);

/** Writes one line to stdout. */
export const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Writes one line to stderr (notes and progress that must not mix with data on stdout). */
export const note = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export const BYTE_FORMATS = ['raw', 'hex', 'base64url'] as const;
export type ByteFormat = (typeof BYTE_FORMATS)[number];

/** The bytes as written: raw as is, text encodings with a trailing newline. */
export function encodeBytes(bytes: Uint8Array, format: ByteFormat): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (format) {
    case 'raw':
      return Buffer.from(buf);
    case 'hex':
      return Buffer.from(`${buf.toString('hex')}\n`, 'ascii');
    case 'base64url':
      return Buffer.from(`${buf.toString('base64url')}\n`, 'ascii');
  }
}

export interface WriteResultOptions {
  /** A file to write instead of stdout. */
  readonly out?: string | undefined;
  readonly format: ByteFormat;
  /**
   * Key material or plaintext: a file is created with mode 0600 and never
   * overwritten unless `force`; with `refuseTerminal` stdout must not be a TTY.
   */
  readonly secret?: boolean;
  readonly refuseTerminal?: boolean;
  readonly force?: boolean;
}

/**
 * Checks, before anything costs a PIN try, that {@link writeResult} will be
 * able to write where it was told to.
 */
export function checkResultTarget(options: WriteResultOptions, what: string): void {
  if (options.out === undefined) {
    if (options.refuseTerminal === true && process.stdout.isTTY) {
      usageError(`refusing to write ${what} to a terminal: use --out FILE or redirect stdout`);
    }
    return;
  }
  if (options.secret === true && options.force !== true && existsSync(options.out)) {
    usageError(`${options.out} already exists; choose another --out file or add --force`);
  }
}

/** Writes `bytes` to `options.out` or stdout in `options.format`. */
export function writeResult(bytes: Uint8Array, options: WriteResultOptions): void {
  const data = encodeBytes(bytes, options.format);
  try {
    if (options.out === undefined) {
      process.stdout.write(data);
    } else if (options.secret === true) {
      writeSecretFile(options.out, data, options.force === true);
    } else {
      writeFileSync(options.out, data);
    }
  } finally {
    if (options.secret === true) data.fill(0);
  }
}

/**
 * Creates `path` with mode 0600 (exclusive create, so an existing file with
 * looser permissions is never reused) and writes `data`. With `force` an
 * existing file is removed first.
 */
export function writeSecretFile(path: string, data: Uint8Array, force: boolean): void {
  if (force) rmSync(path, { force: true });
  const fd = openSync(path, 'wx', 0o600);
  try {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written);
  } finally {
    closeSync(fd);
  }
}
