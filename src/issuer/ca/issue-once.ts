/**
 * The crash-safe issuance sequence over the issuer database: record the
 * plan, sign, record the certificate. Whatever instant the process dies at,
 * re-running it for the same (session, key) signs the recorded plan again
 * (same serial, same TBSCertificate) and the database keeps the first
 * certificate it stored, so one key never gets two certificates.
 */
import { IssuerError } from '../errors.js';
import { decodeIssuancePlan, type CertificateIssuer, type IssuanceRequest } from './issue.js';

/**
 * The slice of the issuer database this needs (`IssuerDatabase` of
 * src/issuer/db has it): declared here so the CA does not depend on the
 * database module.
 */
export interface IssuanceLedger {
  /** Records the plan for (session, key), or returns the one already recorded (`created: false`); CONFLICT if the serial is taken by another key. */
  recordIssuanceIntent(input: {
    readonly sessionId: string;
    readonly keyId: string;
    readonly serial: string;
    readonly deviceId?: string;
    readonly plan: string;
  }): Promise<{ readonly intent: { readonly serial: string; readonly plan: string }; readonly created: boolean }>;
  /** Records the certificate for a recorded intent; returns the first one recorded for (session, key). */
  completeIssuance(sessionId: string, keyId: string, certificateDer: Uint8Array): Promise<{ readonly certificateDer: Uint8Array; readonly serial: string }>;
}

export interface IssueOnceInput {
  readonly sessionId: string;
  /** The KeyGen2 key id within the session. */
  readonly keyId: string;
  readonly deviceId?: string;
  readonly request: IssuanceRequest;
}

export interface IssueOnceResult {
  /** The certificate the database holds for (session, key): the first one ever recorded. */
  readonly certificateDer: Uint8Array;
  readonly serial: string;
  /** True when an earlier attempt had already recorded the plan (a retry or a restart after a crash). */
  readonly resumed: boolean;
}

/** A fresh serial colliding with another key's is ~2^-100 unlikely; a few tries tell that from a broken source. */
const SERIAL_ATTEMPTS = 3;

/**
 * Issues the certificate for one attested key at most once.
 *
 * @example
 * ```ts
 * const { certificateDer } = await issueOnce(issuer, db, { sessionId, keyId, request });
 * ```
 */
export async function issueOnce(issuer: CertificateIssuer, ledger: IssuanceLedger, input: IssueOnceInput): Promise<IssueOnceResult> {
  for (let attempt = 1; ; attempt++) {
    const fresh = issuer.plan(input.request);
    let recorded: Awaited<ReturnType<IssuanceLedger['recordIssuanceIntent']>>;
    try {
      recorded = await ledger.recordIssuanceIntent({
        sessionId: input.sessionId,
        keyId: input.keyId,
        serial: fresh.serial,
        plan: JSON.stringify(fresh),
        ...(input.deviceId === undefined ? {} : { deviceId: input.deviceId }),
      });
    } catch (error) {
      // CONFLICT here means the serial belongs to another key: draw again.
      if (error instanceof IssuerError && error.code === 'CONFLICT' && attempt < SERIAL_ATTEMPTS) continue;
      throw error;
    }
    // On a resume the recorded plan wins over the fresh one, whatever the request says now.
    const plan = recorded.created ? fresh : decodeIssuancePlan(parseJson(recorded.intent.plan));
    const signed = await issuer.signAsync(plan);
    const credential = await ledger.completeIssuance(input.sessionId, input.keyId, signed.der);
    return { certificateDer: credential.certificateDer, serial: credential.serial, resumed: !recorded.created };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new IssuerError('STORAGE', 'the recorded issuance plan is not JSON', { field: 'plan', cause: error });
  }
}
