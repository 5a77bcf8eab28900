/**
 * The one implementation of {@link IssuerDatabase}, over the SQL shim
 * ({@link SqlDriver}) that each adapter provides. Every statement is shared by
 * both dialects and parameterized; every method is one transaction.
 */
import { createHash, randomUUID } from 'node:crypto';
import { IssuerError, isIssuerError } from '../errors.js';
import { migrate } from './migrations.js';
import type {
  AuditEvent,
  ConsumeEnrollmentResult,
  Credential,
  CredentialStatus,
  Device,
  DeviceSighting,
  Enrollment,
  EnrollmentState,
  IssuanceIntent,
  IssuerDatabase,
  KeyManagementKey,
  NewAuditEvent,
  NewEnrollment,
  NewIssuanceIntent,
  NewKeyManagementKey,
  NewScheduledOperation,
  NewSession,
  CrlContents,
  RevocationSummary,
  ScheduledOperation,
  ScheduledOperationStatus,
  Session,
  SessionStatus,
  SessionStep,
  StartEnrollmentSessionResult,
  StoredResponse,
} from './port.js';
import { bytes, int, intOrNull, oneOf, storageError, text, textOrNull, type Row, type SqlDriver, type SqlRunner, type SqlValue } from './sql.js';

/** What the database takes from its environment (STYLE #4: passed in, so tests substitute them). */
export interface IssuerDatabaseEnvironment {
  /** Current time in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** A fresh unique id (enrollments, devices, operations). Default `crypto.randomUUID`. */
  readonly randomId?: () => string;
}

const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();
const sha256Hex = (data: Uint8Array | string): string => sha256(data).toString('hex');

// ------------------------------------------------------------ rows -> records

const ENROLLMENT_COLUMNS = 'id, template, user_name, user_email, state, created_at, expires_at, used_at, session_id';
const enrollmentOf = (r: Row): Enrollment => ({
  id: text(r, 'id'),
  template: text(r, 'template'),
  userName: text(r, 'user_name'),
  userEmail: textOrNull(r, 'user_email'),
  state: oneOf(r, 'state', ['created', 'used', 'expired'] as const),
  createdAt: int(r, 'created_at'),
  expiresAt: int(r, 'expires_at'),
  usedAt: intOrNull(r, 'used_at'),
  sessionId: textOrNull(r, 'session_id'),
});

const SESSION_COLUMNS =
  'id, enrollment_id, management_device_id, status, state, step, last_request_sha256, response_kind, ' +
  'response_content_type, response_body, failure_reason, created_at, updated_at, expires_at';
const sessionOf = (row: Row): Session => {
  const enrollmentId = textOrNull(row, 'enrollment_id');
  const responseBody = text(row, 'response_body');
  return {
    id: text(row, 'id'),
    origin: enrollmentId !== null ? { kind: 'enrollment', enrollmentId } : { kind: 'management', deviceId: text(row, 'management_device_id') },
    status: oneOf(row, 'status', ['active', 'done', 'failed'] as const),
    state: text(row, 'state'),
    step: int(row, 'step'),
    lastRequestHash: text(row, 'last_request_sha256'),
    lastResponse:
      oneOf(row, 'response_kind', ['body', 'redirect'] as const) === 'body'
        ? { kind: 'body', contentType: text(row, 'response_content_type'), body: responseBody }
        : { kind: 'redirect', location: responseBody },
    failureReason: textOrNull(row, 'failure_reason'),
    createdAt: int(row, 'created_at'),
    updatedAt: int(row, 'updated_at'),
    expiresAt: int(row, 'expires_at'),
  };
};
/** The three response columns, in SESSION_COLUMNS order. */
const responseParams = (response: StoredResponse): readonly SqlValue[] =>
  response.kind === 'body' ? ['body', response.contentType, response.body] : ['redirect', null, response.location];

const DEVICE_COLUMNS = 'id, kind, certificate_sha256, subject, certificate, first_seen, last_seen';
const deviceOf = (r: Row): Device =>
  oneOf(r, 'kind', ['certificate', 'privacy'] as const) === 'certificate'
    ? {
        kind: 'certificate',
        id: text(r, 'id'),
        certificateSha256: text(r, 'certificate_sha256'),
        subject: text(r, 'subject'),
        certificateDer: bytes(r, 'certificate'),
        firstSeen: int(r, 'first_seen'),
        lastSeen: int(r, 'last_seen'),
      }
    : { kind: 'privacy', id: text(r, 'id'), firstSeen: int(r, 'first_seen'), lastSeen: int(r, 'last_seen') };

