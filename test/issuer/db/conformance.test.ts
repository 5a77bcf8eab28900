/**
 * One conformance suite for the IssuerDatabase port, run against every
 * adapter in ISSUER_DATABASES (SQLite and PostgreSQL). "Another process" is a
 * second instance with its own connection (SQLite) or pool (PostgreSQL) on the
 * same store.
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isIssuerError, type IssuerErrorCode } from '../../../src/issuer/errors.js';
import { MIGRATIONS, replayOf, type IssuerDatabase, type Session, type StoredResponse } from '../../../src/issuer/db/index.js';
import { migrate } from '../../../src/issuer/db/migrations.js';
import { ISSUER_DATABASES, MUST_RUN_ALL, type IssuerDatabaseFixture } from './databases.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const RACE_WORKER = fileURLToPath(new URL('./race-worker.ts', import.meta.url));

/** Starts a race worker process; resolves once it has opened the store. */
const startWorker = (args: readonly string[]) =>
  new Promise<{ go(): void; result: Promise<{ consumed: number; advanced: number; errors: string[] }> }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RACE_WORKER, ...args], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const result = new Promise<{ consumed: number; advanced: number; errors: string[] }>((done, fail) => {
      lines.on('line', (line) => {
        if (line === 'ready') resolve({ go: () => child.stdin.write('go\n'), result });
        else done(JSON.parse(line) as { consumed: number; advanced: number; errors: string[] });
      });
      child.on('exit', (code) => (code === 0 ? undefined : fail(new Error(`race worker exited ${code}`))));
    });
    result.catch(reject);
    child.on('error', reject);
  });

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const HOUR = 3_600_000;

/** A clock the test moves by hand. */
const clock = () => {
  let time = T0;
  return { now: () => time, advance: (ms: number) => void (time += ms) };
};

const hash = (s: string): string => createHash('sha256').update(s).digest('hex');
const json = (body: string): StoredResponse => ({ kind: 'body', contentType: 'application/json', body });
const der = (s: string): Uint8Array => new TextEncoder().encode(`DER:${s}`);

/** Resolves to the IssuerError code the promise rejects with. */
const codeOf = async (promise: Promise<unknown>): Promise<IssuerErrorCode | 'resolved' | 'other'> => {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return isIssuerError(error) ? error.code : 'other';
  }
};

