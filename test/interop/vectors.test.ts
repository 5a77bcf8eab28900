/**
 * Every check of every vector file in ../shared/interop (primitives, session
 * files, the replay of each recorded SKS call, and the protocol layer: each
 * wire message decoded and reproduced by our issuer and our client) as its own
 * test, plus the `airtight interop` command end to end. Altered recordings are
 * in ./tamper.test.ts, the EC P-256 device recording in ./ec-device.test.ts.
 *
 * AIRTIGHT_INTEROP_VECTORS names another directory of recordings (acceptance
 * runs with more of them). Known files must yield their pinned number of checks
 * (./pinned-checks.ts); every file, known or not, must name each of its recorded
 * calls, messages and cases in some check (./coverage.ts).
 */
import { createHash } from 'node:crypto';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { detectLayout, runInteropFile, type CheckResult } from '../../src/interop/index.js';
import { JsonNode } from '../../src/interop/json.js';
import { names, requiredSubjects } from './coverage.js';
import { PINNED_VECTOR_FILES } from './pinned-checks.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OTHER_VECTORS = process.env['AIRTIGHT_INTEROP_VECTORS'];
const VECTORS = OTHER_VECTORS ?? path.resolve(REPO_ROOT, '..', 'shared', 'interop');

const files = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort();

const results: ReadonlyMap<string, readonly CheckResult[]> = new Map(
  await Promise.all(files.map(async (f) => [f, await runInteropFile(path.join(VECTORS, f))] as const)),
);

