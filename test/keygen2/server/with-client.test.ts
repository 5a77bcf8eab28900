/**
 * Our issuer against our client (`keygen2/client`) and our SKS in one process, over an in-memory
 * transport carrying wire text: fresh sessions whose every MAC the SKS verifies and every
 * attestation the issuer verifies. Covers what the recordings cannot: configurations the Java
 * issuer cannot emit (two PUK policies, each with its own PIN policy — quirk 4), and the
 * management flows chained across sessions (discovery → clone/update/unlock/delete, KMK roll-over).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EnrollmentSummary } from '../../../src/keygen2/client/run-enrollment.js';
import type { IssuerConfig, IssuerEnvironment, ProvisioningOutcome } from '../../../src/keygen2/server/index.js';
import { createMemoryKeyStore, openSecureKeyStore, type SecureKeyStore } from '../../../src/sks/index.js';
import { certifyWithImports, createEnroller } from '../../support/keygen2-harness.js';
import { getTestCa } from '../../support/test-ca.js';
import { recordingFiles } from './recording.js';

const doc = JSON.parse(readFileSync(recordingFiles()[0], 'utf8')) as {
  test_keys: { device_attestation: { pkcs8_hex: string; certificate_der_hex: string; issuer_ca_certificate_der_hex: string } };
};
const da = doc.test_keys.device_attestation;
const deviceRoot = Buffer.from(da.issuer_ca_certificate_der_hex, 'hex');

const URL = 'http://issuer.example.com/invocation';
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const RSA2048 = 'https://webpki.github.io/sks/algorithm#rsa2048';

function device(): SecureKeyStore {
  return openSecureKeyStore({
    store: createMemoryKeyStore(),
    device: {
      privateKey: createPrivateKey({ key: Buffer.from(da.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' }),
      certificatePath: [Buffer.from(da.certificate_der_hex, 'hex')],
    },
  });
}

/**
 * One enrollment through the shared harness (issuer states persisted as JSON text between the
 * client's requests). KMKs: `kmk0` is RSA-2048 (the one rolled over), `kmk2` EC P-256.
 */
async function enroll(
  sks: SecureKeyStore,
  config: IssuerConfig,
  extra: Partial<IssuerEnvironment> = {},
  pin = '1357',
): Promise<{ summary: EnrollmentSummary; outcome: ProvisioningOutcome }> {
  const { enroll: run } = await createEnroller({ sks, deviceRoots: [deviceRoot] });
  const { summary, outcome } = await run({ config, certify: certifyWithImports(await getTestCa()), pins: pin, environment: extra });
  return { summary, outcome };
}