for (const kind of ISSUER_DATABASES) {
  if (kind.unavailable !== undefined) {
    if (MUST_RUN_ALL) {
      describe(`issuer database: ${kind.name}`, () => {
        it('is available under CI', () => {
          throw new Error(`${kind.name} must run under CI: ${kind.unavailable}`);
        });
      });
    } else {
      console.warn(`[issuer db suite] SKIPPING ${kind.name}: ${kind.unavailable}`);
      describe.skip(`issuer database: ${kind.name} (${kind.unavailable})`, () => {
        it('runs', () => undefined);
      });
    }
    continue;
  }

  describe(`issuer database: ${kind.name}`, () => {
    let fixture: IssuerDatabaseFixture;
    let time: ReturnType<typeof clock>;
    let db: IssuerDatabase;

    beforeEach(async () => {
      fixture = await kind.create();
      time = clock();
      db = await fixture.open({ now: time.now });
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    /** A second instance on the same store ("another process"), on the same test clock. */
    const other = (): Promise<IssuerDatabase> => fixture.open({ now: time.now });

    const enroll = (token: string, expiresIn = HOUR) =>
      db.createEnrollment({
        token,
        template: 'employee',
        userName: 'Alice',
        userEmail: 'alice@example.com',
        expiresAt: time.now() + expiresIn,
      });

    const startSession = async (token = `tok-${randomUUID()}`): Promise<Session> => {
      await enroll(token);
      const sessionResult = await db.startEnrollmentSession(token, {
        id: `s-${randomUUID()}`,
        state: '{"phase":"invoked"}',
        requestHash: hash('invocation'),
        response: json('{"step":0}'),
        expiresAt: time.now() + HOUR,
      });
      if (sessionResult.kind !== 'started') throw new Error(`expected started, got ${sessionResult.kind}`);
      return sessionResult.session;
    };

    /** A session with one recorded intent and its credential. */
    const issue = async (session: Session, keyId: string, serial: string, kmkId?: string) => {
      await db.recordIssuanceIntent({ sessionId: session.id, keyId, serial, plan: '{"template":"employee"}' });
      return db.completeIssuance(session.id, keyId, der(`${session.id}/${keyId}`), kmkId === undefined ? {} : { kmkId });
    };

    // ----------------------------------------------------------- migrations

    describe('migrations', () => {
      it('applies every migration at open', async () => {
        expect(await db.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
      });

      it('is idempotent: reopening migrates nothing and keeps the data', async () => {
        const enrollment = await enroll('tok-reopen');
        await db.close();
        const again = await other();
        expect(await again.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
        expect((await again.getEnrollment(enrollment.id)).userName).toBe('Alice');
      });

      it('migrates once when several processes start together', async () => {
        const fresh = await kind.create();
        try {
          const opened = await Promise.all([fresh.open(), fresh.open(), fresh.open()]);
          for (const issuerDatabase of opened) expect(await issuerDatabase.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
        } finally {
          await fresh.dispose();
        }
      });

      it('refuses-schema-newer-than-the-code with CONFIG', async () => {
        const driver = await fixture.driver();
        await migrate(driver, T0, [...MIGRATIONS, { version: 999, name: 'from the future', statements: () => ['CREATE TABLE future_table (x TEXT)'] }]);
        expect(await codeOf(other())).toBe('CONFIG');
      });

      it('rolls back a failing migration whole', async () => {
        const driver = await fixture.driver();
        const next = Math.max(...MIGRATIONS.map((m) => m.version)) + 1;
        const broken = { version: next, name: 'broken', statements: () => ['CREATE TABLE half_done (x TEXT)', 'NOT SQL'] };
        await expect(migrate(driver, T0, [...MIGRATIONS, broken])).rejects.toThrow();
        expect(await db.schemaVersions()).toEqual(MIGRATIONS.map((m) => m.version));
        // half_done was rolled back with it: the same migration, fixed, applies cleanly.
        const fixed = { ...broken, statements: () => ['CREATE TABLE half_done (x TEXT)'] };
        expect(await migrate(driver, T0, [...MIGRATIONS, fixed])).toContain(next);
      });
    });

    // ---------------------------------------------------------- enrollments

    describe('enrollments', () => {
      it('creates an enrollment in state created', async () => {
        const enrollment = await enroll('tok-1');
        expect(enrollment).toMatchObject({
          template: 'employee',
          userName: 'Alice',
          userEmail: 'alice@example.com',
          state: 'created',
          createdAt: T0,
          expiresAt: T0 + HOUR,
          usedAt: null,
          sessionId: null,
        });
        expect(await db.getEnrollment(enrollment.id)).toEqual(enrollment);
      });

      it('consumes a token once', async () => {
        const error = await enroll('tok-once');
        const first = await db.consumeEnrollment('tok-once', 's-1');
        expect(first).toMatchObject({ kind: 'consumed', enrollment: { id: error.id, state: 'used', sessionId: 's-1' } });
        const second = await db.consumeEnrollment('tok-once', 's-2');
        expect(second).toMatchObject({ kind: 'used', enrollment: { sessionId: 's-1' } });
      });

      it('token-consumed-once-under-concurrent-attempts (two instances, 20 racers)', async () => {
        await enroll('tok-race');
        const issuerDatabase = await other();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? db : issuerDatabase).consumeEnrollment('tok-race', `s-${i}`)));
        expect(results.filter((r) => r.kind === 'consumed')).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'used')).toHaveLength(19);
      });

      it('refuses an unknown token', async () => {
        expect(await db.consumeEnrollment('tok-never-issued', 's-1')).toEqual({ kind: 'unknown' });
      });

      it('refuses-expired-token and records it expired', async () => {
        const enrollment = await enroll('tok-late', 1000);
        time.advance(1000);
        expect(await db.consumeEnrollment('tok-late', 's-1')).toEqual({ kind: 'expired' });
        expect((await db.getEnrollment(enrollment.id)).state).toBe('expired');
      });

      it('sweeps lapsed enrollments', async () => {
        const short = await enroll('tok-a', 1000);
        const long = await enroll('tok-b', 10 * HOUR);
        time.advance(2000);
        expect(await db.expireEnrollments()).toBe(1);
        expect((await db.getEnrollment(short.id)).state).toBe('expired');
        expect((await db.getEnrollment(long.id)).state).toBe('created');
      });

      it('stores only a hash of the token', async () => {
        const driver = await fixture.driver();
        await enroll('tok-secret-value');
        const rows = await driver.transaction((tx) => tx.all('SELECT token_sha256 FROM enrollments'));
        expect(JSON.stringify(rows)).not.toContain('tok-secret-value');
      });

      it('lists enrollments newest first, by state', async () => {
        const enrollment = await enroll('tok-l1');
        time.advance(1);
        const bytes = await enroll('tok-l2');
        await db.consumeEnrollment('tok-l1', 's-l1');
        expect((await db.listEnrollments()).map((e) => e.id)).toEqual([bytes.id, enrollment.id]);
        expect((await db.listEnrollments({ state: 'used' })).map((e) => e.id)).toEqual([enrollment.id]);
        expect(await db.listEnrollments({ limit: 1 })).toHaveLength(1);
      });

      it('NOT_FOUND for an unknown enrollment id', async () => {
        expect(await codeOf(db.getEnrollment('nope'))).toBe('NOT_FOUND');
      });
    });

    // ------------------------------------------------------------- sessions

    describe('sessions', () => {
      it('starts a session from a token in one step', async () => {
        await enroll('tok-start');
        const sessionResult = await db.startEnrollmentSession('tok-start', {
          id: 's-start',
          state: '{"a":1}',
          requestHash: hash('req0'),
          response: json('{"r":0}'),
          expiresAt: time.now() + HOUR,
        });
        expect(sessionResult.kind).toBe('started');
        if (sessionResult.kind !== 'started') return;
        expect(sessionResult.enrollment).toMatchObject({ state: 'used', sessionId: 's-start' });
        expect(sessionResult.session).toMatchObject({
          id: 's-start',
          origin: { kind: 'enrollment', enrollmentId: sessionResult.enrollment.id },
          status: 'active',
          step: 0,
          state: '{"a":1}',
          lastRequestHash: hash('req0'),
          lastResponse: json('{"r":0}'),
          failureReason: null,
        });
      });

      it('replays a retried first request and refuses a different one', async () => {
        const sess = await startSession('tok-replay');
        const retried = await db.startEnrollmentSession('tok-replay', {
          id: 's-other-id',
          state: '{}',
          requestHash: hash('invocation'),
          response: json('{"step":"recomputed"}'),
          expiresAt: time.now() + HOUR,
        });
        expect(retried).toMatchObject({ kind: 'replayed', session: { id: sess.id, lastResponse: json('{"step":0}') } });
        const different = await db.startEnrollmentSession('tok-replay', {
          id: 's-third',
          state: '{}',
          requestHash: hash('something else'),
          response: json('{}'),
          expiresAt: time.now() + HOUR,
        });
        expect(different).toEqual({ kind: 'refused', reason: 'used' });
        // Once the session moved on, the first request is no longer the last one answered.
        await db.advanceSession(sess.id, 0, { state: '{}', requestHash: hash('req1'), response: json('{"step":1}') });
        const late = await db.startEnrollmentSession('tok-replay', {
          id: 's-fourth',
          state: '{}',
          requestHash: hash('invocation'),
          response: json('{}'),
          expiresAt: time.now() + HOUR,
        });
        expect(late).toEqual({ kind: 'refused', reason: 'used' });
      });

      it('leaves the token unused when the session cannot be recorded', async () => {
        const sess = await startSession();
        const enrollment = await enroll('tok-dup-session');
        // The same session id again: the insert fails, so the consume rolls back with it.
        expect(
          await codeOf(
            db.startEnrollmentSession('tok-dup-session', {
              id: sess.id,
              state: '{}',
              requestHash: hash('x'),
              response: json('{}'),
              expiresAt: time.now() + HOUR,
            }),
          ),
        ).toBe('CONFLICT');
        expect((await db.getEnrollment(enrollment.id)).state).toBe('created');
      });

      it('advances with compare-and-set and stores the exact response', async () => {
        const session = await startSession();
        time.advance(5);
        const redirect: StoredResponse = { kind: 'redirect', location: 'https://issuer.example/done?x=1' };
        const next = await db.advanceSession(session.id, 0, {
          state: '{"phase":"keys"}',
          requestHash: hash('req1'),
          response: redirect,
        });
        expect(next).toMatchObject({ step: 1, state: '{"phase":"keys"}', lastResponse: redirect, updatedAt: T0 + 5 });
        expect(await db.getSession(session.id)).toEqual(next);
      });

      it('cas-advance-conflict: a stale step is CONFLICT and changes nothing', async () => {
        const session = await startSession();
        await db.advanceSession(session.id, 0, { state: '{"n":1}', requestHash: hash('r1'), response: json('1') });
        expect(await codeOf(db.advanceSession(session.id, 0, { state: '{"n":"x"}', requestHash: hash('rx'), response: json('x') }))).toBe('CONFLICT');
        expect((await db.getSession(session.id)).state).toBe('{"n":1}');
      });

      it('cas-advance-audit: the audit event of a step is appended with the step, and not by a stale one', async () => {
        const sessionValue = await startSession();
        const audit = { kind: 'session-done', sessionId: sessionValue.id, detail: '{"keys":["Key.1"]}' };
        await db.advanceSession(sessionValue.id, 0, { state: '{}', requestHash: hash('last'), response: json('{}'), status: 'done', audit });
        expect(
          await codeOf(db.advanceSession(sessionValue.id, 0, { state: '{}', requestHash: hash('last'), response: json('{}'), status: 'done', audit })),
        ).toBe('CONFLICT');
        const events = (await db.listAudit({ sessionId: sessionValue.id })).filter((e) => e.kind === 'session-done');
        expect(events.map((e) => e.detail)).toEqual(['{"keys":["Key.1"]}']);
      });

      it('cas-advance-race: of two processes advancing the same step exactly one wins', async () => {
        const session = await startSession();
        const issuerDatabase = await other();
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? db : issuerDatabase).advanceSession(session.id, 0, {
              state: `{"winner":${i}}`,
              requestHash: hash(`r${i}`),
              response: json(`${i}`),
            }),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const settled of results) {
          if (settled.status === 'rejected') expect(isIssuerError(settled.reason) && settled.reason.code).toBe('CONFLICT');
        }
        expect((await issuerDatabase.getSession(session.id)).step).toBe(1);
      });

      it('retried-step-returns-stored-response without redoing work', async () => {
        const session = await startSession();
        let work = 0;
        /** The service's shape: replay if this body was the last one answered, else run, write, answer. */
        const handle = async (body: string): Promise<StoredResponse> => {
          const current = await db.getSession(session.id);
          const again = replayOf(current, hash(body));
          if (again !== undefined) return again;
          work += 1;
          const response = json(`{"answer":${work}}`);
          await db.advanceSession(session.id, current.step, { state: `{"w":${work}}`, requestHash: hash(body), response });
          return response;
        };
        const first = await handle('step-1 body');
        const retry = await handle('step-1 body');
        expect(retry).toEqual(first);
        expect(work).toBe(1);
        // A retry seen by another process gets the same bytes.
        const issuerDatabase = await other();
        expect(replayOf(await issuerDatabase.getSession(session.id), hash('step-1 body'))).toEqual(first);
        expect(replayOf(await issuerDatabase.getSession(session.id), hash('step-2 body'))).toBeUndefined();
      });

      it('ends a session as done, after which it cannot advance', async () => {
        const session = await startSession();
        const done = await db.advanceSession(session.id, 0, {
          state: '{}',
          requestHash: hash('last'),
          response: json('{"bye":1}'),
          status: 'done',
        });
        expect(done.status).toBe('done');
        expect(await codeOf(db.advanceSession(session.id, 1, { state: '{}', requestHash: hash('more'), response: json('{}') }))).toBe('CONFLICT');
      });

      it('fails a session with a reason, once', async () => {
        const session = await startSession();
        const failed = await db.failSession(session.id, 'ATTESTATION');
        expect(failed).toMatchObject({ status: 'failed', failureReason: 'ATTESTATION', step: 0 });
        expect(await codeOf(db.failSession(session.id, 'again'))).toBe('CONFLICT');
        expect(await codeOf(db.advanceSession(session.id, 0, { state: '{}', requestHash: hash('r'), response: json('{}') }))).toBe('CONFLICT');
      });

      it('lists sessions most recently updated first, by status and enrollment', async () => {
        const s1 = await startSession();
        time.advance(1);
        const s2 = await startSession();
        time.advance(1);
        await db.failSession(s1.id, 'TIMEOUT');
        expect((await db.listSessions()).map((s) => s.id)).toEqual([s1.id, s2.id]);
        expect((await db.listSessions({ status: 'active' })).map((s) => s.id)).toEqual([s2.id]);
        const origin = s2.origin.kind === 'enrollment' ? s2.origin.enrollmentId : '';
        expect((await db.listSessions({ enrollmentId: origin })).map((s) => s.id)).toEqual([s2.id]);
      });

      it('NOT_FOUND for an unknown session', async () => {
        expect(await codeOf(db.getSession('nope'))).toBe('NOT_FOUND');
        expect(await codeOf(db.advanceSession('nope', 0, { state: '{}', requestHash: hash('r'), response: json('{}') }))).toBe('NOT_FOUND');
        expect(await codeOf(db.failSession('nope', 'x'))).toBe('NOT_FOUND');
      });

      it('creates a management session for a known device, and refuses an unknown device', async () => {
        const data = await db.recordDevice({ kind: 'certificate', certificateDer: der('dev'), subject: 'CN=dev' });
        const session = await db.createSession({
          id: 's-mgmt',
          origin: { kind: 'management', deviceId: data.id },
          state: '{}',
          requestHash: hash('m0'),
          response: json('{}'),
          expiresAt: time.now() + HOUR,
        });
        expect(session.origin).toEqual({ kind: 'management', deviceId: data.id });
        expect(
          await codeOf(
            db.createSession({
              id: 's-mgmt-2',
              origin: { kind: 'management', deviceId: 'no-such-device' },
              state: '{}',
              requestHash: hash('m0'),
              response: json('{}'),
              expiresAt: time.now() + HOUR,
            }),
          ),
        ).toBe('NOT_FOUND');
        expect(
          await codeOf(
            db.createSession({
              id: 's-mgmt',
              origin: { kind: 'management', deviceId: data.id },
              state: '{}',
              requestHash: hash('m0'),
              response: json('{}'),
              expiresAt: time.now() + HOUR,
            }),
          ),
        ).toBe('CONFLICT');
      });
    });

    // -------------------------------------------------------------- devices

    describe('devices', () => {
      it('records a certificate device once and updates when it was last seen', async () => {
        const first = await db.recordDevice({ kind: 'certificate', certificateDer: der('d1'), subject: 'CN=d1' });
        expect(first).toMatchObject({
          kind: 'certificate',
          subject: 'CN=d1',
          certificateSha256: createHash('sha256').update(der('d1')).digest('hex'),
          firstSeen: T0,
          lastSeen: T0,
        });
        time.advance(HOUR);
        const issuerDatabase = await other();
        const again = await issuerDatabase.recordDevice({ kind: 'certificate', certificateDer: der('d1'), subject: 'CN=d1' });
        expect(again).toMatchObject({ id: first.id, firstSeen: T0, lastSeen: T0 + HOUR });
        expect(await db.findDeviceByCertificate(der('d1'))).toEqual(again);
        expect(await db.findDeviceByCertificate(der('unknown'))).toBeUndefined();
        if (again.kind === 'certificate') expect(Buffer.from(again.certificateDer)).toEqual(Buffer.from(der('d1')));
      });

      it('records privacy devices without a certificate', async () => {
        const device = await db.recordDevice({ kind: 'privacy' });
        expect(device).toEqual({ kind: 'privacy', id: device.id, firstSeen: T0, lastSeen: T0 });
        expect(await db.getDevice(device.id)).toEqual(device);
        expect(await codeOf(db.getDevice('nope'))).toBe('NOT_FOUND');
      });

      it('one device row when two processes see a new device at once', async () => {
        const issuerDatabase = await other();
        const seen = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 === 0 ? db : issuerDatabase).recordDevice({ kind: 'certificate', certificateDer: der('d-race'), subject: 'CN=r' }),
          ),
        );
        expect(new Set(seen.map((d) => d.id)).size).toBe(1);
      });
    });

    // ------------------------------------------------------------- issuance

    describe('issuance', () => {
      it('records an intent, then completes it into a credential', async () => {
        const session = await startSession();
        const device = await db.recordDevice({ kind: 'certificate', certificateDer: der('dev'), subject: 'CN=dev' });
        const { intent, created } = await db.recordIssuanceIntent({
          sessionId: session.id,
          keyId: 'Key.1',
          serial: '0a1b',
          deviceId: device.id,
          plan: '{"template":"employee"}',
        });
        expect(created).toBe(true);
        expect(intent).toMatchObject({ serial: '0a1b', deviceId: device.id, completedAt: null });
        time.advance(7);
        const credential = await db.completeIssuance(session.id, 'Key.1', der('cert-1'));
        expect(credential).toMatchObject({
          fingerprint: createHash('sha256').update(der('cert-1')).digest('hex'),
          sessionId: session.id,
          keyId: 'Key.1',
          deviceId: device.id,
          serial: '0a1b',
          status: 'issued',
          kmkId: null,
          issuedAt: T0 + 7,
        });
        expect(Buffer.from(credential.certificateDer)).toEqual(Buffer.from(der('cert-1')));
        expect((await db.getIssuanceIntent(session.id, 'Key.1')).completedAt).toBe(T0 + 7);
        expect(await db.getCredential(credential.fingerprint)).toEqual(credential);
      });

      it('a second intent for the same key returns the first (reuse its serial)', async () => {
        const session = await startSession();
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '01', plan: '{}' });
        const again = await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '02', plan: '{}' });
        expect(again).toMatchObject({ created: false, intent: { serial: '01' } });
      });

      it('duplicate-serial-rejected with CONFLICT', async () => {
        const session = await startSession();
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '77', plan: '{}' });
        expect(await codeOf(db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.2', serial: '77', plan: '{}' }))).toBe('CONFLICT');
      });

      it('second-completion-returns-first-certificate, never a second', async () => {
        const session = await startSession();
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '10', plan: '{}' });
        const first = await db.completeIssuance(session.id, 'Key.1', der('signed-first'));
        const second = await db.completeIssuance(session.id, 'Key.1', der('signed-again'));
        expect(second).toEqual(first);
        expect(await db.listCredentials({ sessionId: session.id })).toHaveLength(1);
      });

      it('concurrent completions from two processes record one certificate', async () => {
        const session = await startSession();
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '11', plan: '{}' });
        const issuerDatabase = await other();
        const all = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? db : issuerDatabase).completeIssuance(session.id, 'Key.1', der(`c${i}`))),
        );
        expect(new Set(all.map((c) => c.fingerprint)).size).toBe(1);
        expect(await db.listCredentials({ sessionId: session.id })).toHaveLength(1);
      });

      it('NOT_FOUND: completion without an intent, intent for an unknown session', async () => {
        const state = await startSession();
        expect(await codeOf(db.completeIssuance(state.id, 'Key.9', der('x')))).toBe('NOT_FOUND');
        expect(await codeOf(db.recordIssuanceIntent({ sessionId: 'no-session', keyId: 'Key.1', serial: '12', plan: '{}' }))).toBe('NOT_FOUND');
      });

      it('credential status moves issued -> revoked -> deleted, never back', async () => {
        const session = await startSession();
        const credential = await issue(session, 'Key.1', '20');
        expect((await db.setCredentialStatus(credential.fingerprint, 'revoked')).status).toBe('revoked');
        expect((await db.setCredentialStatus(credential.fingerprint, 'revoked')).status).toBe('revoked');
        expect(await codeOf(db.setCredentialStatus(credential.fingerprint, 'issued'))).toBe('CONFLICT');
        expect((await db.setCredentialStatus(credential.fingerprint, 'deleted')).status).toBe('deleted');
        expect(await codeOf(db.setCredentialStatus(credential.fingerprint, 'revoked'))).toBe('CONFLICT');
        expect(await codeOf(db.setCredentialStatus('00'.repeat(32), 'revoked'))).toBe('NOT_FOUND');
      });

      it('crl-lists-only-revoked: serial and revocation time in revocation order; the summary follows the set', async () => {
        const session = await startSession();
        const [first, second, third] = [await issue(session, 'Key.1', '51'), await issue(session, 'Key.2', '52'), await issue(session, 'Key.3', '53')];
        expect(await db.revocationSummary()).toEqual({ count: 0, latestRevokedAt: null });
        expect((await db.nextCrl('ca', 1)).revoked).toEqual([]);
        time.advance(1000);
        await db.setCredentialStatus(third.fingerprint, 'revoked');
        time.advance(1000);
        await db.setCredentialStatus(first.fingerprint, 'revoked');
        expect(await db.revocationSummary()).toEqual({ count: 2, latestRevokedAt: T0 + 2000 });
        expect((await db.nextCrl('ca', 1)).revoked).toEqual([
          { serial: '53', revokedAt: T0 + 1000 },
          { serial: '51', revokedAt: T0 + 2000 },
        ]);
        // A revoked credential that is deleted leaves the set; an issued one is never listed.
        await db.setCredentialStatus(third.fingerprint, 'deleted');
        await db.setCredentialStatus(second.fingerprint, 'deleted');
        expect(await db.revocationSummary()).toEqual({ count: 1, latestRevokedAt: T0 + 2000 });
        expect((await db.nextCrl('ca', 1)).revoked).toEqual([{ serial: '51', revokedAt: T0 + 2000 }]);
      });

      it('crl-number-strictly-increasing: max(last + 1, atLeast) per CA, never shared by two processes', async () => {
        const numbers = async (issuerDatabase: IssuerDatabase, caId: string, atLeast: number) => (await issuerDatabase.nextCrl(caId, atLeast)).crlNumber;
        expect(await numbers(db, 'ca-a', 100)).toBe(100);
        expect(await numbers(db, 'ca-a', 100)).toBe(101);
        expect(await numbers(db, 'ca-a', 50)).toBe(102);
        expect(await numbers(db, 'ca-a', 500)).toBe(500);
        expect(await numbers(db, 'ca-b', 7)).toBe(7);
        const issuerDatabase = await other();
        const racing = await Promise.all(Array.from({ length: 10 }, (_, i) => numbers(i % 2 === 0 ? db : issuerDatabase, 'ca-a', 500)));
        expect([...racing].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => 501 + i));
        expect(await codeOf(db.nextCrl('ca-a', -1))).toBe('BAD_REQUEST');
      });

      it('lists credentials by device', async () => {
        const session = await startSession();
        const device = await db.recordDevice({ kind: 'privacy' });
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '30', deviceId: device.id, plan: '{}' });
        await db.completeIssuance(session.id, 'Key.1', der('c30'));
        await issue(session, 'Key.2', '31');
        expect((await db.listCredentials({ deviceId: device.id })).map((c) => c.serial)).toEqual(['30']);
        expect((await db.listCredentials()).map((c) => c.serial).sort()).toEqual(['30', '31']);
      });
    });

    // -------------------------------------------------- scheduled operations

    describe('scheduled operations', () => {
      const deviceWithCredential = async () => {
        const session = await startSession();
        const data = await db.recordDevice({ kind: 'certificate', certificateDer: der('dev-ops'), subject: 'CN=ops' });
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial: '40', deviceId: data.id, plan: '{}' });
        const item = await db.completeIssuance(session.id, 'Key.1', der('c40'));
        return { device: data, credential: item };
      };

      it('scheduled-ops-lifecycle: pending -> running (claimed once) -> done', async () => {
        const { device, credential } = await deviceWithCredential();
        const op = await db.scheduleOperation({ kind: 'delete', credentialFingerprint: credential.fingerprint });
        expect(op).toMatchObject({ status: 'pending', deviceId: device.id, payload: '{}', sessionId: null });
        expect(await db.listOperations({ deviceId: device.id, status: 'pending' })).toEqual([op]);
        const claimed = await db.claimOperations(device.id, 'mgmt-1');
        expect(claimed).toEqual([{ ...op, status: 'running', sessionId: 'mgmt-1' }]);
        expect(await db.claimOperations(device.id, 'mgmt-2')).toEqual([]);
        const done = await db.finishOperation(op.id, 'done', 'deleted');
        expect(done).toMatchObject({ status: 'done', outcome: 'deleted' });
        expect(await codeOf(db.finishOperation(op.id, 'failed'))).toBe('CONFLICT');
        expect(await codeOf(db.finishOperation('nope', 'done'))).toBe('NOT_FOUND');
      });

      it('a failed session releases its operations for the next one', async () => {
        const { device, credential } = await deviceWithCredential();
        await db.scheduleOperation({ kind: 'unlock', credentialFingerprint: credential.fingerprint });
        await db.scheduleOperation({ kind: 'update', credentialFingerprint: credential.fingerprint, payload: '{"p":1}' });
        expect(await db.claimOperations(device.id, 'mgmt-1')).toHaveLength(2);
        expect(await db.releaseOperations('mgmt-1')).toBe(2);
        const again = await db.claimOperations(device.id, 'mgmt-2');
        expect(again.map((o) => o.kind)).toEqual(['unlock', 'update']);
      });

      it('concurrent claims from two processes split the operations, never share', async () => {
        const { device, credential } = await deviceWithCredential();
        for (let i = 0; i < 5; i++) {
          await db.scheduleOperation({ kind: 'unlock', credentialFingerprint: credential.fingerprint });
        }
        const issuerDatabase = await other();
        const claims = await Promise.all([
          db.claimOperations(device.id, 'm-a'),
          issuerDatabase.claimOperations(device.id, 'm-b'),
          db.claimOperations(device.id, 'm-c'),
        ]);
        const ids = claims.flat().map((o) => o.id);
        expect(ids).toHaveLength(5);
        expect(new Set(ids).size).toBe(5);
      });

      it('refuses an operation on an unknown or deleted credential', async () => {
        const { credential } = await deviceWithCredential();
        expect(await codeOf(db.scheduleOperation({ kind: 'delete', credentialFingerprint: 'ff'.repeat(32) }))).toBe('NOT_FOUND');
        await db.setCredentialStatus(credential.fingerprint, 'deleted');
        expect(await codeOf(db.scheduleOperation({ kind: 'delete', credentialFingerprint: credential.fingerprint }))).toBe('CONFLICT');
      });
    });

    // ------------------------------------------------------- session expiry

    describe('session expiry', () => {
      /** A session that issued one certificate and claimed one operation on it: what a failure must release. */
      const sessionHolding = async (tag: string, serial: string) => {
        const session = await startSession();
        const data = await db.recordDevice({ kind: 'certificate', certificateDer: der(`dev-${tag}`), subject: `CN=${tag}` });
        await db.recordIssuanceIntent({ sessionId: session.id, keyId: 'Key.1', serial, deviceId: data.id, plan: '{}' });
        const credential = await db.completeIssuance(session.id, 'Key.1', der(`c${serial}`));
        const op = await db.scheduleOperation({ kind: 'delete', credentialFingerprint: credential.fingerprint });
        expect(await db.claimOperations(data.id, session.id)).toHaveLength(1);
        return { session, data, credential, op };
      };

      it('expires-abandoned-sessions: failed as session-expired, operations released, certificates revoked, in one step', async () => {
        const { session: abandoned, data, credential, op } = await sessionHolding('exp', '60');
        time.advance(HOUR / 2);
        const younger = await startSession();
        expect(abandoned.expiresAt).toBe(T0 + HOUR);

        expect(await db.expireSessions(T0 + HOUR - 1)).toEqual([]);
        expect(await db.expireSessions(T0 + HOUR)).toEqual([abandoned.id]);
        expect(await db.getSession(abandoned.id)).toMatchObject({ status: 'failed', failureReason: 'session-expired' });
        expect((await db.getCredential(credential.fingerprint)).status).toBe('revoked');
        expect((await db.listOperations({ deviceId: data.id }))[0]).toMatchObject({ id: op.id, status: 'pending', sessionId: null });
        expect((await db.listAudit({ sessionId: abandoned.id })).map((e) => [e.kind, e.detail])).toContainEqual([
          'session-failed',
          '{"reason":"session-expired"}',
        ]);
        expect((await db.getSession(younger.id)).status).toBe('active');
        // Once: a second sweep finds nothing, and an ended session never expires.
        expect(await db.expireSessions(T0 + HOUR)).toEqual([]);
        await db.failSession(younger.id, 'protocol-error');
        expect(await db.expireSessions(T0 + 10 * HOUR)).toEqual([]);
      });

      it('release-failed-session: operations back to pending and issued certificates revoked, in one step, idempotent', async () => {
        const { session: failed, data, credential, op } = await sessionHolding('rel', '61');
        await db.failSession(failed.id, 'protocol-error');
        await db.releaseFailedSession(failed.id);
        await db.releaseFailedSession(failed.id); // a retried request to the failed session runs it again
        expect((await db.getCredential(credential.fingerprint)).status).toBe('revoked');
        expect((await db.listOperations({ deviceId: data.id }))[0]).toMatchObject({ id: op.id, status: 'pending', sessionId: null });
      });

      it('expire-sessions-race: processes sweeping at once end each session exactly once, in batches of limit', async () => {
        const sessions = await Promise.all(Array.from({ length: 6 }, () => startSession()));
        expect(await db.expireSessions(T0 + HOUR, 2)).toHaveLength(2);
        const issuerDatabase = await other();
        const swept = await Promise.all([db.expireSessions(T0 + HOUR), issuerDatabase.expireSessions(T0 + HOUR), db.expireSessions(T0 + HOUR)]);
        const ids = swept.flat();
        expect(ids).toHaveLength(4);
        expect(new Set(ids).size).toBe(4);
        for (const session of sessions) expect((await db.getSession(session.id)).status).toBe('failed');
      });
    });

    // --------------------------------------------------- key management keys

    describe('key management keys', () => {
      const kmk = (id: string, issuer = 'issuer-a') => ({
        id,
        issuer,
        spki: der(`spki-${id}`),
        privateKeyRef: `kmk/${id}.p8.enc`,
      });

      it('rolls over: the new key is current and names the one it replaced', async () => {
        expect(await db.currentKeyManagementKey('issuer-a')).toBeUndefined();
        const k1 = await db.rollKeyManagementKey(kmk('k1'));
        expect(k1).toMatchObject({ previousId: null, retiredAt: null, privateKeyRef: 'kmk/k1.p8.enc' });
        time.advance(10);
        const k2 = await db.rollKeyManagementKey(kmk('k2'));
        expect(k2).toMatchObject({ previousId: 'k1', retiredAt: null });
        expect((await db.currentKeyManagementKey('issuer-a'))?.id).toBe('k2');
        const history = await db.keyManagementKeyHistory('issuer-a');
        expect(history.map((k) => [k.id, k.retiredAt])).toEqual([
          ['k1', T0 + 10],
          ['k2', null],
        ]);
        expect(Buffer.from(history[1]?.spki ?? [])).toEqual(Buffer.from(der('spki-k2')));
        // Issuers are separate; a key id is global.
        await db.rollKeyManagementKey(kmk('b1', 'issuer-b'));
        expect((await db.currentKeyManagementKey('issuer-a'))?.id).toBe('k2');
        expect(await codeOf(db.rollKeyManagementKey(kmk('k1', 'issuer-c')))).toBe('CONFLICT');
      });

      it('concurrent roll-overs keep one current key and one unbroken chain', async () => {
        await db.rollKeyManagementKey(kmk('k0'));
        const issuerDatabase = await other();
        const results = await Promise.allSettled(['r1', 'r2', 'r3', 'r4'].map((id, i) => (i % 2 === 0 ? db : issuerDatabase).rollKeyManagementKey(kmk(id))));
        for (const settled of results) {
          if (settled.status === 'rejected') expect(isIssuerError(settled.reason) && settled.reason.code).toBe('CONFLICT');
        }
        const history = await db.keyManagementKeyHistory('issuer-a');
        const won = results.filter((r) => r.status === 'fulfilled').length;
        expect(history).toHaveLength(1 + won);
        expect(history[0]?.id).toBe('k0');
        expect(history.filter((k) => k.retiredAt === null)).toHaveLength(1);
        history.slice(1).forEach((k, i) => expect(k.previousId).toBe(history[i]?.id));
      });

      it('credentials name the KMK they were provisioned under', async () => {
        await db.rollKeyManagementKey(kmk('k-cred'));
        const session = await startSession();
        expect((await issue(session, 'Key.1', '50', 'k-cred')).kmkId).toBe('k-cred');
        expect(await codeOf(issue(session, 'Key.2', '51', 'no-such-kmk'))).toBe('NOT_FOUND');
      });
    });

    // ---------------------------------------------------------------- audit

    describe('audit', () => {
      it('appends events in order and lists them by session and position', async () => {
        const auditEvent = await db.appendAudit({ kind: 'session.started', sessionId: 's-1', detail: '{"template":"employee"}' });
        const bytes = await (await other()).appendAudit({ kind: 'enrollment.created' });
        const item = await db.appendAudit({ kind: 'session.done', sessionId: 's-1' });
        expect(auditEvent.seq).toBeLessThan(bytes.seq);
        expect(bytes.seq).toBeLessThan(item.seq);
        expect(bytes).toMatchObject({ sessionId: null, detail: '{}', at: T0 });
        expect((await db.listAudit({ sessionId: 's-1' })).map((e) => e.kind)).toEqual(['session.started', 'session.done']);
        expect((await db.listAudit({ afterSeq: auditEvent.seq, limit: 1 })).map((e) => e.seq)).toEqual([bytes.seq]);
      });
    });

    // ---------------------------------------------------- several processes

    describe('several processes on one store', () => {
      it('two OS processes racing: one consumes the token, one advances the step', async () => {
        const token = 'tok-processes';
        const session = await db.createSession({
          id: 's-processes',
          origin: { kind: 'management', deviceId: (await db.recordDevice({ kind: 'privacy' })).id },
          state: '{}',
          requestHash: hash('m0'),
          response: json('{}'),
          expiresAt: time.now() + HOUR,
        });
        // The workers run on the real clock: give the token a far expiry.
        await db.createEnrollment({ token, template: 't', userName: 'u', expiresAt: Date.now() + HOUR });
        const { target, schema } = fixture.location;
        const workers = await Promise.all([1, 2].map(() => startWorker([target, schema, token, session.id, '5'])));
        for (const writer of workers) writer.go();
        const results = await Promise.all(workers.map((w) => w.result));
        expect(results.reduce((n, r) => n + r.consumed, 0)).toBe(1);
        expect(results.reduce((n, r) => n + r.advanced, 0)).toBe(1);
        expect(results.flatMap((r) => r.errors).every((c) => c === 'CONFLICT')).toBe(true);
        expect((await db.getSession(session.id)).step).toBe(1);
      });

      it("see each other's writes", async () => {
        const issuerDatabase = await other();
        const enrollment = await enroll('tok-shared');
        expect((await issuerDatabase.getEnrollment(enrollment.id)).state).toBe('created');
        const sessionResult = await issuerDatabase.startEnrollmentSession('tok-shared', {
          id: 's-shared',
          state: '{"on":"b"}',
          requestHash: hash('q0'),
          response: json('{"from":"b"}'),
          expiresAt: time.now() + HOUR,
        });
        expect(sessionResult.kind).toBe('started');
        // Any step may arrive at any process.
        const s1 = await db.advanceSession('s-shared', 0, { state: '{"on":"a"}', requestHash: hash('q1'), response: json('1') });
        const s2 = await issuerDatabase.advanceSession('s-shared', s1.step, {
          state: '{"on":"b"}',
          requestHash: hash('q2'),
          response: json('2'),
        });
        expect(await db.getSession('s-shared')).toEqual(s2);
        expect((await db.getEnrollment(enrollment.id)).state).toBe('used');
      });
    });
  });
}
