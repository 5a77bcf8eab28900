/**
 * The one list of persistence adapters every adapter-parameterized test runs
 * against (the port's conformance suite and the scenario tests), like Kysely's
 * DIALECTS. `AIRTIGHT_ADAPTERS=memory,sqlite` (comma-separated) narrows it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { readAll, type KeyStorePort } from '../../src/sks/store/records.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';

export type AdapterName = 'memory' | 'sqlite';

/** Opens a fresh, empty store; `reopen` closes it and opens the same persisted state again. */
export interface AdapterHarness {
  open(): KeyStorePort;
  reopen(store: KeyStorePort): KeyStorePort;
  cleanup(): void;
}

export interface Adapter {
  readonly name: AdapterName;
  harness(): AdapterHarness;
}

const ALL: readonly Adapter[] = [
  {
    name: 'memory',
    harness: () => ({
      open: () => createMemoryKeyStore(),
      // A memory store survives a "restart" only through its contents.
      reopen: (store) => {
        const contents = readAll(store.load());
        store.close();
        return createMemoryKeyStore(contents);
      },
      cleanup: () => {},
    }),
  },
  {
    name: 'sqlite',
    harness: () => {
      const dir = mkdtempSync(join(tmpdir(), 'airtight-adapter-'));
      const path = join(dir, 'sks.db');
      const storeKey = randomBytes(32);
      return {
        open: () => openSqliteKeyStore({ path, storeKey }),
        reopen: (store) => {
          store.close();
          return openSqliteKeyStore({ path, storeKey });
        },
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

function selected(): readonly Adapter[] {
  const wanted = process.env['AIRTIGHT_ADAPTERS'];
  if (wanted === undefined || wanted.trim() === '') return ALL;
  const names = new Set(wanted.split(',').map((s) => s.trim()));
  const unknown = [...names].filter((n) => !ALL.some((a) => a.name === n));
  if (unknown.length > 0) throw new Error(`AIRTIGHT_ADAPTERS names unknown adapters: ${unknown.join(', ')}`);
  return ALL.filter((a) => names.has(a.name));
}

export const ADAPTERS: readonly Adapter[] = selected();
