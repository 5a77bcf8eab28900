/**
 * openIssuerDatabase: picking the adapter, and failing without leaking what
 * the target carries (a PostgreSQL URL may hold a password).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPostgresUrl, openIssuerDatabase } from '../../../src/issuer/db/index.js';
import { IssuerError } from '../../../src/issuer/errors.js';

const PASSWORD = 'pw-must-not-leak-4711';

/** The rejection, asserted to be an IssuerError. */
const failure = async (promise: Promise<unknown>): Promise<IssuerError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(IssuerError);
    if (error instanceof IssuerError) return error;
  }
  throw new Error('expected a rejection');
};

/** Everything an error shows: message, JSON, stack and the cause chain. */
const everything = (error: unknown): string => {
  const parts: string[] = [];
  for (let item: unknown = error; item !== undefined && item !== null; item = item instanceof Error ? item.cause : undefined) {
    parts.push(
      item instanceof Error ? item.toString() : typeof item === 'string' ? item : '',
      JSON.stringify(item),
      item instanceof Error ? (item.stack ?? '') : '',
    );
  }
  return parts.join('\n');
};

describe('openIssuerDatabase', () => {
  it('picks PostgreSQL for postgres:// and postgresql:// URLs, SQLite for anything else', () => {
    expect(isPostgresUrl('postgres://u:p@h/db')).toBe(true);
    expect(isPostgresUrl('POSTGRESQL://h/db')).toBe(true);
    expect(isPostgresUrl('issuer.sqlite')).toBe(false);
    expect(isPostgresUrl('./postgres://odd-file-name')).toBe(false);
  });

  it('opens a SQLite file by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airtight-issuer-open-'));
    try {
      const db = await openIssuerDatabase(join(dir, 'issuer.sqlite'));
      expect(db.dialect).toBe('sqlite');
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unreachable-postgres-is-STORAGE without the URL or password in the error', async () => {
    // Port 1 on loopback: refused at once, no server needed.
    const issuerError = await failure(openIssuerDatabase(`postgres://airtight:${PASSWORD}@127.0.0.1:1/airtight`));
    expect(issuerError.code).toBe('STORAGE');
    expect(issuerError.message).not.toContain('127.0.0.1');
    expect(JSON.stringify(issuerError)).not.toContain(PASSWORD);
    expect(everything(issuerError)).not.toContain(PASSWORD);
  });

  it.runIf(process.env['AIRTIGHT_TEST_PG_URL'])('wrong-password-is-STORAGE without the password', async () => {
    const url = new URL(process.env['AIRTIGHT_TEST_PG_URL'] ?? '');
    url.password = PASSWORD;
    const issuerError = await failure(openIssuerDatabase(url.toString()));
    expect(issuerError.code).toBe('STORAGE');
    expect(everything(issuerError)).not.toContain(PASSWORD);
  });

  it('rejects-schema-name-that-is-not-a-plain-identifier with CONFIG', async () => {
    const issuerError = await failure(openIssuerDatabase('postgres://u@127.0.0.1:1/db', { schema: 'x"; DROP TABLE y; --' }));
    expect(issuerError.code).toBe('CONFIG');
  });

  it('unopenable-sqlite-path-is-STORAGE', async () => {
    const issuerError = await failure(openIssuerDatabase('/nonexistent-dir-airtight/sub/issuer.sqlite'));
    expect(issuerError.code).toBe('STORAGE');
  });
});
