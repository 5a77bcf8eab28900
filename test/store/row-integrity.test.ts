/**
 * Row integrity of the SQLite store (issue 6): every security-relevant field
 * of every row is MACed under the store key, so editing sks.db without
 * store.key is detected; a damaged row damages its key only (the store opens,
 * other keys work, the damaged key refuses every use but deleteKey); unknown
 * enumeration values are errors; the store key is never re-created beside an
 * existing store; deleted secrets do not linger in the file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keyHandle, provisioningHandle, type KeyHandle, type SecureKeyStore } from '../../src/sks/api.js';
import { listKeys } from '../../src/cli/commands/keys/list.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { SksError } from '../../src/sks/errors.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { readAll } from '../../src/sks/store/records.js';
import { DATABASE_FILE, STORE_KEY_ENV, STORE_KEY_FILE, openKeyStoreDirectory } from '../../src/sks/store/store-key.js';
import type { DeviceIdentity } from '../../src/sks/device/identity.js';
import { expectSksError, testDevice, TEST_PROFILE } from '../support/fixtures.js';
import { IssuerSession } from '../support/issuer-emulator.js';
import { getTestCa } from '../support/test-ca.js';

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const PIN = '1357';
const PUK = '01234567';
const DATA = Buffer.from('data to sign');

interface Provisioned {
  /** PIN-protected (PIN policy with a PUK), exportable with the PIN, with an extension. */
  readonly a: KeyHandle;
  /** No PIN, non-exportable. */
  readonly b: KeyHandle;
  readonly session: number;
  readonly pinPolicy: number;
  readonly pukPolicy: number;
}

let dir: string;
let device: DeviceIdentity;
let sks: SecureKeyStore | undefined;

const open = (): SecureKeyStore => (sks = openSecureKeyStore({ store: openKeyStoreDirectory(dir, {}), device, profile: TEST_PROFILE }));
async function closeSks(): Promise<void> {
  await sks?.close();
  sks = undefined;
}

async function provision(): Promise<Provisioned> {
  const secureKeyStore = open();
  const issuer = await IssuerSession.open(secureKeyStore, { ca: await getTestCa() });
  const pukPolicy = await issuer.createPukPolicy('PUK', PUK);
  const pinPolicy = await issuer.createPinPolicy({ id: 'PIN', pukPolicy });
  const provisionedKey = await issuer.provisionKey({ id: 'A', pinPolicy, userPin: PIN, exportProtection: 1, endorsedAlgorithms: [] });
  await issuer.addExtension(provisionedKey, { type: 'urn:ext', subType: 0, data: Buffer.from('extension data') });
  const bytes = await issuer.provisionKey({ id: 'B', exportProtection: 3 });
  await issuer.closeSession();
  await closeSks();
  return { a: provisionedKey.keyHandle, b: bytes.keyHandle, session: issuer.provisioningHandle, pinPolicy, pukPolicy };
}

/** Edits sks.db directly, as someone holding the file but not store.key would. */
function edit(sql: string, ...params: unknown[]): void {
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

const sign = (s: SecureKeyStore, h: KeyHandle, pin?: string): Promise<Uint8Array> =>
  s.signData({ keyHandle: h, algorithm: ECDSA_SHA256, authorization: pin === undefined ? undefined : Buffer.from(pin), data: DATA });

async function expectDamaged(secureKeyStore: SecureKeyStore, handle: KeyHandle): Promise<void> {
  await expectSksError(sign(secureKeyStore, handle, PIN), 'STORAGE', new RegExp(`Key #${handle} is damaged`));
  await expectSksError(secureKeyStore.getKeyAttributes(handle), 'STORAGE', new RegExp(`Key #${handle} is damaged`));
  await expectSksError(secureKeyStore.getKeyProtectionInfo(handle), 'STORAGE');
  await expectSksError(secureKeyStore.exportKey(handle, Buffer.from(PIN)), 'STORAGE');
  await expectSksError(secureKeyStore.exportKey(handle), 'STORAGE');
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airtight-integrity-'));
  device = await testDevice();
});

afterEach(async () => {
  await closeSks();
  rmSync(dir, { recursive: true, force: true });
});