describe('issuer with our client and SKS', () => {
  it('provisions-two-puk-policies-each-with-its-own-pin-policy-preset-and-user-pins-extensions-and-imports', async () => {
    const sks = device();
    const { summary, outcome } = await enroll(sks, {
      issuerUri: URL,
      pukPolicies: [
        {
          puk: '01234567',
          format: 'numeric',
          retryLimit: 3,
          pinPolicies: [
            {
              minLength: 4,
              maxLength: 8,
              retryLimit: 3,
              format: 'numeric',
              grouping: 'shared',
              keys: [
                { keyAlgorithm: P256, appUsage: 'signature', presetPin: '2468' },
                { keyAlgorithm: P256, appUsage: 'authentication', presetPin: '2468' },
              ],
            },
          ],
        },
        {
          puk: '76543210',
          format: 'numeric',
          retryLimit: 5,
          pinPolicies: [
            { minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ keyAlgorithm: RSA2048, appUsage: 'signature', exportProtection: 'puk' }] },
          ],
        },
      ],
      keys: [
        {
          id: 'Extended',
          keyAlgorithm: P256,
          appUsage: 'authentication',
          friendlyName: 'Extended key',
          extensions: [{ type: 'urn:x:plain', data: Buffer.from('plain').toString('base64url') }],
          encryptedExtensions: [{ type: 'urn:x:secret', data: Buffer.from('secret').toString('base64url') }],
          propertyBags: [
            {
              type: 'urn:x:bag',
              properties: [
                { name: 'a', value: '1', writable: true },
                { name: 'b', value: '2' },
              ],
            },
          ],
          logotypes: [{ type: 'https://webpki.github.io/keygen2/logotype#list', mimeType: 'image/png', data: Buffer.from('png').toString('base64url') }],
        },
        { id: 'Imported', keyAlgorithm: P256, appUsage: 'signature' },
        { id: 'Aes', keyAlgorithm: P256, appUsage: 'encryption', endorsedAlgorithms: ['http://www.w3.org/2001/04/xmlenc#aes256-cbc'] },
      ],
    });
    expect(outcome.keys.map((k) => k.id)).toEqual(['Key.1', 'Key.2', 'Key.3', 'Extended', 'Imported', 'Aes']);
    expect(summary.keys).toHaveLength(6);
    const ext = summary.keys.find((k) => k.id === 'Extended');
    const extensionValue = await sks.getExtension(ext!.keyHandle, 'urn:x:secret');
    expect(Buffer.from(extensionValue.extensionData).toString()).toBe('secret');
  });

  it('manages-keys-of-an-earlier-session-found-by-discovery', async () => {
    const sks = device();
    await enroll(sks, {
      issuerUri: URL,
      keyManagementKey: 'kmk2',
      pinPolicies: [
        {
          minLength: 4,
          maxLength: 8,
          retryLimit: 3,
          format: 'numeric',
          grouping: 'shared',
          keys: [{ id: 'Pinned', keyAlgorithm: P256, appUsage: 'authentication' }],
        },
      ],
      keys: [
        { id: 'Old', keyAlgorithm: P256, appUsage: 'signature' },
        { id: 'Doomed', keyAlgorithm: P256, appUsage: 'signature' },
      ],
    });
    const { summary, outcome } = await enroll(
      sks,
      {
        issuerUri: URL,
        lookups: [{ kmk: 'kmk2' }],
        keys: [
          { id: 'Clone', keyAlgorithm: P256, appUsage: 'authentication' },
          { id: 'New', keyAlgorithm: P256, appUsage: 'signature' },
        ],
      },
      {
        planManagement: (found) => {
          expect(found).toHaveLength(3);
          const byCn = (cn: string) => {
            const item = found.find((f) => Buffer.from(f.certificatePath[0], 'base64url').includes(Buffer.from(cn)));
            if (item === undefined) throw new Error(cn);
            return { certificate: item.certificatePath[0], clientSessionId: item.clientSessionId, serverSessionId: item.serverSessionId, kmk: 'kmk2' };
          };
          return {
            cloneKeyProtection: { Clone: byCn('Pinned') },
            updateKey: { New: byCn('Old') },
            unlockKeys: [byCn('Pinned')],
            deleteKeys: [byCn('Doomed')],
          };
        },
      },
    );
    expect(outcome.cloned.map((c) => c.keyId)).toEqual(['Clone']);
    expect(outcome.updated.map((c) => c.keyId)).toEqual(['New']);
    expect(outcome.unlocked).toHaveLength(1);
    expect(outcome.deleted).toHaveLength(1);
    expect(summary.postOperations).toHaveLength(4);
  });

  it('rolls-over-the-key-management-key-and-updates-with-the-new-one', async () => {
    const sks = device();
    await enroll(sks, { issuerUri: URL, keyManagementKey: 'kmk0', keys: [{ id: 'Old', keyAlgorithm: P256, appUsage: 'signature' }] });
    const { outcome } = await enroll(
      sks,
      {
        issuerUri: URL,
        keyManagementKey: 'kmk2',
        updatableKeyManagementKeys: [{ kmk: 'kmk0' }],
        lookups: [{ kmk: 'kmk2' }],
        keys: [{ id: 'New', keyAlgorithm: P256, appUsage: 'signature' }],
      },
      {
        planManagement: (found) => {
          const discoveredCredential = found.at(0);
          if (discoveredCredential === undefined) throw new Error('the rolled-over session was not found with the new KMK');
          return {
            updateKey: {
              New: {
                certificate: discoveredCredential.certificatePath[0],
                clientSessionId: discoveredCredential.clientSessionId,
                serverSessionId: discoveredCredential.serverSessionId,
                kmk: 'kmk2',
              },
            },
          };
        },
      },
    );
    expect(outcome.updated).toHaveLength(1);
  });

  it('unlocks-a-blocked-key-in-an-unlock-session-without-key-creation', async () => {
    const sks = device();
    const first = await enroll(sks, {
      issuerUri: URL,
      keyManagementKey: 'kmk2',
      pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [{ id: 'Blocked', keyAlgorithm: P256, appUsage: 'signature' }] }],
    });
    const handle = first.summary.keys[0].keyHandle;
    for (let i = 0; i < 3; i++) {
      await sks
        .signData({
          keyHandle: handle,
          algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
          authorization: Buffer.from('0000'),
          data: Buffer.alloc(32),
        })
        .catch(() => undefined);
    }
    expect((await sks.getKeyProtectionInfo(handle)).pinErrorCount).toBe(3);
    const { outcome } = await enroll(
      sks,
      { issuerUri: URL, action: 'unlock', lookups: [{ kmk: 'kmk2', searchFilter: { appUsage: 'signature' } }] },
      {
        planManagement: (found) => ({
          unlockKeys: found
            .filter((c) => c.locked)
            .map((c) => ({ certificate: c.certificatePath[0], clientSessionId: c.clientSessionId, serverSessionId: c.serverSessionId, kmk: 'kmk2' })),
        }),
      },
    );
    expect(outcome.keys).toEqual([]);
    expect(outcome.unlocked).toHaveLength(1);
    expect((await sks.getKeyProtectionInfo(handle)).pinErrorCount).toBe(0);
  });
});
