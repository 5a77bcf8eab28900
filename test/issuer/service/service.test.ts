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
import { ADMIN_TOKEN, DEVICE_ROOT, device, harness, PUBLIC_URL, testCa, ui, type Harness } from './harness.js';

const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';
const PIN = '8642917';
const tmp = mkdtempSync(join(tmpdir(), 'airtight-svc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pem = (der: Uint8Array): string => new X509Certificate(der).toString();
const cookieOf = (invocationUrl: string): string => parseInvocationUrl(invocationUrl).cookie!;

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
    let h: Harness;
    beforeEach(async () => {
      fixture = await kind.create();
      db = await fixture.open();
      h = await harness(db);
    });
    afterEach(async () => {
      await h.app.close();
      await fixture.dispose();
    });

    const newEnrollment = async (template = 'ec-p256-auth-pin', userName = 'Alice Example') => {
      const r = await h.admin('POST', '/admin/enrollments', { template, userName, userEmail: 'alice@example.com' });
      expect(r.status).toBe(201);
      return r.json as { enrollmentId: string; invocationUrl: string; command: string; expiresAt: number };
    };

    it('enrolls-with-our-client: certificate chains to the issuer CA and parses with openssl', async () => {
      const e = await newEnrollment();
      expect(e.command).toBe(`airtight enroll '${e.invocationUrl}'`);
      const sks = device();
      const summary = await h.enroll(e.invocationUrl, sks, PIN);
      expect(summary.redirectUrl).toBe(`${PUBLIC_URL}/keygen2/done`);
      expect(summary.keys).toHaveLength(1);
      expect(summary.keys[0]!.certificateSubject).toMatch(/CN=Alice Example/);

      const creds = (await h.admin('GET', '/admin/credentials')).json.credentials;
      expect(creds).toHaveLength(1);
      expect(creds[0]).toMatchObject({ status: 'issued', keyId: 'Key.1' });
      expect(creds[0].kmkId).toMatch(/^KMK\./);
      const sessions = (await h.admin('GET', '/admin/sessions')).json.sessions;
      expect(sessions).toEqual([expect.objectContaining({ kind: 'enrollment', status: 'done', enrollmentId: e.enrollmentId })]);
      expect(sessions[0]).not.toHaveProperty('state');
      const devices = (await h.admin('GET', '/admin/devices')).json.devices;
      expect(devices).toEqual([expect.objectContaining({ kind: 'certificate', id: creds[0].deviceId })]);

      const ca = await testCa();
      writeFileSync(join(tmp, 'root.pem'), pem(ca.root.certificate));
      writeFileSync(join(tmp, 'issuing.pem'), pem(ca.issuing.certificate));
      writeFileSync(join(tmp, 'ee.pem'), creds[0].certificatePem);
      const text = execFileSync('openssl', ['x509', '-in', join(tmp, 'ee.pem'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toMatch(/TLS Web Client Authentication/);
      const verified = execFileSync('openssl', ['verify', '-CAfile', join(tmp, 'root.pem'), '-untrusted', join(tmp, 'issuing.pem'), join(tmp, 'ee.pem')], { encoding: 'utf8' });
      expect(verified).toMatch(/: OK/);
      // The stored certificate is the one the SKS holds.
      expect(Buffer.from(summary.keys[0]!.certificatePath[0]!).equals(Buffer.from(new X509Certificate(creds[0].certificatePem).raw))).toBe(true);
    });

    it('admin-requires-bearer-token: none or wrong is 401, disabled without a configured token', async () => {
      expect((await h.app.inject({ method: 'GET', url: '/admin/sessions' })).statusCode).toBe(401);
      expect((await h.app.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } })).statusCode).toBe(401);
      expect((await h.app.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: ADMIN_TOKEN } })).statusCode).toBe(401);
      expect((await h.admin('GET', '/admin/sessions')).status).toBe(200);
      const off = buildIssuerService({ service: h.service, logStream: { write: () => undefined }, closeDatabase: false });
      const r = await off.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(r.statusCode).toBe(401);
      await off.close();
    });

    it('admin-refuses-unlisted-input: unknown member is 400, unknown template 404', async () => {
      expect((await h.admin('POST', '/admin/enrollments', { template: 'ec-p256-auth-pin', userName: 'A', isAdmin: true })).status).toBe(400);
      const r = await h.admin('POST', '/admin/enrollments', { template: 'nope', userName: 'A' });
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe('NOT_FOUND');
      const templates = (await h.admin('GET', '/admin/templates')).json.templates as { name: string }[];
      expect(templates.map((t) => t.name)).toEqual(expect.arrayContaining(['ec-p256-auth-pin', 'rsa2048-sign']));
      const e = await newEnrollment();
      const listed = (await h.admin('GET', '/admin/enrollments')).json.enrollments;
      expect(listed).toEqual([expect.objectContaining({ id: e.enrollmentId, state: 'created', template: 'ec-p256-auth-pin' })]);
      const audit = (await h.admin('GET', '/admin/audit')).json.events as { kind: string }[];
      expect(audit.map((a) => a.kind)).toContain('enrollment-created');
      expect(Object.keys(listed[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'sessionId', 'state', 'template', 'usedAt', 'userEmail', 'userName']);
    });

    it('refuses-reused-invocation: the one-time token cannot start a second session', async () => {
      const e = await newEnrollment();
      await h.enroll(e.invocationUrl, device(), PIN);
      const again = await h.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(e.invocationUrl) } });
      expect(again.statusCode).toBe(302);
      expect(again.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=invocation-used`);
      const sks = device();
      const err = await h.enroll(e.invocationUrl, sks, PIN).catch((x: unknown) => x);
      expect((err as { code?: string }).code).toBe('TRANSPORT');
      expect(await sks.enumerateKeys(0)).toBeUndefined();
      expect((await h.admin('GET', '/admin/credentials')).json.credentials).toHaveLength(1);
    });

    it('replays-retried-init: a GET repeated before the first POST gets the same InvocationRequest', async () => {
      const e = await newEnrollment();
      const get = () => h.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(e.invocationUrl) } });
      const a = await get();
      const b = await get();
      expect(a.statusCode).toBe(200);
      expect(a.headers['content-type']).toMatch(/^application\/json/);
      expect(b.body).toBe(a.body);
    });

    it('refuses-expired-invocation', async () => {
      let now = Date.now();
      await h.app.close();
      h = await harness(db, { clock: () => now });
      const e = await newEnrollment();
      now = e.expiresAt + 1;
      const r = await h.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(e.invocationUrl) } });
      expect(r.statusCode).toBe(302);
      expect(r.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=invocation-expired`);
    });

    it('replays-retried-post: every POST sent twice gets the identical answer and nothing is issued twice', async () => {
      const e = await newEnrollment('rsa2048-sign');
      const pairs: [unknown, unknown][] = [];
      const twice: KeyGen2Transport = {
        fetchInvocation: (inv) => h.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          const a = await h.transport.postResponse(inv, text);
          const b = await h.transport.postResponse(inv, text);
          pairs.push([a, b]);
          return a;
        },
      };
      const summary = await runEnrollment({ sks: device(), ui: ui('86429173'), transport: twice, invocationUrl: e.invocationUrl });
      expect(summary.keys).toHaveLength(1);
      expect(pairs.length).toBeGreaterThanOrEqual(3);
      for (const [a, b] of pairs) expect(b).toEqual(a);
      expect((await h.admin('GET', '/admin/credentials')).json.credentials).toHaveLength(1);
    });

    it('survives-a-lost-write: the retried key-creation step reuses the recorded issuance (one certificate per key)', async () => {
      const e = await newEnrollment();
      let crashed = false;
      const crashing: KeyGen2Transport = {
        fetchInvocation: (inv) => h.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          if (!crashed && text.includes('"KeyCreationResponse"')) {
            crashed = true;
            // The step runs (intent recorded, certificate signed and recorded) but its write is lost.
            const original = db.advanceSession;
            db.advanceSession = async () => {
              db.advanceSession = original;
              throw new IssuerError('STORAGE', 'simulated crash before the step was written');
            };
            const lost = await h.transport.postResponse(inv, text);
            expect(lost).toEqual({ kind: 'redirect', location: `${PUBLIC_URL}/keygen2/error?reason=internal-error` });
            expect((await h.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'active' });
          }
          return h.transport.postResponse(inv, text);
        },
      };
      const summary = await runEnrollment({ sks: device(), ui: ui(PIN), transport: crashing, invocationUrl: e.invocationUrl });
      expect(crashed).toBe(true);
      const creds = (await h.admin('GET', '/admin/credentials')).json.credentials;
      expect(creds).toHaveLength(1);
      expect(Buffer.from(summary.keys[0]!.certificatePath[0]!).equals(Buffer.from(new X509Certificate(creds[0].certificatePem).raw))).toBe(true);
    });

    it('resolves-cas-conflict: concurrent copies of each POST at two processes give one answer and one certificate', async () => {
      const other = await harness(await fixture.open(), { sealingKey: h.sealingKey });
      try {
        const e = await newEnrollment();
        const racing: KeyGen2Transport = {
          fetchInvocation: (inv) => h.transport.fetchInvocation(inv),
          postResponse: async (inv, text) => {
            const [a, b] = await Promise.all([h.transport.postResponse(inv, text), other.transport.postResponse(inv, text)]);
            expect(b).toEqual(a);
            return a;
          },
        };
        const summary = await runEnrollment({ sks: device(), ui: ui(PIN), transport: racing, invocationUrl: e.invocationUrl });
        expect(summary.keys).toHaveLength(1);
        const creds = (await h.admin('GET', '/admin/credentials')).json.credentials;
        expect(creds).toHaveLength(1);
        expect(Buffer.from(summary.keys[0]!.certificatePath[0]!).equals(Buffer.from(new X509Certificate(creds[0].certificatePem).raw))).toBe(true);
      } finally {
        await other.app.close();
      }
    });

    it('refuses-untrusted-device: 302 to an error page that says why, session failed, nothing issued', async () => {
      await h.app.close();
      h = await harness(db, { policy: { trustRoots: [(await testCa()).root.certificate], allowPrivacy: false, allowedAlgorithms: h.service.policy.allowedAlgorithms } });
      const e = await newEnrollment();
      const redirects: string[] = [];
      const watching: KeyGen2Transport = {
        fetchInvocation: (inv) => h.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          const r = await h.transport.postResponse(inv, text);
          if (r.kind === 'redirect') redirects.push(r.location);
          return r;
        },
      };
      const sks = device();
      const err = await runEnrollment({ sks, ui: ui(PIN), transport: watching, invocationUrl: e.invocationUrl }).catch((x: unknown) => x);
      expect((err as { code?: string }).code).toBe('TRANSPORT');
      expect(redirects).toEqual([`${PUBLIC_URL}/keygen2/error?reason=untrusted-device`]);
      const page = await h.app.inject({ method: 'GET', url: '/keygen2/error?reason=untrusted-device' });
      expect(page.body).toMatch(/does not chain to a manufacturer this issuer trusts/);
      const sessions = (await h.admin('GET', '/admin/sessions')).json.sessions;
      expect(sessions).toEqual([expect.objectContaining({ status: 'failed', failureReason: 'untrusted-device' })]);
      expect((await h.admin('GET', '/admin/credentials')).json.credentials).toEqual([]);
      expect(await sks.enumerateKeys(0)).toBeUndefined();
      void DEVICE_ROOT;
    });

    it('revokes-certificates-of-a-failed-session: a bad finalization attestation leaves nothing valid', async () => {
      const e = await newEnrollment();
      const tampering: KeyGen2Transport = {
        fetchInvocation: (inv) => h.transport.fetchInvocation(inv),
        postResponse: (inv, text) => {
          if (!text.includes('"ProvisioningFinalizationResponse"')) return h.transport.postResponse(inv, text);
          const m = JSON.parse(text) as { attestation: string };
          const bad = Buffer.from(m.attestation, 'base64url');
          bad[0] = bad[0]! ^ 1;
          return h.transport.postResponse(inv, JSON.stringify({ ...m, attestation: bad.toString('base64url') }));
        },
      };
      // The final answer is a 302 either way: the device (which already closed its SKS session) is sent to the error page.
      const summary = await runEnrollment({ sks: device(), ui: ui(PIN), transport: tampering, invocationUrl: e.invocationUrl });
      expect(summary.redirectUrl).toBe(`${PUBLIC_URL}/keygen2/error?reason=verification-failed`);
      expect((await h.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'failed', failureReason: 'verification-failed' });
      expect((await h.admin('GET', '/admin/credentials')).json.credentials.map((c: { status: string }) => c.status)).toEqual(['revoked']);
    });

    it('refuses-privacy-when-not-allowed', async () => {
      const r = await h.admin('POST', '/admin/enrollments', { template: 'ec-p256-private', userName: 'Anon' });
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('POLICY');
    });

    it('accepts-privacy-when-allowed, and refuses it at init once the policy forbids it', async () => {
      await h.app.close();
      const policy = h.service.policy;
      h = await harness(db, { policy: { ...policy, allowPrivacy: true } });
      const ok = await newEnrollment('ec-p256-private', 'Anon One');
      const summary = await h.enroll(ok.invocationUrl, device());
      expect(summary.keys).toHaveLength(1);
      expect((await h.admin('GET', '/admin/credentials')).json.credentials).toEqual([expect.objectContaining({ status: 'issued', deviceId: null })]);
      const later = await newEnrollment('ec-p256-private', 'Anon Two');
      const strict = await harness(db, { sealingKey: h.sealingKey, policy: { ...policy, allowPrivacy: false } });
      try {
        const r = await strict.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(later.invocationUrl) } });
        expect(r.statusCode).toBe(302);
        expect(r.headers['location']).toBe(`${PUBLIC_URL}/keygen2/error?reason=privacy-not-allowed`);
      } finally {
        await strict.app.close();
      }
    });

    it('refuses-disallowed-key-algorithm: 302 to the error page, nothing issued', async () => {
      await h.app.close();
      h = await harness(db, { policy: { ...h.service.policy, allowedAlgorithms: h.service.policy.allowedAlgorithms.filter((a) => !a.endsWith('p256')) } });
      const e = await newEnrollment();
      const err = await h.enroll(e.invocationUrl, device(), PIN).catch((x: unknown) => x);
      expect((err as { code?: string }).code).toBe('TRANSPORT');
      expect((await h.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'failed', failureReason: 'algorithm-not-allowed' });
      expect((await h.admin('GET', '/admin/credentials')).json.credentials).toEqual([]);
    });

    it('refuses-bad-post: wrong content type and oversize body end in the error page', async () => {
      const e = await newEnrollment();
      await h.app.inject({ method: 'GET', url: '/keygen2/init', headers: { cookie: cookieOf(e.invocationUrl) } });
      const wrongType = await h.app.inject({ method: 'POST', url: '/keygen2', headers: { cookie: cookieOf(e.invocationUrl), 'content-type': 'text/plain' }, payload: '{}' });
      expect(wrongType.statusCode).toBe(302);
      expect(wrongType.headers['location']).toMatch(/reason=bad-request$/);
      const big = await h.app.inject({
        method: 'POST',
        url: '/keygen2',
        headers: { cookie: cookieOf(e.invocationUrl), 'content-type': 'application/json' },
        payload: `"${'x'.repeat(h.service.limits.bodyBytes + 10)}"`,
      });
      expect(big.statusCode).toBe(302);
      const garbage = await h.app.inject({ method: 'POST', url: '/keygen2', headers: { cookie: cookieOf(e.invocationUrl), 'content-type': 'application/json' }, payload: '{"a":1,"a":2}' });
      expect(garbage.statusCode).toBe(302);
      expect(garbage.headers['location']).toMatch(/reason=protocol-error$/);
      expect((await h.admin('GET', '/admin/sessions')).json.sessions[0]).toMatchObject({ status: 'failed', failureReason: 'protocol-error' });
    });

    it('lists-revoked-credential and puts it on the CRL', async () => {
      const e = await newEnrollment();
      await h.enroll(e.invocationUrl, device(), PIN);
      const [c] = (await h.admin('GET', '/admin/credentials')).json.credentials;
      const r = await h.admin('POST', `/admin/credentials/${c.fingerprint}/revoke`, { reason: 'lost device' });
      expect(r.status).toBe(200);
      expect(r.json.status).toBe('revoked');
      expect((await h.admin('GET', '/admin/credentials?status=revoked')).json.credentials.map((x: { fingerprint: string }) => x.fingerprint)).toEqual([c.fingerprint]);
      const crl = await h.app.inject({ method: 'GET', url: '/crl' });
      expect(crl.headers['content-type']).toBe('application/pkix-crl');
      writeFileSync(join(tmp, 'crl.der'), crl.rawPayload);
      const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', join(tmp, 'crl.der'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text.toUpperCase()).toContain(c.serial.toUpperCase().replace(/^0+/, ''));
    });

    it('applies-scheduled-operations at the next management session (delete, unlock, update; after a KMK roll-over)', async () => {
      const sks = device();
      const a = await h.enroll((await newEnrollment('ec-p256-auth-pin', 'Unlock Me')).invocationUrl, sks, PIN);
      const b = await h.enroll((await newEnrollment('rsa2048-sign', 'Update Me')).invocationUrl, sks, '86429173');
      const c = await h.enroll((await newEnrollment('ec-p256-auth', 'Delete Me')).invocationUrl, sks, PIN);
      const creds = (await h.admin('GET', '/admin/credentials')).json.credentials as { fingerprint: string; subject: string; deviceId: string }[];
      const fp = (name: string) => creds.find((x) => x.subject.includes(name))!.fingerprint;
      // Lock A with wrong PINs.
      const keyA = a.keys[0]!.keyHandle;
      for (let i = 0; i < 3; i++) {
        await sks.signData({ keyHandle: keyA, algorithm: ECDSA_SHA256, authorization: Buffer.from('0000'), data: Buffer.alloc(32) }).catch(() => undefined);
      }
      expect((await sks.getKeyProtectionInfo(keyA)).pinErrorCount).toBe(3);

      expect((await h.admin('POST', '/admin/kmk/roll')).status).toBe(200);
      for (const [kind, name] of [['unlock', 'Unlock Me'], ['update', 'Update Me'], ['delete', 'Delete Me']] as const) {
        const r = await h.admin('POST', `/admin/credentials/${fp(name)}/operations`, { kind });
        expect(r.status).toBe(201);
        expect(r.json.status).toBe('pending');
      }
      const m = await h.admin('POST', '/admin/management-sessions', { deviceId: creds[0]!.deviceId });
      expect(m.status).toBe(201);
      expect(m.json.pendingOperations).toBe(3);
      const summary = await h.enroll(m.json.invocationUrl, sks);
      expect(summary.redirectUrl).toBe(`${PUBLIC_URL}/keygen2/done`);

      const ops = (await h.admin('GET', '/admin/operations')).json.operations as { kind: string; status: string }[];
      expect(ops.map((o) => [o.kind, o.status]).sort()).toEqual([['delete', 'done'], ['unlock', 'done'], ['update', 'done']]);
      expect((await sks.getKeyProtectionInfo(keyA)).pinErrorCount).toBe(0);
      await expect(sks.getKeyAttributes(c.keys[0]!.keyHandle)).rejects.toThrow();
      const after = (await h.admin('GET', '/admin/credentials')).json.credentials as { fingerprint: string; subject: string; status: string; keyId: string }[];
      expect(after.find((x) => x.fingerprint === fp('Delete Me'))!.status).toBe('deleted');
      expect(after.find((x) => x.fingerprint === fp('Update Me'))!.status).toBe('deleted');
      const replacement = after.find((x) => x.keyId === 'Update.1')!;
      expect(replacement).toMatchObject({ status: 'issued' });
      expect(replacement.subject).toContain('Update Me');
      const bNow = await sks.getKeyAttributes(b.keys[0]!.keyHandle);
      expect(new X509Certificate(bNow.certificatePath[0]!).fingerprint256.replace(/:/g, '').toLowerCase()).toBe(replacement.fingerprint);
    });

    it('logs-no-secrets: no PIN, token, cookie or admin token in any log line', async () => {
      const e = await newEnrollment();
      await h.enroll(e.invocationUrl, device(), PIN);
      await h.app.inject({ method: 'GET', url: '/admin/sessions', headers: { authorization: 'Bearer wrong-token-value-123' } });
      const all = h.logs.join('');
      expect(h.logs.length).toBeGreaterThan(5);
      const cookie = cookieOf(e.invocationUrl);
      const token = cookie.slice(cookie.lastIndexOf('.') + 1);
      const sealing = [Buffer.from(h.sealingKey).toString('base64url'), Buffer.from(h.sealingKey).toString('base64'), Buffer.from(h.sealingKey).toString('hex')];
      for (const secret of [PIN, token, ADMIN_TOKEN, 'wrong-token-value-123', cookie, ...sealing]) expect(all).not.toContain(secret);
      expect(all).toContain('keygen2 step');
    });
  });
}
