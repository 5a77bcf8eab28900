/**
 * A key the SKS generates is made a KeyObject only when it is used (src/sks/crypto/keygen.ts
 * `GeneratedEcKeyPair`): the attestation, the certificate check, the close and the commit work
 * from its raw values. The key then signs like any other, in the same store instance and after
 * the store is reopened from what was committed, and exports the same PKCS#8 either way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyHandle, SecureKeyStore } from '../../../src/sks/api.js';
import { GeneratedEcKeyPair } from '../../../src/sks/crypto/keygen.js';
import { openSecureKeyStore } from '../../../src/sks/engine/secure-key-store.js';
import { systemEntropy, type Entropy, type KeyPair } from '../../../src/sks/entropy.js';
import { createMemoryKeyStore } from '../../../src/sks/store/memory/store.js';
import { readAll, type KeyStorePort } from '../../../src/sks/store/records.js';
import { TEST_PROFILE, testDevice } from '../../support/fixtures.js';
import { createEnroller, SCENARIO_PIN } from '../../support/keygen2-harness.js';
import { ALG, handleOf, pinPolicy, SESSION, signsWith } from './common.js';

const ports: KeyStorePort[] = [];
afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

async function openSks(port: KeyStorePort, generated: KeyPair[] = []): Promise<SecureKeyStore> {
  ports.push(port);
  const entropy: Entropy = {
    ...systemEntropy,
    async generateKeyPair(request, purpose) {
      const pair = await systemEntropy.generateKeyPair(request, purpose);
      generated.push(pair);
      return pair;
    },
  };
  return openSecureKeyStore({ store: port, device: await testDevice(), profile: TEST_PROFILE, entropy });
}

describe('generated EC keys become KeyObjects on first use', () => {
  it('provisions without a KeyObject, then signs and exports, before and after the store is reopened', async () => {
    const generated: KeyPair[] = [];
    const port = createMemoryKeyStore();
    const sks = await openSks(port, generated);
    const { enroll, issuerUri } = await createEnroller({ sks });
    const keys = [{ keyAlgorithm: ALG.P256, appUsage: 'signature' as const, exportProtection: 'none' as const }];
    const result = await enroll({ config: { issuerUri, ...SESSION, pinPolicies: [pinPolicy(keys)] } });
    const handle: KeyHandle = handleOf(result, 'Key.1');

    expect(generated).toHaveLength(1);
    const pair = generated[0];
    if (!(pair instanceof GeneratedEcKeyPair)) throw new Error('the SKS did not generate a GeneratedEcKeyPair');
    expect(pair.imported, 'no KeyObject was made during provisioning').toBe(false);

    const exported = await sks.exportKey(handle);
    expect(pair.imported, 'export works from the raw scalar').toBe(false);
    await signsWith(sks, handle, ALG.ECDSA_SHA256, SCENARIO_PIN);
    expect(pair.imported, 'signing made the KeyObject').toBe(true);
    expect(await sks.exportKey(handle), 'the same PKCS#8 from the KeyObject').toEqual(exported);

    const reopened = await openSks(createMemoryKeyStore(readAll(port.load())));
    await signsWith(reopened, handle, ALG.ECDSA_SHA256, SCENARIO_PIN);
    expect(await reopened.exportKey(handle)).toEqual(exported);
  });
});
