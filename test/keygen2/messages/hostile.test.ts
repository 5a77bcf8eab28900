/**
 * Hostile input never crashes the decoder: random edits of recorded messages fail only with a
 * KeyGen2Error of a protocol code (never INTERNAL, never a TypeError).
 */
import { describe, expect, it } from 'vitest';
import { isKeyGen2Error } from '../../../src/keygen2/errors.js';
import { decodeMessage } from '../../../src/keygen2/messages/index.js';
import { label, sampleMessages } from './recordings.js';

const CHARS = '{}[]":,0-9aAzZ_-\\u\ud800 .eE+/=';

describe.each(sampleMessages().map((m) => [label(m), m] as const))('never crashes on edited input: %s', (_, m) => {
  it('random truncations, deletions, insertions and replacements', () => {
    let seed = m.wire.length;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 60; i++) {
      const pos = rnd(m.wire.length);
      const c = CHARS[rnd(CHARS.length)] ?? 'x';
      const edits = [m.wire.slice(0, pos), m.wire.slice(0, pos) + m.wire.slice(pos + 1), m.wire.slice(0, pos) + c + m.wire.slice(pos), m.wire.slice(0, pos) + c + m.wire.slice(pos + 1)];
      for (const text of edits) {
        try {
          decodeMessage(text);
        } catch (e) {
          expect(isKeyGen2Error(e) && e.code !== 'INTERNAL', String(e)).toBe(true);
        }
      }
    }
  });
});
