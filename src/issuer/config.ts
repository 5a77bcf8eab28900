/**
 * The issuer service's configuration: a JSON file and environment variables
 * over documented defaults. Environment variables win over the file; command
 * line options (airtight issuer start) win over both.
 *
 * | key (file)             | environment                        | default                                            |
 * |------------------------|------------------------------------|----------------------------------------------------|
 * | `host`                 | `AIRTIGHT_ISSUER_HOST`             | `127.0.0.1` (other addresses need TLS)             |
 * | `port`                 | `AIRTIGHT_ISSUER_PORT`             | `8080` (0: any free port)                          |
 * | `publicUrl`            | `AIRTIGHT_ISSUER_PUBLIC_URL`       | `http(s)://<host>:<port>` once listening           |
 * | `dataDir`              | `AIRTIGHT_ISSUER_DATA_DIR`         | `$AIRTIGHT_HOME/issuer` (`~/.airtight/issuer`)     |
 * | `database`             | `AIRTIGHT_ISSUER_DATABASE`         | `<dataDir>/issuer.sqlite` (or a `postgres://` URL) |
 * | `caDir`                | `AIRTIGHT_ISSUER_CA_DIR`           | `<dataDir>/ca` (created on first start)            |
 * | `issuerKeyFile`        | `AIRTIGHT_ISSUER_KEY` (the key)    | `<dataDir>/issuer.key` (created, 0600)             |
 * | `sealingKeyFile`       | `AIRTIGHT_ISSUER_SEALING_KEY`      | `<dataDir>/sealing.key` (created, 0600)            |
 * | `trustRootsDir`        | `AIRTIGHT_ISSUER_TRUST_ROOTS`      | `<dataDir>/trust-roots`                            |
 * | `trustManufacturerCa`  | —                                  | `true`: also `$AIRTIGHT_HOME/manufacturer-ca`      |
 * | `allowPrivacy`         | `AIRTIGHT_ISSUER_ALLOW_PRIVACY`    | `false`                                            |
 * | `allowedAlgorithms`    | —                                  | EC P-256, P-384, RSA 2048/3072/4096                |
 * | `adminToken`           | `AIRTIGHT_ISSUER_ADMIN_TOKEN`      | none: the admin API is disabled                    |
 * | `tls.certFile/keyFile` | `AIRTIGHT_ISSUER_TLS_CERT/_KEY`    | none: plain HTTP                                   |
 * | `templates`            | —                                  | the built-ins (`ec-p256-auth-pin`, `rsa2048-sign`, `ec-p256-auth`) |
 * | `limits.bodyBytes`     | —                                  | 262144                                             |
 * | `limits.requestTimeoutMs` | —                               | 30000                                              |
 * | `limits.enrollmentTtlSeconds` | —                           | 86400 (invocation URL lifetime)                    |
 * | `limits.sessionLifeTimeSeconds` | —                         | 3600 (KeyGen2 sessionLifeTime)                     |
 * | `limits.maxConnections` | —                                 | 10000 (open sockets; more are refused at accept)   |
 * | `logLevel`             | `AIRTIGHT_ISSUER_LOG_LEVEL`        | `info`                                             |
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { IssuerError } from './errors.js';
import { requireOwnerOnly } from './secret-file.js';
import { DEFAULT_ALLOWED_ALGORITHMS } from './policy/attestation.js';
import { BUILTIN_TEMPLATES, keyAlgorithmUri, type EnrollmentTemplate } from './policy/templates.js';

export interface ServiceLimits {
  readonly bodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly enrollmentTtlSeconds: number;
  readonly sessionLifeTimeSeconds: number;
  /** Open connections the HTTP server accepts at once; more are closed at accept (node's `server.maxConnections`). */
  readonly maxConnections: number;
}

/** The configuration file (JSON); every member optional. */
export interface ServiceConfigFile {
  readonly host?: string;
  readonly port?: number;
  readonly publicUrl?: string;
  readonly dataDir?: string;
  readonly database?: string;
  readonly caDir?: string;
  readonly issuerKeyFile?: string;
  readonly sealingKeyFile?: string;
  readonly trustRootsDir?: string;
  readonly trustManufacturerCa?: boolean;
  readonly allowPrivacy?: boolean;
  readonly allowedAlgorithms?: readonly string[];
  readonly adminToken?: string;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  readonly templates?: Readonly<Record<string, EnrollmentTemplate>>;
  readonly limits?: Partial<ServiceLimits>;
  readonly logLevel?: string;
}

/** Everything resolved: paths absolute, defaults applied. */
export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | undefined;
  readonly dataDir: string;
  readonly database: string;
  readonly caDir: string;
  readonly issuerKeyFile: string;
  readonly sealingKeyFile: string;
  readonly trustRootsDirs: readonly string[];
  readonly allowPrivacy: boolean;
  readonly allowedAlgorithms: readonly string[];
  readonly adminToken: string | undefined;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  readonly templates: Readonly<Record<string, EnrollmentTemplate>>;
  readonly limits: ServiceLimits;
  readonly logLevel: string;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  bodyBytes: 256 * 1024,
  requestTimeoutMs: 30_000,
  enrollmentTtlSeconds: 86_400,
  sessionLifeTimeSeconds: 3600,
  // Far above what one issuer process serves, low enough that a flood of idle sockets cannot exhaust file descriptors.
  maxConnections: 10_000,
};

