/**
 * The issuer service over fastify inject(), one suite against every issuer
 * database adapter (SQLite and PostgreSQL, STYLE #13): full enrollments by
 * our client and SKS, the admin API, one-time and expiring invocations,
 * retried and concurrent POSTs (one certificate per key), attestation policy
 * refusals, revocation and CRL, scheduled remote operations at the next
 * management session (with a KMK roll-over), and logs free of secrets.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyGen2Transport } from '../../../src/keygen2/client/ports.js';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import { parseInvocationUrl } from '../../../src/keygen2/http/invocation-url.js';
import type { IssuerDatabase } from '../../../src/issuer/db/port.js';
import { IssuerError } from '../../../src/issuer/errors.js';
import { buildIssuerService } from '../../../src/issuer/service/app.js';
import { ISSUER_DATABASES, MUST_RUN_ALL, type IssuerDatabaseFixture } from '../db/databases.js';
import { ADMIN_TOKEN, device, harness, PUBLIC_URL, testCa, ui, type Harness } from './harness.js';

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const PIN = '8642917';
const tmp = mkdtempSync(join(tmpdir(), 'airtight-svc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pem = (der: Uint8Array): string => new X509Certificate(der).toString();
const cookieOf = (invocationUrl: string): string => parseInvocationUrl(invocationUrl).cookie!;
/** A DER CRL's number and text, as openssl reads them. */
const readCrl = (der: Buffer): { number: bigint; text: string } => {
  writeFileSync(join(tmp, 'read.crl'), der);
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(tmp, 'read.crl'), '-noout', '-text', '-crlnumber'], { encoding: 'utf8' });
  const hex = /crlNumber=(0x[0-9A-Fa-f]+)/.exec(text)?.[1];
  if (hex === undefined) throw new Error('no CRL number');
  return { number: BigInt(hex), text };
};

