/**
 * Transaction semantics (spec §4.2, §7.1, §7.2): a provisioning session that
 * fails at any point, including half-way through its close, changes nothing
 * that the user API can observe, and the objects of open, failed and aborted
 * sessions are never visible.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PinGrouping } from '../../src/sks/constants.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory-store.js';
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
    const a = await ctx.issuer({ kmk: ctx.kmks[0] });
    const puk = await a.createPukPolicy('PUK', '123456');
    const pin = await a.createPinPolicy({ id: 'PIN', pukPolicy: puk, grouping: PinGrouping.SHARED });
    const k1 = await a.provisionKey({ id: 'Key.1', pinPolicy: pin, userPin: PIN });
    const k2 = await a.provisionKey({ id: 'Key.2', pinPolicy: pin, userPin: PIN });
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const k3 = await a.provisionKey({ id: 'Key.3' }, { publicKey: pair.publicKey });
    await a.importPrivateKey(k3, pair.privateKey);
    await a.closeSession();
    await lockKey(ctx.sks, k1.keyHandle);

    const c = await ctx.issuer();
    const c1 = await c.provisionKey({ id: 'Key.1' });
    await c.closeSession();
    return { a, k1, k2, k3, k3Private: pair.privateKey, c, c1 };
  };

  /** A managing session with pending unlock (K1), delete (K2) and update (K3) operations and one new key. */
  const pendingOps = async (b: Baseline, options: { sessionKeyLimit?: number } = {}): Promise<{ m: IssuerSession; n: ProvisionedKey }> => {
    const m = await ctx.issuer({ kmk: ctx.kmks[0], ...options });
    const n = await m.provisionKey({ id: 'New.1' });
    await m.postUnlockKey(b.k1);
    await m.postDeleteKey(b.k2);
    await m.postUpdateKey(n, b.k3);
    return { m, n };
  };

  /** Runs `fail`, which must make session `m` fail, and checks that nothing observable changed. */
  const expectUnchanged = async (m: IssuerSession, newKeys: readonly ProvisionedKey[], fail: () => Promise<void>): Promise<void> => {
    const state = await observableState(ctx.sks);
    // The failing session itself is expected to disappear; everything else must stay.
    const before = { ...state, openSessions: state.openSessions.filter((s) => s.provisioningHandle !== m.provisioningHandle) };
    await fail();
    await expectTornDown(m);
    expect(await observableState(ctx.sks)).toEqual(before);
    for (const k of newKeys) {
      await expectSksError(ctx.sks.getKeyAttributes(k.keyHandle), 'NO_KEY', `Key not found #${k.keyHandle}`);
    }
  };

  describe('a close that fails half-way commits nothing (spec §7.1)', () => {
    it('leaves every key as it was when a post-operation target was deleted meanwhile', async () => {
      const b = await baseline();
      const m = await ctx.issuer({ kmk: ctx.kmks[0] });
      const n = await m.provisionKey({ id: 'New.1' });
      await m.postUnlockKey(b.k1);
      await m.postUpdateKey(n, b.k2);
      await m.postDeleteKey(b.k3);
      await ctx.sks.deleteKey(b.c1.keyHandle); // an unrelated user delete is immediate (spec §7.2)
      await ctx.sks.deleteKey(b.k3.keyHandle, undefined);
      await expectUnchanged(m, [n], () => expectSksError(m.closeSession(), 'NO_KEY', `Key not found #${b.k3.keyHandle}`).then(() => undefined));
      // The unlock was not executed and no key moved to the failed session.
      const keys = await listKeys(ctx.sks);
      expect(keys).toEqual([
        { keyHandle: b.k1.keyHandle, provisioningHandle: b.a.provisioningHandle },
        { keyHandle: b.k2.keyHandle, provisioningHandle: b.a.provisioningHandle },
      ]);
      await expectSksError(
        ctx.sks.signData({ keyHandle: b.k1.keyHandle, algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', authorization: Buffer.from(PIN), data: Buffer.of(1) }),
        'AUTHORIZATION',
        `"authorization" error for key #${b.k1.keyHandle}`,
      );
    });

    it('leaves every key as it was when a new key duplicates an existing certificate', async () => {
      const b = await baseline();
      const m = await ctx.issuer({ kmk: ctx.kmks[0] });
      await m.postUnlockKey(b.k1);
      await m.postDeleteKey(b.k2);
      const dup = await m.provisionKey({ id: 'Dup' }, { path: b.k3.certificatePath ?? [] });
      await m.importPrivateKey(dup, b.k3Private);
      await expectUnchanged(m, [dup], () =>
        expectSksError(m.closeSession(), 'OPTION', 'Duplicate certificate in "setCertificatePath" for: Dup').then(() => undefined),
      );
    });

    it('leaves every key as it was when the closing session holds an unreferenced object', async () => {
      const b = await baseline();
      const { m, n } = await pendingOps(b);
      await m.createPinPolicy({ id: 'Unused' });
      await expectUnchanged(m, [n], () => expectSksError(m.closeSession(), 'OPTION', 'Unreferenced object "id" : Unused').then(() => undefined));
    });

    it('leaves every key as it was when the close MAC is wrong', async () => {
      const b = await baseline();
      const { m, n } = await pendingOps(b);
      m.corruptNextMac();
      await expectUnchanged(m, [n], () => expectSksError(m.closeSession(), 'MAC', 'MAC error').then(() => undefined));
    });

    it('leaves every key as it was when the close attestation exhausts the session key budget', async () => {
      const b = await baseline();
      // createKeyEntry 2 + setCertificatePath 1 + three post-operations 2 each + close MAC 1 = 10; the attestation is the 11th use.
      const { m, n } = await pendingOps(b, { sessionKeyLimit: 10 });
      await expectUnchanged(m, [n], () => expectSksError(m.closeSession(), 'OPTION', '"sessionKeyLimit" exceeded').then(() => undefined));
    });

    it('commits the same pending operations when the close succeeds', async () => {
      const b = await baseline();
      const { m, n } = await pendingOps(b, { sessionKeyLimit: 11 });
      await m.closeSession();
      expect(await listKeys(ctx.sks)).toEqual([
        { keyHandle: b.k1.keyHandle, provisioningHandle: m.provisioningHandle },
        { keyHandle: b.k3.keyHandle, provisioningHandle: m.provisioningHandle },
        { keyHandle: b.c1.keyHandle, provisioningHandle: b.c.provisioningHandle },
      ]);
      await signAndVerify(ctx.sks, b.k1.keyHandle, PIN);
      await expectSksError(ctx.sks.getKeyAttributes(n.keyHandle), 'NO_KEY', `Key not found #${n.keyHandle}`);
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([b.c.provisioningHandle, m.provisioningHandle]);
    });
  });

  describe('failures before close commit nothing (spec §4.2)', () => {
    it('leaves every key as it was when a provisioning call fails after post-operations were registered', async () => {
      const b = await baseline();
      const { m, n } = await pendingOps(b);
      await expectUnchanged(m, [n], () =>
        expectSksError(m.addExtension(n, { type: 'http://example.com/x', subType: 9, data: Buffer.of(1) }), 'OPTION', 'Invalid "subType" value=9').then(
          () => undefined,
        ),
      );
    });

    it('leaves every key as it was when a session with post-operations is aborted', async () => {
      const b = await baseline();
      const { m, n } = await pendingOps(b);
      await expectUnchanged(m, [n], () => m.abort());
    });

    it('leaves a concurrently open session intact when another one fails', async () => {
      const b = await baseline();
      const good = await ctx.issuer();
      const kept = await good.provisionKey({ id: 'Kept' });
      const { m, n } = await pendingOps(b);
      m.corruptNextMac();
      await expectUnchanged(m, [n], () => expectSksError(m.closeSession(), 'MAC', 'MAC error').then(() => undefined));
      await good.closeSession();
      await signAndVerify(ctx.sks, kept.keyHandle);
    });
  });

  describe('visibility (spec §7.2)', () => {
    it('hides the keys of an open session from the user API and enumeration', async () => {
      const b = await baseline();
      const m = await ctx.issuer();
      const n = await m.provisionKey({ id: 'New.1' });
      expect((await listKeys(ctx.sks)).map((k) => k.keyHandle)).not.toContain(n.keyHandle);
      const stillInProvisioning = `Key #${n.keyHandle} still in provisioning`;
      await expectSksError(ctx.sks.getKeyAttributes(n.keyHandle), 'NO_KEY', stillInProvisioning);
      await expectSksError(ctx.sks.getKeyProtectionInfo(n.keyHandle), 'NO_KEY', stillInProvisioning);
      await expectSksError(
        ctx.sks.signData({ keyHandle: n.keyHandle, algorithm: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256', data: Buffer.of(1) }),
        'NO_KEY',
        stillInProvisioning,
      );
      await expectSksError(ctx.sks.deleteKey(n.keyHandle), 'NO_KEY', stillInProvisioning);
      expect((await listSessions(ctx.sks, true)).map((s) => s.provisioningHandle)).toEqual([m.provisioningHandle]);
      expect((await listSessions(ctx.sks, false)).map((s) => s.provisioningHandle)).toEqual([b.a.provisioningHandle, b.c.provisioningHandle]);
      await m.closeSession();
      expect((await listKeys(ctx.sks)).map((k) => k.keyHandle)).toContain(n.keyHandle);
      await signAndVerify(ctx.sks, n.keyHandle);
    });

    it('refuses post-operations on keys of another open session', async () => {
      const other = await ctx.issuer({ kmk: ctx.kmks[0] });
      const pending = await other.provisionKey();
      const m = await ctx.issuer({ postOpKmk: ctx.kmks[0] });
      await expectSksError(m.postDeleteKey(pending), 'OPTION', `Key #${pending.keyHandle} still in provisioning`);
      await expectTornDown(m);
      await other.closeSession();
    });

    it('forgets the keys of an aborted session', async () => {
      const m = await ctx.issuer();
      const n = await m.provisionKey();
      await m.abort();
      await expectSksError(ctx.sks.getKeyAttributes(n.keyHandle), 'NO_KEY', `Key not found #${n.keyHandle}`);
      expect(await listKeys(ctx.sks)).toEqual([]);
      expect(await listSessions(ctx.sks, false)).toEqual([]);
    });

    it('does not reuse the handles of a torn-down session (spec §1.7)', async () => {
      const m = await ctx.issuer();
      const lost = await m.provisionKey();
      m.corruptNextMac();
      await expectSksError(m.closeSession(), 'MAC', 'MAC error');
      const s = await ctx.issuer();
      expect(s.provisioningHandle).toBeGreaterThan(m.provisioningHandle);
      const key = await s.provisionKey();
      expect(key.keyHandle).toBeGreaterThan(lost.keyHandle);
      await s.closeSession();
    });

    it('keeps no trace of an open session across a restart', async () => {
      const b = await baseline();
      const before = await observableState(ctx.sks);
      const m = await ctx.issuer({ kmk: ctx.kmks[0] });
      const n = await m.provisionKey();
      await m.postDeleteKey(b.k2);
      const sks = await ctx.reopen();
      expect(await sks.enumerateProvisioningSessions(0, true)).toBeUndefined();
      expect(await observableState(sks)).toEqual(before);
      await expectSksError(sks.getKeyAttributes(n.keyHandle), 'NO_KEY', `Key not found #${n.keyHandle}`);
      await signAndVerify(sks, b.c1.keyHandle);
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
      const a = await IssuerSession.open(sks, { ca, kmk });
      const target = await a.provisionKey();
      await a.closeSession();
      const before = await observableState(sks);

      const m = await IssuerSession.open(sks, { ca, kmk });
      const n = await m.provisionKey();
      await m.postUpdateKey(n, target);
      failNext = true;
      await expectSksError(m.closeSession(), 'STORAGE');
      expect(await observableState(sks)).toEqual(before);
      expect(await observableState(openSecureKeyStore({ store: port, device: await testDevice(), profile: TEST_PROFILE }))).toEqual(before);
      await expectSksError(sks.getKeyAttributes(n.keyHandle), 'NO_KEY', `Key not found #${n.keyHandle}`);
      await signAndVerify(sks, target.keyHandle);
    } finally {
      port.close();
    }
  });
});
