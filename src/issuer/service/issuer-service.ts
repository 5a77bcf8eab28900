/**
 * The issuer service as a library (the routes only decode, call this, encode):
 * KeyGen2 sessions over the issuer database with every step written before it
 * is answered, enrollments and management invocations, credentials,
 * revocation and CRL, scheduled remote operations and KMK roll-over.
 *
 * Session binding (spec §2.2, §2.3): the invocation URL's `cookie` is
 * `airtight-kg2=<enrollment id>.<token>` (`m.<token>` for a management
 * session); the token is random and one-time; the KeyGen2 `serverSessionId`
 * and the database session id are an HMAC of the token under a key derived
 * from the sealing key, so any process holding the sealing key finds the
 * session from the cookie alone and the database never holds the token.
 */
import { createHash, createHmac, hkdfSync, randomBytes, X509Certificate } from 'node:crypto';
import { buildInvocationUrl } from '../../keygen2/http/invocation-url.js';
import { encodeBase64Url } from '../../keygen2/json/base64url.js';
import {
  createIssuer,
  DeviceTrust,
  NodeIssuerCrypto,
  type AttestedKey,
  type IssuedKeyMaterial,
  type IssuerConfig,
  type IssuerState,
  type KeyGen2Issuer,
  type ManagementPlan,
  type UpdatableKmkConfig,
  type DiscoveredCredential,
  type ProvisioningOutcome,
} from '../../keygen2/server/index.js';
import { CertificateIssuer, issueOnce, type IssuerCa } from '../ca/index.js';
import type {
  AuditEvent,
  Credential,
  Device,
  Enrollment,
  IssuerDatabase,
  KeyManagementKey,
  NewAuditEvent,
  ScheduledOperation,
  ScheduledOperationKind,
  Session,
  SessionStatus,
  StoredResponse,
} from '../db/port.js';
import { IssuerError, isIssuerError } from '../errors.js';
import type { ServiceLimits } from '../config.js';
import { checkKeyAlgorithm, type AttestationPolicy } from '../policy/attestation.js';
import { keyAlgorithmUri, templateKeys, templateProfile, templateUser, type EnrollmentTemplate } from '../policy/templates.js';
import { issuerCause, reasonOf, type RefusalReason } from './reasons.js';
import { listDevices, revokeCredential } from './admin.js';
import { CrlPublisher, type SignedCrl } from './crl.js';
import { rollKmk, unsealKmk } from './kmk.js';
import { planManagementOperations, recordManagementOutcome } from './management.js';

export const SESSION_COOKIE = 'airtight-kg2';
/** The path of the KeyGen2 transaction URL (also the issuerUri) under the public URL. */
export const KEYGEN2_PATH = '/keygen2';

export interface IssuerServiceOptions {
  readonly db: IssuerDatabase;
  readonly ca: IssuerCa;
  /** 32 octets shared by every process serving the same database. */
  readonly sealingKey: Uint8Array;
  readonly policy: AttestationPolicy;
  readonly templates: Readonly<Record<string, EnrollmentTemplate>>;
  /** The public base URL (scheme, host, port, optional path), no trailing slash; settable later (port 0). */
  readonly publicUrl?: string;
  /** DER of the TLS leaf certificate the service serves: the session attestation covers it (spec §2.2). */
  readonly serverCertificate?: Uint8Array;
  readonly limits: ServiceLimits;
  /** Name of this issuer in the KMK table. Default `airtight`. */
  readonly issuerName?: string;
  readonly clock?: () => number;
}

/** What a KeyGen2 step answers: the next message, or a redirect (end of session, or error page). */
export type Keygen2Answer = StoredResponse;

export interface CreatedInvocation {
  readonly invocationUrl: string;
  /** The command a user runs to enroll with it. */
  readonly command: string;
  readonly expiresAt: number;
}

export interface CreatedEnrollment extends CreatedInvocation {
  readonly enrollmentId: string;
  readonly template: string;
  readonly userName: string;
}

export interface CreatedManagementSession extends CreatedInvocation {
  readonly sessionId: string;
  readonly deviceId: string;
  readonly pendingOperations: number;
}

const GET_HASH = createHash('sha256').update('GET init').digest('hex');
/** How many expired sessions one sweep transaction ends. */
const SWEEP_BATCH = 100;
/** Past this the state machine refuses every response (serverTime + sessionLifeTime), so an active session is abandoned. */
const expiryOf = (state: IssuerState): number => Date.parse(state.serverTime) + state.sessionLifeTime * 1000;
const postHash = (body: string): string => createHash('sha256').update('POST\n').update(body, 'utf8').digest('hex');

