/**
 * One conformance suite for every adapter of the persistence port
 * (src/sks/store/records.ts): the memory store and the SQLite store must be
 * indistinguishable through `load`/`apply`.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SksError } from '../../src/sks/errors.js';
import {
  INITIAL_COUNTERS,
  type DeviceRecord,
  type KeyRecord,
  type KeyStorePort,
  type Mutation,
  type PinPolicyRecord,
  type PukPolicyRecord,
  type SessionRecord,
  type StoreContents,
  readAll,
} from '../../src/sks/store/records.js';
import { ADAPTERS, type AdapterHarness } from '../support/adapters.js';

const adapters = ADAPTERS;

/** Every row of the store, read. */
const load = (store: KeyStorePort): StoreContents => readAll(store.load());

// ---------------------------------------------------------------------------
// Fixtures

const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function session(handle: number, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    handle,
    privacyEnabled: handle % 2 === 0,
    clientSessionId: `C-${handle}-0123456789abcdef0123456789`,
    serverSessionId: `S-${handle}`,
    issuerUri: `https://issuer.example.com/keygen2/${handle}`,
    keyManagementKey: bytes(91),
    clientTime: 1_700_000_000 + handle,
    sessionLifeTime: 3600,
    ...overrides,
  };
}

function key(handle: number, overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    handle,
    id: `Key.${handle}`,
    owner: 1,
    appUsage: 1,
    publicKey: bytes(91),
    privateKey: bytes(138),
    symmetricKey: null,
    certificatePath: [bytes(400), bytes(350)],
    endorsedAlgorithms: ['https://webpki.github.io/sks/algorithm#ecdsa.sha256', 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384'],
    friendlyName: `Friendly ${handle}`,
    devicePinProtection: false,
    pinPolicy: 1,
    pinValue: new Uint8Array(Buffer.from('1234')),
    errorCount: 0,
    enablePinCaching: true,
    biometricProtection: 0,
    exportProtection: 2,
    deleteProtection: 1,
    keyBackup: 0,
    extensions: [
      { type: 'http://example.com/ext', subType: 0, qualifier: '', data: bytes(64) },
      { type: 'http://example.com/secret', subType: 1, qualifier: '', data: bytes(48) },
      { type: 'http://example.com/props', subType: 2, qualifier: '', data: new Uint8Array(Buffer.from('00074e756d62657201000130', 'hex')) },
      { type: 'http://example.com/logo', subType: 3, qualifier: 'image/png', data: bytes(200) },
    ],
    ...overrides,
  };
}

function symmetricKey(handle: number): KeyRecord {
  return key(handle, {
    symmetricKey: bytes(32),
    endorsedAlgorithms: ['http://www.w3.org/2001/04/xmldsig-more#hmac-sha256'],
    friendlyName: null,
    pinPolicy: 0,
    pinValue: null,
    enablePinCaching: false,
    extensions: [],
    certificatePath: [bytes(300)],
  });
}

function pinPolicy(handle: number, overrides: Partial<PinPolicyRecord> = {}): PinPolicyRecord {
  return {
    handle,
    id: `PIN.${handle}`,
    owner: 1,
    pukPolicy: 1,
    retryLimit: 3,
    format: 0,
    userDefined: true,
    userModifiable: false,
    inputMethod: 0,
    grouping: 1,
    patternRestrictions: 0x0c,
    minLength: 4,
    maxLength: 8,
    ...overrides,
  };
}

function pukPolicy(handle: number, overrides: Partial<PukPolicyRecord> = {}): PukPolicyRecord {
  return {
    handle,
    id: `PUK.${handle}`,
    owner: 1,
    pukValue: new Uint8Array(Buffer.from('0123456789')),
    format: 0,
    retryLimit: 5,
    errorCount: 0,
    ...overrides,
  };
}

const device = (): DeviceRecord => ({ privateKey: bytes(138), certificatePath: [bytes(500), bytes(450)] });

