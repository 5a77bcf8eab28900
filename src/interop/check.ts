/**
 * The check model of the interop runner: every comparison against a vector is
 * one named check that passed or failed with a one-line detail.
 */
import { isSksError } from '../sks/errors.js';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/** Thrown by the assertion helpers; its message becomes the check's detail. */
export class Mismatch extends Error {
  override readonly name = 'Mismatch';
}

const PREVIEW_BYTES = 24;

const preview = (bytes: Uint8Array): string => {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  return bytes.length <= PREVIEW_BYTES ? hex : `${hex.slice(0, PREVIEW_BYTES * 2)}…`;
};

/** `expected 32 bytes 2bb1…, got 32 bytes 2bb2… (first difference at byte 1)`. */
export function describeBytes(expected: Uint8Array, got: Uint8Array): string {
  let index = 0;
  while (index < expected.length && index < got.length && expected[index] === got[index]) index++;
  return `expected ${expected.length} bytes ${preview(expected)}, got ${got.length} bytes ${preview(got)} (first difference at byte ${index})`;
}

export function expectBytes(what: string, expected: Uint8Array, got: Uint8Array): void {
  if (!Buffer.from(expected.buffer, expected.byteOffset, expected.length).equals(got)) {
    throw new Mismatch(`${what}: ${describeBytes(expected, got)}`);
  }
}

export function expectEqual(what: string, expected: unknown, got: unknown): void {
  if (expected !== got) throw new Mismatch(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
}

export function expectTrue(what: string, condition: boolean): void {
  if (!condition) throw new Mismatch(what);
}

/** One line describing an unexpected exception, SKS errors with their code. */
export function describeError(error: unknown): string {
  if (error instanceof Mismatch) return error.message;
  if (isSksError(error)) return `threw SksError ${error.code}: ${error.message}`;
  if (error instanceof Error) return `threw ${error.name}: ${error.message}`;
  return `threw ${String(error)}`;
}

/** Collects checks in order; a check fails on the first mismatch or any exception. */
export class CheckList {
  readonly results: CheckResult[] = [];

  pass(name: string): void {
    this.results.push({ name, ok: true });
  }

  fail(name: string, detail: string): void {
    this.results.push({ name, ok: false, detail });
  }

  run(name: string, body: () => void): void {
    try {
      body();
      this.pass(name);
    } catch (error) {
      this.fail(name, describeError(error));
    }
  }

  async runAsync(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
      this.pass(name);
    } catch (error) {
      this.fail(name, describeError(error));
    }
  }

  /** Runs `body`; an exception becomes one failed check named `name` instead of aborting the run. */
  guard(name: string, body: () => void): void {
    try {
      body();
    } catch (error) {
      this.fail(name, describeError(error));
    }
  }

  async guardAsync(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (error) {
      this.fail(name, describeError(error));
    }
  }
}
