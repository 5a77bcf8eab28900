/**
 * The durable SQLite store of the SKS (`airtight/sks/sqlite`): the only entry
 * point that loads better-sqlite3, a native module, so `airtight/sks` stays
 * free of it for devices that bring their own storage.
 *
 * @example
 * ```ts
 * import { openSecureKeyStore } from 'airtight/sks';
 * import { openKeyStoreDirectory } from 'airtight/sks/sqlite';
 * const sks = openSecureKeyStore({ store: openKeyStoreDirectory('/var/lib/airtight/device') });
 * ```
 */
export { openSqliteKeyStore, type SqliteKeyStoreOptions } from './store/sqlite/store.js';
export { openKeyStoreDirectory, loadOrCreateStoreKey, STORE_KEY_ENV } from './store/store-key.js';
