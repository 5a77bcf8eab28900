/**
 * Child process for the management crash test: one management session on a
 * directory store, through our issuer and client, that unlocks, updates, clones
 * and deletes keys of an earlier session, printing `CLOSING` just before
 * closeProvisioningSession and `COMMITTED` after it; the parent SIGKILLs it
 * around the close.
 *
 * Usage: management-worker <store dir> <kmk pkcs8 pem file> <K1> <K2> <K3>
 * (K1: PIN-locked target to unlock and clone; K2: target to update; K3: target to delete).
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keyHandle } from '../../src/sks/api.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { aroundClose, createEnroller, targetInSks } from './keygen2-harness.js';

const [dir, kmkFile, k1, k2, k3] = process.argv.slice(2) as Array<string | undefined>;
if (dir === undefined || kmkFile === undefined || k1 === undefined || k2 === undefined || k3 === undefined) {
  throw new Error('usage: management-worker <dir> <kmk.pem> <K1> <K2> <K3>');
}
const kmk = createPrivateKey(readFileSync(kmkFile, 'utf8'));
const store = openSecureKeyStore({ store: openKeyStoreDirectory(dir) });
const sks = aroundClose(store, {
  before: () => process.stdout.write('CLOSING\n'),
  after: () => process.stdout.write('COMMITTED\n'),
});
const [t1, t2, t3] = [
  await targetInSks(sks, keyHandle(Number(k1)), 'kmk2'),
  await targetInSks(sks, keyHandle(Number(k2)), 'kmk2'),
  await targetInSks(sks, keyHandle(Number(k3)), 'kmk2'),
];
const { enroll, issuerUri } = await createEnroller({ sks, kmks: { kmk2: kmk } });
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
await enroll({
  config: {
    issuerUri,
    keys: [
      { id: 'Update', keyAlgorithm: P256, appUsage: 'signature', updateKey: t2 },
      { id: 'Clone', keyAlgorithm: P256, appUsage: 'signature', cloneKeyProtection: t1 },
    ],
    unlockKeys: [t1],
    deleteKeys: [t3],
  },
});
// Wait to be killed, so the test decides when the process ends.
setInterval(() => undefined, 1000);
