/**
 * Transaction semantics (spec §4.2, §7.1, §7.2): a provisioning session that
 * fails at any point, including half-way through its close, changes nothing
 * that the user API can observe, and the objects of open, failed and aborted
 * sessions are never visible.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { describe, expect, it } from 'vitest';
import { PinGrouping } from '../../src/sks/constants.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import type { KeyStorePort } from '../../src/sks/store/records.js';
import { IssuerSession, type ProvisionedKey } from '../support/issuer-emulator.js';
import { getTestCa } from '../support/test-ca.js';
import {
  TEST_PROFILE,
  describeStores,
  expectSksError,
  expectTornDown,
  listKeys,
  listSessions,
  lockKey,
  observableState,
  signAndVerify,
  testDevice,
  testKmks,
} from '../support/fixtures.js';

const PIN = '1234';

interface Baseline {
  /** Updatable session: K1, K2 share a PIN (grouping shared, with PUK) and are PIN-locked; K3 has an imported key pair. */
  readonly a: IssuerSession;
  readonly k1: ProvisionedKey;
  readonly k2: ProvisionedKey;
  readonly k3: ProvisionedKey;
  readonly k3Private: KeyObject;
  /** Non-updatable session with one plain key. */
  readonly c: IssuerSession;
  readonly c1: ProvisionedKey;
}

