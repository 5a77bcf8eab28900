/**
 * The SQLite adapter's durability and locking settings, which the conformance
 * suite cannot observe from outside: WAL, synchronous=FULL, foreign keys, and
 * writes that take the write lock at BEGIN (IMMEDIATE).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqlIssuerDatabase } from '../../../src/issuer/db/repository.js';
import { sqliteDriver, type SqliteDatabaseSlice } from '../../../src/issuer/db/sqlite.js';

describe('sqlite adapter settings', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airtight-issuer-sqlite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A real database whose pragma and exec calls are recorded. */
  const recorded = () => {
    const db = new Database(join(dir, 'issuer.sqlite'));
    const pragmas: string[] = [];
    const execs: string[] = [];
    const slice: SqliteDatabaseSlice = {
      prepare: (sql) => db.prepare(sql),
      exec: (sql) => {
        execs.push(sql);
        return db.exec(sql);
      },
      pragma: (source) => {
        pragmas.push(source);
        return db.pragma(source);
      },
      close: () => db.close(),
      get inTransaction() {
        return db.inTransaction;
      },
    };
    return { db, slice, pragmas, execs };
  };

  it('opens in WAL with synchronous=FULL and foreign keys on', async () => {
    const result = recorded();
    const issuerDb = await sqlIssuerDatabase(sqliteDriver(result.slice));
    expect(result.pragmas).toEqual(expect.arrayContaining(['journal_mode = WAL', 'synchronous = FULL', 'foreign_keys = ON']));
    expect(result.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(result.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(result.db.pragma('foreign_keys', { simple: true })).toBe(1);
    await issuerDb.close();
  });

  it('writes begin with BEGIN IMMEDIATE and end with COMMIT', async () => {
    const result = recorded();
    const issuerDb = await sqlIssuerDatabase(sqliteDriver(result.slice));
    result.execs.length = 0;
    await issuerDb.createEnrollment({ token: 't', template: 'x', userName: 'u', expiresAt: Date.now() + 1000 });
    expect(result.execs).toEqual(['BEGIN IMMEDIATE', 'COMMIT']);
    await issuerDb.close();
  });

  it('group commit: concurrent writes share one COMMIT and none resolves before it', async () => {
    const result = recorded();
    const issuerDb = await sqlIssuerDatabase(sqliteDriver(result.slice));
    result.execs.length = 0;
    const resolvedAfter: number[] = [];
    const writes = Array.from({ length: 5 }, (_, i) =>
      issuerDb.createEnrollment({ token: `g${i}`, template: 'x', userName: 'u', expiresAt: Date.now() + 1000 }).then(() => {
        resolvedAfter.push(result.execs.filter((e) => e === 'COMMIT').length);
      }),
    );
    await Promise.all(writes);
    expect(result.execs.filter((e) => e === 'BEGIN IMMEDIATE')).toHaveLength(1);
    expect(result.execs.filter((e) => e === 'COMMIT')).toHaveLength(1);
    expect(resolvedAfter).toEqual([1, 1, 1, 1, 1]);
    await issuerDb.close();
  });

  it('group commit: a failing write in a batch rolls back only itself', async () => {
    const result = recorded();
    const issuerDb = await sqlIssuerDatabase(sqliteDriver(result.slice));
    const input = (token: string) => ({ token, template: 'x', userName: 'u', expiresAt: Date.now() + 1000 });
    const [promiseSettledResult, dup, bytes] = await Promise.allSettled([
      issuerDb.createEnrollment(input('same')),
      issuerDb.createEnrollment(input('same')),
      issuerDb.createEnrollment(input('other')),
    ]);
    expect(promiseSettledResult.status).toBe('fulfilled');
    expect(dup.status).toBe('rejected');
    expect(bytes.status).toBe('fulfilled');
    const listed = await issuerDb.listEnrollments();
    expect(listed).toHaveLength(2);
    await issuerDb.close();
  });

  it('waits for another connection holding the write lock instead of failing, without blocking this process', async () => {
    const result = recorded();
    const issuerDb = await sqlIssuerDatabase(sqliteDriver(result.slice));
    const holder = new Database(join(dir, 'issuer.sqlite'));
    holder.exec('BEGIN IMMEDIATE');
    const write = issuerDb.createEnrollment({ token: 't2', template: 'x', userName: 'u', expiresAt: Date.now() + 1000 });
    // The event loop still turns while the write waits: release the lock from a timer.
    setTimeout(() => holder.exec('COMMIT'), 100);
    expect((await write).state).toBe('created');
    holder.close();
    await issuerDb.close();
  });

  it('gives up with STORAGE after the busy timeout', async () => {
    const result = recorded();
    const issuerDb = await sqlIssuerDatabase(sqliteDriver(result.slice, { busyTimeoutMs: 50 }));
    const holder = new Database(join(dir, 'issuer.sqlite'));
    holder.exec('BEGIN IMMEDIATE');
    await expect(issuerDb.createEnrollment({ token: 't3', template: 'x', userName: 'u', expiresAt: Date.now() + 1000 })).rejects.toMatchObject({
      code: 'STORAGE',
    });
    holder.exec('ROLLBACK');
    holder.close();
    await issuerDb.close();
  });
});
