/**
 * `npx tsx bench/issuer-profile.ts <file.cpuprofile> [sessions] [last-seconds]`: the issuer's
 * CPU time by phase from a V8 CPU profile (BENCH_ISSUER_PROFILE with
 * `npm run bench:issuer`): each sample is charged to the first frame of its
 * stack, from the leaf up, that names a phase (crypto, database, KeyGen2
 * codec, ...), so a phase includes what it calls except other phases.
 * With `last-seconds`, only the samples of the profile's last seconds count
 * (the timed phase of one level, since the issuer stops right after it).
 */
import { readFileSync } from 'node:fs';

interface Node {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly Node[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Phases, most specific first: the first that matches a frame (leaf upwards) takes the sample. */
const PHASES: ReadonlyArray<readonly [string, (f: Node['callFrame']) => boolean]> = [
  ['idle (waiting: I/O, fsync off-thread, other processes)', (f) => f.functionName === '(idle)'],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['SQLite COMMIT/BEGIN (the COMMIT waits for the WAL fsync)', (f) => f.functionName === 'exec' && f.url === ''],
  ['SQLite statements (prepared run/all, row decoding)', (f) => /better-sqlite3|\/issuer\/db\//.test(f.url)],
  ['crypto (node:crypto: ECDH, ECDSA, HMAC, key parsing)', (f) => /node:internal\/crypto|node:crypto/.test(f.url)],
  ['X.509 / DER (CA: certificate build, device chain)', (f) => /\/issuer\/ca\/|@peculiar|asn1|pvtsutils|device-trust/.test(f.url)],
  ['KeyGen2 codec (JSON decode/encode, canonical JSON)', (f) => /\/keygen2\/messages\/|\/keygen2\/json|canonical/.test(f.url)],
  ['KeyGen2 issuer state machine', (f) => f.url.includes('/keygen2/server/')],
  ['issuer service (sessions, policy, state JSON)', (f) => /\/issuer\/(service|policy)\//.test(f.url)],
  ['logging (pino)', (f) => /pino|sonic-boom/.test(f.url)],
  [
    'HTTP (node:http, fastify, sockets)',
    (f) => /fastify|find-my-way|light-my-request|avvio|node:_http|node:http|node:net|node:internal\/(http|stream|streams)|node:stream/.test(f.url),
  ],
  ['JSON.parse / stringify (builtin)', (f) => /^JSON\.|^(parse|stringify)$/.test(f.functionName) && f.url === ''],
];

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Profile;
const sessions = Number(process.argv[3] ?? NaN);
const lastUs = Number(process.argv[4] ?? Infinity) * 1e6;
const endUs = profile.timeDeltas.reduce((a, b) => a + b, 0);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const phaseOf = new Map<number, string>();
const phase = (id: number): string => {
  const known = phaseOf.get(id);
  if (known !== undefined) return known;
  const frame = byId.get(id)!.callFrame;
  const own = PHASES.find(([, test]) => test(frame))?.[0];
  const parentId = parent.get(id);
  const result = own ?? (parentId === undefined ? 'other (program, runtime, tsx)' : phase(parentId));
  phaseOf.set(id, result);
  return result;
};
const totals = new Map<string, number>();
let all = 0;
let at = 0;
profile.samples.forEach((id, index) => {
  const dt = profile.timeDeltas[index] ?? 0;
  at += dt;
  if (at < endUs - lastUs) return;
  all += dt;
  const phaseName = phase(id);
  totals.set(phaseName, (totals.get(phaseName) ?? 0) + dt);
});
const busy = all - (totals.get(PHASES[0][0]) ?? 0);
console.log(`profile ${(all / 1e6).toFixed(1)} s, on CPU ${(busy / 1e6).toFixed(1)} s${Number.isFinite(sessions) ? `, ${sessions} sessions` : ''}`);
for (const [name, us] of [...totals.entries()].sort((a, b) => b[1] - a[1])) {
  const share = name === PHASES[0][0] ? '' : `${((us / busy) * 100).toFixed(1).padStart(5)}% of CPU`;
  const per = Number.isFinite(sessions) ? `  ${(us / 1000 / sessions).toFixed(2).padStart(6)} ms/session` : '';
  console.log(`  ${name.padEnd(58)} ${(us / 1e6).toFixed(2).padStart(7)} s ${share}${per}`);
}