for (const kind of ISSUER_DATABASES) {
  if (kind.unavailable !== undefined) {
    if (MUST_RUN_ALL) {
      describe(`issuer service: ${kind.name}`, () => {
        it('runs', () => {
          throw new Error(`${kind.name} must run under CI: ${kind.unavailable}`);
        });
      });
    } else {
      describe.skip(`issuer service: ${kind.name} (${kind.unavailable})`, () => it('skipped', () => undefined));
    }
    continue;
  }

  describe(`issuer service: ${kind.name}`, () => {
    let fixture: IssuerDatabaseFixture;
    let db: IssuerDatabase;
    let handle: Harness;
    beforeEach(async () => {
      fixture = await kind.create();
      db = await fixture.open();
      handle = await harness(db);
    });
    afterEach(async () => {
      await handle.app.close();
      await fixture.dispose();
    });

    const newEnrollment = async (template = 'ec-p256-auth-pin', userName = 'Alice Example') => {
      const result = await handle.admin('POST', '/admin/enrollments', { template, userName, userEmail: 'alice@example.com' });
      expect(result.status).toBe(201);
      return result.json as { enrollmentId: string; invocationUrl: string; command: string; expiresAt: number };
    };

    it('enrolls-with-our-client: certificate chains to the issuer CA and parses with openssl', async () => {
      const enrollment = await newEnrollment();
      expect(enrollment.command).toBe(`airtight enroll '${enrollment.invocationUrl}'`);
      const sks = device();
      const summary = await handle.enroll(enrollment.invocationUrl, sks, PIN);
      expect(summary.redirectUrl).toBe(`${PUBLIC_URL}/keygen2/done`);
      expect(summary.keys).toHaveLength(1);
      expect(summary.keys[0].certificateSubject).toMatch(/CN=Alice Example/);

      const creds = (await handle.admin('GET', '/admin/credentials')).json.credentials;
      expect(creds).toHaveLength(1);
      expect(creds[0]).toMatchObject({ status: 'issued', keyId: 'Key.1' });
      expect(creds[0].kmkId).toMatch(/^KMK\./);
      const sessions = (await handle.admin('GET', '/admin/sessions')).json.sessions;
      expect(sessions).toEqual([expect.objectContaining({ kind: 'enrollment', status: 'done', enrollmentId: enrollment.enrollmentId })]);
      expect(sessions[0]).not.toHaveProperty('state');
      const devices = (await handle.admin('GET', '/admin/devices')).json.devices;
      expect(devices).toEqual([expect.objectContaining({ kind: 'certificate', id: creds[0].deviceId })]);

      const ca = await testCa();
      writeFileSync(join(tmp, 'root.pem'), pem(ca.root.certificate));
      writeFileSync(join(tmp, 'issuing.pem'), pem(ca.issuing.certificate));
      writeFileSync(join(tmp, 'ee.pem'), creds[0].certificatePem);
      const text = execFileSync('openssl', ['x509', '-in', join(tmp, 'ee.pem'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toMatch(/TLS Web Client Authentication/);
      const verified = execFileSync('openssl', ['verify', '-CAfile', join(tmp, 'root.pem'), '-untrusted', join(tmp, 'issuing.pem'), join(tmp, 'ee.pem')], {
        encoding: 'utf8',
      });
      expect(verified).toMatch(/: OK/);
      // The stored certificate is the one the SKS holds.
      expect(Buffer.from(summary.keys[0].certificatePath[0]).equals(Buffer.from(new X509Certificate(creds[0].certificatePem).raw))).toBe(true);
    });

    it('admin-requires-bearer-token: none or wrong is 401, disabled without a configured token', async () => {
      expect((await handle.app.inject({ method: 'GET', url: '/admin/sessions' })).statusCode).toBe(401);
      expect((await handle.app.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } })).statusCode).toBe(401);
      expect((await handle.app.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: ADMIN_TOKEN } })).statusCode).toBe(401);
      expect((await handle.admin('GET', '/admin/sessions')).status).toBe(200);
      const off = buildIssuerService({ service: handle.service, logStream: { write: () => undefined }, closeDatabase: false });
      const response = await off.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(response.statusCode).toBe(401);
      await off.close();
    });

    it('admin-refuses-unlisted-input: unknown member is 400, unknown template 404', async () => {
      expect((await handle.admin('POST', '/admin/enrollments', { template: 'ec-p256-auth-pin', userName: 'A', isAdmin: true })).status).toBe(400);
      const result = await handle.admin('POST', '/admin/enrollments', { template: 'nope', userName: 'A' });
      expect(result.status).toBe(404);
      expect(result.json.error.code).toBe('NOT_FOUND');
      const templates = (await handle.admin('GET', '/admin/templates')).json.templates as Array<{ name: string }>;
      expect(templates.map((t) => t.name)).toEqual(expect.arrayContaining(['ec-p256-auth-pin', 'rsa2048-sign']));
      const enrollment = await newEnrollment();
      const listed = (await handle.admin('GET', '/admin/enrollments')).json.enrollments;
      expect(listed).toEqual([expect.objectContaining({ id: enrollment.enrollmentId, state: 'created', template: 'ec-p256-auth-pin' })]);
      const audit = (await handle.admin('GET', '/admin/audit')).json.events as Array<{ kind: string }>;
      expect(audit.map((a) => a.kind)).toContain('enrollment-created');
      expect(Object.keys(listed[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'sessionId', 'state', 'template', 'usedAt', 'userEmail', 'userName']);
    });

    it('refuses-reused-invocation: the one-time token cannot start a second session', async () => {
      const enrollment = await newEnrollment();
      await handle.enroll(enrollment.invocationUrl, device(), PIN);
      const again = await handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(enrollment.invocationUrl) } });
      expect(again.statusCode).toBe(302);
      expect(again.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=invocation-used`);
      const sks = device();
      const err = await handle.enroll(enrollment.invocationUrl, sks, PIN).catch((x: unknown) => x);
      expect((err as { code?: string }).code).toBe('TRANSPORT');
      expect(await sks.enumerateKeys(0)).toBeUndefined();
      expect((await handle.admin('GET', '/admin/credentials')).json.credentials).toHaveLength(1);
    });

    it('replays-retried-init: a GET repeated before the first POST gets the same InvocationRequest', async () => {
      const enrollment = await newEnrollment();
      const get = () => handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(enrollment.invocationUrl) } });
      const response = await get();
      const bytes = await get();
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(bytes.body).toBe(response.body);
    });

    it('refuses-expired-invocation', async () => {
      let now = Date.now();
      await handle.app.close();
      handle = await harness(db, { clock: () => now });
      const enrollment = await newEnrollment();
      now = enrollment.expiresAt + 1;
      const response = await handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(enrollment.invocationUrl) } });
      expect(response.statusCode).toBe(302);
      expect(response.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=invocation-expired`);
    });

    it('replays-retried-post: every POST sent twice gets the identical answer and nothing is issued twice', async () => {
      const enrollment = await newEnrollment('rsa2048-sign');
      const pairs: Array<[unknown, unknown]> = [];
      const twice: KeyGen2Transport = {
        fetchInvocation: (inv) => handle.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          const transportReply = await handle.transport.postResponse(inv, text);
          const bytes = await handle.transport.postResponse(inv, text);
          pairs.push([transportReply, bytes]);
          return transportReply;
        },
      };
      const summary = await runEnrollment({ sks: device(), ui: ui('86429173'), transport: twice, invocationUrl: enrollment.invocationUrl });
      expect(summary.keys).toHaveLength(1);
      expect(pairs.length).toBeGreaterThanOrEqual(3);
      for (const [args, octets] of pairs) expect(octets).toEqual(args);
      expect((await handle.admin('GET', '/admin/credentials')).json.credentials).toHaveLength(1);
    });

    it('survives-a-lost-write: the retried key-creation step reuses the recorded issuance (one certificate per key)', async () => {
      const enrollment = await newEnrollment();
      let crashed = false;
      const crashing: KeyGen2Transport = {
        fetchInvocation: (inv) => handle.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          if (!crashed && text.includes('"KeyCreationResponse"')) {
            crashed = true;
            // The step runs (intent recorded, certificate signed and recorded) but its write is lost.
            const original = db.advanceSession.bind(db);
            db.advanceSession = async () => {
              db.advanceSession = original;
              throw new IssuerError('STORAGE', 'simulated crash before the step was written');
            };
            const lost = await handle.transport.postResponse(inv, text);
            expect(lost).toEqual({ kind: 'redirect', location: `${PUBLIC_URL}/keygen2/error?reason=internal-error` });
            const active = (await handle.admin('GET', '/admin/sessions')).json.sessions[0] as { status: string; createdAt: number; expiresAt: number };
            expect(active.status).toBe('active');
            expect(active.expiresAt).toBeGreaterThan(active.createdAt); // the admin view says when an abandoned session ends
          }
          return handle.transport.postResponse(inv, text);
        },
      };
      const summary = await runEnrollment({ sks: device(), ui: ui(PIN), transport: crashing, invocationUrl: enrollment.invocationUrl });
      expect(crashed).toBe(true);
      const creds = (await handle.admin('GET', '/admin/credentials')).json.credentials;
      expect(creds).toHaveLength(1);
      expect(Buffer.from(summary.keys[0].certificatePath[0]).equals(Buffer.from(new X509Certificate(creds[0].certificatePem).raw))).toBe(true);
    });

    it('resolves-cas-conflict: concurrent copies of each POST at two processes give one answer and one certificate', async () => {
      const other = await harness(await fixture.open(), { sealingKey: handle.sealingKey });
      try {
        const enrollment = await newEnrollment();
        const racing: KeyGen2Transport = {
          fetchInvocation: (inv) => handle.transport.fetchInvocation(inv),
          postResponse: async (inv, text) => {
            const [transportReply, bytes] = await Promise.all([handle.transport.postResponse(inv, text), other.transport.postResponse(inv, text)]);
            expect(bytes).toEqual(transportReply);
            return transportReply;
          },
        };
        const summary = await runEnrollment({ sks: device(), ui: ui(PIN), transport: racing, invocationUrl: enrollment.invocationUrl });
        expect(summary.keys).toHaveLength(1);
        const creds = (await handle.admin('GET', '/admin/credentials')).json.credentials;
        expect(creds).toHaveLength(1);
        expect(Buffer.from(summary.keys[0].certificatePath[0]).equals(Buffer.from(new X509Certificate(creds[0].certificatePem).raw))).toBe(true);
      } finally {
        await other.app.close();
      }
    });

    it('refuses-untrusted-device: 302 to an error page that says why, session failed, nothing issued', async () => {
      await handle.app.close();
      handle = await harness(db, {
        policy: { trustRoots: [(await testCa()).root.certificate], allowPrivacy: false, allowedAlgorithms: handle.service.policy.allowedAlgorithms },
      });
      const enrollment = await newEnrollment();
      const redirects: string[] = [];
      const watching: KeyGen2Transport = {
        fetchInvocation: (inv) => handle.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          const transportReply = await handle.transport.postResponse(inv, text);
          if (transportReply.kind === 'redirect') redirects.push(transportReply.location);
          return transportReply;
        },
      };
      const sks = device();
      const err = await runEnrollment({ sks, ui: ui(PIN), transport: watching, invocationUrl: enrollment.invocationUrl }).catch((x: unknown) => x);
      expect((err as { code?: string }).code).toBe('TRANSPORT');
      expect(redirects).toEqual([`${PUBLIC_URL}/keygen2/error?reason=untrusted-device`]);
      const page = await handle.app.inject({ method: 'GET', url: '/keygen2/error?reason=untrusted-device' });
      expect(page.body).toMatch(/does not chain to a manufacturer this issuer trusts/);
      const sessions = (await handle.admin('GET', '/admin/sessions')).json.sessions;
      expect(sessions).toEqual([expect.objectContaining({ status: 'failed', failureReason: 'untrusted-device' })]);
      expect((await handle.admin('GET', '/admin/credentials')).json.credentials).toEqual([]);
      expect(await sks.enumerateKeys(0)).toBeUndefined();
    });

    it('revokes-certificates-of-a-failed-session: a bad finalization attestation leaves nothing valid', async () => {
      const enrollment = await newEnrollment();
      const tampering: KeyGen2Transport = {
        fetchInvocation: (inv) => handle.transport.fetchInvocation(inv),
        postResponse: (inv, text) => {
          if (!text.includes('"ProvisioningFinalizationResponse"')) return handle.transport.postResponse(inv, text);
          const message = JSON.parse(text) as { attestation: string };
          const bad = Buffer.from(message.attestation, 'base64url');
          bad[0] = bad[0] ^ 1;
          return handle.transport.postResponse(inv, JSON.stringify({ ...message, attestation: bad.toString('base64url') }));
        },
      };
      // The final answer is a 302 either way: the device (which already closed its SKS session) is sent to the error page.
      const summary = await runEnrollment({ sks: device(), ui: ui(PIN), transport: tampering, invocationUrl: enrollment.invocationUrl });
      expect(summary.redirectUrl).toBe(`${PUBLIC_URL}/keygen2/error?reason=verification-failed`);
      expect((await handle.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'failed', failureReason: 'verification-failed' });
      expect((await handle.admin('GET', '/admin/credentials')).json.credentials.map((c: { status: string }) => c.status)).toEqual(['revoked']);
    });

    it('refuses-privacy-when-not-allowed', async () => {
      const result = await handle.admin('POST', '/admin/enrollments', { template: 'ec-p256-private', userName: 'Anon' });
      expect(result.status).toBe(403);
      expect(result.json.error.code).toBe('POLICY');
    });

    it('accepts-privacy-when-allowed, and refuses it at init once the policy forbids it', async () => {
      await handle.app.close();
      const policy = handle.service.policy;
      handle = await harness(db, { policy: { ...policy, allowPrivacy: true } });
      const ok = await newEnrollment('ec-p256-private', 'Anon One');
      const summary = await handle.enroll(ok.invocationUrl, device());
      expect(summary.keys).toHaveLength(1);
      expect((await handle.admin('GET', '/admin/credentials')).json.credentials).toEqual([expect.objectContaining({ status: 'issued', deviceId: null })]);
      const later = await newEnrollment('ec-p256-private', 'Anon Two');
      const strict = await harness(db, { sealingKey: handle.sealingKey, policy: { ...policy, allowPrivacy: false } });
      try {
        const response = await strict.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(later.invocationUrl) } });
        expect(response.statusCode).toBe(302);
        expect(response.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=privacy-not-allowed`);
      } finally {
        await strict.app.close();
      }
    });

    it('refuses-disallowed-key-algorithm: 302 to the error page, nothing issued', async () => {
      await handle.app.close();
      handle = await harness(db, {
        policy: { ...handle.service.policy, allowedAlgorithms: handle.service.policy.allowedAlgorithms.filter((a) => !a.endsWith('p256')) },
      });
      const enrollment = await newEnrollment();
      const err = await handle.enroll(enrollment.invocationUrl, device(), PIN).catch((x: unknown) => x);
      expect((err as { code?: string }).code).toBe('TRANSPORT');
      expect((await handle.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'failed', failureReason: 'algorithm-not-allowed' });
      expect((await handle.admin('GET', '/admin/credentials')).json.credentials).toEqual([]);
    });

    it('refuses-bad-post: wrong content type and oversize body end in the error page', async () => {
      const enrollment = await newEnrollment();
      await handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(enrollment.invocationUrl) } });
      const wrongType = await handle.app.inject({
        method: 'POST',
        url: '/keygen2',
        headers: { cookie: cookieOf(enrollment.invocationUrl), 'content-type': 'text/plain' },
        payload: '{}',
      });
      expect(wrongType.statusCode).toBe(302);
      expect(wrongType.headers['location']).toMatch(/reason=bad-request$/);
      const big = await handle.app.inject({
        method: 'POST',
        url: '/keygen2',
        headers: { cookie: cookieOf(enrollment.invocationUrl), 'content-type': 'application/json' },
        payload: `"${'x'.repeat(handle.service.limits.bodyBytes + 10)}"`,
      });
      expect(big.statusCode).toBe(302);
      const garbage = await handle.app.inject({
        method: 'POST',
        url: '/keygen2',
        headers: { cookie: cookieOf(enrollment.invocationUrl), 'content-type': 'application/json' },
        payload: '{"a":1,"a":2}',
      });
      expect(garbage.statusCode).toBe(302);
      expect(garbage.headers['location']).toMatch(/reason=protocol-error$/);
      expect((await handle.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'failed', failureReason: 'protocol-error' });
    });

    it('refuses-invalid-utf8-post: a body with 0xff (or a byte-order mark) is a bad request, never U+FFFD', async () => {
      const enrollment = await newEnrollment();
      await handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(enrollment.invocationUrl) } });
      for (const payload of [Buffer.from([...Buffer.from('{"a":"'), 0xff, ...Buffer.from('"}')]), Buffer.from('\ufeff{}', 'utf8')]) {
        const response = await handle.app.inject({
          method: 'POST',
          url: '/keygen2',
          headers: { cookie: cookieOf(enrollment.invocationUrl), 'content-type': 'application/json' },
          payload,
        });
        expect(response.statusCode).toBe(302);
        expect(response.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=bad-request`);
      }
      // Refused before the state machine saw it, as an oversize body is: the session is not failed by it.
      expect((await handle.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'active' });
    });

    it('lists-revoked-credential and puts it on the CRL', async () => {
      const enrollment = await newEnrollment();
      await handle.enroll(enrollment.invocationUrl, device(), PIN);
      const [item] = (await handle.admin('GET', '/admin/credentials')).json.credentials;
      const result = await handle.admin('POST', `/admin/credentials/${item.fingerprint}/revoke`, { reason: 'lost device' });
      expect(result.status).toBe(200);
      expect(result.json.status).toBe('revoked');
      expect((await handle.admin('GET', '/admin/credentials?status=revoked')).json.credentials.map((x: { fingerprint: string }) => x.fingerprint)).toEqual([
        item.fingerprint,
      ]);
      const crl = await handle.app.inject({ method: 'GET', url: '/crl' });
      expect(crl.headers['content-type']).toBe('application/pkix-crl');
      writeFileSync(join(tmp, 'crl.der'), crl.rawPayload);
      const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(tmp, 'crl.der'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text.toUpperCase()).toContain(item.serial.toUpperCase().replace(/^0+/, ''));
    });

    it('serves-cached-crl: concurrent and repeated requests share one signed CRL until a revocation or a day passes', async () => {
      let now = Date.now();
      await handle.app.close();
      handle = await harness(db, { clock: () => now });
      let builds = 0;
      const nextCrl = db.nextCrl.bind(db);
      db.nextCrl = (caId, atLeast) => {
        builds += 1;
        return nextCrl(caId, atLeast);
      };
      const get = async () => (await handle.app.inject({ method: 'GET', url: '/crl' })).rawPayload;
      const [first, ...others] = await Promise.all(Array.from({ length: 20 }, get));
      for (const other of others) expect(other.equals(first)).toBe(true);
      expect((await get()).equals(first)).toBe(true);
      expect(builds).toBe(1);

      await handle.enroll((await newEnrollment()).invocationUrl, device(), PIN);
      expect((await get()).equals(first), 'an issued credential does not change the CRL').toBe(true);
      const [item] = (await handle.admin('GET', '/admin/credentials')).json.credentials;
      await handle.admin('POST', `/admin/credentials/${item.fingerprint}/revoke`, {});
      const second = await get();
      expect(builds).toBe(2);
      expect(readCrl(second).number).toBeGreaterThan(readCrl(first).number);
      expect(readCrl(second).text.toUpperCase()).toContain(item.serial.toUpperCase().replace(/^0+/, ''));
      expect((await get()).equals(second)).toBe(true);

      // Nothing changed for a day: signed again, so a CRL served never nears its nextUpdate.
      now += 86_400_000;
      const third = await get();
      expect(builds).toBe(3);
      expect(readCrl(third).number).toBeGreaterThan(readCrl(second).number);
    });

    it('numbers-crls-strictly-increasing: two processes on one database within one second never share a CRL number', async () => {
      const now = Math.floor(Date.now() / 1000) * 1000 + 100;
      await handle.app.close();
      handle = await harness(db, { clock: () => now });
      const other = await harness(await fixture.open(), { clock: () => now, sealingKey: handle.sealingKey });
      try {
        await handle.enroll((await newEnrollment()).invocationUrl, device(), PIN);
        const crlOf = async (h: Harness) => readCrl((await h.app.inject({ method: 'GET', url: '/crl' })).rawPayload).number;
        const fromFirst = await crlOf(handle);
        const fromOther = await crlOf(other);
        const [item] = (await handle.admin('GET', '/admin/credentials')).json.credentials;
        await handle.admin('POST', `/admin/credentials/${item.fingerprint}/revoke`, {});
        const afterRevocation = await crlOf(handle);
        expect(fromOther).toBeGreaterThan(fromFirst);
        expect(afterRevocation).toBeGreaterThan(fromOther);
        expect(fromFirst).toBeGreaterThanOrEqual(BigInt(Math.floor(now / 1000)));
      } finally {
        await other.app.close();
      }
    });

    it('expires-abandoned-session: a device gone after key creation or discovery leaves no valid certificate and no stuck operation', async () => {
      let now = Date.now();
      await handle.app.close();
      handle = await harness(db, { clock: () => now });
      const sks = device();
      await handle.enroll((await newEnrollment('ec-p256-auth', 'Kept Key')).invocationUrl, sks);
      const [kept] = (await handle.admin('GET', '/admin/credentials')).json.credentials;
      expect((await handle.admin('POST', `/admin/credentials/${kept.fingerprint}/operations`, { kind: 'delete' })).status).toBe(201);
      /** The device goes away once the message holding `marker` is posted: it never sends anything again. */
      const dropping = (marker: string): KeyGen2Transport => ({
        fetchInvocation: (inv) => handle.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          const answer = await handle.transport.postResponse(inv, text);
          if (text.includes(marker)) throw new Error('the device went away');
          return answer;
        },
      });
      const dropped = await newEnrollment('ec-p256-auth', 'Dropped Key');
      const keyCreation = dropping('"KeyCreationResponse"');
      await expect(runEnrollment({ sks: device(), ui: ui(), transport: keyCreation, invocationUrl: dropped.invocationUrl })).rejects.toMatchObject({
        code: 'TRANSPORT',
      });
      const management = (await handle.admin('POST', '/admin/management-sessions', { deviceId: kept.deviceId })).json;
      const discovery = dropping('"CredentialDiscoveryResponse"');
      await expect(runEnrollment({ sks, ui: ui(), transport: discovery, invocationUrl: management.invocationUrl })).rejects.toMatchObject({
        code: 'TRANSPORT',
      });

      const droppedCredential = () =>
        handle.service.listCredentials().then((all) => all.find((c) => c.status !== 'deleted' && c.fingerprint !== kept.fingerprint)!);
      expect((await droppedCredential()).status).toBe('issued');
      expect((await handle.service.listOperations()).map((o) => o.status)).toEqual(['running']);
      expect((await handle.service.listSessions({ status: 'active' })).map((x) => x.expiresAt)).toEqual([expect.any(Number), expect.any(Number)]);

      now += handle.service.limits.sessionLifeTimeSeconds * 1000 + 1000;
      expect(await handle.service.expireSessions()).toHaveLength(2);
      expect((await handle.admin('GET', '/admin/sessions?status=active')).json.sessions).toEqual([]);
      const failed = (await handle.admin('GET', '/admin/sessions?status=failed')).json.sessions;
      expect(failed.map((x) => x['failureReason'])).toEqual(['session-expired', 'session-expired']);
      const reopened = await handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(management.invocationUrl) } });
      expect(reopened.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=invocation-expired`);
      const revoked = await droppedCredential();
      expect(revoked.status).toBe('revoked');
      expect((await db.getCredential(kept.fingerprint)).status).toBe('issued');
      expect((await handle.admin('GET', '/admin/operations')).json.operations).toEqual([expect.objectContaining({ kind: 'delete', status: 'pending' })]);
      const crl = readCrl((await handle.app.inject({ method: 'GET', url: '/crl' })).rawPayload);
      expect(crl.text.toUpperCase()).toContain(revoked.serial.toUpperCase().replace(/^0+/, ''));
      // The operation is claimed again by the device's next management session, which now completes.
      const next = (await handle.admin('POST', '/admin/management-sessions', { deviceId: kept.deviceId })).json;
      expect(next.pendingOperations).toBe(1);
      expect((await handle.enroll(next.invocationUrl, sks)).redirectUrl).toBe(`${PUBLIC_URL}/keygen2/done`);
      expect((await handle.admin('GET', '/admin/operations')).json.operations).toEqual([expect.objectContaining({ kind: 'delete', status: 'done' })]);
    });

    it('sweeps-abandoned-sessions before admin listings and on a timer that stops at close', async () => {
      let now = Date.now();
      await handle.app.close();
      handle = await harness(db, { clock: () => now });
      const init = async (): Promise<string> => {
        const enrollment = await newEnrollment();
        const cookie = cookieOf(enrollment.invocationUrl);
        await handle.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie } });
        return cookie;
      };
      const cookie = await init();
      now += handle.service.limits.sessionLifeTimeSeconds * 1000 + 1000;
      expect((await handle.admin('GET', '/admin/sessions')).json.sessions).toEqual([
        expect.objectContaining({ status: 'failed', failureReason: 'session-expired' }),
      ]);
      // A device that comes back after the sweep is told its session expired, not merely that it ended.
      const late = await handle.app.inject({ method: 'POST', url: '/keygen2', headers: { cookie, 'content-type': 'application/json' }, payload: '{}' });
      expect(late.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=session-expired`);

      await init();
      let sweeps = 0;
      const expire = handle.service.expireSessions.bind(handle.service);
      handle.service.expireSessions = (at?: number) => {
        sweeps += 1;
        return expire(at);
      };
      const timed = buildIssuerService({ service: handle.service, logStream: { write: () => undefined }, closeDatabase: false, sweepIntervalMs: 10 });
      await timed.ready();
      now += handle.service.limits.sessionLifeTimeSeconds * 1000 + 1000;
      for (let i = 0; i < 200 && (await db.listSessions({ status: 'active' })).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await db.listSessions({ status: 'active' })).toEqual([]);
      await timed.close();
      const after = sweeps;
      await new Promise((r) => setTimeout(r, 50));
      expect(sweeps).toBe(after);
    });

    it('applies-scheduled-operations at the next management session (delete, unlock, update; after a KMK roll-over)', async () => {
      const sks = device();
      const enrollmentSummary = await handle.enroll((await newEnrollment('ec-p256-auth-pin', 'Unlock Me')).invocationUrl, sks, PIN);
      const bytes = await handle.enroll((await newEnrollment('rsa2048-sign', 'Update Me')).invocationUrl, sks, '86429173');
      const item = await handle.enroll((await newEnrollment('ec-p256-auth', 'Delete Me')).invocationUrl, sks, PIN);
      const creds = (await handle.admin('GET', '/admin/credentials')).json.credentials as Array<{ fingerprint: string; subject: string; deviceId: string }>;
      const fp = (name: string) => creds.find((x) => x.subject.includes(name))!.fingerprint;
      // Lock A with wrong PINs.
      const keyA = enrollmentSummary.keys[0].keyHandle;
      for (let i = 0; i < 3; i++) {
        await sks.signData({ keyHandle: keyA, algorithm: ECDSA_SHA256, authorization: Buffer.from('0000'), data: Buffer.alloc(32) }).catch(() => undefined);
      }
      expect((await sks.getKeyProtectionInfo(keyA)).pinErrorCount).toBe(3);

      expect((await handle.admin('POST', '/admin/kmk/roll')).status).toBe(200);
      for (const [kind, name] of [
        ['unlock', 'Unlock Me'],
        ['update', 'Update Me'],
        ['delete', 'Delete Me'],
      ] as const) {
        const result = await handle.admin('POST', `/admin/credentials/${fp(name)}/operations`, { kind });
        expect(result.status).toBe(201);
        expect(result.json.status).toBe('pending');
      }
      const message = await handle.admin('POST', '/admin/management-sessions', { deviceId: creds[0].deviceId });
      expect(message.status).toBe(201);
      expect(message.json.pendingOperations).toBe(3);
      const summary = await handle.enroll(message.json.invocationUrl, sks);
      expect(summary.redirectUrl).toBe(`${PUBLIC_URL}/keygen2/done`);

      const ops = (await handle.admin('GET', '/admin/operations')).json.operations as Array<{ kind: string; status: string }>;
      expect(ops.map((o) => [o.kind, o.status]).sort()).toEqual([
        ['delete', 'done'],
        ['unlock', 'done'],
        ['update', 'done'],
      ]);
      expect((await sks.getKeyProtectionInfo(keyA)).pinErrorCount).toBe(0);
      await expect(sks.getKeyAttributes(item.keys[0].keyHandle)).rejects.toThrow();
      const after = (await handle.admin('GET', '/admin/credentials')).json.credentials as Array<{
        fingerprint: string;
        subject: string;
        status: string;
        keyId: string;
      }>;
      expect(after.find((x) => x.fingerprint === fp('Delete Me'))!.status).toBe('deleted');
      expect(after.find((x) => x.fingerprint === fp('Update Me'))!.status).toBe('deleted');
      const replacement = after.find((x) => x.keyId === 'Update.1')!;
      expect(replacement).toMatchObject({ status: 'issued' });
      expect(replacement.subject).toContain('Update Me');
      const bNow = await sks.getKeyAttributes(bytes.keys[0].keyHandle);
      expect(new X509Certificate(bNow.certificatePath[0]).fingerprint256.replace(/:/g, '').toLowerCase()).toBe(replacement.fingerprint);
    });

    it('logs-no-secrets: no PIN, token, cookie or admin token in any log line', async () => {
      const enrollment = await newEnrollment();
      await handle.enroll(enrollment.invocationUrl, device(), PIN);
      await handle.app.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: 'Bearer wrong-token-value-123' } });
      const all = handle.logs.join('');
      expect(handle.logs.length).toBeGreaterThan(5);
      const cookie = cookieOf(enrollment.invocationUrl);
      const token = cookie.slice(cookie.lastIndexOf('.') + 1);
      const sealing = [
        Buffer.from(handle.sealingKey).toString('base64url'),
        Buffer.from(handle.sealingKey).toString('base64'),
        Buffer.from(handle.sealingKey).toString('hex'),
      ];
      for (const secret of [PIN, token, ADMIN_TOKEN, 'wrong-token-value-123', cookie, ...sealing]) expect(all).not.toContain(secret);
      expect(all).toContain('keygen2 step');
    });
  });
}