describe('edited rows are detected (each of these passed on the unMACed store)', () => {
  it('rejects-export-after-export-protection-edited: keys.export_protection 3 -> 0 does not hand out the private key', async () => {
    const provisioned = await provision();
    edit('UPDATE keys SET export_protection = 0 WHERE handle = ?', provisioned.b);
    const secureKeyStore = open();
    await expectSksError(
      secureKeyStore.exportKey(provisioned.b),
      'STORAGE',
      `Key #${provisioned.b} is damaged: keys row ${provisioned.b}: integrity check failed`,
    );
    // The other key is unaffected.
    expect(await sign(secureKeyStore, provisioned.a, PIN)).toBeInstanceOf(Uint8Array);
  });

  it('rejects-key-whose-pin-policy-link-was-removed: keys.pin_policy = 0 does not remove the PIN', async () => {
    const provisioned = await provision();
    edit('UPDATE keys SET pin_policy = 0 WHERE handle = ?', provisioned.a);
    const secureKeyStore = open();
    await expectSksError(sign(secureKeyStore, provisioned.a), 'STORAGE');
    await expectDamaged(secureKeyStore, provisioned.a);
    expect(await sign(secureKeyStore, provisioned.b)).toBeInstanceOf(Uint8Array);
  });

  it.each([0, -1])('rejects-unblocking-by-edited-error-count: keys.error_count 3 -> %i does not unblock a key', async (count) => {
    const provisioned = await provision();
    let secureKeyStore = open();
    for (let i = 0; i < 3; i++) await expectSksError(sign(secureKeyStore, provisioned.a, '0000'), 'AUTHORIZATION');
    await expectSksError(sign(secureKeyStore, provisioned.a, PIN), 'AUTHORIZATION'); // blocked
    await closeSks();
    edit('UPDATE keys SET error_count = ? WHERE handle = ?', count, provisioned.a);
    secureKeyStore = open();
    await expectDamaged(secureKeyStore, provisioned.a);
  });

  it('rejects-edited-retry-limit: pin_policies.retry_limit = 32767 damages the keys that use the policy', async () => {
    const provisioned = await provision();
    edit('UPDATE pin_policies SET retry_limit = 32767 WHERE handle = ?', provisioned.pinPolicy);
    const secureKeyStore = open();
    await expectSksError(sign(secureKeyStore, provisioned.a, PIN), 'STORAGE', new RegExp(`its PIN policy ${provisioned.pinPolicy} is damaged`));
    expect(await sign(secureKeyStore, provisioned.b)).toBeInstanceOf(Uint8Array);
  });

  it('rejects-row-swap: one key certificate path and public key replaced by another key', async () => {
    const provisioned = await provision();
    edit(
      `UPDATE keys SET certificate_path = (SELECT certificate_path FROM keys WHERE handle = ?),
                       public_key = (SELECT public_key FROM keys WHERE handle = ?) WHERE handle = ?`,
      provisioned.b,
      provisioned.b,
      provisioned.a,
    );
    const secureKeyStore = open();
    await expectDamaged(secureKeyStore, provisioned.a);
    expect(await sign(secureKeyStore, provisioned.b)).toBeInstanceOf(Uint8Array);
  });

  it('rejects-whole-row-copied-to-another-handle: the MAC is bound to the handle', async () => {
    const provisioned = await provision();
    const db = new Database(join(dir, DATABASE_FILE));
    const row = db.prepare('SELECT * FROM keys WHERE handle = ?').get(provisioned.b) as Record<string, unknown>;
    const columns = Object.keys(row).filter((c) => c !== 'handle');
    db.prepare(`UPDATE keys SET ${columns.map((c) => `${c} = @${c}`).join(', ')} WHERE handle = @target`).run({ ...row, target: provisioned.a });
    db.close();
    const secureKeyStore = open();
    await expectDamaged(secureKeyStore, provisioned.a);
  });
});

