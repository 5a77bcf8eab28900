/**
 * Every check of every vector file in ../shared/interop (primitives, session
 * files and the replay of each recorded SKS call) as its own test, plus the
 * `airtight interop` command end to end.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { detectLayout, runInteropFile, type CheckResult } from '../../src/interop/index.js';
import { JsonNode } from '../../src/interop/json.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VECTORS = path.resolve(REPO_ROOT, '..', 'shared', 'interop');

const files = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort();

const results: ReadonlyMap<string, readonly CheckResult[]> = new Map(
  await Promise.all(files.map(async (f) => [f, await runInteropFile(path.join(VECTORS, f))] as const)),
);

const layoutOf = (file: string): string => {
  const d = detectLayout(JsonNode.root(JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8'))));
  return 'layout' in d ? d.layout : 'unknown';
};

it('finds vector files of both layouts', () => {
  const layouts = new Set(files.map(layoutOf));
  expect(layouts).toContain('sks-primitives');
  expect(layouts).toContain('keygen2-session');
});

for (const file of files) {
  const checks = results.get(file) ?? [];
  describe(file, () => {
    it('has checks', () => {
      expect(checks.length).toBeGreaterThan(0);
    });
    // One test per check; a plain loop rather than it.each so that no '%' or '$'
    // in a name read from the file is taken for a format directive.
    for (const c of checks) {
      it(c.name, () => {
        expect(c.ok, c.detail).toBe(true);
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
    const m = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
    if (m === null) throw new Error(`no summary line in: ${stdout.slice(-200)}`);
    return { passed: Number(m[1]), failed: Number(m[2]) };
  };

  it('prints one line per check and "N passed, 0 failed" for the primitives file', () => {
    const file = files.find((f) => layoutOf(f) === 'sks-primitives');
    expect(file).toBeDefined();
    const expected = results.get(file ?? '') ?? [];
    const r = airtight('interop', path.join(VECTORS, file ?? ''));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${expected.length} passed, 0 failed`);
    expect(lines).toHaveLength(expected.length + 1);
    expect(lines.slice(0, -1).every((l) => l.startsWith('ok   '))).toBe(true);
  });

  it('reports failures and exits 1 when a recorded MAC has one flipped hex digit', () => {
    const file = files.find((f) => layoutOf(f) === 'keygen2-session');
    expect(file).toBeDefined();
    const doc = JSON.parse(readFileSync(path.join(VECTORS, file ?? ''), 'utf8')) as {
      sessions: { sks_calls: { args: Record<string, unknown> }[] }[];
    };
    const call = doc.sessions.flatMap((s) => s.sks_calls).find((c) => typeof c.args['mac_hex'] === 'string');
    expect(call).toBeDefined();
    const mac = String(call?.args['mac_hex']);
    const flipped = (mac[0] === '0' ? '1' : '0') + mac.slice(1);
    if (call !== undefined) call.args['mac_hex'] = flipped;
    const tampered = path.join(tmp, file ?? 'tampered.json');
    writeFileSync(tampered, JSON.stringify(doc));

    const r = airtight('interop', tampered);
    expect(r.status).toBe(1);
    const { failed } = summary(r.stdout);
    expect(failed).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/^FAIL .*MAC computation: /m);
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

    const r = airtight('interop', malformed, path.join(VECTORS, primitivesFile ?? ''));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL malformed\.json: .*\$\.sessions: expected array, got number$/m);
    const { passed, failed } = summary(r.stdout);
    expect(failed).toBeGreaterThan(0);
    // Every check of the file after the malformed one ran and passed.
    const primitives = results.get(primitivesFile ?? '') ?? [];
    expect(r.stdout.split('\n').filter((l) => l.startsWith(`ok   ${primitivesFile}: `))).toHaveLength(primitives.length);
    expect(passed).toBeGreaterThanOrEqual(primitives.length);
  });

  it('refuses a file of an unknown layout with one failed check', () => {
    const odd = path.join(tmp, 'odd.json');
    writeFileSync(odd, JSON.stringify({ format_version: 1, something: [] }));
    const r = airtight('interop', odd);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL odd\.json: layout: unknown layout/m);
    expect(summary(r.stdout)).toEqual({ passed: 0, failed: 1 });
  });
});
