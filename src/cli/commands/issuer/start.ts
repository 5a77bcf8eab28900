/** `airtight issuer start`: runs the issuer service until SIGTERM/SIGINT; prints `listening on URL` once. */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { readConfigFile, resolveServiceConfig, type ServiceConfig } from '../../../issuer/config.js';
import { startIssuerService } from '../../../issuer/service/app.js';
import { note, out, usageError } from '../../output.js';
import { ADMIN_TOKEN_FILE, URL_FILE, readAdminTokenFile } from './common.js';

/** The admin token of a local issuer: configured, else `<dataDir>/admin.token` (created 0600). */
function localAdminToken(config: ServiceConfig): string {
  const file = join(config.dataDir, ADMIN_TOKEN_FILE);
  if (existsSync(file)) return readAdminTokenFile(file, ADMIN_TOKEN_FILE);
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return token;
}

export function startCommand(): Command {
  return new Command('start')
    .description('run the issuer service (SQLite in $AIRTIGHT_HOME/issuer by default; creates its CA on first start)')
    .option('--config <file>', 'configuration file (JSON); environment variables AIRTIGHT_ISSUER_* override it')
    .option('--port <port>', 'TCP port (0: any free port)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--database <url>', 'SQLite file or postgres:// URL')
    .option('--data-dir <dir>', 'data folder (default $AIRTIGHT_HOME/issuer)')
    .option('--public-url <url>', 'base URL devices use to reach this issuer')
    .option('--no-admin', 'do not enable the admin API with a generated token when none is configured')
    .action(async (opts: { config?: string; port?: string; host?: string; database?: string; dataDir?: string; publicUrl?: string; admin: boolean }) => {
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) usageError('--port must be 0-65535');
      let config = resolveServiceConfig(opts.config === undefined ? {} : readConfigFile(opts.config), process.env, {
        ...(port === undefined ? {} : { port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        ...(opts.database === undefined ? {} : { database: opts.database }),
        ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
        ...(opts.publicUrl === undefined ? {} : { publicUrl: opts.publicUrl }),
      });
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      const localToken = config.adminToken === undefined && opts.admin;
      if (localToken) config = { ...config, adminToken: localAdminToken(config) };
      // Structured logs go to stderr: stdout carries the one `listening on` line scripts wait for.
      const running = await startIssuerService(config, { env: process.env, handleSignals: true, logStream: process.stderr });
      writeFileSync(join(config.dataDir, URL_FILE), `${running.url}\n`, { mode: 0o600 });
      if (config.adminToken === undefined) note('admin API disabled (no admin token)');
      else if (localToken) note(`admin token in ${join(config.dataDir, ADMIN_TOKEN_FILE)} (used by the airtight issuer admin verbs)`);
      out(`listening on ${running.url}`);
      // Runs until a signal closes it (startIssuerService handles SIGTERM/SIGINT).
      await new Promise<void>((resolve) => running.app.server.once('close', () => resolve()));
    });
}
