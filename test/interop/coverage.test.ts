/** The content-derived coverage rule of ./coverage.ts catches a silently skipped check. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runInteropDocument } from '../../src/interop/index.js';
import { JsonNode } from '../../src/interop/json.js';
import { names, requiredSubjects } from './coverage.js';

const VECTORS = path.resolve(fileURLToPath(new URL('../..', import.meta.url)), '..', 'shared', 'interop');
const load = (file: string): unknown => JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8'));

describe('names', () => {
  it.each([
    ["session 'main' #2 createKeyEntry Key.1", '#2 createKeyEntry', true],
    ["session 'main' #12 createKeyEntry Key.1", '#2 createKeyEntry', false],
    ['byte_encoding[1] string "A"', 'byte_encoding[1]', true],
    ['byte_encoding[10] blob 2 bytes', 'byte_encoding[1]', false],
    ['x #2 createKeyEntryX #2 createKeyEntry', '#2 createKeyEntry', true],
  ])('%s names %s: %s', (name, subject, expected) => {
    expect(names(name, subject)).toBe(expected);
  });
});

describe('requiredSubjects', () => {
  it('finds a replay call whose checks were dropped', async () => {
    const file = 'keygen2-session-07-post-operations.json';
    const doc = JsonNode.root(load(file));
    const all = await runInteropDocument(load(file));
    const dropped = '#16 postCloneKeyProtection';
    const kept = all.filter((c) => !names(c.name, dropped));
    expect(kept.length).toBeLessThan(all.length);
    const subjects = requiredSubjects('keygen2-session', doc);
    expect(subjects.filter((s) => !all.some((c) => names(c.name, s)))).toEqual([]);
    expect(subjects.filter((s) => !kept.some((c) => names(c.name, s)))).toEqual([dropped]);
  });

  it('finds a primitive case whose check was dropped', async () => {
    const file = 'sks-primitives.json';
    const doc = JsonNode.root(load(file));
    const all = await runInteropDocument(load(file));
    const kept = all.filter((c) => !c.name.startsWith('encryptions[6] '));
    const subjects = requiredSubjects('sks-primitives', doc);
    expect(subjects.filter((s) => !kept.some((c) => names(c.name, s)))).toEqual(['encryptions[6]']);
  });
});
