/**
 * What the `airtight issuer` admin verbs share: where the running issuer is
 * and its admin token, one JSON request helper, and output.
 *
 * The issuer is found by `--url`, else `AIRTIGHT_ISSUER_URL`, else the
 * `issuer.url` file `airtight issuer start` writes into its data folder; the
 * admin token by `--token-file`, else `AIRTIGHT_ISSUER_ADMIN_TOKEN`, else the
 * data folder's `admin.token` (created by `issuer start` when no token is
 * configured). A token file must be a regular file only its owner can
 * access (chmod 600), as PIN files are. The token is never taken from the
 * command line, where other users could read it in the process list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ISSUER_ERROR_HTTP_STATUS, IssuerError, type IssuerErrorCode } from '../../../issuer/errors.js';
import { airtightHome } from '../../home.js';
import { out, usageError } from '../../output.js';
import { readSecretFile } from '../../secrets.js';

export const ADMIN_TOKEN_FILE = 'admin.token';
export const URL_FILE = 'issuer.url';

export interface AdminOptions {
  readonly url?: string;
  readonly tokenFile?: string;
  readonly dataDir?: string;
  readonly json?: boolean;
}

/** An environment variable, unset when empty (as `||` read it). */
const nonEmptyEnv = (name: string): string | undefined => {
  const value = process.env[name];
  return value === '' ? undefined : value;
};

/** The data folder of a local issuer: `--data-dir`, `AIRTIGHT_ISSUER_DATA_DIR`, else `$AIRTIGHT_HOME/issuer`. */
export const issuerDataDir = (dir?: string): string => resolve(dir ?? nonEmptyEnv('AIRTIGHT_ISSUER_DATA_DIR') ?? join(airtightHome(), 'issuer'));

/** Adds the connection options and `--json` to an admin verb. */
export function adminOptions(command: Command): Command {
  return command
    .option('--url <url>', 'base URL of the running issuer (default: $AIRTIGHT_ISSUER_URL, else <data-dir>/issuer.url)')
    .option('--token-file <file>', 'file holding the admin token (default: $AIRTIGHT_ISSUER_ADMIN_TOKEN, else <data-dir>/admin.token)')
    .option('--data-dir <dir>', 'data folder of a local issuer (default: $AIRTIGHT_HOME/issuer)')
    .option('--json', 'print JSON');
}

function firstLine(path: string): string {
  return readFileSync(path, 'utf8').split(/\r?\n/)[0].trim();
}

/** The admin token in a file: the CLI's secret-file reader (a regular file only its owner can access; first line). */
export const readAdminTokenFile = (path: string, option: string): string => readSecretFile(path, option).toString('utf8').trim();

function target(adminOptions: AdminOptions): { url: string; token: string } {
  const dir = issuerDataDir(adminOptions.dataDir);
  const url = adminOptions.url ?? nonEmptyEnv('AIRTIGHT_ISSUER_URL') ?? (existsSync(join(dir, URL_FILE)) ? firstLine(join(dir, URL_FILE)) : undefined);
  if (url === undefined) usageError(`no issuer URL: pass --url, set AIRTIGHT_ISSUER_URL, or start an issuer with data folder ${dir}`);
  const token =
    adminOptions.tokenFile !== undefined
      ? readAdminTokenFile(adminOptions.tokenFile, '--token-file')
      : (nonEmptyEnv('AIRTIGHT_ISSUER_ADMIN_TOKEN') ??
        (existsSync(join(dir, ADMIN_TOKEN_FILE)) ? readAdminTokenFile(join(dir, ADMIN_TOKEN_FILE), ADMIN_TOKEN_FILE) : undefined));
  if (token === undefined || token === '') usageError('no admin token: pass --token-file or set AIRTIGHT_ISSUER_ADMIN_TOKEN');
  return { url: url.replace(/\/+$/, ''), token };
}

/** One admin API call; a refusal becomes the IssuerError the service reported (secret-free). */
export async function adminRequest<T>(adminOptions: AdminOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const { url, token } = target(adminOptions);
  let response: Response;
  try {
    response = await fetch(`${url}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new IssuerError('STORAGE', `cannot reach the issuer at ${url}`, { cause });
  }
  const text = await response.text();
  const json = text === '' ? undefined : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const answered = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    const code =
      answered?.code !== undefined && Object.hasOwn(ISSUER_ERROR_HTTP_STATUS, answered.code)
        ? (answered.code as IssuerErrorCode)
        : response.status === 401
          ? 'UNAUTHORIZED'
          : 'INTERNAL';
    throw new IssuerError(code, answered?.message ?? `the issuer answered HTTP ${response.status}`);
  }
  return json as T;
}

/** Prints rows as aligned columns, or the JSON value with `--json`. */
export function print(adminOptions: AdminOptions, value: unknown, rows: () => ReadonlyArray<readonly string[]>): void {
  if (adminOptions.json === true) {
    out(JSON.stringify(value, null, 2));
    return;
  }
  const all = rows();
  if (all.length <= 1) {
    out('None.');
    return;
  }
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const texts of all)
    out(
      texts
        .map((cell, i) => (i === texts.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    );
}

export const time = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
