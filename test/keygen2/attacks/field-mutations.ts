/**
 * The field-mutation sweep over one scenario: for every message of a recorded session, every
 * mechanical mutation of it (see mutations.ts) is injected into a fresh session by the man in
 * the middle, and the run must end refused with a coded KeyGen2Error, no issuer outcome, no open
 * SKS session and the SKS's committed state unchanged.
 */
import { catchKind, cleanStates, committed, noOpenSession, runSession, type CatchKind, type Direction, type Scenario, type Side } from './mitm.js';
import { apply, enumerate, fieldName, leaves, pathText, type Json, type Mutation } from './mutations.js';

export interface MessageRow {
  readonly message: string;
  readonly direction: Direction;
  /** Distinct leaf paths (array indices kept). */
  readonly fields: number;
  tried: number;
  readonly caught: Record<CatchKind, number>;
  /** Refused by the receiving side (client for requests, issuer for responses). */
  byReceiver: number;
  /** Refused only later, by the other side (an unauthenticated request value echoed in a response). */
  byOtherSide: number;
  accepted: number;
}

export interface SweepResult {
  readonly rows: MessageRow[];
  /** One line per mutation that was not refused properly; must be empty. */
  readonly problems: string[];
  /** `message kind field` of each accepted mutation (compared with the documented list). */
  readonly accepted: string[];
  /** Mutations of a request refused only by the issuer later (`message kind path → code`). */
  readonly lateCatches: string[];
  /** Leaf paths (indices kept) of each message, for the coverage check. */
  readonly fieldsByMessage: Map<string, string[]>;
  /** Leaf paths that at least one mutation touched. */
  readonly touched: Map<string, Set<string>>;
}

const receiverOf = (d: Direction): Side => (d === 'request' ? 'client' : 'issuer');

const describeMutation = (m: Mutation): string => `${m.kind} ${pathText(m.path)}`;

/** The last message of a session: the SKS has closed (committed) before the issuer sees it. */
const AFTER_COMMIT = 'ProvisioningFinalizationResponse';

/**
 * Runs every mutation of every message of `scenario`. `harmless(qualifier, kind, field)` names the
 * mutations of values no MAC, signature or attestation covers and that the spec leaves without
 * effect (each with its reason, in the test): only those may be accepted (counted as accepted).
 */
export async function sweep(scenario: Scenario, harmless: (qualifier: string, kind: string, field: string) => boolean): Promise<SweepResult> {
  const runResult = await runSession(scenario);
  const bytes = await runSession(scenario);
  if (runResult.outcome === undefined || bytes.outcome === undefined)
    throw new Error(`baseline ${scenario.name} failed: ${String(runResult.error ?? bytes.error)}`);
  const clean = await cleanStates(scenario);
  const rows: MessageRow[] = [];
  const problems: string[] = [];
  const accepted: string[] = [];
  const lateCatches: string[] = [];
  const fieldsByMessage = new Map<string, string[]>();
  const touched = new Map<string, Set<string>>();

  for (const msg of runResult.messages) {
    const label = `${scenario.name}#${msg.index} ${msg.qualifier}`;
    const tree = JSON.parse(msg.text) as Json;
    const other = JSON.parse((bytes.messages[msg.index] as { text: string }).text) as Json;
    const fields = leaves(tree);
    fieldsByMessage.set(label, fields);
    const hit = new Set<string>();
    touched.set(label, hit);
    const row: MessageRow = {
      message: label,
      direction: msg.direction,
      fields: fields.length,
      tried: 0,
      caught: { decoder: 0, mac: 0, protocol: 0 },
      byReceiver: 0,
      byOtherSide: 0,
      accepted: 0,
    };
    rows.push(row);
    for (const mutationValue of enumerate(tree, other)) {
      let applied = false as boolean;
      const result = await runSession(scenario, {
        tamper: (indexValue, original) => {
          if (indexValue !== msg.index) return original;
          const changed = apply(JSON.parse(original) as Json, mutationValue);
          if (changed === undefined) return original;
          applied = true;
          return JSON.stringify(changed);
        },
      });
      if (!applied) {
        if (mutationValue.kind === 'swap') continue; // the other session's value equals this one's: no mutation
        problems.push(`${label}: ${describeMutation(mutationValue)} did not apply to a fresh session's message`);
        continue;
      }
      row.tried++;
      for (const fn of fields)
        if (fn === pathText(mutationValue.path) || fn.startsWith(`${pathText(mutationValue.path)}.`) || fn.startsWith(`${pathText(mutationValue.path)}[`))
          hit.add(fn);
      const kind = catchKind(result.error);
      if (kind === undefined) {
        if (result.outcome !== undefined && result.error === undefined) {
          row.accepted++;
          accepted.push(`${msg.qualifier} ${mutationValue.kind} ${fieldName(mutationValue.path)}`);
          if (!harmless(msg.qualifier, mutationValue.kind, fieldName(mutationValue.path)))
            problems.push(`${label}: ${describeMutation(mutationValue)} (${fieldName(mutationValue.path)}) was accepted`);
        } else {
          problems.push(`${label}: ${describeMutation(mutationValue)} failed without a coded refusal: ${String(result.error)}`);
        }
        continue;
      }
      row.caught[kind]++;
      if (result.side === receiverOf(msg.direction)) row.byReceiver++;
      else {
        row.byOtherSide++;
        lateCatches.push(
          `${label}: ${describeMutation(mutationValue)} → ${result.side ?? '?'} ${(result.error as { code: string }).code} ${(result.error as Error).message}`,
        );
      }
      if (result.outcome !== undefined) problems.push(`${label}: ${describeMutation(mutationValue)} refused by the client but the issuer has an outcome`);
      if (!(await noOpenSession(result.sks))) problems.push(`${label}: ${describeMutation(mutationValue)} left an open SKS session`);
      if (msg.qualifier !== AFTER_COMMIT && !clean.has(committed(result.store)))
        problems.push(`${label}: ${describeMutation(mutationValue)} changed the SKS's committed state`);
    }
  }
  return { rows, problems, accepted, lateCatches, fieldsByMessage, touched };
}

/** The report table, one line per message plus totals. */
export function table(rows: readonly MessageRow[]): string {
  const head = ['message', 'dir', 'fields', 'tried', 'decoder', 'mac/att', 'protocol', 'receiver', 'other side', 'accepted'];
  const lines = rows.map((r) => [
    r.message,
    r.direction === 'request' ? 'I→C' : 'C→I',
    String(r.fields),
    String(r.tried),
    String(r.caught.decoder),
    String(r.caught.mac),
    String(r.caught.protocol),
    String(r.byReceiver),
    String(r.byOtherSide),
    String(r.accepted),
  ]);
  const sum = (f: (r: MessageRow) => number): string => String(rows.reduce((n, r) => n + f(r), 0));
  lines.push([
    'TOTAL',
    '',
    sum((r) => r.fields),
    sum((r) => r.tried),
    sum((r) => r.caught.decoder),
    sum((r) => r.caught.mac),
    sum((r) => r.caught.protocol),
    sum((r) => r.byReceiver),
    sum((r) => r.byOtherSide),
    sum((r) => r.accepted),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: readonly string[]): string => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)].join('\n');
}
