/**
 * Post-provisioning operations of the reference suite (spec §15.2 tests 14-29,
 * 53-56, 78): delete, unlock, update and clone of keys from earlier sessions,
 * authorized by the target session's key management key (spec §5.8, §6.13,
 * §6.14) and executed at close (spec §7.1 C-F).
 */
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { AppUsage, ExportDeleteProtection, PinGrouping, ProtectionStatus } from '../../src/sks/constants.js';
import type { IssuerOptions, IssuerSession, Kmk, ProvisionedKey } from '../support/issuer-emulator.js';
import { rollOverKmk } from '../support/issuer-emulator.js';
import {
  Alg,
  describeStores,
  expectSksError,
  expectTornDown,
  hex,
  listKeys,
  listSessions,
  lockKey,
  signAndVerify,
  verifySignature,
} from '../support/fixtures.js';

const PIN = '1234';

interface TargetOptions {
  /** Key management key of the target session; `null` makes it non-updatable. Default KMK #0. */
  readonly kmk?: Kmk | null;
  readonly privacyEnabled?: boolean;
  /** With a PIN policy of this grouping (user PIN "1234"); without: no PIN. */
  readonly grouping?: number;
  readonly count?: number;
  readonly appUsage?: number;
  readonly deleteProtection?: number;
}

