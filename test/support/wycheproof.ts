/**
 * Wycheproof vector files (C2SP/wycheproof, Apache 2.0) from
 * ../shared/vectors/wycheproof: typed access to their groups and tests, and
 * the per-file tally the table-driven runner pins, so that a vector silently
 * skipped or a result that changed shows up as a changed count.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SksError } from '../../src/sks/errors.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WYCHEPROOF_DIR = path.resolve(REPO_ROOT, '..', 'shared', 'vectors', 'wycheproof');

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The fields of one JSON object of a vector file, read through typed accessors. */
export class Fields {
  constructor(
    private readonly options: Readonly<Record<string, unknown>>,
    private readonly where: string,
  ) {}

  private fail(name: string, what: string): never {
    throw new Error(`wycheproof: ${this.where}: "${name}" is not ${what}`);
  }

  has(name: string): boolean {
    return this.options[name] !== undefined;
  }

  str(name: string): string {
    const value = this.options[name];
    return typeof value === 'string' ? value : this.fail(name, 'a string');
  }

  num(name: string): number {
    const value = this.options[name];
    return typeof value === 'number' ? value : this.fail(name, 'a number');
  }

  /** A hex string field as bytes. */
  hex(name: string): Buffer {
    const text = this.str(name);
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) this.fail(name, 'hex');
    return Buffer.from(text, 'hex');
  }

  strings(name: string): readonly string[] {
    const value = this.options[name];
    return Array.isArray(value) && value.every((x): x is string => typeof x === 'string') ? value : this.fail(name, 'a list of strings');
  }
}

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
  readonly fields: Fields;
}

export interface WycheproofGroup {
  readonly fields: Fields;
  readonly tests: readonly WycheproofTest[];
}

export interface WycheproofFile {
  readonly name: string;
  readonly algorithm: string;
  readonly schema: string;
  /** As the file declares it. */
  readonly numberOfTests: number;
  readonly groups: readonly WycheproofGroup[];
}

const RESULTS: readonly string[] = ['valid', 'invalid', 'acceptable'];

/** Reads and narrows one vector file. */
export function loadWycheproof(name: string): WycheproofFile {
  const root: unknown = JSON.parse(readFileSync(path.join(WYCHEPROOF_DIR, name), 'utf8'));
  if (!isRecord(root)) throw new Error(`wycheproof: ${name} is not an object`);
  const top = new Fields(root, name);
  const rawGroups = root['testGroups'];
  if (!Array.isArray(rawGroups)) throw new Error(`wycheproof: ${name} has no testGroups`);
  const groups = rawGroups.map((groupValue: unknown, gi: number): WycheproofGroup => {
    if (!isRecord(groupValue) || !Array.isArray(groupValue['tests'])) throw new Error(`wycheproof: ${name} group ${gi} has no tests`);
    const tests = (groupValue['tests'] as unknown[]).map((item: unknown, ti: number): WycheproofTest => {
      if (!isRecord(item)) throw new Error(`wycheproof: ${name} group ${gi} test ${ti} is not an object`);
      const fn = new Fields(item, `${name} group ${gi} test ${ti}`);
      const result = fn.str('result');
      if (!RESULTS.includes(result)) throw new Error(`wycheproof: ${name} tcId ${fn.num('tcId')}: unknown result ${result}`);
      return { tcId: fn.num('tcId'), comment: fn.str('comment'), flags: fn.strings('flags'), result: result as WycheproofResult, fields: fn };
    });
    return { fields: new Fields(groupValue, `${name} group ${gi}`), tests };
  });
  return { name, algorithm: top.str('algorithm'), schema: top.str('schema'), numberOfTests: top.num('numberOfTests'), groups };
}

/** Every test of a file with its group, in file order. */
export const testsOf = (file: WycheproofFile): Array<{ group: WycheproofGroup; test: WycheproofTest }> =>
  file.groups.flatMap((group) => group.tests.map((test) => ({ group, test })));

/**
 * What the code under test did with one vector:
 * - `accepted`: produced the vector's result (or a signature verified, or an HMAC tag matched);
 * - `rejected`: a coded `SksError`, a signature that did not verify, or an HMAC tag that differs;
 * - `wrong`: a success with some other result, or an error without an SKS code;
 * - `not-applicable`: the SKS cannot hold the key or parameters at all (with the reason).
 */
