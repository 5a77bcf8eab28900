/**
 * Issue 9 item 7: two `airtight issuer start` processes on one database
 * (PostgreSQL; SQLite too, one file shared by both) with the steps of each
 * session alternating between them, one by one and concurrently. Both share
 * the sealing key, CA key and CA folder and announce the same public URL; the
 * client sends each request to the other process (same path and cookie).
 * Every session completes, each key gets exactly one certificate, and the
 * issuer's database agrees with the devices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ISSUER_DATABASES, MUST_RUN_ALL } from '../db/databases.js';
import { disagreements, enrollOnce, type EnrolledSession } from './enrolling-client.js';
import { childDatabase, createEnrollment, freePort, IssuerProcess, issuerCluster } from './issuer-process.js';

const SEQUENTIAL = 10;
const CONCURRENT = 10;
const tmp = mkdtempSync(join(tmpdir(), 'airtight-two-issuers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

for (const kind of ISSUER_DATABASES) {
  if (kind.unavailable !== undefined) {
    (MUST_RUN_ALL ? describe : describe.skip)(`two issuer processes: ${kind.name} (${kind.unavailable})`, () =>
      it('runs', () => {
        throw new Error(`${kind.name} must run under CI: ${kind.unavailable}`);
      }),
    );
    continue;
  }

  describe(`two issuer processes: ${kind.name}`, () => {
    it('alternates-steps-between-processes: every session completes, one certificate per key, database agrees with devices', async () => {
      const fixture = await kind.create();
      const cluster = issuerCluster(join(tmp, kind.name));
      const database = childDatabase(fixture.location);
      const [portA, portB] = [await freePort(), await freePort()];
      const issuerA = new IssuerProcess(cluster, { name: 'a', port: portA, database });
      // B announces A's URL: invocation URLs and redirects name one issuer, whichever process made them.
      const issuerB = new IssuerProcess(cluster, { name: 'b', port: portB, database, publicUrl: issuerA.url });
      try {
        // A first: it creates the CA (and the first KMK) that B then loads.
        await issuerA.start();
        await issuerB.start();
        const origins = [issuerA.url, issuerB.url];
        const deadline = Date.now() + 60_000;
        const run = async (index: number, concurrent: boolean): Promise<EnrolledSession> => {
          const enrollment = await createEnrollment(origins[index % 2], 'ec-p256-auth', `User ${index}`);
          // Each request to the other process; concurrent sessions start at alternate ones.
          return enrollOnce(enrollment.invocationUrl, { origin: (n) => origins[(n + (concurrent ? index : 0)) % 2], deadline });
        };
        const sessions: EnrolledSession[] = [];
        for (let i = 0; i < SEQUENTIAL; i++) sessions.push(await run(i, false));
        sessions.push(...(await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => run(SEQUENTIAL + i, true)))));

        const unclean = sessions.flatMap((s) => (s.outcome.kind === 'completed' ? [] : [JSON.stringify(s.outcome)]));
        expect(unclean, `${issuerA.stderrTail()}\n${issuerB.stderrTail()}`).toEqual([]);
        for (const enrolledSession of sessions) {
          // Every session really used both processes: GET + 4 POSTs, alternating.
          expect(enrolledSession.log.origins.get(issuerA.url)).toBeGreaterThanOrEqual(2);
          expect(enrolledSession.log.origins.get(issuerB.url)).toBeGreaterThanOrEqual(2);
        }
        const db = await fixture.open();
        const check = await disagreements(db, sessions);
        expect(check.problems).toEqual([]);
        expect(check.duplicates).toBe(0);
        expect(check.credentials).toBe(sessions.length);
        expect((await db.listSessions({ status: 'done', limit: 1000 })).length).toBe(sessions.length);
        expect([...issuerA.unexpectedExits, ...issuerB.unexpectedExits]).toEqual([]);
      } finally {
        await Promise.all([issuerA.stop(), issuerB.stop()]);
        await fixture.dispose();
      }
    }, 180_000);
  });
}
