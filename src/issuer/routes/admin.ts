/**
 * The admin API (JSON): `Authorization: Bearer <token>`, compared in
 * constant time; without a configured token every admin route answers 401.
 * Each route decodes, calls the IssuerService, encodes; request and response
 * schemas make fastify refuse unlisted input and drop unlisted output (no
 * session state, no token hash ever leaves).
 */
import { X509Certificate } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Credential, Device, ScheduledOperation, Session } from '../db/port.js';
import { adminTokenMatches } from '../service/admin.js';
import type { IssuerService } from '../service/issuer-service.js';
import { jsonErrorHandler } from './errors.js';

export interface AdminRoutesOptions {
  readonly service: IssuerService;
  /** Absent: the admin API is disabled (401 everywhere). */
  readonly adminToken: string | undefined;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
} as const;

const invocationProps = {
  invocationUrl: { type: 'string' },
  command: { type: 'string' },
  expiresAt: { type: 'integer' },
} as const;

const sessionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    enrollmentId: { type: 'string' },
    deviceId: { type: 'string' },
    status: { type: 'string' },
    step: { type: 'integer' },
    failureReason: { type: ['string', 'null'] },
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
    expiresAt: { type: 'integer' },
  },
} as const;

const deviceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    subject: { type: 'string' },
    certificateSha256: { type: 'string' },
    firstSeen: { type: 'integer' },
    lastSeen: { type: 'integer' },
  },
} as const;

const credentialSchema = {
  type: 'object',
  properties: {
    fingerprint: { type: 'string' },
    serial: { type: 'string' },
    subject: { type: 'string' },
    notAfter: { type: 'string' },
    sessionId: { type: 'string' },
    keyId: { type: 'string' },
    deviceId: { type: ['string', 'null'] },
    status: { type: 'string' },
    kmkId: { type: ['string', 'null'] },
    issuedAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
    certificatePem: { type: 'string' },
  },
} as const;

const operationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    credentialFingerprint: { type: 'string' },
    deviceId: { type: ['string', 'null'] },
    status: { type: 'string' },
    sessionId: { type: ['string', 'null'] },
    outcome: { type: ['string', 'null'] },
    createdAt: { type: 'integer' },
    updatedAt: { type: 'integer' },
  },
} as const;

