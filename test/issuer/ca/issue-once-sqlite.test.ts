/**
 * issueOnce against the issuer's real SQLite database: the process "dies"
 * after the certificate was recorded but before the answer left, the
 * database is reopened as a restarted process would, and issuance runs again.
 */
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CertificateIssuer, createCaHierarchy, issueOnce, type IssuanceLedger } from '../../../src/issuer/ca/index.js';
import { openIssuerDatabase } from '../../../src/issuer/db/index.js';
import { subjectSpki, tempDir } from './helpers.js';

const fresh = tempDir('airtight-issue-sqlite-');

describe('issueOnce over the SQLite issuer database', () => {
  it('never-issues-twice-across-a-restart: one intent, one credential, the first certificate returned', async () => {
    const dir = fresh();
    mkdirSync(dir);
    const path = join(dir, 'issuer.sqlite');
    const caHierarchy = await createCaHierarchy();
    const request = {
      profile: { subject: [{ type: 'O' as const, value: 'Example' }], validityDays: 90, appUsage: 'authentication' as const },
      user: { commonName: 'Judy' },
      subjectPublicKey: subjectSpki('P-256'),
    };

    const db = await openIssuerDatabase(path);
    await db.createEnrollment({ token: 'tok-1', template: 'employee', userName: 'Judy', expiresAt: Date.now() + 3_600_000 });
    const started = await db.startEnrollmentSession('tok-1', {
      id: `s-${randomUUID()}`,
      state: '{}',
      requestHash: createHash('sha256').update('invocation').digest('hex'),
      response: { kind: 'body', contentType: 'application/json', body: '{}' },
      expiresAt: Date.now() + 3_600_000,
    });
    if (started.kind !== 'started') throw new Error(`expected started, got ${started.kind}`);
    const sessionId = started.session.id;

    // The certificate reaches the database, then the process dies before answering.
    const dying: IssuanceLedger = {
      recordIssuanceIntent: (input) => db.recordIssuanceIntent(input),
      completeIssuance: async (text, key, der) => {
        await db.completeIssuance(text, key, der);
        throw new Error('simulated crash after completeIssuance');
      },
    };
    await expect(issueOnce(new CertificateIssuer(caHierarchy.issuing), dying, { sessionId, keyId: 'Key.1', request })).rejects.toThrow(/simulated crash/);
    const first = await db.listCredentials({ sessionId });
    expect(first).toHaveLength(1);
    await db.close();

    // Restart: a new database handle, a new issuer.
    const db2 = await openIssuerDatabase(path);
    const issueOnceResult = await issueOnce(new CertificateIssuer(caHierarchy.issuing), db2, { sessionId, keyId: 'Key.1', request });
    expect(issueOnceResult.resumed).toBe(true);
    expect(issueOnceResult.serial).toBe(first[0].serial);
    expect(Buffer.from(issueOnceResult.certificateDer).equals(Buffer.from(first[0].certificateDer))).toBe(true);
    expect(await db2.listCredentials({ sessionId })).toHaveLength(1);
    expect(new X509Certificate(issueOnceResult.certificateDer).verify(new X509Certificate(caHierarchy.issuing.certificate).publicKey)).toBe(true);

    // Another key of the same session gets its own serial.
    const other = await issueOnce(new CertificateIssuer(caHierarchy.issuing), db2, { sessionId, keyId: 'Key.2', request });
    expect(other.resumed).toBe(false);
    expect(other.serial).not.toBe(issueOnceResult.serial);
    await db2.close();
  });
});
