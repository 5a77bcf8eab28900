/**
 * Spec §13.2 scenarios 18-21, 26 and 27 (openkeystore's KeyGen2Test): two chained sessions each,
 * the second managing keys of the first after a credential-discovery round with the four §13.1
 * lookups. Our issuer ↔ our client ↔ our SKS on the SQLite store.
 */
import { createPublicKey } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyHandle } from '../../../src/sks/api.js';
import { ProtectionStatus } from '../../../src/sks/constants.js';
import { openHarness, SCENARIO_PIN, targetOf, type Harness } from '../../support/keygen2-harness.js';
import { ALG, allKeys, expectNoOpenSession, handleOf, pinPolicy, rsaKey, scenarioLookups, SESSION, signsWith, wireMessage } from './common.js';

let harnessValue: Harness;
beforeEach(async () => {
  harnessValue = await openHarness({ store: 'sqlite' });
});
afterEach(async () => {
  await expectNoOpenSession(harnessValue.sks);
  await harnessValue.close();
});

const spki = (k: Parameters<typeof createPublicKey>[0]): Buffer => createPublicKey(k).export({ type: 'spki', format: 'der' });

/** Session 1 of 18-20: updatable under `kmk`, one RSA key under a shared-grouping PIN policy. */
const sharedPinSession = (kmk: 'kmk0' | 'kmk2') =>
  harnessValue.enroll({
    config: { issuerUri: harnessValue.issuerUri, ...SESSION, keyManagementKey: kmk, pinPolicies: [pinPolicy([rsaKey()], { grouping: 'shared' })] },
  });

async function wrongPin(handle: KeyHandle): Promise<void> {
  await expect(
    harnessValue.sks.signData({ keyHandle: handle, algorithm: ALG.ECDSA_SHA256, authorization: Buffer.from('9999'), data: Buffer.from('x') }),
  ).rejects.toMatchObject({ code: 'AUTHORIZATION' });
}

