/**
 * Issue 9 item 7: SIGKILL of the issuer at random instants across at least
 * 200 sessions, with restart and client retry. A supervisor runs
 * `airtight issuer start` as a child process; a pool of clients runs the
 * enrollments (EC P-256, one key, no PIN; a memory SKS per session) and sends
 * a request that failed on the connection again, same body and cookie, until
 * the issuer is back; a killer SIGKILLs the issuer after a random 0.2-1.5 s of
 * service (and now and then during its restart) and restarts it on the same
 * port, data folder and database.
 *
 * Every tenth device spoils its attestation, so the issuer refuses it.
 *
 * Then: no acknowledged step lost, no duplicate certificate, no credential
 * without a completed intent, every completed session's device holds exactly
 * the certificates the issuer recorded, and every session either completed or
 * failed cleanly (issuer refusal, nothing left on the device). The counts are
 * printed.
 *
 * `AIRTIGHT_CRASH_SESSIONS` (default 200) and `AIRTIGHT_CRASH_KILLS` (most
 * kills, default 30: each restart costs a Node start) size the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ISSUER_DATABASES, MUST_RUN_ALL } from '../db/databases.js';
import { disagreements, enrollOnce, type EnrolledSession } from '../multiprocess/enrolling-client.js';
import { childDatabase, createEnrollment, freePort, IssuerProcess, issuerCluster, sleep } from '../multiprocess/issuer-process.js';

const SESSIONS = Number(process.env['AIRTIGHT_CRASH_SESSIONS'] ?? 200);
const MAX_KILLS = Number(process.env['AIRTIGHT_CRASH_KILLS'] ?? 30);
const CLIENTS = 8;
const tmp = mkdtempSync(join(tmpdir(), 'airtight-crash-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `task` over `items` with `width` workers; results in item order. */
async function pool<T, R>(items: readonly T[], width: number, task: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

for (const kind of ISSUER_DATABASES) {
  if (kind.unavailable !== undefined) {
    (MUST_RUN_ALL ? describe : describe.skip)(`issuer crash: ${kind.name} (${kind.unavailable})`, () =>
      it('runs', () => {
        throw new Error(`${kind.name} must run under CI: ${kind.unavailable}`);
      }),
    );
    continue;
  }

  describe(`issuer crash: ${kind.name}`, () => {
    it(`survives-sigkill-at-random-instants: ${SESSIONS} sessions, no acknowledged step lost, no duplicate certificate`, async () => {
      const started = Date.now();
      const fixture = await kind.create();
      const cluster = issuerCluster(join(tmp, kind.name));
      const issuer = new IssuerProcess(cluster, { name: 'issuer', port: await freePort(), database: childDatabase(fixture.location) });
      let kills = 0;
      let startupKills = 0;
      try {
        await issuer.start();
        const enrollments = await pool(
          Array.from({ length: SESSIONS }, (_, i) => i),
          CLIENTS,
          (i) => createEnrollment(issuer.url, 'ec-p256-auth', `User ${i}`),
        );

        let clientsDone = false;
        // Read through a function: the flag is set by the clients' finally, which the compiler's narrowing cannot see.
        const finished = (): boolean => clientsDone;
        // Every tenth device spoils its attestation: the issuer refuses it, and the session must end cleanly failed.
        const tampered = (i: number): boolean => i % 10 === 9;
        const clients = pool(enrollments, CLIENTS, (e, i) => enrollOnce(e.invocationUrl, { deadline: Date.now() + 90_000, tamper: tampered(i) })).finally(
          () => {
            clientsDone = true;
          },
        );
        const killer = (async () => {
          while (!finished() && kills < MAX_KILLS) {
            await sleep(200 + Math.random() * 1300);
            if (finished()) break;
            await issuer.kill();
            kills++;
            // Now and then the restart itself is killed at a random instant of its start-up.
            while (kills < MAX_KILLS && Math.random() < 0.15) {
              const starting = issuer.start().catch(() => undefined);
              await sleep(Math.random() * 800);
              await issuer.kill();
              await starting;
              if (issuer.running) await issuer.kill();
              kills++;
              startupKills++;
            }
            await issuer.start();
          }
        })();
        const sessions: EnrolledSession[] = await clients;
        await killer;

        const completed = sessions.filter((s) => s.outcome.kind === 'completed').length;
        const failed = sessions.filter((s) => s.outcome.kind === 'failed-cleanly').length;
        const unclean = sessions.flatMap((s) => (s.outcome.kind === 'unclean' ? [s.outcome.error] : []));
        const retried = sessions.filter((s) => s.log.retries > 0).length;
        const inFlight = sessions.reduce((n, s) => n + s.log.inFlight, 0);
        await issuer.stop();

        const db = await fixture.open();
        const check = await disagreements(db, sessions);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        console.log(
          `crash test (${kind.name}): ${SESSIONS} sessions, ${completed} completed, ${failed} failed cleanly, ${kills} kills, ${check.duplicates} duplicates` +
            ` (${startupKills} kills during start-up, ${unclean.length} unclean, ${retried} sessions retried a request, ${inFlight} requests cut off in flight, ${check.credentials} credentials, ${seconds} s)`,
        );
        expect(unclean, issuer.stderrTail()).toEqual([]);
        expect(check.problems).toEqual([]);
        expect(check.duplicates).toBe(0);
        expect(completed + failed).toBe(SESSIONS);
        sessions.forEach((s, i) => expect(s.outcome.kind, `session ${i}`).toBe(tampered(i) ? 'failed-cleanly' : 'completed'));
        expect(check.credentials).toBe(completed);
        expect(issuer.unexpectedExits).toEqual([]);
        // The kills landed while sessions ran.
        expect(kills).toBeGreaterThan(0);
        expect(retried).toBeGreaterThan(0);
      } finally {
        await issuer.kill();
        await fixture.dispose();
      }
    }, 600_000);
  });
}
