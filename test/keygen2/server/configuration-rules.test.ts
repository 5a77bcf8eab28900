/**
 * Issuer-side configuration rules: what the issuer refuses to send because the SKS or the
 * reference would refuse it (spec §5.8, §6.7.1, §6.9.1, §9.2, §9.4, §10.2).
 */
import { randomBytes } from 'node:crypto';
import { generateKeyPairSync } from '../../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { createIssuer, DeviceTrust, NodeIssuerCrypto, type IssuerConfig, type IssuerState, type TargetKeyConfig } from '../../../src/keygen2/server/index.js';
import type { KeyGen2Message } from '../../../src/keygen2/messages/index.js';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import { MiniDevice } from './mini-device.js';

const ISSUER_URI = 'https://issuer.example.com/kg2';
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const kmk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const olderKmk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

const issuer = createIssuer({
  crypto: new NodeIssuerCrypto({ sealingKey: randomBytes(32), keyManagementKeys: { kmk, older: olderKmk } }),
  deviceTrust: new DeviceTrust([]),
  certify: (k) => ({ certificatePath: [Buffer.concat([Buffer.of(0x30, 0x82, 0, 0), k.publicKey])] }),
});

const target = (n: number): TargetKeyConfig => ({
  certificate: Buffer.from(`certificate ${n}`).toString('base64url'),
  clientSessionId: 'C.1',
  serverSessionId: 'S.1',
  kmk: 'kmk',
});

const key = { keyAlgorithm: P256, appUsage: 'authentication' as const };

async function runPrivacy(config: IssuerConfig): Promise<IssuerState> {
  const device = new MiniDevice({ issuerUri: ISSUER_URI });
  let { state, request }: { state: IssuerState; request: KeyGen2Message | undefined } = await issuer.start({ ...config, privacyEnabled: true });
  for (;;) {
    const step = await issuer.accept(state, device.answer(request));
    state = step.state;
    if (step.outcome !== undefined) return state;
    request = step.request;
  }
}

const refused = async (promise: Promise<unknown>, code = 'INTERNAL'): Promise<void> => {
  const error = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(error).toBeInstanceOf(KeyGen2Error);
  expect((error as KeyGen2Error).code).toBe(code);
};

describe('issuer configuration rules', () => {
  it('refuses-a-delete-combined-with-another-operation-on-its-target', async () => {
    await refused(issuer.start({ issuerUri: ISSUER_URI, lookups: [{ kmk: 'kmk' }], unlockKeys: [target(1)], deleteKeys: [target(1)] }));
  });

  it('refuses-an-update-combined-with-another-operation-on-its-target', async () => {
    await refused(issuer.start({ issuerUri: ISSUER_URI, keys: [{ ...key, updateKey: target(1) }], unlockKeys: [target(1)] }));
  });

  it('refuses-two-unlocks-of-one-key-but-allows-clone-and-unlock', async () => {
    await refused(issuer.start({ issuerUri: ISSUER_URI, lookups: [{ kmk: 'kmk' }], unlockKeys: [target(1), target(1)] }));
    await expect(issuer.start({ issuerUri: ISSUER_URI, keys: [{ ...key, cloneKeyProtection: target(1) }], unlockKeys: [target(1)] })).resolves.toBeDefined();
  });

  it('refuses-update-or-clone-on-a-pin-protected-new-key', async () => {
    await refused(
      issuer.start({
        issuerUri: ISSUER_URI,
        pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ ...key, updateKey: target(1) }] }],
      }),
    );
  });

  it('refuses-mixed-preset-and-user-pins-in-one-policy', async () => {
    await refused(
      issuer.start({
        issuerUri: ISSUER_URI,
        pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ ...key, presetPin: '1234' }, key] }],
      }),
    );
  });

  it('refuses-device-specific-capability-queries-in-privacy-mode', async () => {
    const capabilityQueries = [{ type: 'https://webpki.github.io/keygen2/clientattr#imei-number', kind: 'values' as const }];
    await refused(issuer.start({ issuerUri: ISSUER_URI, keys: [key], privacyEnabled: true, capabilityQueries }));
    await expect(issuer.start({ issuerUri: ISSUER_URI, keys: [key], capabilityQueries })).resolves.toBeDefined();
  });

  it('refuses-key-creation-in-an-unlock-session', async () => {
    await refused(issuer.start({ issuerUri: ISSUER_URI, action: 'unlock', keys: [key] }));
  });

  it('refuses-a-session-key-limit-the-session-would-exhaust', async () => {
    // One key: PIN MAC, key MAC, key attestation = 3 uses before finalization; 2 is too few.
    await refused(
      runPrivacy({ issuerUri: ISSUER_URI, sessionKeyLimit: 2, pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [key] }] }),
    );
    const state = await runPrivacy({ issuerUri: ISSUER_URI, sessionKeyLimit: 6, keys: [key] });
    // key MAC + attestation + setCertificatePath + close MAC + close attestation = 5.
    expect(state.sessionKeyUses).toBe(5);
  });

  it('refuses-a-trust-anchor-that-is-not-a-self-signed-ca', async () => {
    await refused(runPrivacy({ issuerUri: ISSUER_URI, keys: [{ ...key, trustAnchor: true }] }));
  });

  it('signs-roll-over-authorizations-and-verifies-pre-signed-ones', async () => {
    const older = await new NodeIssuerCrypto({ keyManagementKeys: { older: olderKmk } }).keyManagementKey('older');
    const good = await runPrivacy({ issuerUri: ISSUER_URI, keys: [key], keyManagementKey: 'kmk', updatableKeyManagementKeys: [{ kmk: 'older' }] });
    expect(good.phase).toBe('done');
    const bogus = { publicKey: Buffer.from(older).toString('base64url'), authorization: randomBytes(64).toString('base64url') };
    await refused(runPrivacy({ issuerUri: ISSUER_URI, keys: [key], keyManagementKey: 'kmk', updatableKeyManagementKeys: [bogus] }), 'VERIFICATION');
  });
});
