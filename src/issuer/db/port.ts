/**
 * The issuer's database port: everything the issuer service keeps between
 * requests, behind one async interface with two adapters of identical shape
 * (embedded SQLite by default, PostgreSQL when several issuer processes serve
 * one population). See {@link IssuerDatabase}.
 *
 * Rule the service relies on: every KeyGen2 session step is written here
 * (state, request hash, exact response) *before* it is answered, so a restart
 * loses nothing acknowledged and a retried POST gets the recorded answer.
 */

/** Milliseconds since the Unix epoch (UTC), as the injected clock returns them. */
export type EpochMillis = number;

// ---------------------------------------------------------------- enrollments

/** `created` until its invocation token is consumed (`used`) or it lapses (`expired`). */
export type EnrollmentState = 'created' | 'used' | 'expired';

/** An invitation to enroll: a one-time invocation token for one user and one template. */
export interface Enrollment {
  readonly id: string;
  readonly template: string;
  readonly userName: string;
  readonly userEmail: string | null;
  readonly state: EnrollmentState;
  readonly createdAt: EpochMillis;
  readonly expiresAt: EpochMillis;
  readonly usedAt: EpochMillis | null;
  /** The session its token started, once used. */
  readonly sessionId: string | null;
}

export interface NewEnrollment {
  /**
   * The invocation token the user receives (random, one-time). Only its SHA-256
   * is stored, so a copy of the database gives no usable token; the service
   * shows the token once, at creation.
   */
  readonly token: string;
  readonly template: string;
  readonly userName: string;
  readonly userEmail?: string;
  readonly expiresAt: EpochMillis;
}

/** Outcome of consuming an invocation token: exactly one concurrent consumer gets `consumed`. */
export type ConsumeEnrollmentResult =
  | { readonly kind: 'consumed'; readonly enrollment: Enrollment }
  /** Already consumed; `enrollment.sessionId` names the session it started (a retried first POST may replay it). */
  | { readonly kind: 'used'; readonly enrollment: Enrollment }
  | { readonly kind: 'expired' }
  | { readonly kind: 'unknown' };

// ------------------------------------------------------------------- sessions

export type SessionStatus = 'active' | 'done' | 'failed';

/** The exact answer a session step gave, replayed verbatim for a retried POST. */
export type StoredResponse =
  { readonly kind: 'body'; readonly contentType: string; readonly body: string } | { readonly kind: 'redirect'; readonly location: string };

/** What a session serves: an enrollment (by invocation token) or a management operation on a known device. */
export type SessionOrigin = { readonly kind: 'enrollment'; readonly enrollmentId: string } | { readonly kind: 'management'; readonly deviceId: string };

/** One KeyGen2 session as the issuer persists it after each answered step. */
export interface Session {
  /** The server session id of the protocol. */
  readonly id: string;
  readonly origin: SessionOrigin;
  readonly status: SessionStatus;
  /** The issuer state machine's state, JSON text (the machine's state is a plain serializable value). */
  readonly state: string;
  /** How many steps were answered after the first: 0 at creation, +1 per advance. The CAS key. */
  readonly step: number;
  /** SHA-256 of the last request body answered (hex). */
  readonly lastRequestHash: string;
  readonly lastResponse: StoredResponse;
  /** Why it failed, when `status` is `failed` (a code or short phrase, never secret material). */
  readonly failureReason: string | null;
  readonly createdAt: EpochMillis;
  readonly updatedAt: EpochMillis;
  /** When its KeyGen2 lifetime ends (serverTime + sessionLifeTime): still active then, it is abandoned. */
  readonly expiresAt: EpochMillis;
}

/** A session's first answered step. */
export interface NewSession {
  readonly id: string;
  readonly origin: SessionOrigin;
  readonly state: string;
  readonly requestHash: string;
  readonly response: StoredResponse;
  readonly expiresAt: EpochMillis;
}

/** One answered step, written by {@link IssuerDatabase.advanceSession} before the answer leaves. */
export interface SessionStep {
  readonly state: string;
  readonly requestHash: string;
  readonly response: StoredResponse;
  /** `done` when this step ends the session; it stays `active` otherwise. */
  readonly status?: 'active' | 'done';
  /** Appended in the same transaction, only if this step is the one written (one commit, never twice). */
  readonly audit?: NewAuditEvent;
}

/** Outcome of starting a session with an invocation token. */
export type StartEnrollmentSessionResult =
  | { readonly kind: 'started'; readonly enrollment: Enrollment; readonly session: Session }
  /** The token already started this very session with the same request: answer `session.lastResponse` again. */
  | { readonly kind: 'replayed'; readonly session: Session }
  | { readonly kind: 'refused'; readonly reason: 'unknown' | 'used' | 'expired' };

