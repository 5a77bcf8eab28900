/**
 * The issuer service: a fastify app (built apart from listening, so tests
 * use `inject()`), its start on a port with TLS when configured, and opening
 * everything a configuration names (database, CA, keys, trust roots).
 *
 * @example
 * const running = await startIssuerService(resolveServiceConfig(readConfigFile('issuer.json'), process.env), { env: process.env, handleSignals: true });
 * console.log(`listening on ${running.url}`);
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { openIssuerCa, ISSUER_KEY_VARIABLE, type IssuerKeySource } from '../ca/index.js';
import { createSecretFile, loadOrCreateSecret, type ServiceConfig } from '../config.js';
import { openIssuerDatabase } from '../db/index.js';
import type { IssuerDatabase } from '../db/port.js';
import { loadTrustRoots } from '../policy/attestation.js';
import { checkTemplate } from '../policy/templates.js';
import { adminRoutes } from '../routes/admin.js';
import { keygen2Routes } from '../routes/keygen2.js';
import { publicRoutes } from '../routes/public.js';
import { IssuerService } from './issuer-service.js';

/** Log paths pino removes: no cookie, bearer token or body ever reaches a log line. */
export const REDACTED_LOG_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["set-cookie"]',
  'res.headers["set-cookie"]',
  'req.body',
  'body',
] as const;

export interface BuildIssuerServiceOptions {
  readonly service: IssuerService;
  readonly adminToken?: string | undefined;
  /** TLS certificate chain and key (PEM). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | undefined;
  readonly logLevel?: string;
  /** Where log lines go (default stdout); tests capture them here. */
  readonly logStream?: { write(line: string): void };
  /** Close the service's database with the app (default true). */
  readonly closeDatabase?: boolean;
  /** Sweep abandoned sessions this often while the app runs (from ready to close); none by default. */
  readonly sweepIntervalMs?: number;
}

/** How often a running service ends the sessions abandoned past their lifetime. */
export const SESSION_SWEEP_INTERVAL_MS = 60_000;

/** Builds the fastify app (not listening). */
export function buildIssuerService(options: BuildIssuerServiceOptions): FastifyInstance {
  const { service } = options;
  const logger = {
    level: options.logLevel ?? 'info',
    redact: { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' },
    ...(options.logStream === undefined ? {} : { stream: options.logStream }),
  };
  const app = Fastify({
    logger,
    bodyLimit: service.limits.bodyBytes,
    requestTimeout: service.limits.requestTimeoutMs,
    connectionTimeout: service.limits.requestTimeoutMs,
    keepAliveTimeout: 5000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Refuse unlisted members (400) instead of fastify's default of silently dropping them.
    ajv: { customOptions: { removeAdditional: false } },
    ...(options.tls === undefined ? {} : { https: { cert: options.tls.cert, key: options.tls.key } }),
  }) as unknown as FastifyInstance;
  // A cap on open sockets (node closes those beyond it at accept), so a client opening connections cannot exhaust descriptors.
  app.server.maxConnections = service.limits.maxConnections;
  void app.register(publicRoutes, { service });
  void app.register(keygen2Routes, { prefix: '/keygen2', service, bodyLimit: service.limits.bodyBytes });
  void app.register(adminRoutes, { prefix: '/admin', service, adminToken: options.adminToken });
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = async (): Promise<void> => {
    try {
      const ended = await service.expireSessions();
      if (ended.length > 0) app.log.info({ sessions: ended.length }, 'expired abandoned sessions');
    } catch (error) {
      app.log.error({ code: (error as { code?: string }).code ?? 'ERROR' }, 'session sweep failed');
    }
  };
  const interval = options.sweepIntervalMs;
  if (interval !== undefined) {
    app.addHook('onReady', (done) => {
      // One sweep at a time; unref: the timer alone never keeps the process alive.
      sweeper = setInterval(() => void (sweeping = sweeping.then(sweep)), interval).unref();
      done();
    });
  }
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
    await sweeping;
    if (options.closeDatabase !== false) await service.db.close();
  });
  return app;
}

/** Opens database, CA (created on first start), sealing key, KMK and trust roots named by a configuration. */
export async function openIssuerService(
  config: ServiceConfig,
  env: Readonly<Record<string, string | undefined>>,
  extra: { readonly serverCertificate?: Uint8Array; readonly db?: IssuerDatabase } = {},
): Promise<IssuerService> {
  for (const [name, enrollmentTemplate] of Object.entries(config.templates)) checkTemplate(name, enrollmentTemplate, config.allowedAlgorithms);
  const keyFromEnv = env[ISSUER_KEY_VARIABLE] !== undefined && env[ISSUER_KEY_VARIABLE] !== '';
  // First start: create the key file; loadIssuerKey (in openIssuerCa) reads and checks it, raw or base64url.
  if (!keyFromEnv && !existsSync(config.issuerKeyFile)) createSecretFile(config.issuerKeyFile).fill(0);
  const issuerKey: IssuerKeySource = keyFromEnv ? { env } : { file: config.issuerKeyFile };
  const { ca } = await openIssuerCa({ dir: config.caDir, issuerKey });
  const sealingKey = loadOrCreateSecret(env, 'AIRTIGHT_ISSUER_SEALING_KEY', config.sealingKeyFile);
  const db = extra.db ?? (await openIssuerDatabase(config.database));
  const service = new IssuerService({
    db,
    ca,
    sealingKey,
    policy: { trustRoots: loadTrustRoots(config.trustRootsDirs), allowPrivacy: config.allowPrivacy, allowedAlgorithms: config.allowedAlgorithms },
    templates: config.templates,
    limits: config.limits,
    ...(config.publicUrl === undefined ? {} : { publicUrl: config.publicUrl }),
    ...(extra.serverCertificate === undefined ? {} : { serverCertificate: extra.serverCertificate }),
  });
  await service.currentKmk();
  return service;
}

export interface RunningIssuerService {
  /** The public base URL (`http://127.0.0.1:<port>` unless configured). */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly service: IssuerService;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  close(): Promise<void>;
}

/**
 * Opens and starts the service: HTTPS when the configuration names a
 * certificate and key (the session attestation then covers the TLS leaf
 * certificate, spec §2.2), plain HTTP otherwise. With `handleSignals`,
 * SIGTERM and SIGINT close it gracefully.
 */
export async function startIssuerService(
  config: ServiceConfig,
  options: {
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly handleSignals?: boolean;
    readonly logStream?: { write(line: string): void };
  } = {},
): Promise<RunningIssuerService> {
  const tls = config.tls === undefined ? undefined : { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  const serverCertificate = tls === undefined ? undefined : new X509Certificate(tls.cert).raw;
  const service = await openIssuerService(config, options.env ?? process.env, serverCertificate === undefined ? {} : { serverCertificate });
  const app = buildIssuerService({
    service,
    adminToken: config.adminToken,
    tls,
    logLevel: config.logLevel,
    sweepIntervalMs: SESSION_SWEEP_INTERVAL_MS,
    ...(options.logStream === undefined ? {} : { logStream: options.logStream }),
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await app.close();
    throw error;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  const url = config.publicUrl ?? `${tls === undefined ? 'http' : 'https'}://${host}:${port}`;
  service.publicUrl = url;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= app.close().then(() => undefined));
  if (options.handleSignals === true) {
    const onSignal = (signal: NodeJS.Signals): void => {
      app.log.info({ signal }, 'shutting down');
      void close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { url, app, service, close };
}
