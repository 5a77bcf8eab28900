/** Moved to `sqlite/`; this path keeps existing imports working. */
export { openSqliteKeyStore, DEFAULT_BUSY_TIMEOUT_MS, type SqliteKeyStoreOptions } from './sqlite/store.js';
export { SCHEMA_VERSION } from './sqlite/schema.js';