describeStores('post-provisioning operations', (ctx) => {
  /** A closed session holding `count` keys (Key.1..), as the targets of later post-operations. */
  const targets = async (targetOptions: TargetOptions = {}): Promise<{ session: IssuerSession; keys: ProvisionedKey[] }> => {
    const kmk = targetOptions.kmk === null ? undefined : (targetOptions.kmk ?? ctx.kmks[0]);
    const session = await ctx.issuer({ kmk, privacyEnabled: targetOptions.privacyEnabled ?? false });
    const pinPolicy = targetOptions.grouping === undefined ? undefined : await session.createPinPolicy({ id: 'PIN', grouping: targetOptions.grouping });
    const keys = [];
    for (let i = 1; i <= (targetOptions.count ?? 1); i++) {
      keys.push(
        await session.provisionKey({
          id: `Key.${i}`,
          appUsage: targetOptions.appUsage ?? AppUsage.AUTHENTICATION,
          deleteProtection: targetOptions.deleteProtection ?? ExportDeleteProtection.NONE,
          ...(pinPolicy === undefined ? {} : { pinPolicy, userPin: PIN }),
        }),
      );
    }
    await session.closeSession();
    return { session, keys };
  };

  /** A managing session; its post-operations are signed with KMK #0 unless said otherwise (spec §15.1). */
  const manager = (o: IssuerOptions = {}): Promise<IssuerSession> => ctx.issuer({ postOpKmk: ctx.kmks[0], ...o });

  const first = <T>(xs: readonly T[]): T => {
    const input = xs[0];
    if (input === undefined) throw new Error('empty');
    return input;
  };

  describe('postDeleteKey', () => {
    it('deletes the target only at close and absorbs the old session (t14)', async () => {
      const { session: issuerSession, keys } = await targets({ count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      const bytes = await manager({ kmk: ctx.kmks[0] });
      await bytes.postDeleteKey(k1);
      // Pending operations change nothing before close (spec §7.2): both keys still belong to the old session.
      expect(await listKeys(ctx.sks)).toEqual([k1, k2].map((k) => ({ keyHandle: k.keyHandle, provisioningHandle: issuerSession.provisioningHandle })));
      expect((await ctx.sks.getKeyAttributes(k1.keyHandle)).certificatePath).toHaveLength(1);
      await signAndVerify(ctx.sks, k1.keyHandle);
      await bytes.closeSession();
      await expectSksError(ctx.sks.getKeyAttributes(k1.keyHandle), 'NO_KEY', `Key not found #${k1.keyHandle}`);
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: k2.keyHandle, provisioningHandle: bytes.provisioningHandle }]);
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([bytes.provisioningHandle]);
      await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
    });

    it('refuses a target of a session without key management key and tears the manager down (t15)', async () => {
      const { session: issuerSession, keys } = await targets({ kmk: null });
      const key = first(keys);
      const bytes = await manager();
      await expectSksError(bytes.postDeleteKey(key), 'OPTION', `Key #${key.keyHandle} belongs to a non-updatable provisioning session`);
      await expectSksError(bytes.closeSession(), 'NO_SESSION', `No such provisioning session: ${bytes.provisioningHandle}`);
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: key.keyHandle, provisioningHandle: issuerSession.provisioningHandle }]);
    });

    it('deletes a target of an updatable session and removes the emptied session (t15)', async () => {
      const { keys } = await targets();
      const issuerSession = await manager();
      await issuerSession.postDeleteKey(first(keys));
      await issuerSession.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([]);
      expect(await listSessions(ctx.sks, false)).toEqual([]);
    });

    it('ignores the target delete protection', async () => {
      const { keys } = await targets({ deleteProtection: ExportDeleteProtection.NOT_ALLOWED });
      const key = first(keys);
      await expectSksError(ctx.sks.deleteKey(key.keyHandle), 'NOT_ALLOWED', `Operation not allowed on key #${key.keyHandle}`);
      const issuerSession = await manager();
      await issuerSession.postDeleteKey(key);
      await issuerSession.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([]);
    });

    it('refuses a target that does not exist', async () => {
      const issuerSession = await manager();
      await expectSksError(
        issuerSession.postDeleteKey(4711 as ProvisionedKey['keyHandle'], { authorization: new Uint8Array(256) }),
        'NO_KEY',
        'Key not found #4711',
      );
      await expectTornDown(issuerSession);
    });

    it('refuses a target still in provisioning', async () => {
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      const pending = await issuerSession.provisionKey();
      const bytes = await manager();
      await expectSksError(bytes.postDeleteKey(pending), 'OPTION', `Key #${pending.keyHandle} still in provisioning`);
      await expectTornDown(bytes);
      await issuerSession.abort();
    });

    it('refuses a delete combined with another operation on the same target', async () => {
      const { keys } = await targets({ grouping: PinGrouping.SHARED });
      const key = first(keys);
      const issuerSession = await manager();
      await issuerSession.postUnlockKey(key);
      await expectSksError(issuerSession.postDeleteKey(key), 'OPTION', `Delete wasn't exclusive for key #${key.keyHandle}`);
      await expectTornDown(issuerSession);
    });

    it('deletes one key by post-operation while the user deletes the other (t29)', async () => {
      const { session: issuerSession, keys } = await targets({ count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      const bytes = await manager();
      await bytes.postDeleteKey(k2);
      await ctx.sks.deleteKey(k1.keyHandle);
      await bytes.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([]);
      expect(await listSessions(ctx.sks, false)).toEqual([]);
      await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
    });
  });

  describe('user deleteKey (t16, t17)', () => {
    it('deletes only the named key of two (t16)', async () => {
      const { session: issuerSession, keys } = await targets({ count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      await ctx.sks.deleteKey(k1.keyHandle, undefined);
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: k2.keyHandle, provisioningHandle: issuerSession.provisioningHandle }]);
      await signAndVerify(ctx.sks, k2.keyHandle);
    });

    it('deletes the only key of a session together with the session (t17)', async () => {
      const { keys } = await targets();
      await ctx.sks.deleteKey(first(keys).keyHandle);
      expect(await listKeys(ctx.sks)).toEqual([]);
      expect(await listSessions(ctx.sks, false)).toEqual([]);
    });
  });

  describe('postUpdateKey', () => {
    it('replaces the target under its handle and absorbs the old session (t18)', async () => {
      const { session: issuerSession, keys } = await targets({ count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      const bytes = await manager();
      const provisionedKey = await bytes.provisionKey({ id: 'Key.3' });
      await bytes.postUpdateKey(provisionedKey, k1);
      await bytes.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([
        { keyHandle: k1.keyHandle, provisioningHandle: bytes.provisioningHandle },
        { keyHandle: k2.keyHandle, provisioningHandle: bytes.provisioningHandle },
      ]);
      expect((await ctx.sks.getKeyAttributes(k1.keyHandle)).certificatePath.map(hex)).toEqual(provisionedKey.certificatePath?.map(hex));
      await expectSksError(ctx.sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([bytes.provisioningHandle]);
      await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
      await signAndVerify(ctx.sks, k1.keyHandle);
    });

    it('refuses an update with a different appUsage (t18)', async () => {
      const { keys } = await targets({ appUsage: AppUsage.AUTHENTICATION });
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey({ appUsage: AppUsage.SIGNATURE });
      await expectSksError(issuerSession.postUpdateKey(provisionedKey, first(keys)), 'OPTION', 'Updated keys must have the same "appUsage" as the target key');
      await expectTornDown(issuerSession);
    });

    it('keeps the target PIN protection while the new key material signs (t19)', async () => {
      const { keys } = await targets({ grouping: PinGrouping.NONE });
      const target = first(keys);
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey();
      await issuerSession.postUpdateKey(provisionedKey, target);
      await issuerSession.closeSession();
      await expectSksError(
        ctx.sks.signData({ keyHandle: target.keyHandle, algorithm: Alg.ECDSA_SHA256, authorization: Buffer.from('4321'), data: Buffer.of(1) }),
        'AUTHORIZATION',
        `"authorization" error for key #${target.keyHandle}`,
      );
      const data = Buffer.from('signed by the new key');
      const signature = await ctx.sks.signData({ keyHandle: target.keyHandle, algorithm: Alg.ECDSA_SHA256, authorization: Buffer.from(PIN), data });
      expect(verifySignature(provisionedKey.generatedPublicKey, Alg.ECDSA_SHA256, data, signature)).toBe(true);
      expect(verifySignature(target.generatedPublicKey, Alg.ECDSA_SHA256, data, signature)).toBe(false);
    });

    it('refuses a new key with its own PIN policy for an update (t20)', async () => {
      const { keys } = await targets({ grouping: PinGrouping.SHARED });
      const issuerSession = await manager();
      const pin = await issuerSession.createPinPolicy({ id: 'PIN.2' });
      const provisionedKey = await issuerSession.provisionKey({ pinPolicy: pin, userPin: PIN });
      await expectSksError(issuerSession.postUpdateKey(provisionedKey, first(keys)), 'OPTION', 'Updated/cloned keys must not define PIN protection');
      await expectTornDown(issuerSession);
    });

    it('refuses a new key with device-PIN protection for an update', async () => {
      const { keys } = await targets();
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey({ devicePinProtection: true });
      await expectSksError(issuerSession.postUpdateKey(provisionedKey, first(keys)), 'OPTION', 'Updated/cloned keys must not define PIN protection');
      await expectTornDown(issuerSession);
    });

    it('refuses two updates of one target (t21)', async () => {
      const { keys } = await targets();
      const target = first(keys);
      const issuerSession = await manager();
      const n1 = await issuerSession.provisionKey({ id: 'Key.3' });
      const n2 = await issuerSession.provisionKey({ id: 'Key.4' });
      await issuerSession.postUpdateKey(n1, target);
      await expectSksError(issuerSession.postUpdateKey(n2, target), 'OPTION', `Multiple updates of key #${target.keyHandle}`);
      await expectTornDown(issuerSession);
    });

    it('refuses one new key updating two targets (t22)', async () => {
      const { keys } = await targets({ count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey({ id: 'Key.3' });
      await issuerSession.postUpdateKey(provisionedKey, k1);
      await expectSksError(issuerSession.postUpdateKey(provisionedKey, k2), 'OPTION', 'New key used for multiple operations: Key.3');
      await expectTornDown(issuerSession);
    });

    it('fails the close when the user deleted the target after the update was registered (t27)', async () => {
      const { keys } = await targets();
      const target = first(keys);
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey();
      await issuerSession.postUpdateKey(provisionedKey, target);
      await ctx.sks.deleteKey(target.keyHandle);
      await expectSksError(issuerSession.closeSession(), 'NO_KEY', `Key not found #${target.keyHandle}`);
      await expectTornDown(issuerSession);
      expect(await listKeys(ctx.sks)).toEqual([]);
    });

    it('refuses an update of a target the user already deleted (t28)', async () => {
      const { keys } = await targets();
      const target = first(keys);
      await ctx.sks.deleteKey(target.keyHandle);
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey();
      await expectSksError(issuerSession.postUpdateKey(provisionedKey, target), 'NO_KEY', `Key not found #${target.keyHandle}`);
      await expectTornDown(issuerSession);
    });

    it('refuses an update whose new key has no certificate yet', async () => {
      const { keys } = await targets();
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.createKeyEntry({ id: 'Key.9' });
      await expectSksError(issuerSession.postUpdateKey(provisionedKey, first(keys)), 'OPTION', 'Missing "setCertificatePath" for: Key.9');
      await expectTornDown(issuerSession);
    });
  });

  describe('postCloneKeyProtection', () => {
    for (const appUsage of [AppUsage.AUTHENTICATION, AppUsage.SIGNATURE]) {
      it(`clones a shared PIN protection to a new key with appUsage ${appUsage} (t23)`, async () => {
        const { session: issuerSession, keys } = await targets({ grouping: PinGrouping.SHARED });
        const target = first(keys);
        const bytes = await manager();
        const provisionedKey = await bytes.provisionKey({ appUsage });
        await bytes.postCloneKeyProtection(provisionedKey, target);
        expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: target.keyHandle, provisioningHandle: issuerSession.provisioningHandle }]);
        await bytes.closeSession();
        // The target moves to the cloning session and its old session is deleted.
        expect(await listKeys(ctx.sks)).toEqual(
          [target, provisionedKey].map((k) => ({ keyHandle: k.keyHandle, provisioningHandle: bytes.provisioningHandle })),
        );
        expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([bytes.provisioningHandle]);
        await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
        for (const key2 of [target, provisionedKey]) {
          await signAndVerify(ctx.sks, key2.keyHandle, PIN);
          await expectSksError(
            ctx.sks.signData({ keyHandle: key2.keyHandle, algorithm: Alg.ECDSA_SHA256, authorization: Buffer.from('4321'), data: Buffer.of(1) }),
            'AUTHORIZATION',
            `"authorization" error for key #${key2.keyHandle}`,
          );
        }
      });
    }

    for (const grouping of [PinGrouping.NONE, PinGrouping.UNIQUE]) {
      it(`refuses to clone a PIN protection with grouping ${grouping} (t23)`, async () => {
        const { keys } = await targets({ grouping });
        const issuerSession = await manager();
        const provisionedKey = await issuerSession.provisionKey();
        await expectSksError(
          issuerSession.postCloneKeyProtection(provisionedKey, first(keys)),
          'OPTION',
          'A cloned key protection must have PIN grouping="shared"',
        );
        await expectTornDown(issuerSession);
      });
    }

    it('refuses a new key with its own PIN policy for a clone (t20)', async () => {
      const { keys } = await targets({ grouping: PinGrouping.SHARED });
      const issuerSession = await manager();
      const pin = await issuerSession.createPinPolicy({ id: 'PIN.2' });
      const provisionedKey = await issuerSession.provisionKey({ pinPolicy: pin, userPin: PIN });
      await expectSksError(issuerSession.postCloneKeyProtection(provisionedKey, first(keys)), 'OPTION', 'Updated/cloned keys must not define PIN protection');
      await expectTornDown(issuerSession);
    });

    it('moves both keys of the shared PIN policy to the cloning session and deletes the old session (t24)', async () => {
      const { session: issuerSession, keys } = await targets({ grouping: PinGrouping.SHARED, count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      const bytes = await manager();
      const provisionedKey = await bytes.provisionKey({ id: 'Key.3' });
      await bytes.postCloneKeyProtection(provisionedKey, k1);
      await bytes.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([k1, k2, provisionedKey].map((k) => ({ keyHandle: k.keyHandle, provisioningHandle: bytes.provisioningHandle })));
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([bytes.provisioningHandle]);
      await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
      for (const key2 of [k1, k2]) await signAndVerify(ctx.sks, key2.keyHandle, PIN);
      await signAndVerify(ctx.sks, provisionedKey.keyHandle, PIN);
      await expectSksError(
        ctx.sks.signData({ keyHandle: provisionedKey.keyHandle, algorithm: Alg.ECDSA_SHA256, data: Buffer.of(1) }),
        'AUTHORIZATION',
        `"authorization" error for key #${provisionedKey.keyHandle}`,
      );
    });

    for (const order of ['clone, update', 'update, clone'] as const) {
      it(`applies a clone and an update of one target registered as ${order} (${order === 'clone, update' ? 't25' : 't26'})`, async () => {
        const { session: issuerSession, keys } = await targets({ grouping: PinGrouping.SHARED });
        const target = first(keys);
        const bytes = await manager();
        const cloned = await bytes.provisionKey({ id: 'Key.2' });
        const updated = await bytes.provisionKey({ id: 'Key.3' });
        if (order === 'clone, update') {
          await bytes.postCloneKeyProtection(cloned, target);
          await bytes.postUpdateKey(updated, target);
        } else {
          await bytes.postUpdateKey(updated, target);
          await bytes.postCloneKeyProtection(cloned, target);
        }
        await bytes.closeSession();
        expect((await ctx.sks.getKeyAttributes(target.keyHandle)).certificatePath.map(hex)).toEqual(updated.certificatePath?.map(hex));
        await expectSksError(ctx.sks.getKeyAttributes(updated.keyHandle), 'NO_KEY', `Key not found #${updated.keyHandle}`);
        await signAndVerify(ctx.sks, target.keyHandle, PIN);
        await signAndVerify(ctx.sks, cloned.keyHandle, PIN);
        await expectSksError(issuerSession.abort(), 'NO_SESSION', `No such provisioning session: ${issuerSession.provisioningHandle}`);
        expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([bytes.provisioningHandle]);
      });
    }
  });

  describe('postUnlockKey', () => {
    it('refuses an unlock signed by another KMK and leaves the key locked (t53)', async () => {
      const { keys } = await targets({ grouping: PinGrouping.NONE });
      const target = first(keys);
      await lockKey(ctx.sks, target.keyHandle);
      const wrong = await manager({ postOpKmk: ctx.kmks[1] });
      await expectSksError(wrong.postUnlockKey(target), 'OPTION', `"authorization" signature did not verify for key #${target.keyHandle}`);
      await expectTornDown(wrong);
      expect((await ctx.sks.getKeyProtectionInfo(target.keyHandle)).protectionStatus & ProtectionStatus.PIN_BLOCKED).toBe(ProtectionStatus.PIN_BLOCKED);

      const right = await manager();
      await right.postUnlockKey(target);
      await right.closeSession();
      const info = await ctx.sks.getKeyProtectionInfo(target.keyHandle);
      expect(info.protectionStatus & ProtectionStatus.PIN_BLOCKED).toBe(0);
      expect(info.pinErrorCount).toBe(0);
      await signAndVerify(ctx.sks, target.keyHandle, PIN);
    });

    it('refuses an unlock signed with the EC KMK for an RSA-KMK target', async () => {
      const { keys } = await targets({ grouping: PinGrouping.NONE });
      const issuerSession = await manager({ postOpKmk: ctx.kmks[2] });
      // An ECDSA signature has the wrong length for the RSA KMK: the crypto layer cannot parse it (spec §5.8).
      await expectSksError(issuerSession.postUnlockKey(first(keys)), 'CRYPTO');
      await expectTornDown(issuerSession);
    });

    it('unlocks with an EC P-256 KMK signature (raw r||s)', async () => {
      const { keys } = await targets({ grouping: PinGrouping.NONE, kmk: ctx.kmks[2] });
      const target = first(keys);
      await lockKey(ctx.sks, target.keyHandle);
      const issuerSession = await manager({ postOpKmk: ctx.kmks[2] });
      await issuerSession.postUnlockKey(target);
      await issuerSession.closeSession();
      await signAndVerify(ctx.sks, target.keyHandle, PIN);
    });

    it('refuses to unlock a key without PIN policy', async () => {
      const { keys } = await targets();
      const target = first(keys);
      const issuerSession = await manager();
      await expectSksError(issuerSession.postUnlockKey(target), 'OPTION', `Key #${target.keyHandle} is not PIN protected`);
      await expectTornDown(issuerSession);
    });

    it('refuses two unlocks of one target', async () => {
      const { keys } = await targets({ grouping: PinGrouping.NONE });
      const target = first(keys);
      const issuerSession = await manager();
      await issuerSession.postUnlockKey(target);
      await expectSksError(issuerSession.postUnlockKey(target), 'OPTION', `Multiple unlocks of key #${target.keyHandle}`);
      await expectTornDown(issuerSession);
    });

    for (const order of ['update, unlock', 'unlock, update'] as const) {
      it(`unlocks a locked key that is also updated, registered as ${order} (t54)`, async () => {
        const { keys } = await targets({ grouping: PinGrouping.SHARED });
        const target = first(keys);
        await lockKey(ctx.sks, target.keyHandle);
        const issuerSession = await manager();
        const provisionedKey = await issuerSession.provisionKey();
        if (order === 'update, unlock') {
          await issuerSession.postUpdateKey(provisionedKey, target);
          await issuerSession.postUnlockKey(target);
        } else {
          await issuerSession.postUnlockKey(target);
          await issuerSession.postUpdateKey(provisionedKey, target);
        }
        await issuerSession.closeSession();
        await signAndVerify(ctx.sks, target.keyHandle, PIN);
        await expectSksError(ctx.sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
      });
    }

    // Spec §17 #10 recommendation: the unlock applies to the key holding the target handle after updates.
    it('unlocks the replacement key when the update precedes the unlock with grouping none', async () => {
      const { keys } = await targets({ grouping: PinGrouping.NONE });
      const target = first(keys);
      await lockKey(ctx.sks, target.keyHandle);
      const issuerSession = await manager();
      const provisionedKey = await issuerSession.provisionKey();
      await issuerSession.postUpdateKey(provisionedKey, target);
      await issuerSession.postUnlockKey(target);
      await issuerSession.closeSession();
      await signAndVerify(ctx.sks, target.keyHandle, PIN);
    });

    for (const order of ['clone, unlock', 'unlock, clone'] as const) {
      it(`unlocks a locked key whose protection is also cloned, registered as ${order} (t55)`, async () => {
        const { keys } = await targets({ grouping: PinGrouping.SHARED });
        const target = first(keys);
        await lockKey(ctx.sks, target.keyHandle);
        const issuerSession = await manager();
        const provisionedKey = await issuerSession.provisionKey();
        if (order === 'clone, unlock') {
          await issuerSession.postCloneKeyProtection(provisionedKey, target);
          await issuerSession.postUnlockKey(target);
        } else {
          await issuerSession.postUnlockKey(target);
          await issuerSession.postCloneKeyProtection(provisionedKey, target);
        }
        await issuerSession.closeSession();
        await signAndVerify(ctx.sks, target.keyHandle, PIN);
        await signAndVerify(ctx.sks, provisionedKey.keyHandle, PIN);
      });
    }
  });

  describe('session key budget of post-operations (spec §5.4)', () => {
    // Four post-operations 2 each + two new keys 3 each + close 2 = 16 (spec §14.10).
    const allOperations = async (limit: number): Promise<IssuerSession> => {
      const { keys } = await targets({ grouping: PinGrouping.SHARED, count: 2 });
      const [k1, k2] = keys as [ProvisionedKey, ProvisionedKey];
      await lockKey(ctx.sks, k1.keyHandle);
      const issuerSession = await manager({ kmk: ctx.kmks[0], sessionKeyLimit: limit });
      const updated = await issuerSession.provisionKey({ id: 'New.1' });
      const cloned = await issuerSession.provisionKey({ id: 'New.2' });
      await issuerSession.postUnlockKey(k1);
      await issuerSession.postUpdateKey(updated, k1);
      await issuerSession.postCloneKeyProtection(cloned, k1);
      await issuerSession.postDeleteKey(k2);
      return issuerSession;
    };

    it('consumes exactly 16 uses for unlock, update, clone and delete (spec §14.10)', async () => {
      const issuerSession = await allOperations(16);
      await issuerSession.closeSession();
      expect((await listKeys(ctx.sks)).map((k) => k.provisioningHandle)).toEqual([issuerSession.provisioningHandle, issuerSession.provisioningHandle]);
    });

    it('fails the same session with a budget of 15', async () => {
      const issuerSession = await allOperations(15);
      await expectSksError(issuerSession.closeSession(), 'OPTION', '"sessionKeyLimit" exceeded');
      await expectTornDown(issuerSession);
    });
  });

  describe('privacy consistency (t56)', () => {
    for (const privacyEnabled of [true, false]) {
      for (const order of ['clone, unlock', 'unlock, clone'] as const) {
        it(`${order === 'clone, unlock' ? 'clones and unlocks' : 'unlocks and clones'} when target and manager both have privacy ${privacyEnabled ? 'on' : 'off'} (t56)`, async () => {
          const { keys } = await targets({ grouping: PinGrouping.SHARED, privacyEnabled });
          const target = first(keys);
          await lockKey(ctx.sks, target.keyHandle);
          const issuerSession = await manager({ privacyEnabled });
          const provisionedKey = await issuerSession.provisionKey();
          if (order === 'clone, unlock') {
            await issuerSession.postCloneKeyProtection(provisionedKey, target);
            await issuerSession.postUnlockKey(target);
          } else {
            await issuerSession.postUnlockKey(target);
            await issuerSession.postCloneKeyProtection(provisionedKey, target);
          }
          await issuerSession.closeSession();
          await signAndVerify(ctx.sks, target.keyHandle, PIN);
          await signAndVerify(ctx.sks, provisionedKey.keyHandle, PIN);
        });
      }
    }

    it('refuses a privacy-enabled manager for a target provisioned without privacy (t56)', async () => {
      const { keys } = await targets({ grouping: PinGrouping.SHARED, privacyEnabled: false });
      const target = first(keys);
      const issuerSession = await manager({ privacyEnabled: true });
      const provisionedKey = await issuerSession.provisionKey();
      await expectSksError(
        issuerSession.postCloneKeyProtection(provisionedKey, target),
        'OPTION',
        `Inconsistent use of the "privacyEnabled" attribute for key #${target.keyHandle}`,
      );
      await expectTornDown(issuerSession);
    });

    it('refuses an unlock by a privacy-enabled manager for a target provisioned without privacy', async () => {
      const { keys } = await targets({ grouping: PinGrouping.SHARED, privacyEnabled: false });
      const target = first(keys);
      const issuerSession = await manager({ privacyEnabled: true });
      await expectSksError(issuerSession.postUnlockKey(target), 'OPTION', `Inconsistent use of the "privacyEnabled" attribute for key #${target.keyHandle}`);
      await expectTornDown(issuerSession);
    });
  });

  describe('certificate reuse with post-operations (t58)', () => {
    it('allows reusing the certificate of a key that this session updates or deletes (t58)', async () => {
      const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      const k3 = await issuerSession.provisionKey({ id: 'Key.3' }, { publicKey: pair.publicKey });
      await issuerSession.importPrivateKey(k3, pair.privateKey);
      await issuerSession.closeSession();
      const certificate = k3.certificatePath ?? [];

      // The absorbing session needs a KMK of its own, or the absorbed key is no longer updatable.
      const bytes = await manager({ kmk: ctx.kmks[0] });
      const k4 = await bytes.provisionKey({ id: 'Key.4' }, { path: certificate });
      await bytes.importPrivateKey(k4, pair.privateKey);
      await bytes.postUpdateKey(k4, k3);
      await bytes.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: k3.keyHandle, provisioningHandle: bytes.provisioningHandle }]);

      const item = await manager();
      const k5 = await item.provisionKey({ id: 'Key.5' }, { path: certificate });
      await item.importPrivateKey(k5, pair.privateKey);
      await item.postDeleteKey(k3.keyHandle);
      await item.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([{ keyHandle: k5.keyHandle, provisioningHandle: item.provisioningHandle }]);
    });
  });

  describe('key management key roll-over', () => {
    it('accepts post-operations signed by the rolled-over KMK (t78)', async () => {
      const { session: issuerSession, keys } = await targets({ kmk: ctx.kmks[0] });
      await rollOverKmk(ctx.sks, issuerSession.provisioningHandle, ctx.kmks[0], ctx.kmks[1]);
      expect(hex((await listSessions(ctx.sks, false))[0]?.keyManagementKey)).toBe(hex(ctx.kmks[1].publicKey.export({ type: 'spki', format: 'der' })));
      const old = await manager({ postOpKmk: ctx.kmks[0] });
      await expectSksError(old.postDeleteKey(first(keys)), 'OPTION', `"authorization" signature did not verify for key #${first(keys).keyHandle}`);
      await expectTornDown(old);
      const bytes = await manager({ postOpKmk: ctx.kmks[1] });
      await bytes.postDeleteKey(first(keys));
      await bytes.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([]);
    });
  });
});
