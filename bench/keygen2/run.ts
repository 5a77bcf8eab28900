/**
 * `npm run bench:keygen2` (and the second half of `npm run bench`): full in-process KeyGen2
 * sessions — our issuer, our client and our SKS over wire text — per second, for one EC P-256
 * key, one RSA-2048 key and twenty EC P-256 keys, on the memory and the SQLite store, with an
 * EC and an RSA device key. The issuer's and the client's CPU time are printed apart, each beside
 * the raw node:crypto work that side needs (bench/keygen2/raw.ts), measured interleaved in the
 * same run so machine load hits both alike.
 *
 * Then the EC P-256 one-key session again, in one process per core at once (parallel.ts).
 *
 * Each SKS is replaced by a fresh one once it holds 200 keys: a device holds a handful, and the
 * store's per-commit work grows with its size.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IssuerConfig, KeyGen2Issuer } from '../../src/keygen2/server/index.js';
import { runParallel } from './parallel.js';
import { rawWork } from './raw.js';
import { runSession } from './session.js';
import {
  createBenchIssuer,
  createDevices,
  openSks,
  P256,
  RSA2048,
  sessionConfig,
  type Device,
  type DeviceKeyType,
  type OpenedSks,
  type PortCounts,
  type StoreKind,
} from './setup.js';

interface Scenario {
  readonly name: string;
  readonly keys: number;
  readonly rsaKeys: boolean;
  readonly config: IssuerConfig;
  /** Sessions per measurement pass (scaled by BENCH_SCALE). */
  readonly sessions: number;
  /** Sessions run first, untimed: until the JIT has compiled the hot code, it is measuring the compiler. */
  readonly warm: number;
}

const SCALE = Number(process.env['BENCH_SCALE'] ?? 1);
const SCENARIOS: readonly Scenario[] = [
  // 2,000 sessions before measuring: with 500 the JIT and the heap were still settling (CPU-bound figure ~30% below a long run's).
  { name: 'EC P-256, 1 key', keys: 1, rsaKeys: false, config: sessionConfig(P256, 1), sessions: 1500, warm: 2000 },
  { name: 'RSA-2048, 1 key', keys: 1, rsaKeys: true, config: sessionConfig(RSA2048, 1), sessions: 8, warm: 2 },
  { name: 'EC P-256, 20 keys', keys: 20, rsaKeys: false, config: sessionConfig(P256, 20), sessions: 30, warm: 25 },
];
const STORES: readonly StoreKind[] = ['memory', 'sqlite'];
const DEVICE_KEYS: readonly DeviceKeyType[] = ['ec', 'rsa'];
const KEYS_PER_STORE = 200;

interface Row {
  readonly scenario: Scenario;
  readonly store: StoreKind;
  readonly deviceKey: DeviceKeyType;
  /** Wall-clock sessions per second, untimed pass. */
  readonly perSecond: number;
  /** CPU-bound sessions per second: 1000 / (CPU ms per session) over the untimed pass. */
  readonly perCpuSecond: number;
  readonly issuerMs: number;
  readonly issuerRawMs: number;
  readonly clientMs: number;
  readonly clientRawMs: number;
}

const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** Opens SKS instances one after another, a fresh one whenever the current one holds enough keys. */
class SksSupply {
  #current: OpenedSks | undefined;
  #keys = 0;
  static #n = 0;
  /** Wall and CPU ms spent opening and closing stores, which the throughput figure leaves out. */
  overheadWallMs = 0;
  overheadCpuMs = 0;
  constructor(
    private readonly kind: StoreKind,
    private readonly device: Device,
    private readonly dir: string,
  ) {}
  next(keys: number): OpenedSks {
    if (this.#current === undefined || this.#keys + keys > KEYS_PER_STORE) {
      const started = performance.now();
      const code = cpuMs();
      this.#current?.close();
      this.#current = openSks(this.kind, this.device, this.dir, `sks-${this.kind}-${SksSupply.#n++}`);
      this.#keys = 0;
      this.overheadWallMs += performance.now() - started;
      this.overheadCpuMs += cpuMs() - code;
    }
    this.#keys += keys;
    return this.#current;
  }
  close(): void {
    this.#current?.close();
  }
}

