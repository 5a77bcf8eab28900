/**
 * `npm run bench:issuer`: EC P-256 one-key enrollment sessions per second
 * against the issuer service over HTTP on 127.0.0.1, on SQLite and on
 * PostgreSQL, with 1, 16 and 64 concurrent clients; p50/p99 session latency,
 * the issuer's memory and the CPU split issuer / load generator; then the
 * issuer in process (the service library called directly, no HTTP) on a
 * SQLite file, an in-memory SQLite database and PostgreSQL, with where a
 * session's issuer time goes; and certificates per second.
 *
 * Three processes: this one (orchestration, in-process figures), the issuer
 * (`airtight issuer start` on a fresh data folder, template `ec-p256-auth`,
 * trusting a manufacturer CA made here) and the load generator (this file
 * with `loadgen`: `runEnrollment` over `createHttpTransport` with a keep-alive
 * agent, each session on a fresh memory SKS of one of C devices).
 *
 * Environment: BENCH_LEVELS (default `1,16,64`), BENCH_SECONDS per level
 * (default 8), BENCH_BACKENDS (`sqlite,postgres`), AIRTIGHT_BENCH_PG_URL (else
 * AIRTIGHT_TEST_PG_URL; PostgreSQL is skipped without either), BENCH_PARTS
 * (`http,inprocess,certificates`), BENCH_ISSUER_PROFILE=<dir> (the issuer
 * writes a V8 CPU profile there; `npx tsx bench/issuer-profile.ts <file>`
 * splits it by phase).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEcKeyPair } from '../src/sks/crypto/keygen.js';
import { CertificateIssuer, createCaHierarchy, IssuerKey, issueOnce, openIssuerCa, type IssuanceRequest } from '../src/issuer/ca/index.js';
import { DEFAULT_LIMITS } from '../src/issuer/config.js';
import { openIssuerDatabase } from '../src/issuer/db/index.js';
import type { IssuerDatabase, StoredResponse } from '../src/issuer/db/port.js';
import { DEFAULT_ALLOWED_ALGORITHMS } from '../src/issuer/policy/attestation.js';
import { BUILTIN_TEMPLATES } from '../src/issuer/policy/templates.js';
import { IssuerService } from '../src/issuer/service/issuer-service.js';
import type { EnrollmentUi, KeyGen2Transport, TransportReply } from '../src/keygen2/client/ports.js';
import { runEnrollment } from '../src/keygen2/client/run-enrollment.js';
import { createHttpTransport } from '../src/keygen2/http/http-transport.js';
import { certificatePem, createManufacturerCa, issueDeviceCertificate } from '../src/sks/device/manufacturer-ca.js';
import type { DeviceIdentity } from '../src/sks/device/identity.js';
import { createMemoryKeyStore, openSecureKeyStore } from '../src/sks/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEMPLATE = 'ec-p256-auth';
const UI: EnrollmentUi = { consent: () => Promise.resolve(true), enterPin: () => Promise.reject(new Error('no PIN in this template')) };
const CLK_TCK = 100; // USER_HZ on Linux

// ------------------------------------------------------------------ shared helpers

interface Devices {
  readonly caPem: string;
  /** One identity per concurrent client (PKCS#8 PEM of the device key, DER certificate path as hex). */
  readonly identities: ReadonlyArray<{ readonly keyPem: string; readonly path: readonly string[] }>;
}

async function makeDevices(count: number): Promise<Devices> {
  const ca = await createManufacturerCa({ keyType: 'ec-p256' });
  const identities = [];
  for (let i = 0; i < count; i++) {
    const pair = generateEcKeyPair('P-256');
    const cert = await issueDeviceCertificate(ca, pair.publicKey, { serialNumber: `bench-${i}` });
    identities.push({
      keyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      path: [Buffer.from(cert).toString('hex'), Buffer.from(ca.certificate).toString('hex')],
    });
  }
  return { caPem: certificatePem(ca.certificate), identities };
}

