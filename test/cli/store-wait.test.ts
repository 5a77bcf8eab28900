/** AIRTIGHT_STORE_WAIT_MS: how long a command waits for a store another process holds. */
import { describe, expect, it } from 'vitest';
import { STORE_WAIT_MS, storeWaitMs } from '../../src/cli/commands/keys/store.js';

describe('storeWaitMs', () => {
  it('takes 1 ms to 10 minutes, and says once (not silently) that another value is not used', () => {
    const said: string[] = [];
    const warn = (line: string): void => void said.push(line);
    expect(storeWaitMs({}, warn)).toBe(STORE_WAIT_MS);
    expect(storeWaitMs({ AIRTIGHT_STORE_WAIT_MS: '1' }, warn)).toBe(1);
    expect(storeWaitMs({ AIRTIGHT_STORE_WAIT_MS: '600000' }, warn)).toBe(600_000);
    expect(said).toEqual([]);
    for (const bad of ['0', '5s', '700000', '', '-1', '1e3']) expect(storeWaitMs({ AIRTIGHT_STORE_WAIT_MS: bad }, warn)).toBe(STORE_WAIT_MS);
    expect(said).toEqual([`airtight: AIRTIGHT_STORE_WAIT_MS must be a whole number of milliseconds from 1 to 600000; waiting ${STORE_WAIT_MS} ms`]);
  });
});
