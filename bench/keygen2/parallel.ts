/**
 * The headline session (EC P-256, one key, memory store, EC device key) run in several processes
 * at once, each doing full in-process sessions (its own issuer, client and SKS), the way an
 * issuer spreads its load over the cores. One session's work is one thread's; this says how many
 * a machine does when every core runs sessions. Started from bench/keygen2/run.ts; each child is
 * this file run with the parent's loader flags (`BENCH_PARALLEL_CHILD=1`).
 */
import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runSession } from './session.js';
import { createBenchIssuer, createDevices, openSks, P256, sessionConfig, type OpenedSks } from './setup.js';

/** Messages between the parent and a child. */
type ChildMessage = { readonly kind: 'ready' } | { readonly kind: 'done'; readonly ms: number };

const KEYS_PER_STORE = 200;

async function runChild(sessions: number, warm: number): Promise<void> {
  const devices = await createDevices();
  const issuer = createBenchIssuer(devices.root);
  const config = sessionConfig(P256, 1);
  let opened: OpenedSks | undefined;
  let keys = 0;
  const sks = (): OpenedSks['sks'] => {
    if (opened === undefined || keys >= KEYS_PER_STORE) {
      opened?.close();
      opened = openSks('memory', devices.ec, '', 'parallel');
      keys = 0;
    }
    keys++;
    return opened.sks;
  };
  for (let i = 0; i < warm; i++) await runSession(issuer, sks(), config, false);
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  send({ kind: 'ready' });
  await new Promise((resolve) => process.once('message', resolve));
  const started = performance.now();
  for (let i = 0; i < sessions; i++) await runSession(issuer, sks(), config, false);
  send({ kind: 'done', ms: performance.now() - started });
  opened?.close();
}

export interface ParallelResult {
  readonly processes: number;
  readonly sessions: number;
  /** Sessions per second over all processes, from the common start to the last one's end. */
  readonly perSecond: number;
  /** The slowest and fastest process on its own. */
  readonly slowestPerSecond: number;
  readonly fastestPerSecond: number;
}

/** Runs `sessions` sessions in each of `processes` processes (default: one per core), all started together. */
export async function runParallel(sessions: number, processes = availableParallelism(), warm = 2000): Promise<ParallelResult> {
  const file = fileURLToPath(import.meta.url);
  const children = Array.from({ length: processes }, () =>
    fork(file, [String(sessions), String(Math.round(warm))], { execArgv: process.execArgv, env: { ...process.env, BENCH_PARALLEL_CHILD: '1' } }),
  );
  const next = (child: (typeof children)[number]): Promise<ChildMessage> =>
    new Promise((resolve, reject) => {
      child.once('message', (message) => {
        resolve(message as ChildMessage);
      });
      child.once('exit', (code) => {
        reject(new Error(`bench child exited (${String(code)}) before answering`));
      });
    });
  try {
    await Promise.all(children.map(next));
    const started = performance.now();
    const finished = children.map(next);
    for (const child of children) child.send('go');
    const done = await Promise.all(finished);
    const wall = performance.now() - started;
    const each = done.map((m) => (m.kind === 'done' ? (sessions * 1000) / m.ms : 0));
    return {
      processes,
      sessions: processes * sessions,
      perSecond: (processes * sessions * 1000) / wall,
      slowestPerSecond: Math.min(...each),
      fastestPerSecond: Math.max(...each),
    };
  } finally {
    for (const child of children) child.kill();
  }
}

if (process.env['BENCH_PARALLEL_CHILD'] === '1') await runChild(Number(process.argv[2]), Number(process.argv[3]));
