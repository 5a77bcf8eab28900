/**
 * performHmac, symmetricKeyEncrypt and keyAgreement on PIN-protected keys, as
 * the reference's tests 39-42 and 51 run them (a shared PIN policy, retry
 * limit 3): the right PIN works, a wrong or missing PIN is ERROR_AUTHORIZATION
 * and counted across the synchronized group (spec §8.5, §8.6), the limit
 * blocks the key, and authorization comes before the algorithm check (§9.4).
 * Results are checked with node:crypto.
 */
import { createCipheriv, createDecipheriv, createHmac, diffieHellman, randomBytes, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import type { KeyHandle } from '../../src/sks/api.js';
import { AppUsage, KeyBackup } from '../../src/sks/constants.js';
import type { AppUsage as AppUsageName } from '../../src/keygen2/messages/enums.js';
import { Alg, certifiedPublicKey, describeStores, expectSksError } from '../support/fixtures.js';
import { Uri, bytes, expectAuthorizationError, protection, sign } from '../support/user-helpers.js';
import { createEnroller } from '../support/keygen2-harness.js';

const GOOD_PIN = '1563';
const BAD_PIN = '1111';
const RETRY_LIMIT = 3;
const DATA = Buffer.from('The quick brown fox jumps over the lazy dog');
type PinBytes = Uint8Array | string;
const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });
const APP_USAGE: readonly AppUsageName[] = ['signature', 'authentication', 'encryption', 'universal'];

const authorization = (pin: PinBytes | undefined): { authorization?: Buffer } => (pin === undefined ? {} : { authorization: bytes(pin) });

/** One PIN-protected operation under test. */
interface Operation {
  readonly name: string;
  readonly reference: string;
  /** Key entry options beyond the PIN; `secret` is imported with importSymmetricKey. */
  readonly appUsage: number;
  readonly endorsedAlgorithms?: readonly string[];
  readonly secret?: () => Buffer;
  /** An algorithm this key refuses with ERROR_ALGORITHM once authorized. */
  readonly wrongAlgorithm: string;
  /** Calls the operation with `pin` (absent when undefined) and `algorithm`, then checks the result with node. */
  call(h: KeyHandle, pin: PinBytes | undefined, algorithm?: string): Promise<void>;
}