/** Strips Buffer-vs-Uint8Array differences so snapshots compare by content. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const expectSame = (actual: unknown, expected: unknown): void => {
  expect(plain(actual)).toEqual(plain(expected));
};

function expectStorageError(fn: () => void): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SksError);
  expect((caught as SksError).code).toBe('STORAGE');
}

/** A populated store: two sessions, three keys (one symmetric), policies and a device. */
function populate(store: KeyStorePort): StoreContents {
  const snapshot: StoreContents = {
    counters: { session: 3, key: 4, pinPolicy: 2, pukPolicy: 2 },
    device: device(),
    sessions: [session(1), session(2, { keyManagementKey: null })],
    keys: [key(1), key(2, { owner: 2, pinPolicy: 0, pinValue: null, privateKey: bytes(1218) }), symmetricKey(3)],
    pinPolicies: [pinPolicy(1)],
    pukPolicies: [pukPolicy(1)],
  };
  store.apply([
    { kind: 'setCounters', counters: snapshot.counters },
    { kind: 'putDevice', device: snapshot.device! },
    ...snapshot.sessions.map((s): Mutation => ({ kind: 'putSession', session: s })),
    ...snapshot.pukPolicies.map((p): Mutation => ({ kind: 'putPukPolicy', policy: p })),
    ...snapshot.pinPolicies.map((p): Mutation => ({ kind: 'putPinPolicy', policy: p })),
    ...snapshot.keys.map((k): Mutation => ({ kind: 'putKey', key: k })),
  ]);
  return snapshot;
}

// ---------------------------------------------------------------------------
// The suite