describe('a damaged row damages one key, not the store', () => {
  const damages: ReadonlyArray<readonly [string, (p: Provisioned) => void, 'a' | 'both']> = [
    [
      'a flipped byte in a sealed private key',
      (p) => edit("UPDATE keys SET private_key = CAST(substr(private_key, 1, 20) || x'ff' || substr(private_key, 22) AS BLOB) WHERE handle = ?", p.a),
      'a',
    ],
    ['a flipped byte in the sealed PIN', (p) => edit("UPDATE keys SET pin_value = CAST(x'00' || substr(pin_value, 2) AS BLOB) WHERE handle = ?", p.a), 'a'],
    ['bad JSON in endorsed algorithms', (p) => edit("UPDATE keys SET endorsed_algorithms = '[' WHERE handle = ?", p.a), 'a'],
    ['an edited MAC', (p) => edit('UPDATE keys SET mac = zeroblob(32) WHERE handle = ?', p.a), 'a'],
    ['a dangling PIN policy reference (policy row deleted)', (p) => edit('DELETE FROM pin_policies WHERE handle = ?', p.pinPolicy), 'a'],
    [
      'an edited PUK policy (damages its PIN policy, so its keys)',
      (p) => edit('UPDATE puk_policies SET error_count = 0, retry_limit = 0 WHERE handle = ?', p.pukPolicy),
      'a',
    ],
    ['a sealed PUK swapped for garbage', (p) => edit('UPDATE puk_policies SET puk_value = randomblob(158) WHERE handle = ?', p.pukPolicy), 'a'],
    ['an edited extension qualifier', (p) => edit("UPDATE extensions SET qualifier = 'x' WHERE key_handle = ?", p.a), 'a'],
    ['a deleted extension row', (p) => edit('DELETE FROM extensions WHERE key_handle = ?', p.a), 'a'],
  ];

  it.each(damages)('%s: the store opens, the key is listed as damaged, refuses use, and can be deleted', async (_label, damage) => {
    const provisioned = await provision();
    damage(provisioned);
    const secureKeyStore = open();
    await expectDamaged(secureKeyStore, provisioned.a);
    expect(await sign(secureKeyStore, provisioned.b)).toBeInstanceOf(Uint8Array);
    // `airtight keys list` shows it as damaged; the other key as usual.
    const listed = await listKeys(secureKeyStore);
    expect(listed.map((k) => [k.keyHandle, k.damaged === true])).toEqual([
      [provisioned.a, true],
      [provisioned.b, false],
    ]);
    expect(listed[0].protection).toMatch(/^DAMAGED/);
    // deleteKey needs no authorization on a damaged key (the PIN cannot be trusted), and leaves the other key alone.
    await secureKeyStore.deleteKey(provisioned.a);
    await expectSksError(secureKeyStore.getKeyAttributes(provisioned.a), 'NO_KEY');
    await closeSks();
    const again = open();
    expect((await listKeys(again)).map((k) => k.keyHandle)).toEqual([provisioned.b]);
    expect(await sign(again, provisioned.b)).toBeInstanceOf(Uint8Array);
  });

  it("a damaged session row blocks only its keys' management operations", async () => {
    const provisioned = await provision();
    edit("UPDATE sessions SET issuer_uri = 'https://evil.example' WHERE handle = ?", provisioned.session);
    const secureKeyStore = open();
    expect(await sign(secureKeyStore, provisioned.a, PIN)).toBeInstanceOf(Uint8Array);
    expect(await sign(secureKeyStore, provisioned.b)).toBeInstanceOf(Uint8Array);
    await expectSksError(
      secureKeyStore.updateKeyManagementKey(provisioningHandle(provisioned.session), Buffer.alloc(91), Buffer.alloc(64)),
      'STORAGE',
      /session .* is damaged/i,
    );
  });

  it('an edited meta row (handle counters) refuses the store as a whole: handles must never be reused', async () => {
    await provision();
    edit('UPDATE meta SET next_key = 1');
    expect(() => openKeyStoreDirectory(dir, {})).toThrow(/Store key does not match the key store \(or its meta row was edited\)/);
  });

  it('an unknown protection value is an error, never "none" (memory store: no MAC to catch it first)', async () => {
    const store = createMemoryKeyStore();
    const secureKeyStore = openSecureKeyStore({ store, device, profile: TEST_PROFILE });
    const issuer = await IssuerSession.open(secureKeyStore, { ca: await getTestCa() });
    const provisionedKey = await issuer.provisionKey({ id: 'B', exportProtection: 3, deleteProtection: 3 });
    await issuer.closeSession();
    const key = readAll(store.load()).keys[0];
    store.apply([{ kind: 'putKey', key: { ...key, exportProtection: 7, deleteProtection: 9 } }]);
    const again = openSecureKeyStore({ store, device, profile: TEST_PROFILE });
    await expectSksError(again.exportKey(provisionedKey.keyHandle), 'STORAGE', /unknown protection level/);
    await expectSksError(again.deleteKey(provisionedKey.keyHandle), 'STORAGE', /unknown protection level/);
  });
});

describe('store key and secrets at rest', () => {
  it('refuses to open an existing sks.db without its key, says where it looked, and writes nothing', async () => {
    await provision();
    rmSync(join(dir, STORE_KEY_FILE));
    let caught: unknown;
    try {
      openKeyStoreDirectory(dir, {});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SksError);
    expect((caught as SksError).code).toBe('STORAGE');
    expect((caught as SksError).message).toContain(join(dir, STORE_KEY_FILE));
    expect((caught as SksError).message).toContain(STORE_KEY_ENV);
    expect(existsSync(join(dir, STORE_KEY_FILE))).toBe(false);
  });

  it('pads PINs to one length before sealing', async () => {
    const secureKeyStore = open();
    const issuer = await IssuerSession.open(secureKeyStore, { ca: await getTestCa() });
    const pinPolicy = await issuer.createPinPolicy({ id: 'PIN', minLength: 4, maxLength: 8 });
    await issuer.provisionKey({ id: 'A', pinPolicy, userPin: '1234' });
    await issuer.provisionKey({ id: 'B', pinPolicy, userPin: '12345678' });
    await issuer.closeSession();
    await closeSks();
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    const lengths = db.prepare('SELECT length(pin_value) FROM keys').pluck().all() as number[];
    db.close();
    expect(new Set(lengths).size).toBe(1);
  });

  it('overwrites a deleted key (secure_delete): its sealed private key is gone from the file', async () => {
    const provisioned = await provision();
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    const sealed = db.prepare('SELECT private_key FROM keys WHERE handle = ?').pluck().get(provisioned.b) as Buffer;
    db.close();
    const files = (): Buffer[] =>
      [DATABASE_FILE, `${DATABASE_FILE}-wal`]
        .map((f) => join(dir, f))
        .filter(existsSync)
        .map((f) => readFileSync(f));
    expect(files().some((f) => f.includes(sealed.subarray(13, 45)))).toBe(true);
    const secureKeyStore = open();
    await secureKeyStore.deleteKey(keyHandle(provisioned.b));
    await closeSks();
    expect(files().some((f) => f.includes(sealed.subarray(13, 45)))).toBe(false);
  });
});