/** Reads `airtight-kg2` from a Cookie header. */
export function sessionCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Shell-quotes one argument for the printed `airtight enroll` command. */
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class IssuerService {
  readonly db: IssuerDatabase;
  readonly ca: IssuerCa;
  readonly policy: AttestationPolicy;
  readonly templates: Readonly<Record<string, EnrollmentTemplate>>;
  readonly limits: ServiceLimits;
  publicUrl: string;
  readonly #sealingKey: Uint8Array;
  readonly #idKey: Buffer;
  /** The TLS leaf certificate, base64url, as every session's configuration carries it. */
  readonly #serverCertificate: string | undefined;
  readonly #issuerName: string;
  readonly #clock: () => number;
  readonly #certIssuer: CertificateIssuer;
  readonly #deviceTrust: DeviceTrust;
  readonly #crl: CrlPublisher;
  #crypto: NodeIssuerCrypto;
  #kmkHistory: readonly KeyManagementKey[] = [];

  constructor(options: IssuerServiceOptions) {
    if (options.sealingKey.length !== 32) throw new IssuerError('CONFIG', 'the sealing key must be 32 octets', { field: 'sealingKey' });
    this.db = options.db;
    this.ca = options.ca;
    this.policy = options.policy;
    this.templates = options.templates;
    this.limits = options.limits;
    this.publicUrl = (options.publicUrl ?? '').replace(/\/+$/, '');
    this.#sealingKey = Buffer.from(options.sealingKey);
    this.#idKey = Buffer.from(hkdfSync('sha256', this.#sealingKey, Buffer.alloc(0), 'airtight issuer session id', 32));
    this.#serverCertificate = options.serverCertificate === undefined ? undefined : encodeBase64Url(options.serverCertificate);
    this.#issuerName = options.issuerName ?? 'airtight';
    this.#clock = options.clock ?? Date.now;
    this.#certIssuer = new CertificateIssuer(options.ca.issuing);
    this.#deviceTrust = new DeviceTrust(options.policy.trustRoots);
    this.#crypto = new NodeIssuerCrypto({ sealingKey: this.#sealingKey });
    this.#crl = new CrlPublisher(options.db, options.ca.issuing, this.#clock);
  }

  // ------------------------------------------------------------------ KMKs

  /** The current KMK (created on first use); reloads the key set when another process rolled it. */
  async currentKmk(): Promise<KeyManagementKey> {
    let current = await this.db.currentKeyManagementKey(this.#issuerName);
    if (current === undefined) {
      try {
        current = await rollKmk(this.db, this.#issuerName, this.#sealingKey, this.#clock);
      } catch (error) {
        // Another process created the first one concurrently.
        if (!(isIssuerError(error) && error.code === 'CONFLICT')) throw error;
        current = await this.db.currentKeyManagementKey(this.#issuerName);
        if (current === undefined) throw error;
      }
    }
    if (!this.#kmkHistory.some((k) => k.id === current.id)) await this.#reloadKmks();
    return current;
  }

  async #reloadKmks(): Promise<void> {
    const history = await this.db.keyManagementKeyHistory(this.#issuerName);
    const keys: Record<string, ReturnType<typeof unsealKmk>> = {};
    for (const keyManagementKey of history) keys[keyManagementKey.id] = unsealKmk(keyManagementKey.privateKeyRef, this.#sealingKey, keyManagementKey.id);
    this.#crypto = new NodeIssuerCrypto({ sealingKey: this.#sealingKey, keyManagementKeys: keys });
    this.#kmkHistory = history;
  }

  /** Rolls the KMK over: new sessions use the new one; keys under older ones are taken over at their next management session (spec §9.4). */
  async rollKmk(): Promise<{ readonly id: string; readonly previousId: string | null }> {
    await this.currentKmk();
    const keyManagementKey = await rollKmk(this.db, this.#issuerName, this.#sealingKey, this.#clock);
    await this.#reloadKmks();
    await this.db.appendAudit({ kind: 'kmk-rolled', detail: JSON.stringify({ id: keyManagementKey.id, previousId: keyManagementKey.previousId }) });
    return { id: keyManagementKey.id, previousId: keyManagementKey.previousId };
  }

  /** The roll-over tree: current ← previous ← … (each older key authorizes its successor). */
  #updatableChain(current: KeyManagementKey): UpdatableKmkConfig[] {
    const byId = new Map(this.#kmkHistory.map((k) => [k.id, k]));
    const chain = (keyManagementKey: KeyManagementKey): UpdatableKmkConfig[] => {
      const prev = keyManagementKey.previousId === null ? undefined : byId.get(keyManagementKey.previousId);
      return prev === undefined ? [] : [{ kmk: prev.id, updatableKeyManagementKeys: chain(prev) }];
    };
    return chain(current);
  }

  /** Makes sure the crypto port knows the KMK (by name) a session was started with (another process may have created or rolled it). */
  async #ensureKmk(name: string | undefined): Promise<void> {
    if (name === undefined || this.#kmkHistory.some((k) => k.id === name)) return;
    await this.#reloadKmks();
  }

  // -------------------------------------------------------------- invocations

  #sessionIdOf(token: string): string {
    return createHmac('sha256', this.#idKey).update(token).digest('base64url').slice(0, 32);
  }

  #invocation(cookieValue: string, expiresAt: number): CreatedInvocation {
    if (this.publicUrl === '') throw new IssuerError('CONFIG', 'the public URL is not known yet', { field: 'publicUrl' });
    const invocationUrl = buildInvocationUrl({
      initUrl: `${this.publicUrl}${KEYGEN2_PATH}/init`,
      transactionUrl: `${this.publicUrl}${KEYGEN2_PATH}`,
      cookie: `${SESSION_COOKIE}=${cookieValue}`,
      cancelUrl: `${this.publicUrl}${KEYGEN2_PATH}/cancelled`,
    });
    return { invocationUrl, command: `airtight enroll ${shellQuote(invocationUrl)}`, expiresAt };
  }

  /** Creates a one-time, expiring enrollment for a user with a template. */
  async createEnrollment(input: {
    readonly template: string;
    readonly userName: string;
    readonly userEmail?: string;
    readonly ttlSeconds?: number;
  }): Promise<CreatedEnrollment> {
    const template = this.#template(input.template);
    if (template.privacy === true && !this.policy.allowPrivacy) {
      throw new IssuerError('POLICY', `template ${input.template} asks for privacy mode, which this issuer does not allow`, { field: 'template' });
    }
    if (input.userName.trim() === '' || input.userName.length > 128)
      throw new IssuerError('BAD_REQUEST', 'userName must be 1-128 characters', { field: 'userName' });
    const ttl = Math.min(input.ttlSeconds ?? this.limits.enrollmentTtlSeconds, 30 * 86_400);
    const token = randomBytes(32).toString('base64url');
    const enrollment = await this.db.createEnrollment({
      token,
      template: input.template,
      userName: input.userName,
      ...(input.userEmail === undefined ? {} : { userEmail: input.userEmail }),
      expiresAt: this.#clock() + ttl * 1000,
    });
    await this.db.appendAudit({
      kind: 'enrollment-created',
      detail: JSON.stringify({ enrollmentId: enrollment.id, template: input.template, userName: input.userName }),
    });
    return {
      enrollmentId: enrollment.id,
      template: input.template,
      userName: input.userName,
      ...this.#invocation(`${enrollment.id}.${token}`, enrollment.expiresAt),
    };
  }

  #template(name: string): EnrollmentTemplate {
    const template = Object.hasOwn(this.templates, name) ? this.templates[name] : undefined;
    if (template === undefined) throw new IssuerError('NOT_FOUND', `no template named ${name}`, { field: 'template' });
    return template;
  }

  /**
   * Creates a management session for a device: credential discovery with
   * lookups signed by the current KMK, the roll-over chain of older KMKs, and
   * a replacement key per pending update; the pending operations are claimed
   * when the device's discovery answer arrives.
   */
  async createManagementSession(input: { readonly deviceId: string; readonly ttlSeconds?: number }): Promise<CreatedManagementSession> {
    const device = await this.db.getDevice(input.deviceId);
    if (device.kind !== 'certificate') throw new IssuerError('BAD_REQUEST', 'a privacy device cannot be managed', { field: 'deviceId' });
    const kmk = await this.currentKmk();
    const pending = await this.db.listOperations({ deviceId: device.id, status: 'pending' });
    const updates = pending.filter((o) => o.kind === 'update');
    const token = randomBytes(32).toString('base64url');
    const sessionId = this.#sessionIdOf(token);
    const ttl = Math.min(input.ttlSeconds ?? this.limits.sessionLifeTimeSeconds, 86_400);
    const updateKeys: Record<string, string> = {};
    const keys = updates.map((op, index) => {
      const payload = parsePayload(op.payload);
      const template = this.#template(payload.template);
      const id = `Update.${index + 1}`;
      updateKeys[id] = op.id;
      return {
        id,
        keyAlgorithm: keyAlgorithmUri(template.keyAlgorithm),
        appUsage: template.appUsage,
        ...(template.friendlyName === undefined ? {} : { friendlyName: template.friendlyName }),
      };
    });
    const config: IssuerConfig = {
      issuerUri: `${this.publicUrl}${KEYGEN2_PATH}`,
      serverSessionId: sessionId,
      ...(this.#serverCertificate === undefined ? {} : { serverCertificate: this.#serverCertificate }),
      sessionLifeTime: ttl,
      keyManagementKey: kmk.id,
      updatableKeyManagementKeys: this.#updatableChain(kmk),
      lookups: [{ id: 'Lookup.1', kmk: kmk.id }],
      ...(keys.length > 0 ? { keys } : {}),
    };
    const { state, request } = await this.#issuer(sessionId).startText(config);
    await this.db.createSession({
      id: sessionId,
      origin: { kind: 'management', deviceId: device.id },
      state: JSON.stringify(state),
      requestHash: GET_HASH,
      response: { kind: 'body', contentType: 'application/json', body: request },
      expiresAt: expiryOf(state),
    });
    await this.db.appendAudit({ kind: 'management-session-created', sessionId, detail: JSON.stringify({ deviceId: device.id, updateKeys }) });
    return { sessionId, deviceId: device.id, pendingOperations: pending.length, ...this.#invocation(`m.${token}`, this.#clock() + ttl * 1000) };
  }

  // ---------------------------------------------------------- KeyGen2 steps

  /**
   * The state machine for one step of a session. `session` is the record the
   * step was read from (post): the certifications of the step share its
   * context and its device record, read and written once per step rather
   * than once per key.
   */
  #issuer(sessionId: string, session?: Session): KeyGen2Issuer {
    let context: Promise<SessionContext> | undefined;
    let device: { readonly der: Uint8Array; readonly id: Promise<string> } | undefined;
    const deviceIdOf = (der: Uint8Array): Promise<string> => {
      if (device === undefined || !Buffer.from(device.der).equals(der)) device = { der, id: this.#recordDevice(der) };
      return device.id;
    };
    return createIssuer({
      crypto: this.#crypto,
      deviceTrust: this.#deviceTrust,
      allowPrivacyMode: this.policy.allowPrivacy,
      clock: this.#clock,
      certify: async (key) => this.#certify(sessionId, await (context ??= this.#sessionContext(sessionId, session)), key, deviceIdOf),
      planManagement: (discovered) => this.#planManagement(sessionId, discovered, session),
    });
  }

  /** Records (or re-sights) the device of a device certificate; its subject is read only here. */
  async #recordDevice(certificateDer: Uint8Array): Promise<string> {
    const device = await this.db.recordDevice({
      kind: 'certificate',
      certificateDer,
      subject: new X509Certificate(certificateDer).subject.replace(/\n/g, ', '),
    });
    return device.id;
  }

  #refusal(reason: RefusalReason): StoredResponse {
    return { kind: 'redirect', location: `${this.publicUrl}${KEYGEN2_PATH}/error?reason=${reason}` };
  }

  /** Ends a session as failed (once) and releases what it claimed; answers the error page. */
  async #fail(sessionId: string | undefined, reason: RefusalReason): Promise<StoredResponse> {
    if (sessionId !== undefined) {
      const marked = await this.db.failSession(sessionId, reason).then(
        () => true,
        (error: unknown) => {
          if (!(isIssuerError(error) && (error.code === 'CONFLICT' || error.code === 'NOT_FOUND'))) throw error;
          return false;
        },
      );
      // Already ended: only a failed one is cleaned up (a concurrent request may have completed it).
      if (marked || (await this.db.getSession(sessionId).catch(notFound))?.status === 'failed') await this.#releaseFailed(sessionId);
      await this.db.appendAudit({ kind: 'session-failed', sessionId, detail: JSON.stringify({ reason }) });
    }
    return this.#refusal(reason);
  }

  /**
   * What a failed session leaves behind: its claimed operations go back to
   * pending, its certificates are revoked. Idempotent, and run again for a
   * request retried to a failed session, so a crash after the session was
   * marked failed cannot leave its certificates valid.
   */
  async #releaseFailed(sessionId: string): Promise<void> {
    // Certificates are signed at key creation, before the device confirms the session (spec §11.2):
    // those of a failed session were never installed, so they are revoked rather than left valid.
    await this.db.releaseFailedSession(sessionId);
  }

  /**
   * The `init` GET: starts the enrollment's session (consuming its token) or
   * answers a management session's InvocationRequest; a retried GET before
   * the first POST gets the same answer.
   */
  async init(cookieHeader: string | undefined): Promise<{ readonly answer: Keygen2Answer; readonly sessionId?: string; readonly reason?: RefusalReason }> {
    const value = sessionCookie(cookieHeader);
    const dot = value?.indexOf('.') ?? -1;
    if (value === undefined || dot <= 0) return { answer: this.#refusal('invalid-invocation'), reason: 'invalid-invocation' };
    const head = value.slice(0, dot);
    const token = value.slice(dot + 1);
    const sessionId = this.#sessionIdOf(token);
    if (head === 'm') {
      const session = await this.db.getSession(sessionId).catch(notFound);
      if (session?.origin.kind !== 'management') return { answer: this.#refusal('invalid-invocation'), reason: 'invalid-invocation' };
      const again = session.status === 'active' && session.step === 0 ? (session.lastRequestHash === GET_HASH ? session.lastResponse : undefined) : undefined;
      if (again === undefined) {
        // A management link's session may have been swept as abandoned before it was ever used.
        const reason = session.failureReason === 'session-expired' ? 'invocation-expired' : 'invocation-used';
        return { answer: this.#refusal(reason), reason, sessionId };
      }
      return { answer: again, sessionId };
    }
    const enrollment = await this.db.getEnrollment(head).catch(notFound);
    if (enrollment === undefined) return { answer: this.#refusal('invalid-invocation'), reason: 'invalid-invocation' };
    if (enrollment.state === 'used') {
      // A retried GET of this very token before the first POST replays; anything else is a reuse.
      const session = enrollment.sessionId === sessionId ? await this.db.getSession(sessionId).catch(notFound) : undefined;
      if (session?.status === 'active' && session.step === 0 && session.lastRequestHash === GET_HASH) return { answer: session.lastResponse, sessionId };
      return { answer: this.#refusal('invocation-used'), reason: 'invocation-used' };
    }
    if (enrollment.state === 'expired' || enrollment.expiresAt <= this.#clock())
      return { answer: this.#refusal('invocation-expired'), reason: 'invocation-expired' };
    const template = this.#template(enrollment.template);
    let started: { state: IssuerState; request: string };
    try {
      started = await this.#issuer(sessionId).startText({
        issuerUri: `${this.publicUrl}${KEYGEN2_PATH}`,
        serverSessionId: sessionId,
        ...(this.#serverCertificate === undefined ? {} : { serverCertificate: this.#serverCertificate }),
        sessionLifeTime: this.limits.sessionLifeTimeSeconds,
        keyManagementKey: (await this.currentKmk()).id,
        ...(template.privacy === true ? { privacyEnabled: true } : {}),
        ...templateKeys(template),
      });
    } catch (error) {
      const reason = reasonOf(error);
      return { answer: this.#refusal(reason), reason };
    }
    const answer: StoredResponse = { kind: 'body', contentType: 'application/json', body: started.request };
    const sessionResult = await this.db.startEnrollmentSession(token, {
      id: sessionId,
      state: JSON.stringify(started.state),
      requestHash: GET_HASH,
      response: answer,
      expiresAt: expiryOf(started.state),
    });
    switch (sessionResult.kind) {
      case 'started':
        if (sessionResult.enrollment.id !== enrollment.id)
          return { answer: await this.#fail(sessionId, 'invalid-invocation'), reason: 'invalid-invocation', sessionId };
        return { answer, sessionId };
      case 'replayed':
        return { answer: sessionResult.session.lastResponse, sessionId };
      case 'refused': {
        const reason: RefusalReason =
          sessionResult.reason === 'used' ? 'invocation-used' : sessionResult.reason === 'expired' ? 'invocation-expired' : 'invalid-invocation';
        return { answer: this.#refusal(reason), reason };
      }
    }
  }

  /**
   * One POSTed response: replayed if it is the session's last answered
   * request; else the state machine's next step, written (CAS on the step
   * number) before it is answered. A lost CAS re-reads: the winner's answer
   * if it answered the same request, else an out-of-order refusal.
   */
  async post(
    cookieHeader: string | undefined,
    body: string,
  ): Promise<{ readonly answer: Keygen2Answer; readonly sessionId?: string; readonly reason?: RefusalReason; readonly replayed?: boolean }> {
    const value = sessionCookie(cookieHeader);
    const dot = value?.indexOf('.') ?? -1;
    if (value === undefined || dot <= 0) return { answer: this.#refusal('invalid-invocation'), reason: 'invalid-invocation' };
    const sessionId = this.#sessionIdOf(value.slice(dot + 1));
    const session = await this.db.getSession(sessionId).catch(notFound);
    if (session === undefined) return { answer: this.#refusal('invalid-invocation'), reason: 'invalid-invocation' };
    const hash = postHash(body);
    if (session.lastRequestHash === hash) return { answer: session.lastResponse, sessionId, replayed: true };
    if (session.status !== 'active') {
      // A crash may have cut the clean-up of a failed session short: the retried request finishes it.
      if (session.status === 'failed') await this.#releaseFailed(sessionId);
      const reason = session.failureReason === 'session-expired' ? 'session-expired' : 'session-ended';
      return { answer: this.#refusal(reason), reason, sessionId };
    }
    const state = JSON.parse(session.state) as IssuerState;
    await this.#ensureKmk(state.plan.keyManagementKey);
    let step: Awaited<ReturnType<KeyGen2Issuer['acceptText']>>;
    try {
      step = await this.#issuer(sessionId, session).acceptText(state, body);
    } catch (error) {
      // A concurrent copy of this POST (here or at another process) may have won while we computed.
      const winner = await this.#winner(sessionId, hash);
      if (winner !== undefined) return { answer: winner, sessionId, replayed: true };
      // Storage trouble or a lost race in the database is not the device's fault: refuse this
      // request but leave the session to a retry.
      const cause = issuerCause(error);
      if (isIssuerError(cause) && (cause.code === 'STORAGE' || cause.code === 'CONFLICT')) throw cause;
      const reason = reasonOf(error);
      return { answer: await this.#fail(sessionId, reason), reason, sessionId };
    }
    let answer: StoredResponse;
    let audit: NewAuditEvent | undefined;
    if (step.outcome === undefined) {
      answer = { kind: 'body', contentType: 'application/json', body: step.request };
    } else {
      audit = await this.#recordOutcome(session, step.outcome);
      answer = { kind: 'redirect', location: `${this.publicUrl}${KEYGEN2_PATH}/done` };
    }
    try {
      await this.db.advanceSession(sessionId, session.step, {
        state: JSON.stringify(step.state),
        requestHash: hash,
        response: answer,
        ...(audit === undefined ? {} : { status: 'done' as const, audit }),
      });
    } catch (error) {
      if (!(isIssuerError(error) && error.code === 'CONFLICT')) throw error;
      const winner = await this.#winner(sessionId, hash);
      if (winner !== undefined) return { answer: winner, sessionId, replayed: true };
      return { answer: this.#refusal('out-of-order'), reason: 'out-of-order', sessionId };
    }
    return { answer, sessionId };
  }

  async #winner(sessionId: string, hash: string): Promise<StoredResponse | undefined> {
    const session = await this.db.getSession(sessionId).catch(notFound);
    return session?.lastRequestHash === hash ? session.lastResponse : undefined;
  }

  /** What certifying a session's keys needs: its enrollment's template and user, or its management session's updates. */
  async #sessionContext(sessionId: string, loaded?: Session): Promise<SessionContext> {
    const session = loaded ?? (await this.db.getSession(sessionId));
    // The KMK's name, as the session was started with it (the state keeps its SPKI beside it).
    const kmkId = (JSON.parse(session.state) as IssuerState).plan.keyManagementKey;
    if (session.origin.kind === 'enrollment') {
      const enrollment = await this.db.getEnrollment(session.origin.enrollmentId);
      return { session, kmkId, template: this.#template(enrollment.template), userName: enrollment.userName, userEmail: enrollment.userEmail };
    }
    const created = (await this.db.listAudit({ sessionId })).find((a) => a.kind === 'management-session-created');
    const updateKeys = created === undefined ? {} : ((JSON.parse(created.detail) as { updateKeys?: Record<string, string> }).updateKeys ?? {});
    const ops = await this.db.listOperations({ deviceId: session.origin.deviceId });
    const updates: Record<string, ScheduledOperation> = {};
    for (const [keyId, opId] of Object.entries(updateKeys)) {
      const op = ops.find((o) => o.id === opId);
      if (op !== undefined) updates[keyId] = op;
    }
    return { session, kmkId, updates };
  }

  /** Certifies one attested key: policy, device record, then issueOnce (intent recorded before signing). */
  async #certify(sessionId: string, ctx: SessionContext, key: AttestedKey, deviceIdOf: (der: Uint8Array) => Promise<string>): Promise<IssuedKeyMaterial> {
    checkKeyAlgorithm(this.policy, key.keyAlgorithm);
    let template: EnrollmentTemplate;
    let user: { name: string; email: string | null };
    if ('template' in ctx) {
      template = ctx.template;
      user = { name: ctx.userName, email: ctx.userEmail };
    } else {
      // The key may have no scheduled update: the index read can miss.
      const op = (ctx.updates as Partial<Record<string, ScheduledOperation>>)[key.id];
      if (op === undefined) throw new IssuerError('INTERNAL', `no scheduled update for key ${key.id}`, { field: 'keyId' });
      // The replacement key is certified only for the session that claimed its update (another
      // management session of the same device may have taken it): never a stray key.
      if (op.status !== 'running' || op.sessionId !== sessionId) {
        throw new IssuerError('BAD_REQUEST', 'the scheduled update is not claimed by this session', { field: 'keyId' });
      }
      const payload = parsePayload(op.payload);
      template = this.#template(payload.template);
      user = { name: payload.userName, email: payload.userEmail ?? null };
    }
    const deviceCert = key.deviceCertificatePath?.[0];
    const deviceId = deviceCert === undefined ? undefined : await deviceIdOf(deviceCert);
    const { kmkId } = ctx;
    const db = this.db;
    const issued = await issueOnce(
      this.#certIssuer,
      {
        recordIssuanceIntent: (i) => db.recordIssuanceIntent(i),
        completeIssuance: (s, k, der) => db.completeIssuance(s, k, der, kmkId === undefined ? {} : { kmkId }),
      },
      {
        sessionId,
        keyId: key.id,
        ...(deviceId === undefined ? {} : { deviceId }),
        request: { profile: templateProfile(template), user: templateUser(user.name, user.email), subjectPublicKey: key.publicKey },
      },
    );
    return { certificatePath: [issued.certificateDer, this.ca.issuing.certificate] };
  }

  /** After discovery: claims the device's pending operations and turns the found ones into post-operations (spec §9.2). */
  async #planManagement(sessionId: string, discovered: readonly DiscoveredCredential[], session?: Session): Promise<ManagementPlan | undefined> {
    const ctx = await this.#sessionContext(sessionId, session);
    if (ctx.session.origin.kind !== 'management' || !('updates' in ctx)) return undefined;
    const kmk = await this.currentKmk();
    return planManagementOperations(this.db, { sessionId, deviceId: ctx.session.origin.deviceId, kmkId: kmk.id, updates: ctx.updates }, discovered);
  }

  /**
   * Before the final answer is written: credentials and operations reflect what the device
   * confirmed (idempotent, so a retry may redo it). Returns the `session-done` event, which
   * the final step's write appends in its own transaction.
   */
  async #recordOutcome(session: Session, outcome: ProvisioningOutcome): Promise<NewAuditEvent> {
    if (session.origin.kind === 'management') await recordManagementOutcome(this.db, session.id, session.origin.deviceId, outcome);
    return {
      kind: 'session-done',
      sessionId: session.id,
      detail: JSON.stringify({
        keys: outcome.keys.map((k) => k.id),
        deleted: outcome.deleted.length,
        unlocked: outcome.unlocked.length,
        updated: outcome.updated.length,
      }),
    };
  }

  // ------------------------------------------------------------------ admin

  /**
   * Ends the sessions abandoned past their lifetime (a device that went away mid-session
   * sends nothing that would end them): each becomes failed (`session-expired`), its
   * certificates are revoked and its claimed operations go back to pending, as for any
   * failed session. Run on a timer by the running service, and before the admin listings
   * and the CRL; safe when several processes sweep at once. Returns the ids it ended.
   */
  async expireSessions(now: number = this.#clock()): Promise<readonly string[]> {
    const ended: string[] = [];
    for (;;) {
      const batch = await this.db.expireSessions(now, SWEEP_BATCH);
      ended.push(...batch);
      if (batch.length < SWEEP_BATCH) return ended;
    }
  }

  /** Enrollments, newest first; lapsed ones are marked expired first. */
  async listEnrollments(filter: { readonly state?: 'created' | 'used' | 'expired'; readonly limit?: number } = {}): Promise<readonly Enrollment[]> {
    await this.db.expireEnrollments();
    return this.db.listEnrollments(filter);
  }

  listAudit(options: { readonly sessionId?: string; readonly afterSeq?: number; readonly limit?: number } = {}): Promise<readonly AuditEvent[]> {
    return this.db.listAudit(options);
  }

  async listSessions(filter: { readonly status?: SessionStatus; readonly limit?: number } = {}): Promise<readonly Session[]> {
    await this.expireSessions();
    return this.db.listSessions(filter);
  }

  async listCredentials(filter: { readonly deviceId?: string; readonly sessionId?: string } = {}): Promise<readonly Credential[]> {
    await this.expireSessions();
    return this.db.listCredentials(filter);
  }

  /** Devices that hold credentials of this issuer (by device certificate). */
  listDevices(): Promise<readonly Device[]> {
    return listDevices(this.db);
  }

  revoke(fingerprint: string, reason?: string): Promise<Credential> {
    return revokeCredential(this.db, fingerprint, reason);
  }

  /** The issuing CA's CRL of every revoked credential (cached while the revoked set is unchanged). */
  async crl(): Promise<SignedCrl> {
    await this.expireSessions();
    return this.#crl.current();
  }

  /** Schedules delete, unlock or update of a credential for its device's next management session. */
  async schedule(kind: ScheduledOperationKind, fingerprint: string): Promise<ScheduledOperation> {
    const credential = await this.db.getCredential(fingerprint);
    if (credential.status !== 'issued') throw new IssuerError('CONFLICT', `the credential is ${credential.status}`, { field: 'fingerprint' });
    if (credential.deviceId === null)
      throw new IssuerError('BAD_REQUEST', 'the credential has no known device (privacy mode): it cannot be managed', { field: 'fingerprint' });
    const payload = kind === 'update' ? JSON.stringify(await this.#originOf(credential)) : '{}';
    const op = await this.db.scheduleOperation({ kind, credentialFingerprint: fingerprint, payload });
    await this.db.appendAudit({ kind: 'operation-scheduled', detail: JSON.stringify({ id: op.id, kind, fingerprint }) });
    return op;
  }

  /** Template and user a credential was issued for (through earlier updates). */
  async #originOf(item: Credential): Promise<{ template: string; userName: string; userEmail?: string }> {
    const session = await this.db.getSession(item.sessionId);
    if (session.origin.kind === 'enrollment') {
      const error = await this.db.getEnrollment(session.origin.enrollmentId);
      return { template: error.template, userName: error.userName, ...(error.userEmail === null ? {} : { userEmail: error.userEmail }) };
    }
    const ctx = await this.#sessionContext(session.id);
    const op = 'updates' in ctx ? ctx.updates[item.keyId] : undefined;
    if (op === undefined) throw new IssuerError('INTERNAL', 'cannot tell the template of this credential', { field: 'fingerprint' });
    return parsePayload(op.payload);
  }

  async listOperations(filter: { readonly deviceId?: string; readonly status?: ScheduledOperation['status'] } = {}): Promise<readonly ScheduledOperation[]> {
    await this.expireSessions();
    return this.db.listOperations(filter);
  }
}

function parsePayload(text: string): { template: string; userName: string; userEmail?: string } {
  const payload = JSON.parse(text) as { template?: unknown; userName?: unknown; userEmail?: unknown };
  if (typeof payload.template !== 'string' || typeof payload.userName !== 'string')
    throw new IssuerError('INTERNAL', 'scheduled update without template', { field: 'payload' });
  return { template: payload.template, userName: payload.userName, ...(typeof payload.userEmail === 'string' ? { userEmail: payload.userEmail } : {}) };
}

type SessionContext = { session: Session; kmkId: string | undefined } & (
  { template: EnrollmentTemplate; userName: string; userEmail: string | null } | { updates: Record<string, ScheduledOperation> }
);

const notFound = (error: unknown): undefined => {
  if (isIssuerError(error) && error.code === 'NOT_FOUND') return undefined;
  throw error;
};
