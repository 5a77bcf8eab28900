/**
 * The issuer service under test: an IssuerService over a fresh database of
 * each adapter (test/issuer/db/databases.ts), a CA created once per file, the
 * recorded device of the interop vectors as the enrolling device, and a
 * KeyGen2 transport that calls `app.inject` (no socket).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { EnrollmentUi, KeyGen2Transport } from '../../../src/keygen2/client/ports.js';
import { runEnrollment, type EnrollmentSummary } from '../../../src/keygen2/client/run-enrollment.js';
import { IssuerKey, openIssuerCa, type IssuerCa } from '../../../src/issuer/ca/index.js';
import { DEFAULT_LIMITS } from '../../../src/issuer/config.js';
import type { IssuerDatabase } from '../../../src/issuer/db/port.js';
import { DEFAULT_ALLOWED_ALGORITHMS } from '../../../src/issuer/policy/attestation.js';
import { BUILTIN_TEMPLATES } from '../../../src/issuer/policy/templates.js';
import { buildIssuerService } from '../../../src/issuer/service/app.js';
import { IssuerService, type IssuerServiceOptions } from '../../../src/issuer/service/issuer-service.js';
import { createMemoryKeyStore, openSecureKeyStore, type SecureKeyStore } from '../../../src/sks/index.js';
import { parsePkcs8 } from '../../../src/sks/session-crypto.js';
import { loadRecording, sessionFiles } from '../../keygen2/client/support/replay-harness.js';

const doc = loadRecording(sessionFiles()[0]);
const da = doc.get('test_keys').get('device_attestation');
/** The recorded device's manufacturer root. */
export const DEVICE_ROOT: Uint8Array = da.get('issuer_ca_certificate_der_hex').hex();

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
export const PUBLIC_URL = 'http://issuer.test';

let caPromise: Promise<IssuerCa> | undefined;
export const testCa = (): Promise<IssuerCa> =>
  (caPromise ??= openIssuerCa({ dir: mkdtempSync(join(tmpdir(), 'airtight-svc-ca-')), issuerKey: IssuerKey.fromBytes(randomBytes(32), 'test') }).then(
    (o) => o.ca,
  ));

export function device(): SecureKeyStore {
  return openSecureKeyStore({
    store: createMemoryKeyStore(),
    device: { privateKey: parsePkcs8(da.get('pkcs8_hex').hex()), certificatePath: [da.get('certificate_der_hex').hex()] },
  });
}

export const ui = (pin = '1357'): EnrollmentUi => ({ consent: () => Promise.resolve(true), enterPin: () => Promise.resolve(pin) });

/** The admin API's JSON answers as these tests read them: each route fills the members it lists. */
export interface AdminJson {
  readonly credentials: Array<{
    readonly status: string;
    readonly keyId: string;
    readonly kmkId: string;
    readonly deviceId: string | null;
    readonly certificatePem: string;
    readonly fingerprint: string;
    readonly subject: string;
    readonly serial: string;
  }>;
  readonly sessions: Array<Record<string, unknown>>;
  readonly devices: Array<Record<string, unknown>>;
  readonly enrollments: Array<Record<string, unknown>>;
  readonly templates: Array<{ readonly name: string }>;
  readonly events: Array<{ readonly kind: string }>;
  readonly operations: Array<{ readonly kind: string; readonly status: string }>;
  readonly error: { readonly code: string };
  readonly status: string;
  readonly pendingOperations: number;
  readonly enrollmentId: string;
  readonly invocationUrl: string;
  readonly command: string;
  readonly expiresAt: number;
}

export interface Harness {
  readonly service: IssuerService;
  readonly app: FastifyInstance;
  readonly logs: string[];
  readonly transport: KeyGen2Transport;
  readonly sealingKey: Uint8Array;
  /** `json` is the parsed body (undefined when the body is empty). */
  admin(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; json: AdminJson }>;
  enroll(invocationUrl: string, sks: SecureKeyStore, pin?: string): Promise<EnrollmentSummary>;
}

export async function harness(
  db: IssuerDatabase,
  overrides: Partial<IssuerServiceOptions> = {},
  adminToken: string | undefined = ADMIN_TOKEN,
): Promise<Harness> {
  const sealingKey = overrides.sealingKey ?? randomBytes(32);
  const service = new IssuerService({
    db,
    ca: await testCa(),
    sealingKey,
    policy: { trustRoots: [DEVICE_ROOT], allowPrivacy: false, allowedAlgorithms: DEFAULT_ALLOWED_ALGORITHMS },
    templates: { ...BUILTIN_TEMPLATES, 'ec-p256-private': { ...BUILTIN_TEMPLATES['ec-p256-auth'], privacy: true } },
    limits: DEFAULT_LIMITS,
    publicUrl: PUBLIC_URL,
    ...overrides,
  });
  const logs: string[] = [];
  const app = buildIssuerService({ service, adminToken, logLevel: 'debug', logStream: { write: (l) => void logs.push(l) }, closeDatabase: false });
  await app.ready();
  const reply = (r: { statusCode: number; headers: Record<string, unknown>; body: string }) =>
    r.statusCode === 302 ? { kind: 'redirect' as const, location: String(r.headers['location']) } : { kind: 'message' as const, text: r.body };
  const pathOf = (url: string): string => {
    const urlValue = new URL(url);
    return urlValue.pathname + urlValue.search;
  };
  const transport: KeyGen2Transport = {
    fetchInvocation: async (inv) =>
      reply(await app.inject({ method: 'GET', url: pathOf(inv.initUrl), headers: inv.cookie === undefined ? {} : { cookie: inv.cookie } })),
    postResponse: async (inv, text) =>
      reply(
        await app.inject({
          method: 'POST',
          url: pathOf(inv.transactionUrl),
          headers: { 'content-type': 'application/json', ...(inv.cookie === undefined ? {} : { cookie: inv.cookie }) },
          payload: text,
        }),
      ),
  };
  return {
    service,
    app,
    logs,
    transport,
    sealingKey,
    admin: async (method, url, body) => {
      const response = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: response.statusCode, json: (response.body === '' ? undefined : JSON.parse(response.body)) as AdminJson };
    },
    enroll: (invocationUrl, sks, pin) => runEnrollment({ sks, ui: ui(pin), transport, invocationUrl }),
  };
}
