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

const num = (row: Row, text: string, what: string): number => {
  const value = row[text];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw bad(what);
  return value;
};
const str = (row: Row, text: string, what: string): string => {
  const value = row[text];
  if (typeof value !== 'string') throw bad(what);
  return value;
};
const blob = (row: Row, text: string, what: string): Buffer => {
  const value = row[text];
  if (!Buffer.isBuffer(value)) throw bad(what);
  return value;
};
const maybeBlob = (r: Row, c: string, what: string): Buffer | null => (r[c] === null ? null : blob(r, c, what));

function blobList(bytes: Buffer, what: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length;) {
    if (i + 4 > bytes.length) throw bad(what);
    const len = bytes.readUInt32BE(i);
    i += 4;
    if (i + len > bytes.length) throw bad(what);
    out.push(Buffer.from(bytes.subarray(i, i + len)));
    i += len;
  }
  return out;
}

function stringList(text: string, what: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(what);
  }
  if (!Array.isArray(value) || !value.every((x): x is string => typeof x === 'string')) throw bad(what);
  return value;
}

/** Reads a format 1 store whole; fails if the store key does not match. */
export function readFormat1(db: Database.Database, sealKey: Buffer): StoreContents {
  const all = (sql: string): Row[] => db.prepare(sql).all() as Row[];
  const meta = all('SELECT * FROM meta WHERE id = 1').at(0);
  if (meta === undefined) throw bad('meta');
  try {
    openSecret(sealKey, blob(meta, 'store_key_check', 'meta'), 'meta:storeKeyCheck');
  } catch {
    throw new SksError('STORAGE', 'Store key does not match the key store');
  }
  const open = (r: Row, c: string, aad: string, what: string): Buffer => openSecret(sealKey, blob(r, c, what), aad);
  const maybeOpen = (r: Row, c: string, aad: string, what: string): Buffer | null => (maybeBlob(r, c, what) === null ? null : open(r, c, aad, what));

  const certificates = new Map<number, Buffer[]>();
  for (const row of all('SELECT * FROM key_certificates ORDER BY key_handle, position')) {
    const handleValue = num(row, 'key_handle', 'a certificate');
    certificates.set(handleValue, [...(certificates.get(handleValue) ?? []), blob(row, 'certificate', `key ${handleValue} certificate`)]);
  }
  const extensions = new Map<number, ExtensionRecord[]>();
  for (const result of all('SELECT * FROM extensions ORDER BY key_handle, position')) {
    const keyHandle = num(result, 'key_handle', 'an extension');
    const type = str(result, 'type', `key ${keyHandle} extension`);
    const extensionRecord: ExtensionRecord = {
      type,
      subType: num(result, 'sub_type', `key ${keyHandle} extension`),
      qualifier: str(result, 'qualifier', `key ${keyHandle} extension`),
      data: open(result, 'data', `key:${keyHandle}:extension:${type}`, `key ${keyHandle} extension`),
    };
    extensions.set(keyHandle, [...(extensions.get(keyHandle) ?? []), extensionRecord]);
  }
  const deviceRow = all('SELECT * FROM device WHERE id = 1').at(0);
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
    sessions: all('SELECT * FROM sessions ORDER BY handle').map((rowValue) => {
      const text = `session ${String(rowValue['handle'])}`;
      return {
        handle: num(rowValue, 'handle', text),
        privacyEnabled: num(rowValue, 'privacy_enabled', text) === 1,
        clientSessionId: str(rowValue, 'client_session_id', text),
        serverSessionId: str(rowValue, 'server_session_id', text),
        issuerUri: str(rowValue, 'issuer_uri', text),
        keyManagementKey: maybeBlob(rowValue, 'key_management_key', text),
        clientTime: num(rowValue, 'client_time', text),
        sessionLifeTime: num(rowValue, 'session_life_time', text),
      };
    }),
    keys: all('SELECT * FROM keys ORDER BY handle').map((rowValue): KeyRecord => {
      const handle2 = num(rowValue, 'handle', 'a key');
      const text = `key ${handle2}`;
      return {
        handle: handle2,
        id: str(rowValue, 'id', text),
        owner: num(rowValue, 'owner', text),
        appUsage: num(rowValue, 'app_usage', text),
        publicKey: blob(rowValue, 'public_key', text),
        privateKey: maybeOpen(rowValue, 'private_key', `key:${handle2}:privateKey`, text),
        symmetricKey: maybeOpen(rowValue, 'symmetric_key', `key:${handle2}:symmetricKey`, text),
        certificatePath: certificates.get(handle2) ?? [],
        endorsedAlgorithms: stringList(str(rowValue, 'endorsed_algorithms', text), text),
        friendlyName: rowValue['friendly_name'] === null ? null : str(rowValue, 'friendly_name', text),
        devicePinProtection: num(rowValue, 'device_pin_protection', text) === 1,
        pinPolicy: num(rowValue, 'pin_policy', text),
        pinValue: maybeOpen(rowValue, 'pin_value', `key:${handle2}:pinValue`, text),
        errorCount: num(rowValue, 'error_count', text),
        enablePinCaching: num(rowValue, 'enable_pin_caching', text) === 1,
        biometricProtection: num(rowValue, 'biometric_protection', text),
        exportProtection: num(rowValue, 'export_protection', text),
        deleteProtection: num(rowValue, 'delete_protection', text),
        keyBackup: num(rowValue, 'key_backup', text),
        extensions: extensions.get(handle2) ?? [],
      };
    }),
    pinPolicies: all('SELECT * FROM pin_policies ORDER BY handle').map((rowValue) => {
      const text = `PIN policy ${String(rowValue['handle'])}`;
      return {
        handle: num(rowValue, 'handle', text),
        id: str(rowValue, 'id', text),
        owner: num(rowValue, 'owner', text),
        pukPolicy: num(rowValue, 'puk_policy', text),
        retryLimit: num(rowValue, 'retry_limit', text),
        format: num(rowValue, 'format', text),
        userDefined: num(rowValue, 'user_defined', text) === 1,
        userModifiable: num(rowValue, 'user_modifiable', text) === 1,
        inputMethod: num(rowValue, 'input_method', text),
        grouping: num(rowValue, 'grouping', text),
        patternRestrictions: num(rowValue, 'pattern_restrictions', text),
        minLength: num(rowValue, 'min_length', text),
        maxLength: num(rowValue, 'max_length', text),
      };
    }),
    pukPolicies: all('SELECT * FROM puk_policies ORDER BY handle').map((rowValue) => {
      const handle2 = num(rowValue, 'handle', 'a PUK policy');
      const text = `PUK policy ${handle2}`;
      return {
        handle: handle2,
        id: str(rowValue, 'id', text),
        owner: num(rowValue, 'owner', text),
        pukValue: open(rowValue, 'puk_value', `puk:${handle2}:pukValue`, text),
        format: num(rowValue, 'format', text),
        retryLimit: num(rowValue, 'retry_limit', text),
        errorCount: num(rowValue, 'error_count', text),
      };
    }),
  };
}

/** Format 1 tables, dropped once migrated (children first). */
export const FORMAT1_TABLES = ['key_certificates', 'extensions', 'keys', 'pin_policies', 'puk_policies', 'sessions', 'device', 'meta'] as const;