/** Each member a configuration file may hold, with its JSON type. */
const MEMBER_TYPES: Readonly<Record<string, 'string' | 'number' | 'boolean' | 'object' | 'array'>> = {
  host: 'string',
  port: 'number',
  publicUrl: 'string',
  dataDir: 'string',
  database: 'string',
  caDir: 'string',
  issuerKeyFile: 'string',
  sealingKeyFile: 'string',
  trustRootsDir: 'string',
  trustManufacturerCa: 'boolean',
  allowPrivacy: 'boolean',
  allowedAlgorithms: 'array',
  adminToken: 'string',
  tls: 'object',
  templates: 'object',
  limits: 'object',
  logLevel: 'string',
  $comment: 'string',
};

const jsonType = (value: unknown): string => (Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value);

/**
 * Reads a configuration file; unknown members are refused (a typo must not
 * silently keep a default), and so is a member of the wrong JSON type (an
 * admin token given as a number must not skip the length check).
 */
export function readConfigFile(path: string): ServiceConfigFile {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new IssuerError('CONFIG', `cannot read the configuration file ${path} as JSON`, { field: 'config', cause });
  }
  if (jsonType(value) !== 'object') throw new IssuerError('CONFIG', `${path}: not a JSON object`, { field: 'config' });
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    const expected = Object.hasOwn(MEMBER_TYPES, key) ? MEMBER_TYPES[key] : undefined;
    if (expected === undefined) throw new IssuerError('CONFIG', `${path}: unknown member "${key}"`, { field: key });
    if (jsonType(member) !== expected) throw new IssuerError('CONFIG', `${path}: "${key}" must be a JSON ${expected}`, { field: key });
  }
  const { tls, allowedAlgorithms } = value as { tls?: Record<string, unknown>; allowedAlgorithms?: readonly unknown[] };
  if (tls !== undefined && (typeof tls['certFile'] !== 'string' || typeof tls['keyFile'] !== 'string'))
    throw new IssuerError('CONFIG', `${path}: "tls" must hold certFile and keyFile as strings`, { field: 'tls' });
  if (allowedAlgorithms?.some((a) => typeof a !== 'string') === true)
    throw new IssuerError('CONFIG', `${path}: "allowedAlgorithms" must be strings`, { field: 'allowedAlgorithms' });
  return value as ServiceConfigFile;
}

const airtightHome = (env: Readonly<Record<string, string | undefined>>): string =>
  env['AIRTIGHT_HOME'] !== undefined && env['AIRTIGHT_HOME'] !== '' ? resolve(env['AIRTIGHT_HOME']) : join(homedir(), '.airtight');

function bool(text: string | undefined, field: string): boolean | undefined {
  if (text === undefined || text === '') return undefined;
  if (/^(1|true|yes)$/i.test(text)) return true;
  if (/^(0|false|no)$/i.test(text)) return false;
  throw new IssuerError('CONFIG', `${field} must be true or false`, { field });
}

function int(value: number | string | undefined, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const count = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(count) || count < 0) throw new IssuerError('CONFIG', `${field} must be a non-negative integer`, { field });
  return count;
}

/**
 * Resolves the configuration from a file's content, the environment and
 * overrides (command-line options).
 *
 * @example
 * const config = resolveServiceConfig(readConfigFile('issuer.json'), process.env, { port: 9000 });
 */