/**
 * The recorded answer when `requestHash` is the session's last answered
 * request (a retried POST), else `undefined` (a new step to run).
 */
export const replayOf = (session: Session, requestHash: string): StoredResponse | undefined =>
  session.lastRequestHash === requestHash ? session.lastResponse : undefined;

// -------------------------------------------------------------------- devices

/** A device known by its device certificate, or a "privacy" device that enrolled without one. */
export type Device =
  | {
      readonly kind: 'certificate';
      readonly id: string;
      /** SHA-256 of the device certificate's DER, hex: the natural key. */
      readonly certificateSha256: string;
      readonly subject: string;
      readonly certificateDer: Uint8Array;
      readonly firstSeen: EpochMillis;
      readonly lastSeen: EpochMillis;
    }
  | {
      readonly kind: 'privacy';
      readonly id: string;
      readonly firstSeen: EpochMillis;
      readonly lastSeen: EpochMillis;
    };

export type DeviceSighting = { readonly kind: 'certificate'; readonly certificateDer: Uint8Array; readonly subject: string } | { readonly kind: 'privacy' };

// ----------------------------------------------------- issuance and credentials

/** Recorded before the CA signs, so a crash between signing and recording can never lead to a second certificate for one key. */
export interface IssuanceIntent {
  readonly sessionId: string;
  /** The KeyGen2 key id within that session. */
  readonly keyId: string;
  /** Certificate serial number, lowercase hex; unique across the issuer. */
  readonly serial: string;
  readonly deviceId: string | null;
  /** What will be signed (template, subject, validity), JSON text. */
  readonly plan: string;
  readonly createdAt: EpochMillis;
  readonly completedAt: EpochMillis | null;
}

export interface NewIssuanceIntent {
  readonly sessionId: string;
  readonly keyId: string;
  readonly serial: string;
  readonly deviceId?: string;
  readonly plan: string;
}

export type CredentialStatus = 'issued' | 'revoked' | 'deleted';

/** An issued end-entity certificate and the key it certifies. */
export interface Credential {
  /** SHA-256 of the certificate's DER, hex: the credential's id. */
  readonly fingerprint: string;
  readonly sessionId: string;
  readonly keyId: string;
  readonly deviceId: string | null;
  readonly serial: string;
  readonly certificateDer: Uint8Array;
  readonly status: CredentialStatus;
  /** The key management key the credential's key was provisioned under, if any. */
  readonly kmkId: string | null;
  readonly issuedAt: EpochMillis;
  readonly updatedAt: EpochMillis;
}

// ------------------------------------------------------ scheduled operations

export type ScheduledOperationKind = 'delete' | 'unlock' | 'update';
export type ScheduledOperationStatus = 'pending' | 'running' | 'done' | 'failed';

/** A remote operation on a credential, run at the device's next management session. */
export interface ScheduledOperation {
  readonly id: string;
  readonly kind: ScheduledOperationKind;
  readonly credentialFingerprint: string;
  readonly deviceId: string | null;
  readonly status: ScheduledOperationStatus;
  /** Operation parameters (e.g. the update's plan), JSON text. */
  readonly payload: string;
  /** The management session that claimed it. */
  readonly sessionId: string | null;
  readonly outcome: string | null;
  readonly createdAt: EpochMillis;
  readonly updatedAt: EpochMillis;
}

export interface NewScheduledOperation {
  readonly kind: ScheduledOperationKind;
  readonly credentialFingerprint: string;
  readonly payload?: string;
}

/** One entry of a CRL: a revoked credential's serial and when it was revoked. */
export interface Revocation {
  /** Certificate serial number, lowercase hex. */
  readonly serial: string;
  readonly revokedAt: EpochMillis;
}

export interface CrlContents {
  readonly crlNumber: number;
  readonly revoked: readonly Revocation[];
}

/**
 * The revoked set in two numbers. A revocation adds a row at the latest time;
 * a revoked credential that is deleted leaves the set (count down): either
 * changes the summary, except a deletion and a revocation in the very
 * millisecond of the previous latest one.
 */
export interface RevocationSummary {
  readonly count: number;
  readonly latestRevokedAt: EpochMillis | null;
}

// ------------------------------------------------------ key management keys