async function measure(
  issuer: KeyGen2Issuer,
  counts: PortCounts,
  scenario: Scenario,
  store: StoreKind,
  deviceKey: DeviceKeyType,
  device: Device,
  dir: string,
): Promise<Row> {
  const count = Math.max(2, Math.round(scenario.sessions * SCALE));
  const supply = new SksSupply(store, device, dir);
  try {
    const warm = Math.max(2, Math.round(scenario.warm * SCALE));
    counts.hmacs = 0;
    counts.encryptions = 0;
    for (let i = 0; i < warm; i++) await runSession(issuer, supply.next(scenario.keys).sks, scenario.config, false);
    const raw = rawWork(
      { keys: scenario.keys, rsaKeys: scenario.rsaKeys, device, deviceKey, store, hmacs: counts.hmacs / warm, encryptions: counts.encryptions / warm },
      dir,
    );
    try {
      // Throughput: nothing timed inside the session.
      const [w0, c0] = [supply.overheadWallMs, supply.overheadCpuMs];
      const started = performance.now();
      const code = cpuMs();
      for (let i = 0; i < count; i++) await runSession(issuer, supply.next(scenario.keys).sks, scenario.config, false);
      const wall = performance.now() - started - (supply.overheadWallMs - w0);
      const cpu = cpuMs() - code - (supply.overheadCpuMs - c0);
      // Split: issuer and client CPU per session, each session followed by its raw work.
      let issuerMs = 0;
      let clientMs = 0;
      let issuerRawMs = 0;
      let clientRawMs = 0;
      for (let i = 0; i < count; i++) {
        const cost = await runSession(issuer, supply.next(scenario.keys).sks, scenario.config, true);
        issuerMs += cost.issuer.cpuMs;
        clientMs += cost.total.cpuMs - cost.issuer.cpuMs;
        issuerRawMs += raw.issuer();
        clientRawMs += await raw.client();
      }
      return {
        scenario,
        store,
        deviceKey,
        perSecond: (count * 1000) / wall,
        perCpuSecond: (count * 1000) / cpu,
        issuerMs: issuerMs / count,
        issuerRawMs: issuerRawMs / count,
        clientMs: clientMs / count,
        clientRawMs: clientRawMs / count,
      };
    } finally {
      raw.close();
    }
  } finally {
    supply.close();
  }
}

const fixed = (x: number, d = 3): string => x.toFixed(d);

function print(rows: readonly Row[]): void {
  const head = ['scenario', 'store', 'device', 'sessions/s', '(CPU-bound)', 'issuer ms', 'raw ms', 'ratio', 'client ms', 'raw ms', 'ratio'];
  const cells = rows.map((r) => [
    r.scenario.name,
    r.store,
    r.deviceKey === 'ec' ? 'EC P-256' : 'RSA-2048',
    fixed(r.perSecond, 1),
    fixed(r.perCpuSecond, 1),
    fixed(r.issuerMs),
    fixed(r.issuerRawMs),
    `${fixed(r.issuerMs / r.issuerRawMs, 2)}x`,
    fixed(r.clientMs),
    fixed(r.clientRawMs),
    `${fixed(r.clientMs / r.clientRawMs, 2)}x`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, i) => (i < 3 ? x.padEnd(widths[i] ?? 0) : x.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  for (const row of cells) console.log(line(row));
}

export async function runKeyGen2Bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airtight-bench-kg2-'));
  try {
    const devices = await createDevices();
    const counts: PortCounts = { hmacs: 0, encryptions: 0 };
    const issuer = createBenchIssuer(devices.root, counts);
    const load = loadavg()[0] ?? 0;
    const rows: Row[] = [];
    // BENCH_ONLY=ec-memory-ec runs just the EC P-256 1-key, memory store, EC device row (the issue 8 target).
    const only = process.env['BENCH_ONLY'] === 'ec-memory-ec';
    for (const scenario of only ? SCENARIOS.slice(0, 1) : SCENARIOS) {
      for (const store of only ? (['memory'] as const) : STORES) {
        for (const deviceKey of only ? (['ec'] as const) : DEVICE_KEYS)
          rows.push(await measure(issuer, counts, scenario, store, deviceKey, devices[deviceKey], dir));
      }
    }
    console.log(`\nKeyGen2 full in-process sessions (issuer ↔ client ↔ SKS over wire text; Node ${process.version}; load average ${fixed(load, 1)} at start)`);
    console.log('CPU ms per session (process.cpuUsage); raw = the bare node:crypto calls that side needs (bench/keygen2/raw.ts), same run, interleaved');
    print(rows);
    console.log('20-key / 1-key session cost (issuer + client CPU):');
    for (const store of STORES) {
      for (const deviceKey of DEVICE_KEYS) {
        const one = rows.find((r) => r.scenario.keys === 1 && !r.scenario.rsaKeys && r.store === store && r.deviceKey === deviceKey);
        const twenty = rows.find((r) => r.scenario.keys === 20 && r.store === store && r.deviceKey === deviceKey);
        if (one === undefined || twenty === undefined) continue;
        console.log(
          `  ${store.padEnd(6)} ${deviceKey === 'ec' ? 'EC P-256' : 'RSA-2048'} device: ${fixed((twenty.issuerMs + twenty.clientMs) / (one.issuerMs + one.clientMs), 1)}x`,
        );
      }
    }
    const processes = Number(process.env['BENCH_PROCESSES'] ?? availableParallelism());
    const parallel = await runParallel(Math.max(100, Math.round(3000 * SCALE)), processes);
    console.log(
      `EC P-256, 1 key, memory, EC P-256 device, ${parallel.processes} processes at once (one per core unless BENCH_PROCESSES): ` +
        `${fixed(parallel.perSecond, 1)} sessions/s in all (each process ${fixed(parallel.slowestPerSecond, 1)}–${fixed(parallel.fastestPerSecond, 1)}/s)`,
    );
    console.log('openkeystore Java reference on this machine: 147 EC P-256 sessions/s (issuer 3.0 ms + client 4.1 ms), 10.4 RSA-2048 sessions/s');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runKeyGen2Bench();
