/**
 * `airtight issuer start` as a child process the tests own: started on a
 * fixed port (so a restart answers at the same URL), SIGKILLed at will,
 * restarted on the same data folder and database. Every process of one
 * {@link IssuerCluster} gets the same sealing key, CA key, CA folder, trust
 * roots and admin token through the environment, as an operator would
 * configure several processes serving one database.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes, randomInt, X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, DEVICE_ROOT } from '../service/harness.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

/** Ports this process handed out: two drawn in a row must differ even while neither is bound yet. */
const handedOut = new Set<number>();

/**
 * A port free right now on 127.0.0.1, for a child that binds it later and
 * again after a restart. A CI run once failed with the second issuer's port
 * in use for seconds: ports came from `listen(0)`, released at once, so the
 * kernel could hand the same one to the next draw or to a connection's local
 * end (the first issuer's database pool). Now no port is handed out twice in
 * a process, and all are drawn below Linux's ephemeral range (32768-60999),
 * where the kernel never picks one by itself.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + randomInt(12_000);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port found in 20000-31999');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** What every process of one issuer deployment shares. */
export interface IssuerCluster {
  readonly root: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Secrets, CA folder and trust roots (the recorded test device's root) for
 * processes that serve one database; nothing of the caller's AIRTIGHT_*
 * environment leaks in.
 */
export function issuerCluster(root: string): IssuerCluster {
  mkdirSync(join(root, 'roots'), { recursive: true });
  writeFileSync(join(root, 'roots', 'device-root.pem'), new X509Certificate(DEVICE_ROOT).toString());
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('AIRTIGHT_')) env[key] = value;
  Object.assign(env, {
    AIRTIGHT_HOME: join(root, 'home'),
    AIRTIGHT_ISSUER_CA_DIR: join(root, 'ca'),
    AIRTIGHT_ISSUER_KEY: randomBytes(32).toString('base64url'),
    AIRTIGHT_ISSUER_SEALING_KEY: randomBytes(32).toString('base64url'),
    AIRTIGHT_ISSUER_TRUST_ROOTS: join(root, 'roots'),
    AIRTIGHT_ISSUER_ADMIN_TOKEN: ADMIN_TOKEN,
    AIRTIGHT_ISSUER_LOG_LEVEL: 'warn',
  });
  return { root, env };
}

/** The `--database` a child process gets for a fixture: the SQLite file, or the URL with the fixture's schema as search_path. */
export function childDatabase(location: { readonly target: string; readonly schema: string }): string {
  if (location.schema === '') return location.target;
  const parsed = new URL(location.target);
  parsed.searchParams.set('options', `-c search_path=${location.schema}`);
  return parsed.toString();
}

export interface IssuerProcessOptions {
  readonly name: string;
  readonly port: number;
  /** SQLite file or `postgres://` URL; default `<dataDir>/issuer.sqlite`. */
  readonly database?: string;
  /** Default `http://127.0.0.1:<port>`. */
  readonly publicUrl?: string;
}

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** One issuer process slot: at most one live child at a time, restartable on the same port and data. */
export class IssuerProcess {
  readonly url: string;
  readonly dataDir: string;
  /** Exits we did not cause (a crash of the issuer itself): must stay empty. */
  readonly unexpectedExits: string[] = [];
  starts = 0;
  #child: Child | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';

  constructor(
    readonly cluster: IssuerCluster,
    readonly options: IssuerProcessOptions,
  ) {
    this.dataDir = join(cluster.root, options.name);
    this.url = `http://127.0.0.1:${options.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The last lines the issuer logged (warnings and errors), for a failure message. */
  stderrTail(chars = 4000): string {
    return this.#stderr.slice(-chars);
  }

  /** Starts the process and resolves once it printed `listening on URL`; retries a port still held (EADDRINUSE) for a while. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#startOnce();
        return;
      } catch (error) {
        if (attempt >= 20 || !this.#stderr.slice(-2000).includes('EADDRINUSE')) throw error;
        await sleep(100);
      }
    }
  }

  #startOnce(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.options.name} is already running`);
    const args = [
      '--import',
      'tsx',
      MAIN,
      'issuer',
      'start',
      '--port',
      String(this.options.port),
      '--data-dir',
      this.dataDir,
      '--public-url',
      this.options.publicUrl ?? this.url,
    ];
    if (this.options.database !== undefined) args.push('--database', this.options.database);
    const child = spawn(process.execPath, args, { cwd: ROOT, env: this.cluster.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.starts++;
    let listening = false;
    let onEarlyExit: () => void = () => undefined;
    this.#exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.#child === child) this.#child = undefined;
        if (!listening) onEarlyExit();
        else if (!this.#killing.has(child)) this.unexpectedExits.push(`${this.options.name}: exit ${code ?? signal}\n${this.stderrTail()}`);
        resolve();
      }),
    );
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-20_000);
    });
    return new Promise<void>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${this.options.name}: no "listening on" line within 60 s\n${this.stderrTail()}`));
      }, 60_000);
      onEarlyExit = () => {
        clearTimeout(timer);
        reject(new Error(`${this.options.name}: exited before listening\n${this.stderrTail()}`));
      };
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (!listening && /^listening on \S+$/m.test(text)) {
          listening = true;
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  readonly #killing = new WeakSet<Child>();

  /** SIGKILL: no handler runs, no request finishes; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#killing.add(child);
    child.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM (graceful close); resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (child === undefined) return null;
    this.#killing.add(child);
    const code = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    child.kill('SIGTERM');
    await this.#exited;
    return code;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `POST /admin/enrollments` (one-shot, no retry: the callers make enrollments
 * while the issuer is known to be up).
 */
export async function createEnrollment(baseUrl: string, template: string, userName: string): Promise<{ enrollmentId: string; invocationUrl: string }> {
  const response = await fetch(`${baseUrl}/admin/enrollments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ template, userName }),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`POST /admin/enrollments: HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as { enrollmentId: string; invocationUrl: string };
}
