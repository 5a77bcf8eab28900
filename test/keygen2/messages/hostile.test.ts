/**
 * Hostile input never crashes the decoder: random edits of recorded messages fail only with a
 * KeyGen2Error of a protocol code (never INTERNAL, never a TypeError).
 */
import { describe, expect, it } from 'vitest';
import { isKeyGen2Error } from '../../../src/keygen2/errors.js';
import { decodeMessage } from '../../../src/keygen2/messages/index.js';
import { label, sampleMessages } from './recordings.js';

const CHARS = '{}[]":,0-9aAzZ_-\\u\ud800 .eE+/=';

describe.each(sampleMessages().map((m) => [label(m), m] as const))('never crashes on edited input: %s', (_, recordedMessage) => {
  it('random truncations, deletions, insertions and replacements', () => {
    let seed = recordedMessage.wire.length;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 60; i++) {
      const pos = rnd(recordedMessage.wire.length);
      const item = CHARS[rnd(CHARS.length)] ?? 'x';
      const edits = [
        recordedMessage.wire.slice(0, pos),
        recordedMessage.wire.slice(0, pos) + recordedMessage.wire.slice(pos + 1),
        recordedMessage.wire.slice(0, pos) + item + recordedMessage.wire.slice(pos),
        recordedMessage.wire.slice(0, pos) + item + recordedMessage.wire.slice(pos + 1),
      ];
      for (const text of edits) {
        try {
          decodeMessage(text);
        } catch (error) {
          expect(isKeyGen2Error(error) && error.code !== 'INTERNAL', String(error)).toBe(true);
        }
      }
    }
  });
});