function identityOf(identity: Devices['identities'][number]): DeviceIdentity {
  return { privateKey: createPrivateKey(identity.keyPem), certificatePath: identity.path.map((h) => Buffer.from(h, 'hex')) };
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

/** utime + stime of a process in seconds (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** Runs `sessions` enrollments or until `seconds` pass, `concurrency` at a time; per-session latency in ms. */
async function drive(
  concurrency: number,
  seconds: number,
  next: () => Promise<string>,
  enroll: (client: number, invocationUrl: string) => Promise<void>,
): Promise<{ latencies: number[]; elapsed: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      while (performance.now() < deadline) {
        const url = await next();
        const t0 = performance.now();
        try {
          await enroll(client, url);
          latencies.push(performance.now() - t0);
        } catch (failure) {
          errors++;
          if (errors <= 3) console.error('session failed:', failure);
        }
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), elapsed: (performance.now() - start) / 1000, errors };
}

// ------------------------------------------------------------------ load generator process

interface LoadgenArgs {
  readonly url: string;
  readonly token: string;
  readonly issuerPid: number;
  readonly levels: readonly number[];
  readonly seconds: number;
  readonly devices: Devices;
}

export interface LevelResult {
  readonly concurrency: number;
  readonly sessions: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly issuerCpu: number;
  readonly loadgenCpu: number;
  readonly elapsed: number;
  readonly rss: number;
  readonly hwm: number;
  readonly enrollmentsPerSecond: number;
  readonly load: string;
}

async function loadgen(args: LoadgenArgs): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const transport = createHttpTransport({ agent });
  const identities = args.devices.identities.map(identityOf);
  const admin = async (): Promise<string> => {
    const body = JSON.stringify({ template: TEMPLATE, userName: 'Bench User' });
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${args.url}/admin/enrollments`,
        {
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${args.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => (res.statusCode === 201 ? resolve(Buffer.concat(chunks).toString()) : reject(new Error(`admin ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    return (JSON.parse(text) as { invocationUrl: string }).invocationUrl;
  };
  /** Invocations made ahead (16 admin requests in flight), so the timed phase measures sessions only. */
  const prepare = async (count: number): Promise<{ urls: string[]; perSecond: number }> => {
    const urls: string[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (urls.length < count) {
          urls.push('');
          urls[urls.length - 1] = await admin();
        }
      }),
    );
    return { urls: urls.filter((u) => u !== ''), perSecond: (urls.length * 1000) / (performance.now() - t0) };
  };
  const enroll = async (client: number, invocationUrl: string): Promise<void> => {
    const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device: identities[client % identities.length] });
    const summary = await runEnrollment({ sks, ui: UI, transport, invocationUrl });
    if (summary.keys.length !== 1) throw new Error('expected one key');
  };

  // Warm-up (JIT, connections, SQLite pages): not counted.
  const warm = await prepare(40);
  await drive(8, 3, async () => warm.urls.pop() ?? (await admin()), enroll);

  let rate = 100; // first guess of sessions/s, refined per level
  for (const concurrency of args.levels) {
    const want = Math.ceil(rate * args.seconds * 1.5) + concurrency * 2;
    const pool = await prepare(want);
    let extra = 0;
    const cpu0 = cpuSeconds(args.issuerPid);
    const own0 = process.cpuUsage();
    const measured = await drive(concurrency, args.seconds, async () => pool.urls.pop() ?? (extra++, await admin()), enroll);
    const issuerCpu = cpuSeconds(args.issuerPid) - cpu0;
    const own = process.cpuUsage(own0);
    const mem = memoryMiB(args.issuerPid);
    const sessions = measured.latencies.length;
    rate = Math.max(rate, sessions / measured.elapsed);
    const result: LevelResult = {
      concurrency,
      sessions,
      errors: measured.errors,
      perSecond: sessions / measured.elapsed,
      p50: percentile(measured.latencies, 50),
      p99: percentile(measured.latencies, 99),
      issuerCpu,
      loadgenCpu: (own.user + own.system) / 1e6,
      elapsed: measured.elapsed,
      rss: mem.rss,
      hwm: mem.hwm,
      enrollmentsPerSecond: pool.perSecond,
      load: load(),
    };
    if (extra > 0) console.error(`(${extra} invocations were created during the timed phase)`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  agent.destroy();
}

// ------------------------------------------------------------------ the issuer process

async function startIssuer(
  backend: 'sqlite' | 'postgres',
  dir: string,
  devices: Devices,
  pgUrl: string | undefined,
): Promise<{ child: ChildProcess; url: string; token: string }> {
  mkdirSync(join(dir, 'data', 'trust-roots'), { recursive: true });
  writeFileSync(join(dir, 'data', 'trust-roots', 'bench-devices.pem'), devices.caPem);
  const profileDir = process.env['BENCH_ISSUER_PROFILE'];
  const args = [
    ...(profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]),
    '--import',
    'tsx',
    join(ROOT, 'src/cli/main.ts'),
    'issuer',
    'start',
    '--data-dir',
    join(dir, 'data'),
    '--port',
    '0',
  ];
  if (backend === 'postgres') args.push('--database', pgUrl!);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, AIRTIGHT_HOME: join(dir, 'home') },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`issuer exited (${code})`)));
  });
  const token = readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim();
  return { child, url, token };
}