const INTENT_COLUMNS = 'session_id, key_id, serial, device_id, plan, created_at, completed_at';
const intentOf = (r: Row): IssuanceIntent => ({
  sessionId: text(r, 'session_id'),
  keyId: text(r, 'key_id'),
  serial: text(r, 'serial'),
  deviceId: textOrNull(r, 'device_id'),
  plan: text(r, 'plan'),
  createdAt: int(r, 'created_at'),
  completedAt: intOrNull(r, 'completed_at'),
});

const CREDENTIAL_COLUMNS = 'fingerprint, session_id, key_id, device_id, serial, certificate, status, kmk_id, issued_at, updated_at';
const credentialOf = (r: Row): Credential => ({
  fingerprint: text(r, 'fingerprint'),
  sessionId: text(r, 'session_id'),
  keyId: text(r, 'key_id'),
  deviceId: textOrNull(r, 'device_id'),
  serial: text(r, 'serial'),
  certificateDer: bytes(r, 'certificate'),
  status: oneOf(r, 'status', ['issued', 'revoked', 'deleted'] as const),
  kmkId: textOrNull(r, 'kmk_id'),
  issuedAt: int(r, 'issued_at'),
  updatedAt: int(r, 'updated_at'),
});

const OPERATION_COLUMNS = 'seq, id, kind, credential_fingerprint, device_id, status, payload, session_id, outcome, created_at, updated_at';
const OPERATION_STATUSES = ['pending', 'running', 'done', 'failed'] as const;
const operationOf = (r: Row): ScheduledOperation => ({
  id: text(r, 'id'),
  kind: oneOf(r, 'kind', ['delete', 'unlock', 'update'] as const),
  credentialFingerprint: text(r, 'credential_fingerprint'),
  deviceId: textOrNull(r, 'device_id'),
  status: oneOf(r, 'status', OPERATION_STATUSES),
  payload: text(r, 'payload'),
  sessionId: textOrNull(r, 'session_id'),
  outcome: textOrNull(r, 'outcome'),
  createdAt: int(r, 'created_at'),
  updatedAt: int(r, 'updated_at'),
});
/** Scheduling order; `seq` stays internal (RETURNING gives rows in no defined order). */
const inOrder = (rows: readonly Row[]): ScheduledOperation[] => [...rows].sort((a, b) => int(a, 'seq') - int(b, 'seq')).map(operationOf);

const KMK_COLUMNS = 'id, issuer, spki, private_key_ref, previous_id, created_at, retired_at';
const kmkOf = (r: Row): KeyManagementKey => ({
  id: text(r, 'id'),
  issuer: text(r, 'issuer'),
  spki: bytes(r, 'spki'),
  privateKeyRef: text(r, 'private_key_ref'),
  previousId: textOrNull(r, 'previous_id'),
  createdAt: int(r, 'created_at'),
  retiredAt: intOrNull(r, 'retired_at'),
});

const AUDIT_COLUMNS = 'seq, at, kind, session_id, detail';
const auditOf = (r: Row): AuditEvent => ({
  seq: int(r, 'seq'),
  at: int(r, 'at'),
  kind: text(r, 'kind'),
  sessionId: textOrNull(r, 'session_id'),
  detail: text(r, 'detail'),
});

