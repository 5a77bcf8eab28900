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

const preview = (b: Uint8Array): string => {
  const hex = Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
  return b.length <= PREVIEW_BYTES ? hex : `${hex.slice(0, PREVIEW_BYTES * 2)}…`;
};

/** `expected 32 bytes 2bb1…, got 32 bytes 2bb2… (first difference at byte 1)`. */
export function describeBytes(expected: Uint8Array, got: Uint8Array): string {
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  return `expected ${expected.length} bytes ${preview(expected)}, got ${got.length} bytes ${preview(got)} (first difference at byte ${i})`;
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
export function describeError(e: unknown): string {
  if (e instanceof Mismatch) return e.message;
  if (isSksError(e)) return `threw SksError ${e.code}: ${e.message}`;
  if (e instanceof Error) return `threw ${e.name}: ${e.message}`;
  return `threw ${String(e)}`;
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
    } catch (e) {
      this.fail(name, describeError(e));
    }
  }

  async runAsync(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
      this.pass(name);
    } catch (e) {
      this.fail(name, describeError(e));
    }
  }

  /** Runs `body`; an exception becomes one failed check named `name` instead of aborting the run. */
  guard(name: string, body: () => void): void {
    try {
      body();
    } catch (e) {
      this.fail(name, describeError(e));
    }
  }

  async guardAsync(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (e) {
      this.fail(name, describeError(e));
    }
  }
}