async function runHttp(
  backend: 'sqlite' | 'postgres',
  devices: Devices,
  levels: readonly number[],
  seconds: number,
  pgUrl: string | undefined,
): Promise<LevelResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'airtight-bench-load-'));
  const issuer = await startIssuer(backend, dir, devices, pgUrl);
  try {
    const args: LoadgenArgs = { url: issuer.url, token: issuer.token, issuerPid: issuer.child.pid!, levels, seconds, devices };
    const argsFile = join(dir, 'loadgen.json');
    writeFileSync(argsFile, JSON.stringify(args));
    const gen = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'loadgen', argsFile], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const results: LevelResult[] = [];
    let buf = '';
    gen.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) {
          const levelResult = JSON.parse(line) as LevelResult;
          results.push(levelResult);
          printLevel(backend, levelResult);
        }
      }
    });
    const code = await new Promise<number | null>((resolve) => gen.once('exit', resolve));
    if (code !== 0) throw new Error(`load generator exited with ${code}`);
    return results;
  } finally {
    issuer.child.kill('SIGTERM');
    await new Promise((resolve) => issuer.child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

function printLevel(backend: string, levelResult: LevelResult): void {
  const perSession = (cpu: number): string => `${((cpu * 1000) / levelResult.sessions).toFixed(2).padStart(6)} ms`;
  console.log(
    `${backend.padEnd(9)} ${String(levelResult.concurrency).padStart(4)} ${levelResult.perSecond.toFixed(1).padStart(9)} ${levelResult.p50.toFixed(1).padStart(8)} ${levelResult.p99.toFixed(1).padStart(8)}` +
      `   ${levelResult.rss.toFixed(0).padStart(4)}/${levelResult.hwm.toFixed(0).padEnd(4)} MiB  ${perSession(levelResult.issuerCpu)} ${perSession(levelResult.loadgenCpu)}   ${((levelResult.issuerCpu / levelResult.elapsed) * 100).toFixed(0).padStart(3)}%/${((levelResult.loadgenCpu / levelResult.elapsed) * 100).toFixed(0).padStart(3)}%  ${String(levelResult.sessions).padStart(6)} ${levelResult.errors}  ${levelResult.load}`,
  );
}

// ------------------------------------------------------------------ in process

/** Wall time spent inside each database method (sequential runs only: overlapping calls would double count). */
function timedDb(db: IssuerDatabase, into: Map<string, number>): IssuerDatabase {
  return new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        try {
          return await (value as (...x: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          into.set(String(prop), (into.get(String(prop)) ?? 0) + performance.now() - t0);
        }
      };
    },
  });
}

const reply = (a: StoredResponse): TransportReply => (a.kind === 'redirect' ? { kind: 'redirect', location: a.location } : { kind: 'message', text: a.body });