/** One key management key of an issuer; the current one has `retiredAt === null`. */
export interface KeyManagementKey {
  readonly id: string;
  readonly issuer: string;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** Where the encrypted private key lives (a key file name, a vault path); never the key itself. */
  readonly privateKeyRef: string;
  /** The key it replaced (the roll-over chain). */
  readonly previousId: string | null;
  readonly createdAt: EpochMillis;
  readonly retiredAt: EpochMillis | null;
}

export interface NewKeyManagementKey {
  readonly id: string;
  readonly issuer: string;
  readonly spki: Uint8Array;
  readonly privateKeyRef: string;
}

// ---------------------------------------------------------------------- audit

export interface AuditEvent {
  /** Position in the append-only log, increasing. */
  readonly seq: number;
  readonly at: EpochMillis;
  readonly kind: string;
  readonly sessionId: string | null;
  /** Event details, JSON text; never secrets. */
  readonly detail: string;
}

export interface NewAuditEvent {
  readonly kind: string;
  readonly sessionId?: string;
  readonly detail?: string;
}

// ----------------------------------------------------------------------- port

/**
 * Everything the issuer service persists. Every method is atomic; writes are
 * durable when the promise resolves. Failures are `IssuerError`s:
 * `NOT_FOUND` for a missing record (also one a new record refers to),
 * `CONFLICT` for a lost race or a uniqueness or state violation, `BAD_REQUEST`
 * for a value the schema refuses, `STORAGE` when the database itself fails
 * (the driver's error as `cause`, never in the message).
 *
 * @example
 * ```ts
 * const db = await openIssuerDatabase('issuer.sqlite');         // or 'postgres://…'
 * const s = await db.getSession(id);
 * const again = replayOf(s, hash);
 * if (again) return again;                                        // retried POST
 * const next = step(JSON.parse(s.state), request);                // pure state machine
 * await db.advanceSession(id, s.step, { state: JSON.stringify(next.state), requestHash: hash, response });
 * return response;                                                // written, then answered
 * ```
 */
export interface IssuerDatabase {
  /** `sqlite` or `postgres`: for logs and diagnostics only; behaviour is identical. */
  readonly dialect: 'sqlite' | 'postgres';

  /** The schema versions applied (ascending); all known ones after open. */
  schemaVersions(): Promise<readonly number[]>;

  createEnrollment(input: NewEnrollment): Promise<Enrollment>;
  getEnrollment(id: string): Promise<Enrollment>;
  /** Enrollments, newest first (admin pages), at most `limit` (default 100). */
  listEnrollments(filter?: { readonly state?: EnrollmentState; readonly limit?: number }): Promise<readonly Enrollment[]>;
  /** Atomically marks the token used by `sessionId`; of concurrent consumers exactly one gets `consumed`. */
  consumeEnrollment(token: string, sessionId: string): Promise<ConsumeEnrollmentResult>;
  /** Marks every `created` enrollment past its expiry as `expired`; returns how many. */
  expireEnrollments(): Promise<number>;

  /**
   * Consumes the token and records the session's first step in one
   * transaction (a crash cannot leave a used token without its session).
   * A retry of the same first request (same token, same request hash, the
   * session still at step 0) is `replayed`.
   */
  startEnrollmentSession(token: string, session: Omit<NewSession, 'origin'>): Promise<StartEnrollmentSessionResult>;
  /** Records a session's first step (management sessions; enrollments use {@link startEnrollmentSession}). CONFLICT if the id exists. */
  createSession(input: NewSession): Promise<Session>;
  getSession(id: string): Promise<Session>;
  /** Sessions, most recently updated first (admin pages), at most `limit` (default 100). */
  listSessions(filter?: { readonly status?: SessionStatus; readonly enrollmentId?: string; readonly limit?: number }): Promise<readonly Session[]>;
  /**
   * Compare-and-set: records `step` only if the session is `active` and still
   * at `expectedStep`; otherwise CONFLICT (another process advanced it first,
   * or it ended). Returns the session at `expectedStep + 1`. On CONFLICT the
   * caller re-reads: if {@link replayOf} now finds its request, a concurrent
   * copy of the same POST (at another process) won, and its recorded answer
   * is the answer; otherwise the request is out of order.
   */
  advanceSession(id: string, expectedStep: number, step: SessionStep): Promise<Session>;
  /** Ends an active session as `failed`; CONFLICT if it already ended. */
  failSession(id: string, reason: string): Promise<Session>;
  /**
   * Ends active sessions whose expiry is at or before `now` (the service's
   * clock) as `failed` with reason `session-expired`, at most `limit`
   * (default 100) per call, and in the same transaction releases what each
   * held, as for a failed session: its running operations go back to
   * pending, its issued certificates are revoked, and a `session-failed`
   * event is appended. Returns the ids it ended; of processes sweeping at
   * once, each session is ended (and released) by exactly one.
   */
  expireSessions(now: EpochMillis, limit?: number): Promise<readonly string[]>;

