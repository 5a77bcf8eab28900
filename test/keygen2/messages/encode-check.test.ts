/**
 * encodeMessage's self-check (on by default) and its `check: false` form, which the issuer and the
 * client use for what they build themselves: the same text, and the receiver's strict decode is
 * what refuses a bad message then. The keygen2 harness runs both sides with the self-check on, so
 * every harness scenario also proves that encoder output decodes.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type KeyGen2Message } from '../../../src/keygen2/messages/index.js';

const valid: KeyGen2Message = {
  qualifier: 'ProvisioningFinalizationResponse',
  serverSessionId: 'S.1',
  clientSessionId: 'C.1',
  attestation: new Uint8Array(32),
};
const invalid: KeyGen2Message = {
  qualifier: 'ProvisioningFinalizationResponse',
  serverSessionId: 'S 1',
  clientSessionId: 'C',
  attestation: new Uint8Array(32),
};

describe('encodeMessage check option', () => {
  it('writes-the-same-text-with-and-without-the-self-check', () => {
    const checked = encodeMessage(valid);
    expect(encodeMessage(valid, { check: false })).toBe(checked);
    expect(encodeMessage(decodeMessage(checked))).toBe(checked);
  });
  it('leaves-an-invalid-message-to-the-receivers-strict-decode without the self-check', () => {
    expect(() => encodeMessage(invalid)).toThrow(expect.objectContaining({ code: 'SCHEMA', path: '$.serverSessionId' }));
    const text = encodeMessage(invalid, { check: false });
    expect(() => decodeMessage(text, ['ProvisioningFinalizationResponse'])).toThrow(expect.objectContaining({ code: 'SCHEMA', path: '$.serverSessionId' }));
  });
});