async function runInProcess(label: string, target: string, devices: Devices, seconds: number): Promise<void> {
  const dbTime = new Map<string, number>();
  const schema = target.startsWith('postgres') ? await freshSchema(target) : undefined;
  const raw = await openIssuerDatabase(target, schema === undefined ? {} : { schema });
  const db = timedDb(raw, dbTime);
  const { ca } = await openIssuerCa({ dir: mkdtempSync(join(tmpdir(), 'airtight-bench-ca-')), issuerKey: IssuerKey.fromBytes(randomBytes(32), 'bench') });
  const service = new IssuerService({
    db,
    ca,
    sealingKey: randomBytes(32),
    policy: { trustRoots: [Buffer.from(devices.identities[0].path[1], 'hex')], allowPrivacy: false, allowedAlgorithms: DEFAULT_ALLOWED_ALGORITHMS },
    templates: BUILTIN_TEMPLATES,
    limits: DEFAULT_LIMITS,
    publicUrl: 'http://issuer.bench',
  });
  await service.currentKmk();
  let serviceTime = 0;
  /** Issuer time per KeyGen2 exchange, by the message it answers (sequential runs only). */
  const stepTime = new Map<string, { ms: number; db: number }>();
  const dbNow = (): number => [...dbTime.values()].reduce((a, b) => a + b, 0);
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const d0 = dbNow();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - t0;
      serviceTime += ms;
      const stepTotal = stepTime.get(step) ?? { ms: 0, db: 0 };
      stepTime.set(step, { ms: stepTotal.ms + ms, db: stepTotal.db + dbNow() - d0 });
    }
  };
  const qualifier = (text: string): string => /"@qualifier"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? 'POST';
  const transport: KeyGen2Transport = {
    fetchInvocation: async (inv) => reply((await timed('GET init -> InvocationRequest', () => service.init(inv.cookie))).answer),
    postResponse: async (inv, text) => reply((await timed(`POST ${qualifier(text)}`, () => service.post(inv.cookie, text))).answer),
  };
  const identities = devices.identities.map(identityOf);
  const enroll = async (client: number, url: string): Promise<void> => {
    const sks = openSecureKeyStore({ store: createMemoryKeyStore(), device: identities[client % identities.length] });
    await runEnrollment({ sks, ui: UI, transport, invocationUrl: url });
  };
  const next = async (): Promise<string> => (await service.createEnrollment({ template: TEMPLATE, userName: 'Bench User' })).invocationUrl;
  await drive(4, 2, next, enroll); // warm-up
  for (const concurrency of [1, 16]) {
    const pool: string[] = [];
    const want = concurrency === 1 ? 300 : 1200;
    while (pool.length < want) pool.push(...(await Promise.all(Array.from({ length: 16 }, next))));
    dbTime.clear();
    stepTime.clear();
    serviceTime = 0;
    const cpu0 = process.cpuUsage();
    const result = await drive(concurrency, seconds, async () => pool.pop() ?? (await next()), enroll);
    const cpu = process.cpuUsage(cpu0);
    const count = result.latencies.length;
    const ms = (x: number): string => `${(x / count).toFixed(2)} ms`;
    console.log(
      `${label.padEnd(22)} ${String(concurrency).padStart(4)} ${(count / result.elapsed).toFixed(1).padStart(9)} ${result.latencies[Math.floor(count / 2)].toFixed(1).padStart(8)} ${percentile(result.latencies, 99).toFixed(1).padStart(8)}` +
        `   cpu (issuer+client) ${ms((cpu.user + cpu.system) / 1000)}/session  ${result.errors} err  load ${load()}`,
    );
    if (concurrency === 1) {
      const dbTotal = [...dbTime.values()].reduce((a, b) => a + b, 0);
      const top = [...dbTime.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${(v / count).toFixed(2)}`)
        .join(', ');
      console.log(
        `${''.padEnd(27)}per session: issuer ${ms(serviceTime)} = database ${ms(dbTotal)} + KeyGen2 state machine, crypto, CA ${ms(serviceTime - dbTotal)}`,
      );
      console.log(`${''.padEnd(27)}database ms/session: ${top}`);
      for (const [step, stepTotal] of stepTime)
        console.log(
          `${''.padEnd(27)}${step.padEnd(44)} ${(stepTotal.ms / count).toFixed(2).padStart(6)} ms (database ${(stepTotal.db / count).toFixed(2)} ms)`,
        );
    }
  }
  await raw.close();
  if (schema !== undefined) await dropSchema(target, schema);
}

async function freshSchema(url: string): Promise<string> {
  const { default: pg } = await import('pg');
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return schema;
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

/** Certificates per second: issuance alone and the crash-safe issueOnce over the SQLite database. */
async function certificates(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airtight-bench-cert-'));
  try {
    const { issuing } = await createCaHierarchy();
    const issuer = new CertificateIssuer(issuing);
    const request: IssuanceRequest = {
      profile: { subject: [{ type: 'O', value: 'Airtight' }], validityDays: 365, appUsage: 'authentication' },
      user: { commonName: 'Bench User' },
      subjectPublicKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' }),
    };
    const rate = async (fn: () => unknown, ms = 2000): Promise<number> => {
      for (let i = 0; i < 20; i++) await fn();
      let count = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < ms) {
        await fn();
        count++;
      }
      return (count * 1000) / (performance.now() - t0);
    };
    const alone = await rate(() => issuer.issue(request));
    const db = await openIssuerDatabase(join(dir, 'issuer.sqlite'));
    await db.createEnrollment({ token: 'bench', template: 'bench', userName: 'bench', expiresAt: Date.now() + 3_600_000 });
    const started = await db.startEnrollmentSession('bench', {
      id: 'bench-session',
      state: '{}',
      requestHash: createHash('sha256').update('bench').digest('hex'),
      response: { kind: 'body', contentType: 'application/json', body: '{}' },
      expiresAt: Date.now() + 3_600_000,
    });
    if (started.kind !== 'started') throw new Error('bench session did not start');
    let key = 0;
    const durable = await rate(() => issueOnce(issuer, db, { sessionId: 'bench-session', keyId: `Key.${key++}`, request }));
    await db.close();
    console.log(
      `certificates (P-256 CA): issuance alone ${alone.toFixed(0)}/s; issueOnce over SQLite (intent + certificate committed) ${durable.toFixed(0)}/s   load ${load()}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const levels = (process.env['BENCH_LEVELS'] ?? '1,16,64').split(',').map(Number);
  const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
  const backends = (process.env['BENCH_BACKENDS'] ?? 'sqlite,postgres').split(',');
  const pgUrl = process.env['AIRTIGHT_BENCH_PG_URL'] ?? process.env['AIRTIGHT_TEST_PG_URL'];
  const parts = (process.env['BENCH_PARTS'] ?? 'http,inprocess,certificates').split(',');
  const devices = await makeDevices(Math.max(...levels));
  console.log(
    `Airtight issuer load benchmark: node ${process.version}, ${levels.join('/')} concurrent EC P-256 one-key sessions (template ${TEMPLATE}), ${seconds} s per level; load average at start ${load()}`,
  );
  if (parts.includes('http')) {
    console.log('\nover HTTP (issuer and load generator in their own processes, keep-alive, 127.0.0.1)');
    console.log('backend   conc  sessions/s   p50 ms   p99 ms   issuer RSS/peak   CPU/session issuer loadgen   busy iss/gen  sessions err  load 1/5/15');
    for (const backend of backends) {
      if (backend === 'postgres' && pgUrl === undefined) {
        console.log('postgres  skipped (set AIRTIGHT_BENCH_PG_URL or AIRTIGHT_TEST_PG_URL)');
        continue;
      }
      let url = pgUrl;
      let schema: string | undefined;
      if (backend === 'postgres') {
        schema = await freshSchema(pgUrl!);
        const parsedUrl = new URL(pgUrl!);
        parsedUrl.searchParams.set('options', `-c search_path=${schema}`);
        url = parsedUrl.toString();
      }
      try {
        await runHttp(backend as 'sqlite' | 'postgres', devices, levels, seconds, url);
      } finally {
        if (schema !== undefined) await dropSchema(pgUrl!, schema);
      }
    }
  }
  if (parts.includes('inprocess')) {
    console.log('\nin process (service library called directly: no HTTP, client SKS in the same thread)');
    console.log('database               conc  sessions/s   p50 ms   p99 ms');
    const dir = mkdtempSync(join(tmpdir(), 'airtight-bench-inproc-'));
    try {
      await runInProcess('SQLite file (FULL)', join(dir, 'issuer.sqlite'), devices, Math.min(seconds, 5));
      await runInProcess('SQLite :memory:', ':memory:', devices, Math.min(seconds, 5));
      if (pgUrl !== undefined) await runInProcess('PostgreSQL', pgUrl, devices, Math.min(seconds, 5));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (parts.includes('certificates')) {
    console.log('');
    await certificates();
  }
}

if (process.argv[2] === 'loadgen') await loadgen(JSON.parse(readFileSync(process.argv[3], 'utf8')) as LoadgenArgs);
else await main();
