/**
 * Child process for the provisioning crash test: runs provisioning sessions on a
 * directory store in a loop and reports on stdout, line by line,
 * `BEGIN <serverSessionId>`, `CLOSING <id>` (just before closeProvisioningSession)
 * and `COMMITTED <id>` (after it returned). The parent SIGKILLs it at random points.
 */
import { randomBytes } from 'node:crypto';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { IssuerSession } from './issuer-emulator.js';
import { getTestCa } from './test-ca.js';

export const EXTENSION_TYPE = 'urn:airtight:test:payload';
/** Large enough that a close commits a few hundred kilobytes, so kills land inside it. */
export const PAYLOAD_BYTES = 200_000;
export const KEYS_PER_SESSION = 2;

const [dir] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: provisioning-worker <store dir>');
const ca = await getTestCa();
const sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir) });
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
for (;;) {
  const serverSessionId = `S-${randomBytes(6).toString('hex')}`;
  say(`BEGIN ${serverSessionId}`);
  const s = await IssuerSession.open(sks, { ca, serverSessionId });
  const pin = await s.createPinPolicy({ id: 'PIN.1', retryLimit: 5 });
  for (let i = 0; i < KEYS_PER_SESSION; i++) {
    const key = await s.provisionKey({ pinPolicy: pin, userPin: '1357' });
    await s.addExtension(key, { type: EXTENSION_TYPE, subType: 0, data: randomBytes(PAYLOAD_BYTES) });
  }
  say(`CLOSING ${serverSessionId}`);
  await s.closeSession();
  say(`COMMITTED ${serverSessionId}`);
}