const docOf = (file: string): JsonNode => JsonNode.root(JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')));

const layoutOf = (file: string): string => {
  const data = detectLayout(docOf(file));
  return 'layout' in data ? data.layout : 'unknown';
};

const pinOf = (file: string) => {
  const sha256 = createHash('sha256')
    .update(readFileSync(path.join(VECTORS, file)))
    .digest('hex');
  return PINNED_VECTOR_FILES.find((p) => p.sha256 === sha256);
};

it('pins each file of the table under its own name', () => {
  expect(new Set(PINNED_VECTOR_FILES.map((p) => p.sha256)).size).toBe(PINNED_VECTOR_FILES.length);
  for (const text of files) {
    const pin = pinOf(text);
    if (pin !== undefined) expect(pin.file, `${text} has the content of a pinned file`).toBe(text);
  }
});

it('finds vector files of both layouts', () => {
  const layouts = new Set(files.map(layoutOf));
  expect(layouts.size).toBeGreaterThan(0);
  expect(layouts).not.toContain('unknown');
  // Another directory of recordings may hold one layout only.
  if (OTHER_VECTORS !== undefined) return;
  expect(layouts).toContain('sks-primitives');
  expect(layouts).toContain('keygen2-session');
});

for (const file of files) {
  const checks = results.get(file) ?? [];
  const pin = pinOf(file);
  describe(file, () => {
    if (pin === undefined) {
      it('has checks (new recording: no pinned count)', () => {
        expect(checks.length).toBeGreaterThan(0);
      });
    } else {
      it(`runs every check: exactly ${pin.checks}, as pinned`, () => {
        expect(checks.map((c) => c.name)).toHaveLength(pin.checks);
      });
    }
    it('checks every recorded call, message and case', () => {
      const detected = detectLayout(docOf(file));
      expect(detected).toHaveProperty('layout');
      if (!('layout' in detected)) return;
      const subjects = requiredSubjects(detected.layout, docOf(file));
      expect(subjects.length).toBeGreaterThan(0);
      const unchecked = subjects.filter((s) => !checks.some((c) => names(c.name, s)));
      expect(unchecked).toEqual([]);
    });
    // One test per check; a plain loop rather than it.each so that no '%' or '$'
    // in a name read from the file is taken for a format directive.
    for (const checkResult of checks) {
      it(checkResult.name, () => {
        expect(checkResult.ok, checkResult.detail).toBe(true);
      });
    }
  });
}

describe('airtight interop', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'airtight-interop-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const airtight = (...args: string[]): SpawnSyncReturns<string> =>
    spawnSync('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });

  const summary = (stdout: string): { passed: number; failed: number } => {
    const lines = stdout.trimEnd().split('\n');
    const match = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
    if (match === null) throw new Error(`no summary line in: ${stdout.slice(-200)}`);
    return { passed: Number(match[1]), failed: Number(match[2]) };
  };

  const primitivesFile = files.find((f) => layoutOf(f) === 'sks-primitives');
  const sessionFile = files.find((f) => layoutOf(f) === 'keygen2-session');

  it.runIf(OTHER_VECTORS === undefined || primitivesFile !== undefined)('prints one line per check and "N passed, 0 failed" for the primitives file', () => {
    const file = primitivesFile;
    expect(file).toBeDefined();
    const expected = results.get(file ?? '') ?? [];
    const run = airtight('interop', path.join(VECTORS, file ?? ''));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${expected.length} passed, 0 failed`);
    expect(lines).toHaveLength(expected.length + 1);
    expect(lines.slice(0, -1).every((l) => l.startsWith('ok   '))).toBe(true);
  });

  it.runIf(OTHER_VECTORS === undefined || sessionFile !== undefined)('reports failures and exits 1 when a recorded MAC has one flipped hex digit', () => {
    const file = sessionFile;
    expect(file).toBeDefined();
    const doc = JSON.parse(readFileSync(path.join(VECTORS, file ?? ''), 'utf8')) as {
      sessions: Array<{ sks_calls: Array<{ args: Record<string, unknown> }> }>;
    };
    const call = doc.sessions.flatMap((s) => s.sks_calls).find((c) => typeof c.args['mac_hex'] === 'string');
    expect(call).toBeDefined();
    const mac = String(call?.args['mac_hex']);
    const flipped = (mac.startsWith('0') ? '1' : '0') + mac.slice(1);
    if (call !== undefined) call.args['mac_hex'] = flipped;
    const tampered = path.join(tmp, file ?? 'tampered.json');
    writeFileSync(tampered, JSON.stringify(doc));

    const run = airtight('interop', tampered);
    expect(run.status).toBe(1);
    const { failed } = summary(run.stdout);
    expect(failed).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/^FAIL .*MAC computation: /m);
  });

  it('reports a malformed file as failed checks naming the JSON path, and goes on with the next file', () => {
    const sessionFile = files.find((f) => layoutOf(f) === 'keygen2-session');
    const primitivesFile = files.find((f) => layoutOf(f) === 'sks-primitives');
    expect(sessionFile).toBeDefined();
    expect(primitivesFile).toBeDefined();
    const doc = JSON.parse(readFileSync(path.join(VECTORS, sessionFile ?? ''), 'utf8')) as Record<string, unknown>;
    doc['sessions'] = 5;
    const malformed = path.join(tmp, 'malformed.json');
    writeFileSync(malformed, JSON.stringify(doc));

    const run = airtight('interop', malformed, path.join(VECTORS, primitivesFile ?? ''));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^FAIL malformed\.json: .*\$\.sessions: expected array, got number$/m);
    const { passed, failed } = summary(run.stdout);
    expect(failed).toBeGreaterThan(0);
    // Every check of the file after the malformed one ran and passed.
    const primitives = results.get(primitivesFile ?? '') ?? [];
    expect(run.stdout.split('\n').filter((l) => l.startsWith(`ok   ${primitivesFile}: `))).toHaveLength(primitives.length);
    expect(passed).toBeGreaterThanOrEqual(primitives.length);
  });

  it('refuses a file of an unknown layout with one failed check', () => {
    const odd = path.join(tmp, 'odd.json');
    writeFileSync(odd, JSON.stringify({ format_version: 1, something: [] }));
    const run = airtight('interop', odd);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^FAIL odd\.json: layout: unknown layout/m);
    expect(summary(run.stdout)).toEqual({ passed: 0, failed: 1 });
  });
});