describe.each(adapters)('KeyStorePort conformance: $name', (adapter) => {
  let harness: AdapterHarness;
  let store: KeyStorePort;

  beforeEach(() => {
    harness = adapter.harness();
    store = harness.open();
  });

  afterEach(() => {
    try {
      store.close();
    } finally {
      harness.cleanup();
    }
  });

  describe('round trip', () => {
    it('starts empty with the initial handle counters', () => {
      expectSame(load(store), {
        counters: INITIAL_COUNTERS,
        device: null,
        sessions: [],
        keys: [],
        pinPolicies: [],
        pukPolicies: [],
      });
    });

    it('returns every record type exactly as written', () => {
      const written = populate(store);
      expectSame(load(store), written);
    });

    it('returns the same snapshot after a reopen', () => {
      const written = populate(store);
      store = harness.reopen(store);
      expectSame(load(store), written);
    });

    it('keeps a 250 kB extension and empty byte strings intact', () => {
      const big = bytes(250_000);
      const keyRecord = key(1, {
        pinValue: new Uint8Array(0),
        extensions: [
          { type: 'urn:big', subType: 1, qualifier: '', data: big },
          { type: 'urn:empty', subType: 0, qualifier: '', data: new Uint8Array(0) },
        ],
        endorsedAlgorithms: [],
        certificatePath: [],
      });
      store.apply([{ kind: 'putKey', key: keyRecord }]);
      store = harness.reopen(store);
      expectSame(load(store).keys, [keyRecord]);
    });

    it('treats an empty batch as a no-op', () => {
      const written = populate(store);
      store.apply([]);
      expectSame(load(store), written);
    });
  });

  describe('put and delete', () => {
    it('replaces a session written twice under one handle', () => {
      store.apply([{ kind: 'putSession', session: session(1) }]);
      const replacement = session(1, { serverSessionId: 'other', keyManagementKey: null, privacyEnabled: true });
      store.apply([{ kind: 'putSession', session: replacement }]);
      expectSame(load(store).sessions, [replacement]);
    });

    it('replaces a key in place, keeping its position, certificates and extensions of the new record only', () => {
      store.apply([1, 2, 3].map((h): Mutation => ({ kind: 'putKey', key: key(h) })));
      // postUpdateKey: a new key record takes over handle 2.
      const replacement = key(2, {
        id: 'New',
        owner: 7,
        certificatePath: [bytes(123)],
        extensions: [{ type: 'urn:only', subType: 0, qualifier: '', data: bytes(5) }],
      });
      store.apply([{ kind: 'putKey', key: replacement }]);
      const keys = load(store).keys;
      expect(keys.map((k) => k.handle)).toEqual([1, 2, 3]);
      expectSame(keys[1], replacement);
    });

    it('returns sessions, keys and policies in handle order', () => {
      store.apply([
        { kind: 'putSession', session: session(1) },
        { kind: 'putSession', session: session(2) },
        { kind: 'putSession', session: session(3) },
        { kind: 'putKey', key: key(1) },
        { kind: 'putKey', key: key(2) },
        { kind: 'putKey', key: key(3) },
        { kind: 'putPinPolicy', policy: pinPolicy(1) },
        { kind: 'putPinPolicy', policy: pinPolicy(2) },
        { kind: 'putPukPolicy', policy: pukPolicy(1) },
        { kind: 'putPukPolicy', policy: pukPolicy(2) },
      ]);
      store.apply([
        { kind: 'deleteSession', handle: 2 },
        { kind: 'deleteKey', handle: 2 },
      ]);
      store.apply([
        { kind: 'putSession', session: session(4) },
        { kind: 'putKey', key: key(4) },
      ]);
      const storeContents = load(store);
      expect(storeContents.sessions.map((x) => x.handle)).toEqual([1, 3, 4]);
      expect(storeContents.keys.map((x) => x.handle)).toEqual([1, 3, 4]);
      expect(storeContents.pinPolicies.map((x) => x.handle)).toEqual([1, 2]);
      expect(storeContents.pukPolicies.map((x) => x.handle)).toEqual([1, 2]);
    });

    it('deletes sessions, keys (with their extensions and certificates) and policies', () => {
      const written = populate(store);
      store.apply([
        { kind: 'deleteSession', handle: 2 },
        { kind: 'deleteKey', handle: 1 },
        { kind: 'deletePinPolicy', handle: 1 },
        { kind: 'deletePukPolicy', handle: 1 },
      ]);
      const storeContents = load(store);
      expectSame(storeContents.sessions, [written.sessions[0]]);
      expectSame(storeContents.keys, [written.keys[1], written.keys[2]]);
      expect(storeContents.pinPolicies).toEqual([]);
      expect(storeContents.pukPolicies).toEqual([]);
      // A key re-created under the deleted handle brings nothing of the old one.
      const bare = key(1, { extensions: [], certificatePath: [] });
      store.apply([{ kind: 'putKey', key: bare }]);
      expectSame(
        load(store).keys.find((k) => k.handle === 1),
        bare,
      );
    });

    it('ignores deletes of handles that do not exist', () => {
      const written = populate(store);
      store.apply([
        { kind: 'deleteSession', handle: 99 },
        { kind: 'deleteKey', handle: 99 },
        { kind: 'deletePinPolicy', handle: 99 },
        { kind: 'deletePukPolicy', handle: 99 },
      ]);
      expectSame(load(store), written);
    });

    it('replaces the device identity', () => {
      populate(store);
      const next = device();
      store.apply([{ kind: 'putDevice', device: next }]);
      store = harness.reopen(store);
      expectSame(load(store).device, next);
    });

    it('sets the handle counters', () => {
      const counters = { session: 10, key: 20, pinPolicy: 30, pukPolicy: 40 };
      store.apply([{ kind: 'setCounters', counters }]);
      store = harness.reopen(store);
      expect(load(store).counters).toEqual(counters);
    });

    it('rejects a key with two extensions of one type', () => {
      const ext = { type: 'urn:dup', subType: 0, qualifier: '', data: bytes(3) };
      expectStorageError(() => store.apply([{ kind: 'putKey', key: key(1, { extensions: [ext, ext] }) }]));
      expect(load(store).keys).toEqual([]);
    });
  });

  describe('patches', () => {
    it('setKeyErrorCount changes only the error counter', () => {
      const written = populate(store);
      store.apply([{ kind: 'setKeyErrorCount', handle: 1, errorCount: 2 }]);
      expectSame(load(store).keys[0], { ...written.keys[0], errorCount: 2 });
    });

    it('setKeyPin changes the PIN value and the error counter', () => {
      const written = populate(store);
      const pin = new Uint8Array(Buffer.from('98765432'));
      store.apply([{ kind: 'setKeyPin', handle: 1, pinValue: pin, errorCount: 0 }]);
      store.apply([{ kind: 'setKeyPin', handle: 2, pinValue: pin, errorCount: 1 }]);
      const keys = load(store).keys;
      expectSame(keys[0], { ...written.keys[0], pinValue: pin, errorCount: 0 });
      expectSame(keys[1], { ...written.keys[1], pinValue: pin, errorCount: 1 });
    });

    it('setKeyBackup changes only the backup flags', () => {
      const written = populate(store);
      store.apply([{ kind: 'setKeyBackup', handle: 3, keyBackup: 0x03 }]);
      expectSame(load(store).keys[2], { ...written.keys[2], keyBackup: 0x03 });
    });

    it('setExtensionData rewrites one extension and keeps the order of the others', () => {
      const written = populate(store);
      const data = new Uint8Array(Buffer.from('00074e756d62657201000131', 'hex'));
      store.apply([{ kind: 'setExtensionData', handle: 1, type: 'http://example.com/props', data }]);
      const before = written.keys[0];
      const expected = before.extensions.map((e) => (e.type === 'http://example.com/props' ? { ...e, data } : e));
      store = harness.reopen(store);
      expectSame(load(store).keys[0], { ...before, extensions: expected });
    });

    it('setPukErrorCount changes only the PUK error counter', () => {
      const written = populate(store);
      store.apply([{ kind: 'setPukErrorCount', handle: 1, errorCount: 4 }]);
      expectSame(load(store).pukPolicies, [{ ...written.pukPolicies[0], errorCount: 4 }]);
    });

    it('setSessionKmk replaces the key management key, also where there was none', () => {
      const written = populate(store);
      const kmk1 = bytes(294);
      const kmk2 = bytes(91);
      store.apply([
        { kind: 'setSessionKmk', handle: 1, keyManagementKey: kmk1 },
        { kind: 'setSessionKmk', handle: 2, keyManagementKey: kmk2 },
      ]);
      expectSame(load(store).sessions, [
        { ...written.sessions[0], keyManagementKey: kmk1 },
        { ...written.sessions[1], keyManagementKey: kmk2 },
      ]);
    });

    it('reown moves every key and policy of one session to another and leaves the rest alone', () => {
      store.apply([
        { kind: 'putSession', session: session(1) },
        { kind: 'putSession', session: session(2) },
        { kind: 'putSession', session: session(3) },
        { kind: 'putPukPolicy', policy: pukPolicy(1, { owner: 1 }) },
        { kind: 'putPukPolicy', policy: pukPolicy(2, { owner: 3 }) },
        { kind: 'putPinPolicy', policy: pinPolicy(1, { owner: 1 }) },
        { kind: 'putPinPolicy', policy: pinPolicy(2, { owner: 3 }) },
        { kind: 'putKey', key: key(1, { owner: 1 }) },
        { kind: 'putKey', key: key(2, { owner: 3 }) },
        { kind: 'putKey', key: key(3, { owner: 1 }) },
        { kind: 'putKey', key: key(4, { owner: 2 }) },
      ]);
      store.apply([
        { kind: 'reown', from: 1, to: 2 },
        { kind: 'deleteSession', handle: 1 },
      ]);
      const storeContents = load(store);
      expect(storeContents.keys.map((k) => [k.handle, k.owner])).toEqual([
        [1, 2],
        [2, 3],
        [3, 2],
        [4, 2],
      ]);
      expect(storeContents.pinPolicies.map((p) => [p.handle, p.owner])).toEqual([
        [1, 2],
        [2, 3],
      ]);
      expect(storeContents.pukPolicies.map((p) => [p.handle, p.owner])).toEqual([
        [1, 2],
        [2, 3],
      ]);
      expect(storeContents.sessions.map((x) => x.handle)).toEqual([2, 3]);
    });
  });

  describe('atomicity', () => {
    it('rolls back the whole batch when one patch names a missing key', () => {
      const written = populate(store);
      expectStorageError(() =>
        store.apply([
          { kind: 'putKey', key: key(4) },
          { kind: 'setKeyErrorCount', handle: 1, errorCount: 3 },
          { kind: 'setCounters', counters: { session: 9, key: 9, pinPolicy: 9, pukPolicy: 9 } },
          { kind: 'deleteKey', handle: 2 },
          { kind: 'reown', from: 1, to: 5 },
          { kind: 'setKeyErrorCount', handle: 99, errorCount: 1 },
        ]),
      );
      expectSame(load(store), written);
      store = harness.reopen(store);
      expectSame(load(store), written);
    });

    const missingPatches: ReadonlyArray<readonly [string, Mutation]> = [
      ['setKeyErrorCount on a missing key', { kind: 'setKeyErrorCount', handle: 99, errorCount: 1 }],
      ['setKeyPin on a missing key', { kind: 'setKeyPin', handle: 99, pinValue: new Uint8Array([1, 2, 3, 4]), errorCount: 0 }],
      ['setKeyBackup on a missing key', { kind: 'setKeyBackup', handle: 99, keyBackup: 1 }],
      ['setExtensionData on a missing key', { kind: 'setExtensionData', handle: 99, type: 'http://example.com/props', data: new Uint8Array(1) }],
      ['setExtensionData on a missing extension type', { kind: 'setExtensionData', handle: 1, type: 'urn:no-such-extension', data: new Uint8Array(1) }],
      ['setPukErrorCount on a missing PUK policy', { kind: 'setPukErrorCount', handle: 99, errorCount: 1 }],
      ['setSessionKmk on a missing session', { kind: 'setSessionKmk', handle: 99, keyManagementKey: new Uint8Array(91) }],
    ];

    it.each(missingPatches)('rejects %s with STORAGE and applies nothing of the batch', (_label, patch) => {
      const written = populate(store);
      expectStorageError(() => store.apply([{ kind: 'putDevice', device: device() }, { kind: 'putSession', session: session(5) }, patch]));
      expectSame(load(store), written);
    });

    it('stays usable after a rolled-back batch', () => {
      populate(store);
      expectStorageError(() => store.apply([{ kind: 'setPukErrorCount', handle: 42, errorCount: 1 }]));
      store.apply([{ kind: 'setPukErrorCount', handle: 1, errorCount: 1 }]);
      expect(load(store).pukPolicies[0].errorCount).toBe(1);
    });
  });

  describe('isolation', () => {
    it('returns deep copies: changing a loaded snapshot changes nothing stored', () => {
      const written = populate(store);
      const first = load(store);
      const keyRecord = first.keys[0];
      keyRecord.publicKey.fill(0);
      keyRecord.privateKey!.fill(0);
      keyRecord.pinValue!.fill(0);
      keyRecord.certificatePath[0].fill(0);
      keyRecord.extensions[0].data.fill(0);
      (keyRecord.endorsedAlgorithms as string[]).push('urn:injected');
      (keyRecord.extensions as unknown[]).pop();
      (first.keys as unknown[]).pop();
      first.device!.privateKey.fill(0);
      first.sessions[0].keyManagementKey!.fill(0);
      first.pukPolicies[0].pukValue.fill(0);
      (first.counters as { key: number }).key = 1000;
      expectSame(load(store), written);
    });

    it('copies on write: changing a record after apply changes nothing stored', () => {
      const keyRecord = key(1);
      const deviceRecord = device();
      const sessionRecord = session(1);
      const pukPolicyRecord = pukPolicy(1);
      const counters = { session: 2, key: 2, pinPolicy: 1, pukPolicy: 2 };
      const pin = new Uint8Array([1, 2, 3, 4]);
      store.apply([
        { kind: 'putKey', key: keyRecord },
        { kind: 'putDevice', device: deviceRecord },
        { kind: 'putSession', session: sessionRecord },
        { kind: 'putPukPolicy', policy: pukPolicyRecord },
        { kind: 'setCounters', counters },
      ]);
      store.apply([{ kind: 'setKeyPin', handle: 1, pinValue: pin, errorCount: 0 }]);
      const expected = plain(load(store));
      keyRecord.privateKey!.fill(0);
      keyRecord.extensions[1].data.fill(0);
      (keyRecord.certificatePath as Uint8Array[]).push(new Uint8Array(3));
      deviceRecord.privateKey.fill(0);
      sessionRecord.keyManagementKey!.fill(0);
      pukPolicyRecord.pukValue.fill(0);
      counters.key = 77;
      pin.fill(9);
      expect(plain(load(store))).toEqual(expected);
    });
  });

  describe('lifecycle', () => {
    it('refuses load and apply after close', () => {
      store.close();
      expectStorageError(() => load(store));
      expectStorageError(() => store.apply([{ kind: 'deleteKey', handle: 1 }]));
      store = harness.open();
    });
  });
});