describe('KeyGen2 scenarios (spec §13.2), management, SQLite store', () => {
  it('18 CloneKeyProtection: an unprotected key takes the PIN of an earlier key; both now belong to session 2', async () => {
    const first = await sharedPinSession('kmk2');
    const old = handleOf(first, 'Key.1');
    const second = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        lookups: scenarioLookups(),
        keys: [rsaKey({ cloneKeyProtection: targetOf(first, 'Key.1', 'kmk2') })],
      },
    });
    expect(second.outcome.cloned.map((c) => c.keyId)).toEqual(['Key.1']);
    expect(second.prompts).toEqual([]);
    const created = handleOf(second, 'Key.1');
    const keys = await allKeys(harnessValue.sks);
    expect(keys.map((k) => k.keyHandle).sort()).toEqual([old, created].sort());
    expect(new Set(keys.map((k) => k.provisioningHandle))).toEqual(new Set([second.summary.provisioningHandle]));
    await signsWith(harnessValue.sks, old, ALG.RSA_SHA256, SCENARIO_PIN);
    await signsWith(harnessValue.sks, created, ALG.RSA_SHA256, SCENARIO_PIN);
    // The discovery round carried the four §13.1 lookups (their results are not used, §13.1).
    const lookups = (wireMessage(second, 'CredentialDiscoveryRequest')['lookupSpecifiers'] as unknown[]).length;
    expect(lookups).toBe(4);
  });

  it('19 UpdateKey: the new key replaces the old one and signs with the old PIN', async () => {
    const first = await sharedPinSession('kmk0');
    const second = await harnessValue.enroll({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, lookups: scenarioLookups(), keys: [rsaKey({ updateKey: targetOf(first, 'Key.1', 'kmk0') })] },
    });
    expect(second.outcome.updated.map((u) => u.keyId)).toEqual(['Key.1']);
    // Lookup 1 (KMK#0, no filter) found session 1's key.
    expect(second.state.discovered?.map((d) => d.serverSessionId)).toContain(first.summary.serverSessionId);
    const handle = handleOf(second, 'Key.1');
    const keys = await allKeys(harnessValue.sks);
    expect(keys).toEqual([{ keyHandle: handle, provisioningHandle: second.summary.provisioningHandle }]);
    const ee = (await harnessValue.sks.getKeyAttributes(handle)).certificatePath[0];
    expect(Buffer.from(ee)).toEqual(Buffer.from(second.summary.keys[0].certificatePath[0]));
    await signsWith(harnessValue.sks, handle, ALG.RSA_SHA256, SCENARIO_PIN);
  });

  it('19 UpdateKey (refused): an update authorized by a KMK that does not govern the target fails and commits nothing', async () => {
    const first = await sharedPinSession('kmk0');
    const before = await allKeys(harnessValue.sks);
    const failed = await harnessValue.enrollFailing({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, lookups: scenarioLookups(), keys: [rsaKey({ updateKey: targetOf(first, 'Key.1', 'kmk2') })] },
    });
    expect(failed.error).toMatchObject({ code: 'SKS' });
    expect(await allKeys(harnessValue.sks)).toEqual(before);
    await signsWith(harnessValue.sks, handleOf(first, 'Key.1'), ALG.RSA_SHA256, SCENARIO_PIN);
  });

  it('20 UpdateKeyManagementKey: KMK#0 ← KMK#1 ← KMK#2 roll-over, then an update authorized by KMK#2', async () => {
    const first = await sharedPinSession('kmk0');
    const second = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        keyManagementKey: 'kmk2',
        updatableKeyManagementKeys: [{ kmk: 'kmk1', updatableKeyManagementKeys: [{ kmk: 'kmk0' }] }],
        lookups: scenarioLookups(),
        keys: [rsaKey({ updateKey: targetOf(first, 'Key.1', 'kmk2') })],
      },
    });
    const init = wireMessage(second, 'ProvisioningInitializationRequest') as { keyManagementKeyUpdateHolder?: unknown };
    expect(JSON.stringify(init)).toContain('authorization');
    expect(second.outcome.updated).toHaveLength(1);
    // Session 1 now answers to KMK#2 (it was rolled over through KMK#1).
    const kmk2 = spki(harnessValue.kmks.kmk2);
    for (
      let state = await harnessValue.sks.enumerateProvisioningSessions(0, false);
      state !== undefined;
      state = await harnessValue.sks.enumerateProvisioningSessions(state.provisioningHandle, false)
    ) {
      expect(Buffer.from(state.keyManagementKey ?? [])).toEqual(kmk2);
    }
    await signsWith(harnessValue.sks, handleOf(second, 'Key.1'), ALG.RSA_SHA256, SCENARIO_PIN);
  });

  it('21 DeleteKey: no key of session 1 remains', async () => {
    const first = await harnessValue.enroll({ config: { issuerUri: harnessValue.issuerUri, ...SESSION, keyManagementKey: 'kmk0', keys: [rsaKey()] } });
    const second = await harnessValue.enroll({
      config: { issuerUri: harnessValue.issuerUri, ...SESSION, lookups: scenarioLookups(), keys: [rsaKey()], deleteKeys: [targetOf(first, 'Key.1', 'kmk0')] },
    });
    expect(second.outcome.deleted).toHaveLength(1);
    const keys = await allKeys(harnessValue.sks);
    expect(keys).toEqual([{ keyHandle: handleOf(second, 'Key.1'), provisioningHandle: second.summary.provisioningHandle }]);
    await expect(harnessValue.sks.getKeyAttributes(handleOf(first, 'Key.1'))).rejects.toMatchObject({ code: 'NO_KEY' });
  });

  it.each([
    ['26 UnlockKey', false],
    ['27 PrivacyEnabled', true],
  ])('%s: three wrong PINs block the key; an unlock session (I P C F) unblocks it', async (_name, privacy) => {
    const privacyEnabled = privacy ? { privacyEnabled: true } : {};
    const first = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        ...privacyEnabled,
        keyManagementKey: 'kmk0',
        pinPolicies: [pinPolicy([{ keyAlgorithm: ALG.P256, appUsage: 'authentication' }])],
      },
    });
    const handle = handleOf(first, 'Key.1');
    for (let i = 1; i <= 3; i++) {
      await wrongPin(handle);
      const info = await harnessValue.sks.getKeyProtectionInfo(handle);
      expect(info.pinErrorCount).toBe(i);
      expect(info.protectionStatus & ProtectionStatus.PIN_BLOCKED).toBe(i === 3 ? ProtectionStatus.PIN_BLOCKED : 0);
    }
    await expect(
      harnessValue.sks.signData({ keyHandle: handle, algorithm: ALG.ECDSA_SHA256, authorization: Buffer.from(SCENARIO_PIN), data: Buffer.from('x') }),
    ).rejects.toMatchObject({
      code: 'AUTHORIZATION',
    });
    const second = await harnessValue.enroll({
      config: {
        issuerUri: harnessValue.issuerUri,
        ...SESSION,
        ...privacyEnabled,
        action: 'unlock',
        lookups: scenarioLookups(),
        unlockKeys: [targetOf(first, 'Key.1', 'kmk0')],
      },
    });
    expect(second.wire.map((w) => (JSON.parse(w.text) as { '@qualifier': string })['@qualifier'])).toEqual([
      'InvocationRequest',
      'InvocationResponse',
      'ProvisioningInitializationRequest',
      'ProvisioningInitializationResponse',
      'CredentialDiscoveryRequest',
      'CredentialDiscoveryResponse',
      'ProvisioningFinalizationRequest',
      'ProvisioningFinalizationResponse',
    ]);
    expect(second.outcome.keys).toEqual([]);
    expect(second.outcome.unlocked).toHaveLength(1);
    const info = await harnessValue.sks.getKeyProtectionInfo(handle);
    expect(info.pinErrorCount).toBe(0);
    expect(info.protectionStatus & ProtectionStatus.PIN_BLOCKED).toBe(0);
    await signsWith(harnessValue.sks, handle, ALG.ECDSA_SHA256, SCENARIO_PIN);
    for (const enrollResult of [first, second]) {
      expect(enrollResult.summary.privacyEnabled).toBe(privacy);
      const init = wireMessage(enrollResult, 'ProvisioningInitializationResponse');
      expect('deviceId' in init).toBe(!privacy);
      expect(enrollResult.outcome.deviceCertificatePath === undefined).toBe(privacy);
    }
    if (privacy) {
      expect(info.userModifiable).toBe(true);
      const sessions = [];
      for (
        let state = await harnessValue.sks.enumerateProvisioningSessions(0, false);
        state !== undefined;
        state = await harnessValue.sks.enumerateProvisioningSessions(state.provisioningHandle, false)
      )
        sessions.push(state);
      expect(sessions.length).toBeGreaterThan(0);
      expect(sessions.every((s) => s.privacyEnabled)).toBe(true);
    }
  });
});