describeStores('atomicity and visibility', (ctx) => {
  const baseline = async (): Promise<Baseline> => {
    const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
    const puk = await issuerSession.createPukPolicy('PUK', '123456');
    const pin = await issuerSession.createPinPolicy({ id: 'PIN', pukPolicy: puk, grouping: PinGrouping.SHARED });
    const k1 = await issuerSession.provisionKey({ id: 'Key.1', pinPolicy: pin, userPin: PIN });
    const k2 = await issuerSession.provisionKey({ id: 'Key.2', pinPolicy: pin, userPin: PIN });
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const k3 = await issuerSession.provisionKey({ id: 'Key.3' }, { publicKey: pair.publicKey });
    await issuerSession.importPrivateKey(k3, pair.privateKey);
    await issuerSession.closeSession();
    await lockKey(ctx.sks, k1.keyHandle);

    const item = await ctx.issuer();
    const c1 = await item.provisionKey({ id: 'Key.1' });
    await item.closeSession();
    return { a: issuerSession, k1, k2, k3, k3Private: pair.privateKey, c: item, c1 };
  };

  /** A managing session with pending unlock (K1), delete (K2) and update (K3) operations and one new key. */
  const pendingOps = async (baseline: Baseline, options: { sessionKeyLimit?: number } = {}): Promise<{ session: IssuerSession; key: ProvisionedKey }> => {
    const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0], ...options });
    const provisionedKey = await issuerSession.provisionKey({ id: 'New.1' });
    await issuerSession.postUnlockKey(baseline.k1);
    await issuerSession.postDeleteKey(baseline.k2);
    await issuerSession.postUpdateKey(provisionedKey, baseline.k3);
    return { session: issuerSession, key: provisionedKey };
  };

  /** Runs `fail`, which must make session `m` fail, and checks that nothing observable changed. */
  const expectUnchanged = async (issuerSession: IssuerSession, newKeys: readonly ProvisionedKey[], fail: () => Promise<void>): Promise<void> => {
    const state = await observableState(ctx.sks);
    // The failing session itself is expected to disappear; everything else must stay.
    const before = { ...state, openSessions: state.openSessions.filter((s) => s.provisioningHandle !== issuerSession.provisioningHandle) };
    await fail();
    await expectTornDown(issuerSession);
    expect(await observableState(ctx.sks)).toEqual(before);
    for (const provisionedKey of newKeys) {
      await expectSksError(ctx.sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
    }
  };

  describe('a close that fails half-way commits nothing (spec §7.1)', () => {
    it('leaves every key as it was when a post-operation target was deleted meanwhile', async () => {
      const base = await baseline();
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      const provisionedKey = await issuerSession.provisionKey({ id: 'New.1' });
      await issuerSession.postUnlockKey(base.k1);
      await issuerSession.postUpdateKey(provisionedKey, base.k2);
      await issuerSession.postDeleteKey(base.k3);
      await ctx.sks.deleteKey(base.c1.keyHandle); // an unrelated user delete is immediate (spec §7.2)
      await ctx.sks.deleteKey(base.k3.keyHandle, undefined);
      await expectUnchanged(issuerSession, [provisionedKey], () =>
        expectSksError(issuerSession.closeSession(), 'NO_KEY', `Key not found #${base.k3.keyHandle}`).then(() => undefined),
      );
      // The unlock was not executed and no key moved to the failed session.
      const keys = await listKeys(ctx.sks);
      expect(keys).toEqual([
        { keyHandle: base.k1.keyHandle, provisioningHandle: base.a.provisioningHandle },
        { keyHandle: base.k2.keyHandle, provisioningHandle: base.a.provisioningHandle },
      ]);
      await expectSksError(
        ctx.sks.signData({
          keyHandle: base.k1.keyHandle,
          algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
          authorization: Buffer.from(PIN),
          data: Buffer.of(1),
        }),
        'AUTHORIZATION',
        `"authorization" error for key #${base.k1.keyHandle}`,
      );
    });

    it('leaves every key as it was when a new key duplicates an existing certificate', async () => {
      const base = await baseline();
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      await issuerSession.postUnlockKey(base.k1);
      await issuerSession.postDeleteKey(base.k2);
      const dup = await issuerSession.provisionKey({ id: 'Dup' }, { path: base.k3.certificatePath ?? [] });
      await issuerSession.importPrivateKey(dup, base.k3Private);
      await expectUnchanged(issuerSession, [dup], () =>
        expectSksError(issuerSession.closeSession(), 'OPTION', 'Duplicate certificate in "setCertificatePath" for: Dup').then(() => undefined),
      );
    });

    it('leaves every key as it was when the closing session holds an unreferenced object', async () => {
      const base = await baseline();
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base);
      await issuerSession.createPinPolicy({ id: 'Unused' });
      await expectUnchanged(issuerSession, [provisionedKey], () =>
        expectSksError(issuerSession.closeSession(), 'OPTION', 'Unreferenced object "id" : Unused').then(() => undefined),
      );
    });

    it('leaves every key as it was when the close MAC is wrong', async () => {
      const base = await baseline();
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base);
      issuerSession.corruptNextMac();
      await expectUnchanged(issuerSession, [provisionedKey], () => expectSksError(issuerSession.closeSession(), 'MAC', 'MAC error').then(() => undefined));
    });

    it('leaves every key as it was when the close attestation exhausts the session key budget', async () => {
      const base = await baseline();
      // createKeyEntry 2 + setCertificatePath 1 + three post-operations 2 each + close MAC 1 = 10; the attestation is the 11th use.
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base, { sessionKeyLimit: 10 });
      await expectUnchanged(issuerSession, [provisionedKey], () =>
        expectSksError(issuerSession.closeSession(), 'OPTION', '"sessionKeyLimit" exceeded').then(() => undefined),
      );
    });

    it('commits the same pending operations when the close succeeds', async () => {
      const base = await baseline();
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base, { sessionKeyLimit: 11 });
      await issuerSession.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([
        { keyHandle: base.k1.keyHandle, provisioningHandle: issuerSession.provisioningHandle },
        { keyHandle: base.k3.keyHandle, provisioningHandle: issuerSession.provisioningHandle },
        { keyHandle: base.c1.keyHandle, provisioningHandle: base.c.provisioningHandle },
      ]);
      await signAndVerify(ctx.sks, base.k1.keyHandle, PIN);
      await expectSksError(ctx.sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([base.c.provisioningHandle, issuerSession.provisioningHandle]);
    });
  });

  describe('failures before close commit nothing (spec §4.2)', () => {
    it('leaves every key as it was when a provisioning call fails after post-operations were registered', async () => {
      const base = await baseline();
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base);
      await expectUnchanged(issuerSession, [provisionedKey], () =>
        expectSksError(
          issuerSession.addExtension(provisionedKey, { type: 'http://example.com/x', subType: 9, data: Buffer.of(1) }),
          'OPTION',
          'Invalid "subType" value=9',
        ).then(() => undefined),
      );
    });

    it('leaves every key as it was when a session with post-operations is aborted', async () => {
      const base = await baseline();
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base);
      await expectUnchanged(issuerSession, [provisionedKey], () => issuerSession.abort());
    });

    it('leaves a concurrently open session intact when another one fails', async () => {
      const base = await baseline();
      const good = await ctx.issuer();
      const kept = await good.provisionKey({ id: 'Kept' });
      const { session: issuerSession, key: provisionedKey } = await pendingOps(base);
      issuerSession.corruptNextMac();
      await expectUnchanged(issuerSession, [provisionedKey], () => expectSksError(issuerSession.closeSession(), 'MAC', 'MAC error').then(() => undefined));
      await good.closeSession();
      await signAndVerify(ctx.sks, kept.keyHandle);
    });
  });

  describe('visibility (spec §7.2)', () => {
    it('hides the keys of an open session from the user API and enumeration', async () => {
      const base = await baseline();
      const issuerSession = await ctx.issuer();
      const provisionedKey = await issuerSession.provisionKey({ id: 'New.1' });
      expect((await listKeys(ctx.sks)).map((k) => k.keyHandle)).not.toContain(provisionedKey.keyHandle);
      const stillInProvisioning = `Key #${provisionedKey.keyHandle} still in provisioning`;
      await expectSksError(ctx.sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', stillInProvisioning);
      await expectSksError(ctx.sks.getKeyProtectionInfo(provisionedKey.keyHandle), 'NO_KEY', stillInProvisioning);
      await expectSksError(
        ctx.sks.signData({ keyHandle: provisionedKey.keyHandle, algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', data: Buffer.of(1) }),
        'NO_KEY',
        stillInProvisioning,
      );
      await expectSksError(ctx.sks.deleteKey(provisionedKey.keyHandle), 'NO_KEY', stillInProvisioning);
      expect((await listSessions(ctx.sks, true)).map((s) => s.provisioningHandle)).toEqual([issuerSession.provisioningHandle]);
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([base.a.provisioningHandle, base.c.provisioningHandle]);
      await issuerSession.closeSession();
      expect((await listKeys(ctx.sks)).map((k) => k.keyHandle)).toContain(provisionedKey.keyHandle);
      await signAndVerify(ctx.sks, provisionedKey.keyHandle);
    });

    it('refuses post-operations on keys of another open session', async () => {
      const other = await ctx.issuer({ kmk: ctx.kmks[0] });
      const pending = await other.provisionKey();
      const issuerSession = await ctx.issuer({ postOpKmk: ctx.kmks[0] });
      await expectSksError(issuerSession.postDeleteKey(pending), 'OPTION', `Key #${pending.keyHandle} still in provisioning`);
      await expectTornDown(issuerSession);
      await other.closeSession();
    });

    it('forgets the keys of an aborted session', async () => {
      const issuerSession = await ctx.issuer();
      const provisionedKey = await issuerSession.provisionKey();
      await issuerSession.abort();
      await expectSksError(ctx.sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
      expect(await listKeys(ctx.sks)).toEqual([]);
      expect(await listSessions(ctx.sks, false)).toEqual([]);
    });

    it('does not reuse the handles of a torn-down session (spec §1.7)', async () => {
      const issuerSession = await ctx.issuer();
      const lost = await issuerSession.provisionKey();
      issuerSession.corruptNextMac();
      await expectSksError(issuerSession.closeSession(), 'MAC', 'MAC error');
      const state = await ctx.issuer();
      expect(state.provisioningHandle).toBeGreaterThan(issuerSession.provisioningHandle);
      const key = await state.provisionKey();
      expect(key.keyHandle).toBeGreaterThan(lost.keyHandle);
      await state.closeSession();
    });

    it('keeps no trace of an open session across a restart', async () => {
      const base = await baseline();
      const before = await observableState(ctx.sks);
      const issuerSession = await ctx.issuer({ kmk: ctx.kmks[0] });
      const provisionedKey = await issuerSession.provisionKey();
      await issuerSession.postDeleteKey(base.k2);
      const sks = await ctx.reopen();
      expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
      expect(await observableState(sks)).toEqual(before);
      await expectSksError(sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
      await signAndVerify(sks, base.c1.keyHandle);
    });

    it('serializes concurrent calls of independent sessions (spec §1.8)', async () => {
      const [s1, s2] = await Promise.all([ctx.issuer(), ctx.issuer()]);
      const [k1, k2] = await Promise.all([s1.provisionKey(), s2.provisionKey()]);
      await Promise.all([s1.closeSession(randomBytes(8)), s2.closeSession(randomBytes(8))]);
      await Promise.all([signAndVerify(ctx.sks, k1.keyHandle), signAndVerify(ctx.sks, k2.keyHandle)]);
      expect(await listKeys(ctx.sks)).toHaveLength(2);
    });
  });
});

describe('a close whose durable write fails', () => {
  it('reports ERROR_STORAGE and leaves the committed state as it was', async () => {
    const inner = createMemoryKeyStore();
    let failNext = false;
    const port: KeyStorePort = {
      load: () => inner.load(),
      apply: (mutations) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        inner.apply(mutations);
      },
      close: () => inner.close(),
    };
    try {
      const sks = openSecureKeyStore({ store: port, device: await testDevice(), profile: TEST_PROFILE });
      const ca = await getTestCa();
      const [kmk] = testKmks();
      const issuerSession = await IssuerSession.open(sks, { ca, kmk });
      const target = await issuerSession.provisionKey();
      await issuerSession.closeSession();
      const before = await observableState(sks);

      const message = await IssuerSession.open(sks, { ca, kmk });
      const provisionedKey = await message.provisionKey();
      await message.postUpdateKey(provisionedKey, target);
      failNext = true;
      await expectSksError(message.closeSession(), 'STORAGE');
      expect(await observableState(sks)).toEqual(before);
      expect(await observableState(openSecureKeyStore({ store: port, device: await testDevice(), profile: TEST_PROFILE }))).toEqual(before);
      await expectSksError(sks.getKeyAttributes(provisionedKey.keyHandle), 'NO_KEY', `Key not found #${provisionedKey.keyHandle}`);
      await signAndVerify(sks, target.keyHandle);
    } finally {
      port.close();
    }
  });
});
