/**
 * A crash while the issuer ends a session as failed: the session is marked
 * failed first (the commit point), then its certificates are revoked and its
 * claimed operations released. A crash between the two must not leave valid
 * certificates of a failed session behind: the retried request (the device
 * resends what got no answer) finishes the clean-up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyGen2Transport } from '../../../src/keygen2/client/ports.js';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import type { IssuerDatabase } from '../../../src/issuer/db/port.js';
import { IssuerError } from '../../../src/issuer/errors.js';
import { ISSUER_DATABASES, MUST_RUN_ALL, type IssuerDatabaseFixture } from '../db/databases.js';
import { device, harness, PUBLIC_URL, ui, type Harness } from '../service/harness.js';

for (const kind of ISSUER_DATABASES) {
  if (kind.unavailable !== undefined) {
    (MUST_RUN_ALL ? describe : describe.skip)(`interrupted failure: ${kind.name} (${kind.unavailable})`, () =>
      it('runs', () => {
        throw new Error(`${kind.name} must run under CI: ${kind.unavailable}`);
      }),
    );
    continue;
  }

  describe(`interrupted failure: ${kind.name}`, () => {
    let fixture: IssuerDatabaseFixture;
    let db: IssuerDatabase;
    let rig: Harness;
    beforeEach(async () => {
      fixture = await kind.create();
      db = await fixture.open();
      rig = await harness(db);
    });
    afterEach(async () => {
      await rig.app.close();
      await fixture.dispose();
    });

    it('finishes-revocation-on-retry: a crash after the session was marked failed leaves no valid certificate', async () => {
      const enrollment = (await rig.admin('POST', '/admin/enrollments', { template: 'ec-p256-auth', userName: 'Eve' })).json as { invocationUrl: string };
      let crashed = false;
      const tampering: KeyGen2Transport = {
        fetchInvocation: (inv) => rig.transport.fetchInvocation(inv),
        postResponse: async (inv, text) => {
          if (!text.includes('"ProvisioningFinalizationResponse"')) return rig.transport.postResponse(inv, text);
          const finalization = JSON.parse(text) as { attestation: string };
          const bad = Buffer.from(finalization.attestation, 'base64url');
          bad[0] = bad[0] ^ 1;
          const body = JSON.stringify({ ...finalization, attestation: bad.toString('base64url') });
          // The issuer dies after marking the session failed, before revoking its certificate.
          const original = db.releaseFailedSession.bind(db);
          db.releaseFailedSession = async () => {
            db.releaseFailedSession = original;
            crashed = true;
            throw new IssuerError('STORAGE', 'simulated crash before the revocation was written');
          };
          const lost = await rig.transport.postResponse(inv, body);
          expect(lost).toEqual({ kind: 'redirect', location: `${PUBLIC_URL}/keygen2/error?reason=internal-error` });
          expect((await db.listSessions())[0]).toMatchObject({ status: 'failed' });
          // The device resends the request that got no usable answer.
          return rig.transport.postResponse(inv, body);
        },
      };
      const summary = await runEnrollment({ sks: device(), ui: ui(), transport: tampering, invocationUrl: enrollment.invocationUrl });
      expect(crashed).toBe(true);
      expect(summary.redirectUrl).toMatch(/\/keygen2\/error\?reason=/);
      expect((await db.listCredentials()).map((c) => c.status)).toEqual(['revoked']);
    });
  });
}
