/** The exit status of each KeyGen2 failure of `airtight enroll` (exit-status.ts, README). */
import { describe, expect, it } from 'vitest';
import { keygen2ExitStatus } from '../../src/cli/exit-status.js';
import { KeyGen2Error, type KeyGen2ErrorCode } from '../../src/keygen2/errors.js';
import { SksError } from '../../src/sks/errors.js';

describe('enroll exit statuses', () => {
  it.each<[KeyGen2ErrorCode, number]>([
    ['TRANSPORT', 8],
    ['SYNTAX', 9],
    ['SCHEMA', 9],
    ['PROTOCOL', 9],
    ['VERIFICATION', 9],
    ['POLICY', 9],
    ['SESSION', 9],
    ['USER_ABORT', 7],
    ['INTERNAL', 1],
  ])('%s exits %i', (code, status) => {
    expect(keygen2ExitStatus(new KeyGen2Error(code, 'x'))).toBe(status);
  });

  it('an SKS refusal exits with the status of its SKS code', () => {
    expect(keygen2ExitStatus(new KeyGen2Error('SKS', 'x', { cause: new SksError('AUTHORIZATION', 'y') }))).toBe(3);
    expect(keygen2ExitStatus(new KeyGen2Error('SKS', 'x', { cause: new SksError('STORAGE', 'y') }))).toBe(6);
    expect(keygen2ExitStatus(new KeyGen2Error('SKS', 'x', { cause: new SksError('MAC', 'y') }))).toBe(7);
  });
});