export type Outcome =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'rejected'; readonly as: string }
  | { readonly kind: 'wrong'; readonly detail: string }
  | { readonly kind: 'not-applicable'; readonly reason: string };

export const accepted: Outcome = { kind: 'accepted' };
export const rejected = (as: string): Outcome => ({ kind: 'rejected', as });
export const wrong = (detail: string): Outcome => ({ kind: 'wrong', detail });
export const notApplicable = (reason: string): Outcome => ({ kind: 'not-applicable', reason });

/** A result other than `expected` is `wrong`; a coded `SksError` is `rejected` under its code. */
export async function outcomeOf(call: () => Promise<Uint8Array>, expected: Uint8Array): Promise<Outcome> {
  let out: Uint8Array;
  try {
    out = await call();
  } catch (error) {
    return errorOutcome(error);
  }
  return Buffer.from(out).equals(Buffer.from(expected)) ? accepted : wrong('a success with another result');
}

export function errorOutcome(errorValue: unknown): Outcome {
  if (errorValue instanceof SksError) return rejected(errorValue.code);
  return wrong(`an error without an SKS code (${errorValue instanceof Error ? errorValue.name : typeof errorValue})`);
}

/** Counts per file; the runner pins it. */
export interface Tally {
  /** As the file declares it. */
  readonly numberOfTests: number;
  /** As iterated. */
  iterated: number;
  valid: { passed: number };
  invalid: { rejected: number };
  acceptable: { accepted: number; rejected: number };
  /** Which way each flag of the `acceptable` vectors went (a vector counts under each of its flags). */
  acceptableByFlag: Record<string, { accepted: number; rejected: number }>;
  /** Rejections of invalid and acceptable vectors by how (SKS code, `false`, `tag differs`). */
  rejectedAs: Record<string, number>;
  /** Vectors the SKS cannot hold, by reason. */
  notApplicable: Record<string, number>;
}

export interface Failure {
  readonly tcId: number;
  readonly result: WycheproofResult;
  readonly comment: string;
  readonly what: string;
}

const bump = (record: Record<string, number>, key: string): void => {
  record[key] = (record[key] ?? 0) + 1;
};

/**
 * Runs every test of `file` through `run` and applies Wycheproof's rules:
 * `valid` must be accepted; `invalid` must be rejected (never a success);
 * `acceptable` may go either way, recorded. A `wrong` outcome always fails.
 */
export async function runFile(
  file: WycheproofFile,
  run: (group: WycheproofGroup, test: WycheproofTest) => Promise<Outcome>,
): Promise<{ tally: Tally; failures: Failure[] }> {
  const tally: Tally = {
    numberOfTests: file.numberOfTests,
    iterated: 0,
    valid: { passed: 0 },
    invalid: { rejected: 0 },
    acceptable: { accepted: 0, rejected: 0 },
    acceptableByFlag: {},
    rejectedAs: {},
    notApplicable: {},
  };
  const failures: Failure[] = [];
  const fail = (wycheproofTest: WycheproofTest, what: string): void => {
    failures.push({ tcId: wycheproofTest.tcId, result: wycheproofTest.result, comment: wycheproofTest.comment, what });
  };
  for (const { group, test } of testsOf(file)) {
    tally.iterated += 1;
    const options = await run(group, test);
    if (options.kind === 'not-applicable') {
      bump(tally.notApplicable, options.reason);
      continue;
    }
    if (options.kind === 'wrong') {
      fail(test, options.detail);
      continue;
    }
    switch (test.result) {
      case 'valid':
        if (options.kind === 'accepted') tally.valid.passed += 1;
        else fail(test, `valid vector rejected (${options.as})`);
        break;
      case 'invalid':
        if (options.kind === 'rejected') {
          tally.invalid.rejected += 1;
          bump(tally.rejectedAs, options.as);
        } else fail(test, 'invalid vector accepted');
        break;
      case 'acceptable': {
        const way = options.kind === 'accepted' ? 'accepted' : 'rejected';
        tally.acceptable[way] += 1;
        for (const flag of test.flags) {
          const fn = (tally.acceptableByFlag[flag] ??= { accepted: 0, rejected: 0 });
          fn[way] += 1;
        }
        if (options.kind === 'rejected') bump(tally.rejectedAs, options.as);
        break;
      }
    }
  }
  return { tally, failures };
}