/** Conjunction of fixed SQL fragments, each with one `?` for its value, numbered as `$n` placeholders. */
const where = (conditions: ReadonlyArray<readonly [fragment: string, value: SqlValue] | undefined>) => {
  const params: SqlValue[] = [];
  const parts: string[] = [];
  for (const item of conditions) {
    if (item === undefined) continue;
    params.push(item[1]);
    parts.push(item[0].replace('?', `$${params.length}`));
  }
  return { sql: parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`, params };
};

/** Which statuses a credential may move to `status` from (deleted is final; a revocation is never undone). */
const CREDENTIAL_TRANSITIONS: Readonly<Record<CredentialStatus, readonly CredentialStatus[]>> = {
  issued: [],
  revoked: ['issued'],
  deleted: ['issued', 'revoked'],
};

/** A page size: an integer in [0, 10000], `fallback` when not given. */
const clampLimit = (limit: number | undefined, fallback: number): number => Math.max(0, Math.min(Math.trunc(limit ?? fallback), 10_000));

const notFound = (what: string): IssuerError => new IssuerError('NOT_FOUND', `issuer database: no such ${what}`, { field: what });
const conflict = (message: string, field?: string): IssuerError =>
  new IssuerError('CONFLICT', `issuer database: ${message}`, field === undefined ? {} : { field });

// ------------------------------------------------------------------ database

class SqlIssuerDatabase implements IssuerDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  readonly #driver: SqlDriver;
  readonly #now: () => number;
  readonly #randomId: () => string;

  constructor(driver: SqlDriver, env: IssuerDatabaseEnvironment) {
    this.dialect = driver.dialect;
    this.#driver = driver;
    this.#now = env.now ?? Date.now;
    this.#randomId = env.randomId ?? randomUUID;
  }

  /**
   * One transaction named after its operation. Our own IssuerErrors pass
   * through; a constraint violation becomes a stable code (a duplicate:
   * CONFLICT; a reference to a missing record: NOT_FOUND; a value the schema
   * refuses: BAD_REQUEST); any other driver failure becomes STORAGE. The
   * driver error is only the cause: it may quote values, which must not
   * reach a log line.
   */
  async #tx<T>(operation: string, fn: (tx: SqlRunner, now: number) => Promise<T>): Promise<T> {
    return this.#mapped(operation, () => this.#driver.transaction((tx) => fn(tx, this.#now())));
  }

  /** A single-statement read, outside a transaction; errors mapped as by {@link #tx}. */
  async #read<T>(operation: string, fn: (db: SqlRunner) => Promise<T>): Promise<T> {
    return this.#mapped(operation, () => this.#driver.read(fn));
  }

  async #mapped<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isIssuerError(error)) throw error;
      switch (this.#driver.violation(error)) {
        case 'unique':
          throw new IssuerError('CONFLICT', `issuer database: ${operation}: duplicate`, { cause: error });
        case 'foreign-key':
          throw new IssuerError('NOT_FOUND', `issuer database: ${operation}: refers to a missing record`, { cause: error });
        case 'check':
          throw new IssuerError('BAD_REQUEST', `issuer database: ${operation}: value refused by the schema`, { cause: error });
        case undefined:
          throw storageError(operation, error);
      }
    }
  }

  async schemaVersions(): Promise<readonly number[]> {
    return this.#read('schemaVersions', async (tx) => (await tx.all('SELECT version FROM schema_migrations ORDER BY version')).map((r) => int(r, 'version')));
  }

  // --------------------------------------------------------- enrollments

  async createEnrollment(input: NewEnrollment): Promise<Enrollment> {
    return this.#tx('createEnrollment', async (tx, now) => {
      const rows = await tx.all(
        `INSERT INTO enrollments (id, token_sha256, template, user_name, user_email, state, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, 'created', $6, $7) RETURNING ${ENROLLMENT_COLUMNS}`,
        [this.#randomId(), sha256(input.token), input.template, input.userName, input.userEmail ?? null, now, input.expiresAt],
      );
      return enrollmentOf(one(rows));
    });
  }

  async getEnrollment(id: string): Promise<Enrollment> {
    return this.#read('getEnrollment', async (tx) => {
      const rows = await tx.all(`SELECT ${ENROLLMENT_COLUMNS} FROM enrollments WHERE id = $1`, [id]);
      return firstOrNotFound(rows, enrollmentOf, 'enrollment');
    });
  }

  async listEnrollments(filter: { readonly state?: EnrollmentState; readonly limit?: number } = {}): Promise<readonly Enrollment[]> {
    return this.#read('listEnrollments', async (db) => {
      const writer = where([filter.state === undefined ? undefined : ['state = ?', filter.state]]);
      const rows = await db.all(`SELECT ${ENROLLMENT_COLUMNS} FROM enrollments${writer.sql} ORDER BY created_at DESC, id LIMIT $${writer.params.length + 1}`, [
        ...writer.params,
        clampLimit(filter.limit, 100),
      ]);
      return rows.map(enrollmentOf);
    });
  }

  async consumeEnrollment(token: string, sessionId: string): Promise<ConsumeEnrollmentResult> {
    return this.#tx('consumeEnrollment', (tx, now) => consume(tx, now, token, sessionId));
  }

  async expireEnrollments(): Promise<number> {
    return this.#tx('expireEnrollments', (tx, now) => tx.run(`UPDATE enrollments SET state = 'expired' WHERE state = 'created' AND expires_at <= $1`, [now]));
  }

  // ------------------------------------------------------------ sessions

  async startEnrollmentSession(token: string, session: Omit<NewSession, 'origin'>): Promise<StartEnrollmentSessionResult> {
    return this.#tx('startEnrollmentSession', async (tx, now) => {
      const consumed = await consume(tx, now, token, session.id);
      switch (consumed.kind) {
        case 'consumed':
          return {
            kind: 'started',
            enrollment: consumed.enrollment,
            session: await insertSession(tx, now, {
              ...session,
              origin: { kind: 'enrollment', enrollmentId: consumed.enrollment.id },
            }),
          };
        case 'used': {
          // A retried first POST: same token (the secret), same body, and the
          // session has not moved on; anything else is a second use.
          const started = consumed.enrollment.sessionId;
          const rows = started === null ? [] : await tx.all(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [started]);
          const previous = first(rows, sessionOf);
          return previous?.step === 0 && previous.status === 'active' && previous.lastRequestHash === session.requestHash
            ? { kind: 'replayed', session: previous }
            : { kind: 'refused', reason: 'used' };
        }
        case 'expired':
        case 'unknown':
          return { kind: 'refused', reason: consumed.kind };
      }
    });
  }

  async createSession(input: NewSession): Promise<Session> {
    return this.#tx('createSession', (tx, now) => insertSession(tx, now, input));
  }

  async getSession(id: string): Promise<Session> {
    return this.#read('getSession', async (tx) => {
      const rows = await tx.all(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [id]);
      return firstOrNotFound(rows, sessionOf, 'session');
    });
  }

  async listSessions(filter: { readonly status?: SessionStatus; readonly enrollmentId?: string; readonly limit?: number } = {}): Promise<readonly Session[]> {
    return this.#read('listSessions', async (db) => {
      const writer = where([
        filter.status === undefined ? undefined : ['status = ?', filter.status],
        filter.enrollmentId === undefined ? undefined : ['enrollment_id = ?', filter.enrollmentId],
      ]);
      const rows = await db.all(`SELECT ${SESSION_COLUMNS} FROM sessions${writer.sql} ORDER BY updated_at DESC, id LIMIT $${writer.params.length + 1}`, [
        ...writer.params,
        clampLimit(filter.limit, 100),
      ]);
      return rows.map(sessionOf);
    });
  }

  async advanceSession(id: string, expectedStep: number, step: SessionStep): Promise<Session> {
    return this.#tx('advanceSession', async (tx, now) => {
      // The compare-and-set: one conditional UPDATE; of two processes holding
      // the same expectedStep, exactly one matches.
      const rows = await tx.all(
        `UPDATE sessions SET state = $3, step = step + 1, last_request_sha256 = $4, response_kind = $5,
           response_content_type = $6, response_body = $7, status = $8, updated_at = $9
         WHERE id = $1 AND step = $2 AND status = 'active' RETURNING ${SESSION_COLUMNS}`,
        [id, expectedStep, step.state, step.requestHash, ...responseParams(step.response), step.status ?? 'active', now],
      );
      const advanced = first(rows, sessionOf);
      if (advanced !== undefined) {
        if (step.audit !== undefined) await insertAudit(tx, now, step.audit);
        return advanced;
      }
      await mustExist(tx, 'sessions', 'id', id, 'session');
      throw conflict('session was advanced or ended by another request', 'step');
    });
  }

  async failSession(id: string, reason: string): Promise<Session> {
    return this.#tx('failSession', async (tx, now) => {
      const rows = await tx.all(
        `UPDATE sessions SET status = 'failed', failure_reason = $2, updated_at = $3
         WHERE id = $1 AND status = 'active' RETURNING ${SESSION_COLUMNS}`,
        [id, reason, now],
      );
      const failed = first(rows, sessionOf);
      if (failed !== undefined) return failed;
      await mustExist(tx, 'sessions', 'id', id, 'session');
      throw conflict('session already ended', 'status');
    });
  }

  async expireSessions(now: number, limit?: number): Promise<readonly string[]> {
    const due = `status = 'active' AND expires_at <= $1`;
    // Most sweeps find nothing: a read on the partial index sessions_expiry, without the write lock.
    const any = await this.#read('expireSessions', (db) => db.all(`SELECT 1 AS due FROM sessions WHERE ${due} LIMIT 1`, [now]));
    if (any.length === 0) return [];
    return this.#tx('expireSessions', async (tx, at) => {
      // The outer status check is the claim: of concurrent sweepers (another process) that picked
      // the same rows, one updates each; the others' UPDATE finds it no longer active.
      const rows = await tx.all(
        `UPDATE sessions SET status = 'failed', failure_reason = 'session-expired', updated_at = $3
         WHERE status = 'active' AND id IN (SELECT id FROM sessions WHERE ${due} ORDER BY expires_at LIMIT $2) RETURNING id`,
        [now, clampLimit(limit, 100), at],
      );
      const ids = rows.map((r) => text(r, 'id'));
      for (const id of ids) {
        await releaseSession(tx, at, id);
        await insertAudit(tx, at, { kind: 'session-failed', sessionId: id, detail: JSON.stringify({ reason: 'session-expired' }) });
      }
      return ids;
    });
  }

  // ------------------------------------------------------------- devices

  async recordDevice(sighting: DeviceSighting): Promise<Device> {
    return this.#tx('recordDevice', async (tx, now) => {
      if (sighting.kind === 'privacy') {
        const rows = await tx.all(`INSERT INTO devices (id, kind, first_seen, last_seen) VALUES ($1, 'privacy', $2, $2) RETURNING ${DEVICE_COLUMNS}`, [
          this.#randomId(),
          now,
        ]);
        return deviceOf(one(rows));
      }
      // An upsert on the certificate's hash: two processes seeing a new device at once create one row.
      const rows = await tx.all(
        `INSERT INTO devices (id, kind, certificate_sha256, subject, certificate, first_seen, last_seen)
         VALUES ($1, 'certificate', $2, $3, $4, $5, $5)
         ON CONFLICT (certificate_sha256) DO UPDATE SET last_seen = excluded.last_seen
         RETURNING ${DEVICE_COLUMNS}`,
        [this.#randomId(), sha256Hex(sighting.certificateDer), sighting.subject, sighting.certificateDer, now],
      );
      return deviceOf(one(rows));
    });
  }

  async getDevice(id: string): Promise<Device> {
    return this.#read('getDevice', async (tx) => {
      const rows = await tx.all(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = $1`, [id]);
      return firstOrNotFound(rows, deviceOf, 'device');
    });
  }

  async findDeviceByCertificate(certificateDer: Uint8Array): Promise<Device | undefined> {
    return this.#read('findDeviceByCertificate', async (tx) => {
      const rows = await tx.all(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE certificate_sha256 = $1`, [sha256Hex(certificateDer)]);
      return first(rows, deviceOf);
    });
  }

  // ------------------------------------------------ issuance, credentials

  async recordIssuanceIntent(input: NewIssuanceIntent): Promise<{ readonly intent: IssuanceIntent; readonly created: boolean }> {
    return this.#tx('recordIssuanceIntent', async (tx, now) => {
      // DO NOTHING on either key, so a race or a retry never aborts the transaction; then tell which key it was.
      const rows = await tx.all(
        `INSERT INTO issuance_intents (session_id, key_id, serial, device_id, plan, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING ${INTENT_COLUMNS}`,
        [input.sessionId, input.keyId, input.serial, input.deviceId ?? null, input.plan, now],
      );
      const inserted = first(rows, intentOf);
      if (inserted !== undefined) return { intent: inserted, created: true };
      const existing = first(
        await tx.all(`SELECT ${INTENT_COLUMNS} FROM issuance_intents WHERE session_id = $1 AND key_id = $2`, [input.sessionId, input.keyId]),
        intentOf,
      );
      if (existing !== undefined) return { intent: existing, created: false };
      throw conflict('certificate serial already used', 'serial');
    });
  }

  async getIssuanceIntent(sessionId: string, keyId: string): Promise<IssuanceIntent> {
    return this.#read('getIssuanceIntent', async (tx) => {
      const rows = await tx.all(`SELECT ${INTENT_COLUMNS} FROM issuance_intents WHERE session_id = $1 AND key_id = $2`, [sessionId, keyId]);
      return firstOrNotFound(rows, intentOf, 'issuance intent');
    });
  }

  async completeIssuance(sessionId: string, keyId: string, certificateDer: Uint8Array, options: { readonly kmkId?: string } = {}): Promise<Credential> {
    return this.#tx('completeIssuance', async (tx, now) => {
      const recorded = async (): Promise<Credential | undefined> => {
        const rows = await tx.all(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE session_id = $1 AND key_id = $2`, [sessionId, keyId]);
        return first(rows, credentialOf);
      };
      const already = await recorded();
      if (already !== undefined) return already;
      const intents = await tx.all(`SELECT ${INTENT_COLUMNS} FROM issuance_intents WHERE session_id = $1 AND key_id = $2`, [sessionId, keyId]);
      const intent = firstOrNotFound(intents, intentOf, 'issuance intent');
      // A concurrent completion (another process) makes this insert do nothing;
      // its certificate, read back, is the one answer.
      const rows = await tx.all(
        `INSERT INTO credentials (fingerprint, session_id, key_id, device_id, serial, certificate, status, kmk_id, issued_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'issued', $7, $8, $8) ON CONFLICT DO NOTHING RETURNING ${CREDENTIAL_COLUMNS}`,
        [sha256Hex(certificateDer), sessionId, keyId, intent.deviceId, intent.serial, certificateDer, options.kmkId ?? null, now],
      );
      const inserted = first(rows, credentialOf);
      if (inserted !== undefined) {
        await tx.run('UPDATE issuance_intents SET completed_at = $3 WHERE session_id = $1 AND key_id = $2', [sessionId, keyId, now]);
        return inserted;
      }
      const winner = await recorded();
      if (winner !== undefined) return winner;
      throw conflict('certificate already recorded for another key', 'certificate');
    });
  }

  async getCredential(fingerprint: string): Promise<Credential> {
    return this.#read('getCredential', async (tx) => {
      const rows = await tx.all(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials WHERE fingerprint = $1`, [fingerprint]);
      return firstOrNotFound(rows, credentialOf, 'credential');
    });
  }

  async listCredentials(filter: { readonly deviceId?: string; readonly sessionId?: string } = {}): Promise<readonly Credential[]> {
    return this.#read('listCredentials', async (tx) => {
      const writer = where([
        filter.deviceId === undefined ? undefined : ['device_id = ?', filter.deviceId],
        filter.sessionId === undefined ? undefined : ['session_id = ?', filter.sessionId],
      ]);
      const rows = await tx.all(`SELECT ${CREDENTIAL_COLUMNS} FROM credentials${writer.sql} ORDER BY issued_at, fingerprint`, writer.params);
      return rows.map(credentialOf);
    });
  }

  async setCredentialStatus(fingerprint: string, status: CredentialStatus, options: { readonly audit?: NewAuditEvent } = {}): Promise<Credential> {
    return this.#tx('setCredentialStatus', async (tx, now) => {
      const allowed = [status, ...CREDENTIAL_TRANSITIONS[status]];
      const placeholders = allowed.map((_, i) => `$${i + 4}`).join(', ');
      const rows = await tx.all(
        `UPDATE credentials SET status = $2, updated_at = $3 WHERE fingerprint = $1 AND status IN (${placeholders})
         RETURNING ${CREDENTIAL_COLUMNS}`,
        [fingerprint, status, now, ...allowed],
      );
      const updated = first(rows, credentialOf);
      if (updated !== undefined) {
        if (options.audit !== undefined) await insertAudit(tx, now, options.audit);
        return updated;
      }
      await mustExist(tx, 'credentials', 'fingerprint', fingerprint, 'credential');
      throw conflict(`credential cannot become ${status}`, 'status');
    });
  }

  // The literal status (not a parameter) lets SQLite use the partial index credentials_revoked.
  async revocationSummary(): Promise<RevocationSummary> {
    return this.#read('revocationSummary', async (db) => {
      const row = one(await db.all(`SELECT COUNT(*) AS n, MAX(updated_at) AS latest FROM credentials WHERE status = 'revoked'`));
      return { count: int(row, 'n'), latestRevokedAt: intOrNull(row, 'latest') };
    });
  }

  async nextCrl(caId: string, atLeast: number): Promise<CrlContents> {
    if (!Number.isSafeInteger(atLeast) || atLeast < 0) throw new IssuerError('BAD_REQUEST', 'issuer database: CRL number must be a safe non-negative integer');
    return this.#tx('nextCrl', async (tx, now) => {
      // One upsert: the row lock (PostgreSQL) or write lock (SQLite) orders concurrent callers, and the
      // list below is read under it, so it holds at least what a lower number's list held.
      const numbers = await tx.all(
        `INSERT INTO crl_numbers (ca_sha256, last_number, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (ca_sha256) DO UPDATE SET updated_at = excluded.updated_at,
           last_number = CASE WHEN crl_numbers.last_number + 1 > excluded.last_number THEN crl_numbers.last_number + 1 ELSE excluded.last_number END
         RETURNING last_number`,
        [caId, atLeast, now],
      );
      const rows = await tx.all(`SELECT serial, updated_at FROM credentials WHERE status = 'revoked' ORDER BY updated_at, serial`);
      return {
        crlNumber: int(one(numbers), 'last_number'),
        revoked: rows.map((r) => ({ serial: text(r, 'serial'), revokedAt: int(r, 'updated_at') })),
      };
    });
  }

  // ------------------------------------------------- scheduled operations

  async scheduleOperation(input: NewScheduledOperation): Promise<ScheduledOperation> {
    return this.#tx('scheduleOperation', async (tx, now) => {
      const credentials = await tx.all(`SELECT device_id, status FROM credentials WHERE fingerprint = $1`, [input.credentialFingerprint]);
      const credential = credentials.at(0);
      if (credential === undefined) throw notFound('credential');
      if (text(credential, 'status') === 'deleted') throw conflict('credential is deleted', 'status');
      const rows = await tx.all(
        `INSERT INTO scheduled_operations (id, kind, credential_fingerprint, device_id, status, payload, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $6) RETURNING ${OPERATION_COLUMNS}`,
        [this.#randomId(), input.kind, input.credentialFingerprint, textOrNull(credential, 'device_id'), input.payload ?? '{}', now],
      );
      return operationOf(one(rows));
    });
  }

  async listOperations(filter: { readonly deviceId?: string; readonly status?: ScheduledOperationStatus }): Promise<readonly ScheduledOperation[]> {
    return this.#read('listOperations', async (tx) => {
      const writer = where([
        filter.deviceId === undefined ? undefined : ['device_id = ?', filter.deviceId],
        filter.status === undefined ? undefined : ['status = ?', filter.status],
      ]);
      const rows = await tx.all(`SELECT ${OPERATION_COLUMNS} FROM scheduled_operations${writer.sql}`, writer.params);
      return inOrder(rows);
    });
  }

  async claimOperations(deviceId: string, sessionId: string): Promise<readonly ScheduledOperation[]> {
    return this.#tx('claimOperations', async (tx, now) => {
      const rows = await tx.all(
        `UPDATE scheduled_operations SET status = 'running', session_id = $2, updated_at = $3
         WHERE device_id = $1 AND status = 'pending' RETURNING ${OPERATION_COLUMNS}`,
        [deviceId, sessionId, now],
      );
      return inOrder(rows);
    });
  }

  async releaseOperations(sessionId: string): Promise<number> {
    return this.#tx('releaseOperations', (tx, now) => releaseClaims(tx, now, sessionId));
  }

  async releaseFailedSession(sessionId: string): Promise<void> {
    await this.#tx('releaseFailedSession', (tx, now) => releaseSession(tx, now, sessionId));
  }

  async finishOperation(id: string, status: 'done' | 'failed', outcome?: string): Promise<ScheduledOperation> {
    return this.#tx('finishOperation', async (tx, now) => {
      const rows = await tx.all(
        `UPDATE scheduled_operations SET status = $2, outcome = $3, updated_at = $4
         WHERE id = $1 AND status = 'running' RETURNING ${OPERATION_COLUMNS}`,
        [id, status, outcome ?? null, now],
      );
      const finished = first(rows, operationOf);
      if (finished !== undefined) return finished;
      await mustExist(tx, 'scheduled_operations', 'id', id, 'scheduled operation');
      throw conflict('operation is not running', 'status');
    });
  }

  // ------------------------------------------------ key management keys

  async rollKeyManagementKey(key: NewKeyManagementKey): Promise<KeyManagementKey> {
    return this.#tx('rollKeyManagementKey', async (tx, now) => {
      const retired = await tx.all(`UPDATE key_management_keys SET retired_at = $2 WHERE issuer = $1 AND retired_at IS NULL RETURNING id`, [key.issuer, now]);
      // A concurrent roll that retired the same key first leaves `retired`
      // empty here, and this insert then collides on the one-current-key index: CONFLICT.
      const rows = await tx.all(
        `INSERT INTO key_management_keys (id, issuer, spki, private_key_ref, previous_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${KMK_COLUMNS}`,
        [key.id, key.issuer, key.spki, key.privateKeyRef, retired.at(0) === undefined ? null : text(retired[0], 'id'), now],
      );
      return kmkOf(one(rows));
    });
  }

  async currentKeyManagementKey(issuer: string): Promise<KeyManagementKey | undefined> {
    return this.#read('currentKeyManagementKey', async (tx) => {
      const rows = await tx.all(`SELECT ${KMK_COLUMNS} FROM key_management_keys WHERE issuer = $1 AND retired_at IS NULL`, [issuer]);
      return first(rows, kmkOf);
    });
  }

  async keyManagementKeyHistory(issuer: string): Promise<readonly KeyManagementKey[]> {
    return this.#read('keyManagementKeyHistory', async (tx) => {
      const keys = (await tx.all(`SELECT ${KMK_COLUMNS} FROM key_management_keys WHERE issuer = $1`, [issuer])).map(kmkOf);
      // Follow the roll-over chain back from the current key (timestamps may tie within a millisecond).
      const byId = new Map(keys.map((k) => [k.id, k]));
      const chain: KeyManagementKey[] = [];
      for (let k = keys.find((x) => x.retiredAt === null); k !== undefined;) {
        chain.push(k);
        k = k.previousId === null ? undefined : byId.get(k.previousId);
      }
      return chain.reverse();
    });
  }

  // --------------------------------------------------------------- audit

  async appendAudit(event: NewAuditEvent): Promise<AuditEvent> {
    return this.#tx('appendAudit', (tx, now) => insertAudit(tx, now, event));
  }

  async listAudit(options: { readonly sessionId?: string; readonly afterSeq?: number; readonly limit?: number } = {}): Promise<readonly AuditEvent[]> {
    return this.#read('listAudit', async (tx) => {
      const writer = where([
        options.sessionId === undefined ? undefined : ['session_id = ?', options.sessionId],
        options.afterSeq === undefined ? undefined : ['seq > ?', options.afterSeq],
      ]);
      const rows = await tx.all(`SELECT ${AUDIT_COLUMNS} FROM audit_events${writer.sql} ORDER BY seq LIMIT $${writer.params.length + 1}`, [
        ...writer.params,
        clampLimit(options.limit, 1000),
      ]);
      return rows.map(auditOf);
    });
  }

  async close(): Promise<void> {
    try {
      await this.#driver.close();
    } catch (error) {
      throw storageError('close', error);
    }
  }
}

// --------------------------------------------------------------- helpers

/** The first row decoded, or undefined when there is none. */
const first = <T>(rows: readonly Row[], decode: (row: Row) => T): T | undefined => {
  const row = rows.at(0);
  return row === undefined ? undefined : decode(row);
};

/** The first row decoded; NOT_FOUND naming `what` when there is none. */
const firstOrNotFound = <T>(rows: readonly Row[], decode: (row: Row) => T, what: string): T => {
  const row = rows.at(0);
  if (row === undefined) throw notFound(what);
  return decode(row);
};

const one = (rows: readonly Row[]): Row => {
  const result = rows.at(0);
  if (result === undefined) throw new IssuerError('INTERNAL', 'issuer database: statement returned no row');
  return result;
};

/** NOT_FOUND unless a row with `column = value` exists (table and column are constants of this file). */
const mustExist = async (tx: SqlRunner, table: string, column: string, value: string, what: string): Promise<void> => {
  const rows = await tx.all(`SELECT 1 AS found FROM ${table} WHERE ${column} = $1`, [value]);
  if (rows.length === 0) throw notFound(what);
};

const consume = async (tx: SqlRunner, now: number, token: string, sessionId: string): Promise<ConsumeEnrollmentResult> => {
  const hash = sha256(token);
  // One conditional UPDATE: of concurrent consumers exactly one sees its row.
  const rows = await tx.all(
    `UPDATE enrollments SET state = 'used', used_at = $2, session_id = $3
     WHERE token_sha256 = $1 AND state = 'created' AND expires_at > $2 RETURNING ${ENROLLMENT_COLUMNS}`,
    [hash, now, sessionId],
  );
  const consumed = first(rows, enrollmentOf);
  if (consumed !== undefined) return { kind: 'consumed', enrollment: consumed };
  const enrollment = first(await tx.all(`SELECT ${ENROLLMENT_COLUMNS} FROM enrollments WHERE token_sha256 = $1`, [hash]), enrollmentOf);
  if (enrollment === undefined) return { kind: 'unknown' };
  switch (enrollment.state) {
    case 'used':
      return { kind: 'used', enrollment };
    case 'expired':
      return { kind: 'expired' };
    case 'created':
      // Lapsed but not yet swept: record it now.
      await tx.run(`UPDATE enrollments SET state = 'expired' WHERE id = $1 AND state = 'created'`, [enrollment.id]);
      return { kind: 'expired' };
  }
};

/** The operations a session claimed, back to pending for the device's next session; how many. */
const releaseClaims = (tx: SqlRunner, now: number, sessionId: string): Promise<number> =>
  tx.run(`UPDATE scheduled_operations SET status = 'pending', session_id = NULL, updated_at = $2 WHERE session_id = $1 AND status = 'running'`, [
    sessionId,
    now,
  ]);

/**
 * What a failed session held, released (as the service does for a failure): its running
 * operations back to pending for the device's next session, its issued certificates
 * revoked (signed at key creation, never confirmed by the device).
 */
const releaseSession = async (tx: SqlRunner, now: number, sessionId: string): Promise<void> => {
  await releaseClaims(tx, now, sessionId);
  await tx.run(`UPDATE credentials SET status = 'revoked', updated_at = $2 WHERE session_id = $1 AND status = 'issued'`, [sessionId, now]);
};

const insertAudit = async (tx: SqlRunner, now: number, event: NewAuditEvent): Promise<AuditEvent> => {
  const rows = await tx.all(`INSERT INTO audit_events (at, kind, session_id, detail) VALUES ($1, $2, $3, $4) RETURNING ${AUDIT_COLUMNS}`, [
    now,
    event.kind,
    event.sessionId ?? null,
    event.detail ?? '{}',
  ]);
  return auditOf(one(rows));
};

const insertSession = async (tx: SqlRunner, now: number, input: NewSession): Promise<Session> => {
  const rows = await tx.all(
    `INSERT INTO sessions (id, enrollment_id, management_device_id, status, state, step, last_request_sha256,
       response_kind, response_content_type, response_body, created_at, updated_at, expires_at)
     VALUES ($1, $2, $3, 'active', $4, 0, $5, $6, $7, $8, $9, $9, $10) RETURNING ${SESSION_COLUMNS}`,
    [
      input.id,
      input.origin.kind === 'enrollment' ? input.origin.enrollmentId : null,
      input.origin.kind === 'management' ? input.origin.deviceId : null,
      input.state,
      input.requestHash,
      ...responseParams(input.response),
      now,
      input.expiresAt,
    ],
  );
  return sessionOf(one(rows));
};

/**
 * Runs the missing migrations, then serves the port over `driver`. The driver
 * is closed if migrating fails, so a failed open leaks no connection.
 */
export const sqlIssuerDatabase = async (driver: SqlDriver, env: IssuerDatabaseEnvironment = {}): Promise<IssuerDatabase> => {
  try {
    await migrate(driver, (env.now ?? Date.now)());
  } catch (error) {
    await driver.close().catch(() => undefined);
    throw isIssuerError(error) ? error : storageError('migrate', error);
  }
  return new SqlIssuerDatabase(driver, env);
};
