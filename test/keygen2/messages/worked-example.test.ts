/**
 * The worked example of spec §14: the ten pretty-printed messages decode, re-encode to their
 * compact form, and the lookup nonce and JCS signing input equal the spec's known answers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, epochSeconds, lookupNonce, lookupSpecifierSignedData } from '../../../src/keygen2/messages/index.js';

const SPEC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'spec', 'keygen2.md');
const spec = existsSync(SPEC) ? readFileSync(SPEC, 'utf8') : '';
const section14 = spec.slice(spec.indexOf('## 14. Worked example'));
const examples = [...section14.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m.at(1) ?? '');

describe.skipIf(examples.length === 0)('spec §14 worked example', () => {
  it('has the ten messages', () => expect(examples.length).toBe(10));

  it.each(examples.map((e, i) => [i + 1, e] as const))('message %i decodes and re-encodes compactly', (_, pretty) => {
    const message = decodeMessage(pretty);
    expect(encodeMessage(message)).toBe(JSON.stringify(JSON.parse(pretty)));
  });

  it('clientTime gives the attested seconds (0x6B09B693)', () => {
    const provisioningInitializationResponse = decodeMessage(examples[3] ?? '', ['ProvisioningInitializationResponse']);
    expect(epochSeconds(provisioningInitializationResponse.clientTime)).toBe(0x6b09b693);
  });

  it('lookup nonce and JCS signing input equal §14.2/§14.3', () => {
    const credentialDiscoveryRequest = decodeMessage(examples[4] ?? '', ['CredentialDiscoveryRequest']);
    expect(Buffer.from(lookupNonce(credentialDiscoveryRequest.clientSessionId, credentialDiscoveryRequest.serverSessionId)).toString('hex')).toBe(
      '8239d014533e23b4094f378d2083d3871c61b61b0e059013171b58fdc8caa946',
    );
    const spec0 = credentialDiscoveryRequest.lookupSpecifiers.at(0);
    if (spec0 === undefined) throw new Error('no specifier');
    const { value: _value, ...unsignedSignature } = spec0.signature;
    const data = lookupSpecifierSignedData({ ...spec0, signature: unsignedSignature });
    expect(Buffer.from(data).toString('utf8')).toBe(
      '{"id":"Lookup.1","nonce":"gjnQFFM-I7QJTzeNIIPThxxhthsOBZATFxtY_cjKqUY","searchFilter":{"emailRegEx":"\\\\Qjohn.doe@example.com\\\\E"},"signature":{"algorithm":"ES256","publicKey":{"crv":"P-256","kty":"EC","x":"lNxNvAUEE8t7DSQBft93LVSXxKCiVjhbWWfyg023FCk","y":"LmTlQxXB3LgZrNLmhOfMaCnDizczC_RfQ6Kx8iNwfFA"}}}',
    );
  });
});
