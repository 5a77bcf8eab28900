/** Issuer-chosen text on the terminal: certificate subjects, friendly names, JSON paths of hostile messages. */
import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../src/cli/output.js';

describe('terminalSafe', () => {
  it('shows control and reordering characters as \\uXXXX and leaves other text alone', () => {
    expect(terminalSafe('CN=Alice\u001b[2J\u001b]0;owned\u0007')).toBe('CN=Alice\\u001b[2J\\u001b]0;owned\\u0007');
    expect(terminalSafe('CN=\u202egnp.exe')).toBe('CN=\\u202egnp.exe');
    expect(terminalSafe('a\u0085b\u009bc\u2066d\u2028e\r\n\t')).toBe('a\\u0085b\\u009bc\\u2066d\\u2028e\\u000d\\u000a\\u0009');
    expect(terminalSafe('CN=Åsa Öberg, O=Bank 🏦, L=東京')).toBe('CN=Åsa Öberg, O=Bank 🏦, L=東京');
  });
});