describeStores('PIN-protected HMAC, symmetric encryption and key agreement (t39-t42, t51)', (ctx) => {
  const secrets = new Map<KeyHandle, Buffer>();

  const OPERATIONS: readonly Operation[] = [
    {
      name: 'performHmac',
      reference: 't40, t42',
      appUsage: AppUsage.AUTHENTICATION,
      endorsedAlgorithms: [Uri.HMAC_SHA256],
      secret: () => randomBytes(20),
      wrongAlgorithm: Uri.AES128_CBC,
      async call(handle, pin, algorithm = Uri.HMAC_SHA256) {
        const mac = await ctx.sks.performHmac({ keyHandle: handle, algorithm, ...authorization(pin), data: DATA });
        expect(Buffer.from(mac)).toEqual(
          createHmac('sha256', secrets.get(handle) ?? Buffer.alloc(0))
            .update(DATA)
            .digest(),
        );
      },
    },
    {
      name: 'symmetricKeyEncrypt',
      reference: 't41',
      appUsage: AppUsage.ENCRYPTION,
      endorsedAlgorithms: [Uri.AES256_CBC],
      secret: () => randomBytes(32),
      wrongAlgorithm: Uri.HMAC_SHA256,
      async call(handle, pin, algorithm = Uri.AES256_CBC) {
        const secret = secrets.get(handle) ?? Buffer.alloc(0);
        const out = Buffer.from(await ctx.sks.symmetricKeyEncrypt({ keyHandle: handle, algorithm, mode: true, ...authorization(pin), data: DATA }));
        const decipher = createDecipheriv('aes-256-cbc', secret, out.subarray(0, 16));
        expect(Buffer.concat([decipher.update(out.subarray(16)), decipher.final()])).toEqual(DATA);
        const iv = randomBytes(16);
        const cipher = createCipheriv('aes-256-cbc', secret, iv);
        const theirs = Buffer.concat([iv, cipher.update(DATA), cipher.final()]);
        expect(Buffer.from(await ctx.sks.symmetricKeyEncrypt({ keyHandle: handle, algorithm, mode: false, ...authorization(pin), data: theirs }))).toEqual(
          DATA,
        );
      },
    },
    {
      name: 'keyAgreement',
      reference: 't51',
      appUsage: AppUsage.ENCRYPTION,
      wrongAlgorithm: Uri.ECDSA_SHA256,
      async call(handle, pin, algorithm = Uri.ECDH_RAW) {
        const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        const bytes = await ctx.sks.keyAgreement({ keyHandle: handle, algorithm, ...authorization(pin), publicKey: spki(peer.publicKey) });
        expect(Buffer.from(bytes)).toEqual(diffieHellman({ privateKey: peer.privateKey, publicKey: await certifiedPublicKey(ctx.sks, handle) }));
      },
    },
  ];

  /**
   * One closed session with a shared PIN policy (retry limit 3) holding the
   * operation's key (Key.1) and a signing key (Key.2) under the same PIN.
   */
  const provision = async (op: Operation, appUsage = op.appUsage): Promise<{ key: KeyHandle; companion: KeyHandle }> => {
    const { enroll, issuerUri, ca } = await createEnroller({ sks: ctx.sks });
    const secret = op.secret?.();
    const { summary } = await enroll({
      config: {
        issuerUri,
        pinPolicies: [
          {
            id: 'PIN',
            minLength: 4,
            maxLength: 8,
            format: 'numeric',
            retryLimit: RETRY_LIMIT,
            grouping: 'shared',
            userModifiable: false,
            keys: [
              {
                id: 'Key.1',
                keyAlgorithm: Alg.EC_P256,
                appUsage: APP_USAGE[appUsage],
                exportProtection: 'non-exportable',
                ...(op.endorsedAlgorithms === undefined ? {} : { endorsedAlgorithms: op.endorsedAlgorithms }),
              },
              { id: 'Key.2', keyAlgorithm: Alg.EC_P256, appUsage: 'authentication', exportProtection: 'non-exportable' },
            ],
          },
        ],
      },
      pins: GOOD_PIN,
      certify: async (k) => ({
        certificatePath: [await ca.issue(k.publicKey, { commonName: k.id })],
        ...(k.id === 'Key.1' && secret !== undefined ? { importSymmetricKey: secret } : {}),
      }),
    });
    const handle = (id: string): KeyHandle => summary.keys.find((k) => k.id === id)!.keyHandle;
    if (secret !== undefined) secrets.set(handle('Key.1'), secret);
    return { key: handle('Key.1'), companion: handle('Key.2') };
  };

  for (const op of OPERATIONS) {
    describe(`${op.name} (${op.reference})`, () => {
      it('accepts-the-right-pin', async () => {
        const { key } = await provision(op);
        await op.call(key, GOOD_PIN);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(0);
      });

      it('refuses-a-wrong-pin-and-counts-it-until-the-right-pin-resets-it', async () => {
        const { key } = await provision(op);
        await expectAuthorizationError(op.call(key, BAD_PIN), key);
        await expectAuthorizationError(op.call(key, BAD_PIN), key);
        expect(await protection(ctx.sks, key)).toMatchObject({ pinErrorCount: 2, pinBlocked: false });
        await op.call(key, GOOD_PIN);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(0);
      });

      it('refuses-a-missing-pin-and-counts-it', async () => {
        const { key } = await provision(op);
        await expectAuthorizationError(op.call(key, undefined), key);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(1);
      });

      it('refuses-an-empty-pin-and-counts-it', async () => {
        const { key } = await provision(op);
        await expectAuthorizationError(op.call(key, new Uint8Array(0)), key);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(1);
      });

      it('locks-the-key-after-retry-limit-wrong-pins', async () => {
        const { key } = await provision(op);
        for (let i = 0; i < RETRY_LIMIT; i++) await expectAuthorizationError(op.call(key, BAD_PIN), key);
        expect(await protection(ctx.sks, key)).toMatchObject({ pinErrorCount: RETRY_LIMIT, pinBlocked: true });
        await expectAuthorizationError(op.call(key, GOOD_PIN), key);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(RETRY_LIMIT);
      });

      it('counts-wrong-pins-across-the-shared-group', async () => {
        const { key, companion } = await provision(op);
        await expectAuthorizationError(op.call(key, BAD_PIN), key);
        expect((await protection(ctx.sks, companion)).pinErrorCount).toBe(1);
        await expectAuthorizationError(sign(ctx.sks, companion, Alg.ECDSA_SHA256, BAD_PIN), companion);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(2);
        await sign(ctx.sks, companion, Alg.ECDSA_SHA256, GOOD_PIN);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(0);
        await op.call(key, GOOD_PIN);
      });

      it('authorizes-before-checking-the-algorithm', async () => {
        const { key } = await provision(op);
        await expectAuthorizationError(op.call(key, BAD_PIN, op.wrongAlgorithm), key);
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(1);
        await expectSksError(op.call(key, GOOD_PIN, op.wrongAlgorithm), 'ALGORITHM');
        expect((await protection(ctx.sks, key)).pinErrorCount).toBe(0);
      });
    });
  }

  it('marks a PIN-protected imported key for every appUsage as imported and computes HMAC with its PIN (t39)', async () => {
    const hmac = OPERATIONS[0];
    for (const appUsage of [AppUsage.SIGNATURE, AppUsage.AUTHENTICATION, AppUsage.ENCRYPTION, AppUsage.UNIVERSAL]) {
      const { key } = await provision(hmac, appUsage);
      expect((await ctx.sks.getKeyProtectionInfo(key)).keyBackup).toBe(KeyBackup.IMPORTED);
      await hmac.call(key, GOOD_PIN);
    }
  });
});