export function resolveServiceConfig(
  file: ServiceConfigFile = {},
  env: Readonly<Record<string, string | undefined>> = {},
  overrides: Partial<Pick<ServiceConfigFile, 'port' | 'host' | 'database' | 'dataDir' | 'publicUrl'>> = {},
): ServiceConfig {
  const home = airtightHome(env);
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const dataDir = resolve(overrides.dataDir ?? fromEnv('AIRTIGHT_ISSUER_DATA_DIR') ?? file.dataDir ?? join(home, 'issuer'));
  const database = overrides.database ?? fromEnv('AIRTIGHT_ISSUER_DATABASE') ?? file.database ?? join(dataDir, 'issuer.sqlite');
  const trustRootsDir = resolve(fromEnv('AIRTIGHT_ISSUER_TRUST_ROOTS') ?? file.trustRootsDir ?? join(dataDir, 'trust-roots'));
  const tlsCert = fromEnv('AIRTIGHT_ISSUER_TLS_CERT') ?? file.tls?.certFile;
  const tlsKey = fromEnv('AIRTIGHT_ISSUER_TLS_KEY') ?? file.tls?.keyFile;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new IssuerError('CONFIG', 'TLS needs both a certificate file and a key file', { field: 'tls' });
  const allowedAlgorithms = (file.allowedAlgorithms ?? DEFAULT_ALLOWED_ALGORITHMS).map((a, i) => keyAlgorithmUri(a, `allowedAlgorithms[${i}]`));
  const limits: ServiceLimits = {
    bodyBytes: int(file.limits?.bodyBytes, 'limits.bodyBytes') ?? DEFAULT_LIMITS.bodyBytes,
    requestTimeoutMs: int(file.limits?.requestTimeoutMs, 'limits.requestTimeoutMs') ?? DEFAULT_LIMITS.requestTimeoutMs,
    enrollmentTtlSeconds: int(file.limits?.enrollmentTtlSeconds, 'limits.enrollmentTtlSeconds') ?? DEFAULT_LIMITS.enrollmentTtlSeconds,
    sessionLifeTimeSeconds: int(file.limits?.sessionLifeTimeSeconds, 'limits.sessionLifeTimeSeconds') ?? DEFAULT_LIMITS.sessionLifeTimeSeconds,
    maxConnections: int(file.limits?.maxConnections, 'limits.maxConnections') ?? DEFAULT_LIMITS.maxConnections,
  };
  const adminToken = fromEnv('AIRTIGHT_ISSUER_ADMIN_TOKEN') ?? file.adminToken;
  if (adminToken !== undefined && adminToken.length < 16)
    throw new IssuerError('CONFIG', 'the admin token must be at least 16 characters', { field: 'adminToken' });
  const publicUrl = overrides.publicUrl ?? fromEnv('AIRTIGHT_ISSUER_PUBLIC_URL') ?? file.publicUrl;
  const host = overrides.host ?? fromEnv('AIRTIGHT_ISSUER_HOST') ?? file.host ?? '127.0.0.1';
  // Plain HTTP only on loopback: elsewhere the session attestation must cover a TLS certificate we
  // serve ourselves (spec §2.2; a TLS-terminating proxy in front would break it anyway).
  if (tlsCert === undefined && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
    throw new IssuerError('CONFIG', `plain HTTP is served on loopback only; give tls.certFile and tls.keyFile to listen on ${host}`, { field: 'host' });
  }
  return {
    host,
    port: overrides.port ?? int(fromEnv('AIRTIGHT_ISSUER_PORT'), 'AIRTIGHT_ISSUER_PORT') ?? int(file.port, 'port') ?? 8080,
    publicUrl: publicUrl?.replace(/\/+$/, ''),
    dataDir,
    database: database.startsWith('postgres://') || database.startsWith('postgresql://') ? database : resolve(database),
    caDir: resolve(fromEnv('AIRTIGHT_ISSUER_CA_DIR') ?? file.caDir ?? join(dataDir, 'ca')),
    issuerKeyFile: resolve(file.issuerKeyFile ?? join(dataDir, 'issuer.key')),
    sealingKeyFile: resolve(file.sealingKeyFile ?? join(dataDir, 'sealing.key')),
    trustRootsDirs: file.trustManufacturerCa === false ? [trustRootsDir] : [trustRootsDir, join(home, 'manufacturer-ca')],
    allowPrivacy: bool(fromEnv('AIRTIGHT_ISSUER_ALLOW_PRIVACY'), 'AIRTIGHT_ISSUER_ALLOW_PRIVACY') ?? file.allowPrivacy ?? false,
    allowedAlgorithms,
    adminToken,
    tls: tlsCert !== undefined && tlsKey !== undefined ? { certFile: resolve(tlsCert), keyFile: resolve(tlsKey) } : undefined,
    templates: { ...BUILTIN_TEMPLATES, ...(file.templates ?? {}) },
    limits,
    logLevel: fromEnv('AIRTIGHT_ISSUER_LOG_LEVEL') ?? file.logLevel ?? 'info',
  };
}

/**
 * A 32-byte secret from the environment (base64url) or from a file, created
 * (mode 0600) on first use when neither exists. An existing file that group
 * or others can access is refused (CONFIG), as the issuer key file is.
 */
export function loadOrCreateSecret(env: Readonly<Record<string, string | undefined>>, variable: string, file: string): Buffer {
  const fromEnv = env[variable];
  const text = fromEnv !== undefined && fromEnv !== '' ? fromEnv : existsSync(file) ? readOwnerOnly(file) : undefined;
  if (text === undefined) return createSecretFile(file);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== 32)
    throw new IssuerError('CONFIG', `${fromEnv !== undefined && fromEnv !== '' ? variable : file} must hold 32 octets, base64url`, { field: variable });
  return bytes;
}

/** Writes a fresh 32-byte secret, base64url, to a new mode-0600 file (its folder created 0700); returns it. */
export function createSecretFile(file: string): Buffer {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const fresh = randomBytes(32);
  writeFileSync(file, `${fresh.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return fresh;
}

/** The trimmed text of a secret file, refused when group or others can access it. */
function readOwnerOnly(file: string): string {
  requireOwnerOnly(file, `the secret file ${file}`, file);
  return readFileSync(file, 'utf8').trim();
}
