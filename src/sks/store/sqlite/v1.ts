/**
 * Format 1 (development builds before row integrity): read once, to migrate.
 *
 * Format 1 sealed its secrets (bound to row and column) but had no row MACs,
 * so its plain columns cannot be checked: migration trusts them as found
 * (trust on first use, like any store created before the check existed) and
 * from then on every row is MACed. Its sealed values and its store key check
 * are verified, so migrating under a wrong key fails and changes nothing.
 */
import type Database from 'better-sqlite3';
import { SksError } from '../../errors.js';
import type { ExtensionRecord, KeyRecord, StoreContents } from '../records.js';
import { openSecret } from '../sealing.js';

type Row = Record<string, unknown>;

const bad = (what: string): SksError => new SksError('STORAGE', `Key store format 1 cannot be migrated: ${what} is malformed`);

const num = (r: Row, c: string, what: string): number => {
  const v = r[c];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(what);
  return v;
};
const str = (r: Row, c: string, what: string): string => {
  const v = r[c];
  if (typeof v !== 'string') throw bad(what);
  return v;
};
const blob = (r: Row, c: string, what: string): Buffer => {
  const v = r[c];
  if (!Buffer.isBuffer(v)) throw bad(what);
  return v;
};
const maybeBlob = (r: Row, c: string, what: string): Buffer | null => (r[c] === null ? null : blob(r, c, what));

function blobList(b: Buffer, what: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; ) {
    if (i + 4 > b.length) throw bad(what);
    const len = b.readUInt32BE(i);
    i += 4;
    if (i + len > b.length) throw bad(what);
    out.push(Buffer.from(b.subarray(i, i + len)));
    i += len;
  }
  return out;
}

function stringList(text: string, what: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(what);
  }
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw bad(what);
  return v;
}

