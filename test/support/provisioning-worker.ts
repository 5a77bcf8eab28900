/**
 * Child process for the provisioning crash test: runs provisioning sessions on a
 * directory store in a loop, through our issuer and client, and reports on stdout,
 * line by line, `BEGIN <serverSessionId>`, `CLOSING <id>` (just before
 * closeProvisioningSession) and `COMMITTED <id>` (after it returned). The parent
 * SIGKILLs it at random points.
 */
import { randomBytes } from 'node:crypto';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import { aroundClose, createEnroller } from './keygen2-harness.js';

export const EXTENSION_TYPE = 'urn:airtight:test:payload';
/** Large enough that a close commits a few hundred kilobytes, so kills land inside it. */
export const PAYLOAD_BYTES = 200_000;
export const KEYS_PER_SESSION = 2;

const [dir] = process.argv.slice(2) as Array<string | undefined>;
if (dir === undefined) throw new Error('usage: provisioning-worker <store dir>');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
let current = '';
const sks = aroundClose(openSecureKeyStore({ store: openKeyStoreDirectory(dir) }), {
  before: () => say(`CLOSING ${current}`),
  after: () => say(`COMMITTED ${current}`),
});
const { enroll, issuerUri } = await createEnroller({ sks });
for (;;) {
  current = `S-${randomBytes(6).toString('hex')}`;
  say(`BEGIN ${current}`);
  const keys = Array.from({ length: KEYS_PER_SESSION }, () => ({
    keyAlgorithm: 'https://webpki.github.io/sks/algorithm#ec.nist.p256',
    appUsage: 'authentication' as const,
    extensions: [{ type: EXTENSION_TYPE, data: randomBytes(PAYLOAD_BYTES).toString('base64url') }],
  }));
  await enroll({
    config: { issuerUri, serverSessionId: current, pinPolicies: [{ id: 'PIN.1', minLength: 4, maxLength: 8, retryLimit: 5, format: 'numeric', keys }] },
    pins: '1357',
  });
}
