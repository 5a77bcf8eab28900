/**
 * Child process for the management crash test: one management session on a
 * directory store that unlocks, updates, clones and deletes keys of an earlier
 * session, printing `CLOSING` just before closeProvisioningSession and
 * `COMMITTED` after it; the parent SIGKILLs it around the close.
 *
 * Usage: management-worker <store dir> <kmk pkcs8 pem file> <K1> <K2> <K3>
 * (K1: PIN-locked target to unlock and clone; K2: target to update; K3: target to delete).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { keyHandle } from '../../src/sks/api.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { IssuerSession } from './issuer-emulator.js';
import { getTestCa } from './test-ca.js';

const [dir, kmkFile, k1, k2, k3] = process.argv.slice(2);
if (dir === undefined || kmkFile === undefined || k1 === undefined || k2 === undefined || k3 === undefined) {
  throw new Error('usage: management-worker <dir> <kmk.pem> <K1> <K2> <K3>');
}
const privateKey = createPrivateKey(readFileSync(kmkFile, 'utf8'));
const kmk = { privateKey, publicKey: createPublicKey(privateKey) };
const ca = await getTestCa();
const sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir) });
const s = await IssuerSession.open(sks, { ca, kmk });
const update = await s.provisionKey({ id: 'Update', appUsage: 0 });
const clone = await s.provisionKey({ id: 'Clone', appUsage: 0 });
await s.postUnlockKey(keyHandle(Number(k1)));
await s.postUpdateKey(update, keyHandle(Number(k2)));
await s.postCloneKeyProtection(clone, keyHandle(Number(k1)));
await s.postDeleteKey(keyHandle(Number(k3)));
process.stdout.write('CLOSING\n');
await s.closeSession();
process.stdout.write('COMMITTED\n');
// Wait to be killed, so the test decides when the process ends.
setInterval(() => undefined, 1000);
