/**
 * The crash-safe sequence: record the plan, sign, record the certificate.
 * The ledger below keeps the semantics src/issuer/db documents for
 * recordIssuanceIntent / completeIssuance; crashes are injected at each
 * point between the steps, then a "restarted" issuer runs again.
 */
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertificateIssuer, createCaHierarchy, issueOnce, type CaHierarchy, type IssuanceLedger } from '../../../src/issuer/ca/index.js';
import type { IssuerDatabase } from '../../../src/issuer/db/port.js';
import { IssuerError } from '../../../src/issuer/errors.js';
import { subjectSpki } from './helpers.js';

/** The real database port fits the slice issueOnce declares (compile-time; tsc fails if they drift apart). */
export const databaseIsALedger = (db: IssuerDatabase): IssuanceLedger => db;

class MemoryLedger implements IssuanceLedger {
  readonly intents = new Map<string, { serial: string; plan: string }>();
  readonly certificates = new Map<string, { certificateDer: Uint8Array; serial: string }>();
  /** Throws once at the named point, as a process dying there would leave things. */
  crashAt: 'after-intent' | 'before-complete' | 'after-complete' | undefined;
  takenSerials = new Set<string>();

  async recordIssuanceIntent(input: { sessionId: string; keyId: string; serial: string; plan: string }) {
    const key = `${input.sessionId}/${input.keyId}`;
    const existing = this.intents.get(key);
    if (existing) return { intent: existing, created: false };
    if (this.takenSerials.has(input.serial)) throw new IssuerError('CONFLICT', 'serial in use');
    this.takenSerials.add(input.serial);
    const intent = { serial: input.serial, plan: input.plan };
    this.intents.set(key, intent);
    this.crash('after-intent');
    return { intent, created: true };
  }

  async completeIssuance(sessionId: string, keyId: string, certificateDer: Uint8Array) {
    this.crash('before-complete');
    const key = `${sessionId}/${keyId}`;
    const intent = this.intents.get(key);
    if (!intent) throw new IssuerError('NOT_FOUND', 'no intent');
    const first = this.certificates.get(key) ?? { certificateDer, serial: intent.serial };
    this.certificates.set(key, first);
    this.crash('after-complete');
    return first;
  }

  private crash(at: NonNullable<MemoryLedger['crashAt']>): void {
    if (this.crashAt === at) {
      this.crashAt = undefined;
      throw new Error(`simulated crash ${at}`);
    }
  }
}

describe('issueOnce', () => {
  let caHierarchy: CaHierarchy;
  const input = (keyId: string) => ({
    sessionId: 's1',
    keyId,
    request: {
      profile: { subject: [{ type: 'O' as const, value: 'Example' }], validityDays: 90, appUsage: 'signature' as const },
      user: { commonName: 'Heidi' },
      subjectPublicKey: subjectSpki('P-256'),
    },
  });
  beforeAll(async () => {
    caHierarchy = await createCaHierarchy();
  });

  it.each(['after-intent', 'before-complete', 'after-complete'] as const)(
    'never-issues-twice-for-one-key: a crash %s, then a restart, yields one serial and the first stored certificate',
    async (crashAt) => {
      const ledger = new MemoryLedger();
      ledger.crashAt = crashAt;
      await expect(issueOnce(new CertificateIssuer(caHierarchy.issuing), ledger, input('k1'))).rejects.toThrow(/simulated crash/);
      const recorded = ledger.intents.get('s1/k1')!;
      const storedBefore = ledger.certificates.get('s1/k1');

      const restarted = new CertificateIssuer(caHierarchy.issuing, { clock: () => new Date(Date.now() + 3_600_000) });
      const issueOnceResult = await issueOnce(restarted, ledger, input('k1'));
      expect(issueOnceResult.resumed).toBe(true);
      expect(issueOnceResult.serial).toBe(recorded.serial);
      expect(new X509Certificate(issueOnceResult.certificateDer).serialNumber.toLowerCase()).toBe(recorded.serial);
      expect(ledger.takenSerials.size).toBe(1); // no second serial was ever recorded
      if (storedBefore) expect(Buffer.from(issueOnceResult.certificateDer).equals(Buffer.from(storedBefore.certificateDer))).toBe(true);
      // The certificate is the recorded plan's, not a new one from the later clock.
      const plan = JSON.parse(recorded.plan) as { notBefore: string };
      expect(Date.parse(new X509Certificate(issueOnceResult.certificateDer).validFrom)).toBe(Date.parse(plan.notBefore));
    },
  );

  it('draws a new serial when the recorded one belongs to another key', async () => {
    const ledger = new MemoryLedger();
    const draws = [Buffer.alloc(16, 0x11), Buffer.alloc(16, 0x11), Buffer.alloc(16, 0x22)];
    const issuer = new CertificateIssuer(caHierarchy.issuing, { random: () => draws.shift()! });
    const issueOnceResult = await issueOnce(issuer, ledger, input('k1'));
    const bytes = await issueOnce(issuer, ledger, input('k2'));
    expect(issueOnceResult.serial).toBe('11'.repeat(16));
    expect(bytes.serial).toBe('22'.repeat(16));
    expect(bytes.resumed).toBe(false);
  });
});