  /** Records a sighting: creates the device on first sight (a certificate device by its DER's SHA-256), else updates last seen. */
  recordDevice(sighting: DeviceSighting): Promise<Device>;
  getDevice(id: string): Promise<Device>;
  findDeviceByCertificate(certificateDer: Uint8Array): Promise<Device | undefined>;

  /**
   * Records the intent to issue for (session, key id) before signing. A
   * second call for the same (session, key id) returns the recorded intent
   * (`created: false`: reuse its serial); a serial used by another key is CONFLICT.
   */
  recordIssuanceIntent(input: NewIssuanceIntent): Promise<{ readonly intent: IssuanceIntent; readonly created: boolean }>;
  getIssuanceIntent(sessionId: string, keyId: string): Promise<IssuanceIntent>;
  /**
   * Records the signed certificate for a recorded intent, idempotently: if a
   * certificate is already recorded for (session, key id), that one is
   * returned and the new one discarded, so one key never gets two. NOT_FOUND
   * without an intent.
   */
  completeIssuance(sessionId: string, keyId: string, certificateDer: Uint8Array, options?: { readonly kmkId?: string }): Promise<Credential>;
  getCredential(fingerprint: string): Promise<Credential>;
  listCredentials(filter?: { readonly deviceId?: string; readonly sessionId?: string }): Promise<readonly Credential[]>;
  /**
   * Moves a credential to `status` (CONFLICT for a transition the lifecycle
   * forbids); `options.audit` is appended in the same transaction, so the
   * change is never recorded without its audit event.
   */
  setCredentialStatus(fingerprint: string, status: CredentialStatus, options?: { readonly audit?: NewAuditEvent }): Promise<Credential>;
  /** Count and latest revocation time of the `revoked` credentials: a cheap check whether a CRL is still current. */
  revocationSummary(): Promise<RevocationSummary>;
  /**
   * The next CRL of the CA identified by `caId`: its number, the larger of
   * the last one given out plus one and `atLeast` (recorded, so numbers are
   * strictly increasing across every process on this database), and what it
   * lists of each `revoked` credential (no certificate is read), in
   * revocation order. One transaction, the list read after the number is
   * taken: a higher number never lists less than a lower one.
   */
  nextCrl(caId: string, atLeast: number): Promise<CrlContents>;

  /** Schedules an operation on an issued credential (NOT_FOUND if unknown), pending until the device's next management session. */
  scheduleOperation(input: NewScheduledOperation): Promise<ScheduledOperation>;
  listOperations(filter: { readonly deviceId?: string; readonly status?: ScheduledOperationStatus }): Promise<readonly ScheduledOperation[]>;
  /** Atomically moves the device's pending operations to `running` for `sessionId` and returns them; concurrent claimers split them, never share. */
  claimOperations(deviceId: string, sessionId: string): Promise<readonly ScheduledOperation[]>;
  /** Puts the operations a failed or abandoned session claimed back to `pending` (for the device's next session); returns how many. */
  releaseOperations(sessionId: string): Promise<number>;
  /**
   * What a failed session held, released in one transaction (idempotent): its running
   * operations back to pending, its `issued` certificates revoked (signed at key creation, never
   * confirmed by the device). The same release {@link IssuerDatabase.expireSessions} does.
   */
  releaseFailedSession(sessionId: string): Promise<void>;
  /** Ends a `running` operation; CONFLICT if it is not running. */
  finishOperation(id: string, status: 'done' | 'failed', outcome?: string): Promise<ScheduledOperation>;

  /** Makes `key` the issuer's current KMK, retiring the current one (roll-over); CONFLICT if a concurrent roll won. */
  rollKeyManagementKey(key: NewKeyManagementKey): Promise<KeyManagementKey>;
  currentKeyManagementKey(issuer: string): Promise<KeyManagementKey | undefined>;
  /** Every KMK of the issuer, oldest first. */
  keyManagementKeyHistory(issuer: string): Promise<readonly KeyManagementKey[]>;

  /** Appends to the audit log (append-only: nothing updates or deletes it). */
  appendAudit(event: NewAuditEvent): Promise<AuditEvent>;
  listAudit(options?: { readonly sessionId?: string; readonly afterSeq?: number; readonly limit?: number }): Promise<readonly AuditEvent[]>;

  /** Releases the connection or pool. */
  close(): Promise<void>;
}