/** Reads a format 1 store whole; fails if the store key does not match. */
export function readFormat1(db: Database.Database, sealKey: Buffer): StoreContents {
  const all = (sql: string): Row[] => db.prepare(sql).all() as Row[];
  const meta = all('SELECT * FROM meta WHERE id = 1')[0];
  if (meta === undefined) throw bad('meta');
  try {
    openSecret(sealKey, blob(meta, 'store_key_check', 'meta'), 'meta:storeKeyCheck');
  } catch {
    throw new SksError('STORAGE', 'Store key does not match the key store');
  }
  const open = (r: Row, c: string, aad: string, what: string): Buffer => openSecret(sealKey, blob(r, c, what), aad);
  const maybeOpen = (r: Row, c: string, aad: string, what: string): Buffer | null =>
    maybeBlob(r, c, what) === null ? null : open(r, c, aad, what);

  const certificates = new Map<number, Buffer[]>();
  for (const r of all('SELECT * FROM key_certificates ORDER BY key_handle, position')) {
    const h = num(r, 'key_handle', 'a certificate');
    certificates.set(h, [...(certificates.get(h) ?? []), blob(r, 'certificate', `key ${h} certificate`)]);
  }
  const extensions = new Map<number, ExtensionRecord[]>();
  for (const r of all('SELECT * FROM extensions ORDER BY key_handle, position')) {
    const h = num(r, 'key_handle', 'an extension');
    const type = str(r, 'type', `key ${h} extension`);
    const e: ExtensionRecord = {
      type,
      subType: num(r, 'sub_type', `key ${h} extension`),
      qualifier: str(r, 'qualifier', `key ${h} extension`),
      data: open(r, 'data', `key:${h}:extension:${type}`, `key ${h} extension`),
    };
    extensions.set(h, [...(extensions.get(h) ?? []), e]);
  }
  const deviceRow = all('SELECT * FROM device WHERE id = 1')[0];
  return {
    counters: {
      session: num(meta, 'next_session', 'meta'),
      key: num(meta, 'next_key', 'meta'),
      pinPolicy: num(meta, 'next_pin_policy', 'meta'),
      pukPolicy: num(meta, 'next_puk_policy', 'meta'),
    },
    device:
      deviceRow === undefined
        ? null
        : {
            privateKey: open(deviceRow, 'private_key', 'device:privateKey', 'device'),
            certificatePath: blobList(blob(deviceRow, 'certificate_path', 'device'), 'device'),
          },
    sessions: all('SELECT * FROM sessions ORDER BY handle').map((r) => {
      const w = `session ${String(r['handle'])}`;
      return {
        handle: num(r, 'handle', w),
        privacyEnabled: num(r, 'privacy_enabled', w) === 1,
        clientSessionId: str(r, 'client_session_id', w),
        serverSessionId: str(r, 'server_session_id', w),
        issuerUri: str(r, 'issuer_uri', w),
        keyManagementKey: maybeBlob(r, 'key_management_key', w),
        clientTime: num(r, 'client_time', w),
        sessionLifeTime: num(r, 'session_life_time', w),
      };
    }),
    keys: all('SELECT * FROM keys ORDER BY handle').map((r): KeyRecord => {
      const h = num(r, 'handle', 'a key');
      const w = `key ${h}`;
      return {
        handle: h,
        id: str(r, 'id', w),
        owner: num(r, 'owner', w),
        appUsage: num(r, 'app_usage', w),
        publicKey: blob(r, 'public_key', w),
        privateKey: maybeOpen(r, 'private_key', `key:${h}:privateKey`, w),
        symmetricKey: maybeOpen(r, 'symmetric_key', `key:${h}:symmetricKey`, w),
        certificatePath: certificates.get(h) ?? [],
        endorsedAlgorithms: stringList(str(r, 'endorsed_algorithms', w), w),
        friendlyName: r['friendly_name'] === null ? null : str(r, 'friendly_name', w),
        devicePinProtection: num(r, 'device_pin_protection', w) === 1,
        pinPolicy: num(r, 'pin_policy', w),
        pinValue: maybeOpen(r, 'pin_value', `key:${h}:pinValue`, w),
        errorCount: num(r, 'error_count', w),
        enablePinCaching: num(r, 'enable_pin_caching', w) === 1,
        biometricProtection: num(r, 'biometric_protection', w),
        exportProtection: num(r, 'export_protection', w),
        deleteProtection: num(r, 'delete_protection', w),
        keyBackup: num(r, 'key_backup', w),
        extensions: extensions.get(h) ?? [],
      };
    }),
    pinPolicies: all('SELECT * FROM pin_policies ORDER BY handle').map((r) => {
      const w = `PIN policy ${String(r['handle'])}`;
      return {
        handle: num(r, 'handle', w),
        id: str(r, 'id', w),
        owner: num(r, 'owner', w),
        pukPolicy: num(r, 'puk_policy', w),
        retryLimit: num(r, 'retry_limit', w),
        format: num(r, 'format', w),
        userDefined: num(r, 'user_defined', w) === 1,
        userModifiable: num(r, 'user_modifiable', w) === 1,
        inputMethod: num(r, 'input_method', w),
        grouping: num(r, 'grouping', w),
        patternRestrictions: num(r, 'pattern_restrictions', w),
        minLength: num(r, 'min_length', w),
        maxLength: num(r, 'max_length', w),
      };
    }),
    pukPolicies: all('SELECT * FROM puk_policies ORDER BY handle').map((r) => {
      const h = num(r, 'handle', 'a PUK policy');
      const w = `PUK policy ${h}`;
      return {
        handle: h,
        id: str(r, 'id', w),
        owner: num(r, 'owner', w),
        pukValue: open(r, 'puk_value', `puk:${h}:pukValue`, w),
        format: num(r, 'format', w),
        retryLimit: num(r, 'retry_limit', w),
        errorCount: num(r, 'error_count', w),
      };
    }),
  };
}

/** Format 1 tables, dropped once migrated (children first). */
export const FORMAT1_TABLES = ['key_certificates', 'extensions', 'keys', 'pin_policies', 'puk_policies', 'sessions', 'device', 'meta'] as const;