const fingerprintParams = {
  type: 'object',
  required: ['fingerprint'],
  properties: { fingerprint: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const;

const sessionOut = (s: Session) => ({
  id: s.id,
  kind: s.origin.kind,
  ...(s.origin.kind === 'enrollment' ? { enrollmentId: s.origin.enrollmentId } : { deviceId: s.origin.deviceId }),
  status: s.status,
  step: s.step,
  failureReason: s.failureReason,
  createdAt: s.createdAt,
  updatedAt: s.updatedAt,
  expiresAt: s.expiresAt,
});

const deviceOut = (d: Device) =>
  d.kind === 'certificate'
    ? { id: d.id, kind: d.kind, subject: d.subject, certificateSha256: d.certificateSha256, firstSeen: d.firstSeen, lastSeen: d.lastSeen }
    : { id: d.id, kind: d.kind, firstSeen: d.firstSeen, lastSeen: d.lastSeen };

const credentialOut = (credential: Credential) => {
  const certificate = new X509Certificate(credential.certificateDer);
  return {
    fingerprint: credential.fingerprint,
    serial: credential.serial,
    subject: certificate.subject.replace(/\n/g, ', '),
    notAfter: new Date(certificate.validTo).toISOString(),
    sessionId: credential.sessionId,
    keyId: credential.keyId,
    deviceId: credential.deviceId,
    status: credential.status,
    kmkId: credential.kmkId,
    issuedAt: credential.issuedAt,
    updatedAt: credential.updatedAt,
    certificatePem: certificate.toString(),
  };
};

const operationOut = (o: ScheduledOperation) => ({
  id: o.id,
  kind: o.kind,
  credentialFingerprint: o.credentialFingerprint,
  deviceId: o.deviceId,
  status: o.status,
  sessionId: o.sessionId,
  outcome: o.outcome,
  createdAt: o.createdAt,
  updatedAt: o.updatedAt,
});

// eslint-disable-next-line @typescript-eslint/require-await -- async so a throw while registering is a rejection, as Fastify expects of a FastifyPluginAsync
export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, { service, adminToken }) => {
  app.setErrorHandler(jsonErrorHandler);
  app.addHook('onRequest', async (req, reply) => {
    const authorization = req.headers.authorization;
    const presented = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7) : '';
    // Compared even when absent, so timing tells nothing about the token either way.
    const ok = adminTokenMatches(adminToken ?? '', presented) && adminToken !== undefined && presented !== '';
    if (!ok) {
      req.log.info('admin request unauthorized');
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error: {
            code: 'UNAUTHORIZED',
            message: adminToken === undefined ? 'the admin API is disabled (no admin token configured)' : 'missing or wrong admin token',
          },
        });
    }
    return undefined;
  });
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema, 500: errorSchema, 503: errorSchema };

  app.post<{ Body: { template: string; userName: string; userEmail?: string; ttlSeconds?: number } }>(
    '/enrollments',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['template', 'userName'],
          properties: {
            template: { type: 'string', minLength: 1, maxLength: 64 },
            userName: { type: 'string', minLength: 1, maxLength: 128 },
            userEmail: { type: 'string', maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' },
            ttlSeconds: { type: 'integer', minimum: 60, maximum: 2_592_000 },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { enrollmentId: { type: 'string' }, template: { type: 'string' }, userName: { type: 'string' }, ...invocationProps },
          },
          ...errors,
        },
      },
    },
    async (req, reply) => reply.code(201).send(await service.createEnrollment(req.body)),
  );

  app.post<{ Body: { deviceId: string; ttlSeconds?: number } }>(
    '/management-sessions',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['deviceId'],
          properties: { deviceId: { type: 'string', minLength: 1, maxLength: 64 }, ttlSeconds: { type: 'integer', minimum: 60, maximum: 86_400 } },
        },
        response: {
          201: {
            type: 'object',
            properties: { sessionId: { type: 'string' }, deviceId: { type: 'string' }, pendingOperations: { type: 'integer' }, ...invocationProps },
          },
          ...errors,
        },
      },
    },
    async (req, reply) => reply.code(201).send(await service.createManagementSession(req.body)),
  );

  app.get(
    '/templates',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              templates: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    description: { type: 'string' },
                    keyAlgorithm: { type: 'string' },
                    appUsage: { type: 'string' },
                    pin: { type: 'boolean' },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    // Names and shapes only: a template's PUK value never leaves.
    // eslint-disable-next-line @typescript-eslint/require-await -- async like every other handler here, so a throw is a rejection
    async () => ({
      templates: Object.entries(service.templates).map(([name, t]) => ({
        name,
        ...(t.description === undefined ? {} : { description: t.description }),
        keyAlgorithm: t.keyAlgorithm,
        appUsage: t.appUsage,
        pin: t.pin !== undefined,
      })),
    }),
  );

  app.get<{ Querystring: { state?: 'created' | 'used' | 'expired'; limit?: number } }>(
    '/enrollments',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: ['created', 'used', 'expired'] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              enrollments: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    template: { type: 'string' },
                    userName: { type: 'string' },
                    userEmail: { type: ['string', 'null'] },
                    state: { type: 'string' },
                    createdAt: { type: 'integer' },
                    expiresAt: { type: 'integer' },
                    usedAt: { type: ['integer', 'null'] },
                    sessionId: { type: ['string', 'null'] },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => ({ enrollments: await service.listEnrollments(req.query) }),
  );

  app.get<{ Querystring: { sessionId?: string; afterSeq?: number; limit?: number } }>(
    '/audit',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { sessionId: { type: 'string' }, afterSeq: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              events: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    seq: { type: 'integer' },
                    at: { type: 'integer' },
                    kind: { type: 'string' },
                    sessionId: { type: ['string', 'null'] },
                    detail: { type: 'string' },
                  },
                },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => ({ events: await service.listAudit(req.query) }),
  );

  app.get<{ Querystring: { status?: 'active' | 'done' | 'failed'; limit?: number } }>(
    '/sessions',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: ['active', 'done', 'failed'] }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
        response: { 200: { type: 'object', properties: { sessions: { type: 'array', items: sessionSchema } } }, ...errors },
      },
    },
    async (req) => ({ sessions: (await service.listSessions(req.query)).map(sessionOut) }),
  );

  app.get(
    '/devices',
    { schema: { response: { 200: { type: 'object', properties: { devices: { type: 'array', items: deviceSchema } } }, ...errors } } },
    async () => ({
      devices: (await service.listDevices()).map(deviceOut),
    }),
  );

  app.get<{ Querystring: { deviceId?: string; sessionId?: string; status?: 'issued' | 'revoked' | 'deleted' } }>(
    '/credentials',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { deviceId: { type: 'string' }, sessionId: { type: 'string' }, status: { type: 'string', enum: ['issued', 'revoked', 'deleted'] } },
        },
        response: { 200: { type: 'object', properties: { credentials: { type: 'array', items: credentialSchema } } }, ...errors },
      },
    },
    async (req) => {
      const { status, ...filter } = req.query;
      const all = await service.listCredentials(filter);
      return { credentials: all.filter((c) => status === undefined || c.status === status).map(credentialOut) };
    },
  );

  app.post<{ Params: { fingerprint: string }; Body: { reason?: string } | undefined }>(
    '/credentials/:fingerprint/revoke',
    {
      schema: {
        params: fingerprintParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 200 } } },
        response: { 200: credentialSchema, ...errors },
      },
    },
    async (req) => credentialOut(await service.revoke(req.params.fingerprint, req.body?.reason)),
  );

  app.post<{ Params: { fingerprint: string }; Body: { kind: 'delete' | 'unlock' | 'update' } }>(
    '/credentials/:fingerprint/operations',
    {
      schema: {
        params: fingerprintParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: { kind: { type: 'string', enum: ['delete', 'unlock', 'update'] } },
        },
        response: { 201: operationSchema, ...errors },
      },
    },
    async (req, reply) => reply.code(201).send(operationOut(await service.schedule(req.body.kind, req.params.fingerprint))),
  );

  app.get<{ Querystring: { deviceId?: string; status?: 'pending' | 'running' | 'done' | 'failed' } }>(
    '/operations',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { deviceId: { type: 'string' }, status: { type: 'string', enum: ['pending', 'running', 'done', 'failed'] } },
        },
        response: { 200: { type: 'object', properties: { operations: { type: 'array', items: operationSchema } } }, ...errors },
      },
    },
    async (req) => ({ operations: (await service.listOperations(req.query)).map(operationOut) }),
  );

  app.post(
    '/kmk/roll',
    { schema: { response: { 200: { type: 'object', properties: { id: { type: 'string' }, previousId: { type: ['string', 'null'] } } }, ...errors } } },
    async () => service.rollKmk(),
  );
};
