/**
 * The package's entry points load only what their names promise (issue 7
 * item 1): `airtight/sks` is node built-ins only, so a device vendor can take
 * the SKS alone; better-sqlite3 loads behind `airtight/sks/sqlite`, the X.509
 * stack (and the global `Reflect.getMetadata` of reflect-metadata) behind
 * `airtight/sks/device`.
 *
 * Each entry is imported in a fresh node process (tsx runs the sources the
 * exports map builds from) by `probe-import.mjs`, which reports the packages
 * and globals the import added.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const probe = fileURLToPath(new URL('./probe-import.mjs', import.meta.url));

interface ProbeReport {
  readonly importMs: number;
  readonly packages: readonly string[];
  readonly newGlobals: readonly string[];
  readonly newReflectMembers: readonly string[];
}

/** A member of a parsed JSON value, or undefined when there is none. */
const field = (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null ? Reflect.get(v, key) : undefined);

function isProbeReport(value: unknown): value is ProbeReport {
  return (
    typeof field(value, 'importMs') === 'number' &&
    Array.isArray(field(value, 'packages')) &&
    Array.isArray(field(value, 'newGlobals')) &&
    Array.isArray(field(value, 'newReflectMembers'))
  );
}

const packageJson = (): unknown => JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

function importInFreshProcess(source: string): ProbeReport {
  const out = execFileSync(process.execPath, ['--import', 'tsx', probe, source], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const report: unknown = JSON.parse(out.trim().split('\n').at(-1) ?? '');
  if (!isProbeReport(report)) throw new TypeError(`unexpected probe output: ${out}`);
  return report;
}

/** package.json `exports` subpath -> the source file its dist path is built from. */
function sourceOf(subpath: string): string {
  const target = field(field(field(packageJson(), 'exports'), subpath), 'default');
  if (typeof target !== 'string') throw new TypeError(`package.json exports no ${subpath}`);
  const match = /^\.\/dist\/(.+)\.js$/.exec(target);
  if (!match) throw new TypeError(`${subpath} does not point into dist: ${target}`);
  return `src/${match[1]}.ts`;
}

const X509_STACK = ['@peculiar/x509', 'reflect-metadata', 'tsyringe'];

describe('package entry points', () => {
  it('declares the package free of import-time side effects', () => {
    expect(field(packageJson(), 'sideEffects')).toBe(false);
  });

  it('airtight/sks loads no package, defines no global and leaves Reflect alone', () => {
    const probeReport = importInFreshProcess(sourceOf('./sks'));
    console.info(`airtight/sks import (tsx, sources): ${probeReport.importMs} ms`);
    expect(probeReport.packages).toEqual([]);
    expect(probeReport.newGlobals).toEqual([]);
    expect(probeReport.newReflectMembers).toEqual([]);
  });

  it('airtight/sks/session-crypto loads no package (the issuer needs no store and no X.509)', () => {
    const probeReport = importInFreshProcess(sourceOf('./sks/session-crypto'));
    expect(probeReport.packages).toEqual([]);
    expect(probeReport.newGlobals).toEqual([]);
  });

  it('airtight/sks/sqlite loads better-sqlite3 and no X.509 library', () => {
    const probeReport = importInFreshProcess(sourceOf('./sks/sqlite'));
    expect(probeReport.packages).toEqual(['better-sqlite3']);
    expect(probeReport.newReflectMembers).toEqual([]);
  });

  // The positive control: shows the probe does see an X.509 stack and its globals.
  it('airtight/sks/device is where the X.509 stack and Reflect.getMetadata come in', () => {
    const probeReport = importInFreshProcess(sourceOf('./sks/device'));
    expect(probeReport.packages).toEqual(expect.arrayContaining(X509_STACK));
    expect(probeReport.newReflectMembers).toContain('getMetadata');
  });
});
