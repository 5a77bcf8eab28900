/**
 * Every recorded openkeystore session replayed with our client as the device:
 * fed the recorded issuer messages, the client must make exactly the recorded
 * SKS calls (method, arguments, results) and send responses that carry the
 * recorded values (attestations included: the RSA device signature, the key
 * and close HMACs are deterministic under the recorded randomness).
 */
import { describe, expect, it } from 'vitest';
import { runEnrollment, type EnrollmentSummary } from '../../../src/keygen2/client/run-enrollment.js';
import { decodeMessage } from '../../../src/keygen2/messages/index.js';
import type { JsonNode } from '../../../src/interop/json.js';
import {
  diffCall,
  loadRecording,
  openReplayDevice,
  recordedClock,
  recordedInvocationUrl,
  recordedPlatform,
  recordedUi,
  replayTransport,
  replayUserCall,
  sessionFiles,
  type RecordedMessage,
} from './support/replay-harness.js';

/** A decoded message in comparable form: bytes as hex, date-times as their text. */
function comparable(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(comparable);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o['text'] === 'string' && typeof o['epochMs'] === 'number') return o['text'];
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, comparable(x)]));
  }
  return v;
}

interface SessionOutcome {
  readonly label: string;
  readonly summary: EnrollmentSummary | undefined;
  readonly error: unknown;
  /** Per client message: differences between our decoded message and the recorded one. */
  readonly messageProblems: string[];
  /** Client messages whose wire text differs from the recorded text (informational). */
  readonly wireDifferences: string[];
  /** Whether our capability answers differ from the reference SKS's (then the InvocationResponse text differs too). */
  readonly capabilitiesAdjusted: boolean;
  readonly callProblems: string[];
  readonly summaryProblems: string[];
  readonly ourCalls: string[];
  readonly recordedCalls: string[];
}

/** Recorded algorithm answers are the reference SKS's; ours are our SKS's (spec §10.1 "truthfully"). */
function adjustCapabilities(recorded: Record<string, unknown>, ours: Record<string, unknown>): Record<string, unknown> {
  const r = recorded['clientCapabilities'];
  const o = ours['clientCapabilities'];
  if (!Array.isArray(r) || !Array.isArray(o)) return recorded;
  const algorithm = (t: unknown): boolean => typeof t === 'string' && t.startsWith('https://webpki.github.io/sks/algorithm#');
  return {
    ...recorded,
    clientCapabilities: r.map((c: Record<string, unknown>) => {
      const mine = o.find((x: Record<string, unknown>) => x['type'] === c['type']) as Record<string, unknown> | undefined;
      return algorithm(c['type']) && mine !== undefined && mine['kind'] === 'supported' ? mine : c;
    }),
  };
}

async function replayFile(doc: JsonNode): Promise<SessionOutcome[]> {
  const device = openReplayDevice(doc);
  const between = doc.opt('sks_calls_between_sessions')?.items() ?? [];
  const outcomes: SessionOutcome[] = [];
  for (const session of doc.get('sessions').items()) {
    const recorded = session.get('sks_calls').items();
    const firstIndex = recorded[0]?.get('call_index').int() ?? Number.MAX_SAFE_INTEGER;
    while (between.length > 0 && between[0]!.get('call_index').int() < firstIndex) await replayUserCall(device.inner, between.shift()!);
    const messageProblems: string[] = [];
    const wireDifferences: string[] = [];
    let capabilitiesAdjusted = false;
    const onClientMessage = (ours: string, rec: RecordedMessage | undefined): void => {
      if (rec === undefined) {
        messageProblems.push('the client sent more messages than recorded');
        return;
      }
      if (ours !== rec.wire) wireDifferences.push(rec.qualifier);
      try {
        const mine = comparable(decodeMessage(ours)) as Record<string, unknown>;
        let theirs = comparable(decodeMessage(rec.wire)) as Record<string, unknown>;
        if (rec.qualifier === 'InvocationResponse') {
          const adjusted = adjustCapabilities(theirs, mine);
          capabilitiesAdjusted = JSON.stringify(adjusted) !== JSON.stringify(theirs);
          theirs = adjusted;
        }
        expect(mine).toEqual(theirs);
      } catch (e) {
        messageProblems.push(`${rec.qualifier}: ${e instanceof Error ? e.message.slice(0, 2000) : String(e)}`);
      }
    };
    const start = device.log.length;
    let summary: EnrollmentSummary | undefined;
    let error: unknown;
    try {
      summary = await runEnrollment({
        sks: device.sks,
        transport: replayTransport(doc, session, onClientMessage),
        ui: recordedUi(doc),
        invocationUrl: recordedInvocationUrl(session),
        clock: recordedClock(session),
        platform: recordedPlatform(session),
      });
    } catch (e) {
      error = e;
    }
    // The summary's handles are live after the close: each holds the certificate the summary names.
    const summaryProblems: string[] = [];
    for (const k of summary?.keys ?? []) {
      const path = (await device.inner.getKeyAttributes(k.keyHandle)).certificatePath;
      if (!Buffer.from(path[0]!).equals(Buffer.from(k.certificatePath[0]!))) summaryProblems.push(`${k.id}: handle ${k.keyHandle} holds another certificate`);
    }
    const ours = device.log.slice(start);
    const callProblems: string[] = [];
    if (ours.length !== recorded.length) callProblems.push(`expected ${recorded.length} SKS calls, the client made ${ours.length}`);
    for (let i = 0; i < Math.min(ours.length, recorded.length); i++) callProblems.push(...diffCall(ours[i]!, recorded[i]!).map((p) => `#${i}: ${p}`));
    outcomes.push({
      label: session.get('label').str(),
      summary,
      error,
      messageProblems,
      wireDifferences,
      capabilitiesAdjusted,
      callProblems,
      summaryProblems,
      ourCalls: ours.map((c) => c.method),
      recordedCalls: recorded.map((c) => c.get('method').str()),
    });
  }
  return outcomes;
}

const files = sessionFiles();

it('finds recorded sessions', () => {
  expect(files.length).toBeGreaterThan(0);
});

for (const file of files) {
  describe(file, () => {
    const doc = loadRecording(file);
    let outcomes: Promise<SessionOutcome[]> | undefined;
    const run = (): Promise<SessionOutcome[]> => (outcomes ??= replayFile(doc));
    for (const [i, s] of doc.get('sessions').items().entries()) {
      const label = s.get('label').str();
      it(`session '${label}': completes`, async () => {
        const o = (await run())[i]!;
        expect(o.error === undefined ? undefined : String(o.error) + ((o.error as { cause?: unknown }).cause ? ` (cause: ${String((o.error as { cause?: unknown }).cause)})` : '')).toBeUndefined();
        expect(o.summary?.redirectUrl).toBe('http://issuer.example.com/done');
      });
      it(`session '${label}': reports live key handles and the recorded credentials`, async () => {
        const o = (await run())[i]!;
        expect(o.summaryProblems).toEqual([]);
        expect(o.summary?.keys.map((k) => k.id).sort()).toEqual(s.get('issued_certificate_paths').keys().sort());
        const handles = doc.opt('key_handles');
        for (const [name, handle] of handles?.entries() ?? []) {
          // "label/id" or "label/id (replaced by label2/id2)": the new key took over the handle.
          const m = /^([^/]+)\/(\S+)(?: \(replaced by ([^/]+)\/(\S+)\))?$/.exec(name);
          if (m === null) continue;
          const [owner, id] = m[3] !== undefined ? [m[3], m[4]] : [m[1], m[2]];
          if (owner === label) expect(o.summary?.keys.find((k) => k.id === id)?.keyHandle, name).toBe(handle.int());
        }
      });
      it(`session '${label}': makes the recorded SKS calls`, async () => {
        const o = (await run())[i]!;
        expect(o.ourCalls).toEqual(o.recordedCalls);
        expect(o.callProblems).toEqual([]);
      });
      it(`session '${label}': sends the recorded values`, async () => {
        const o = (await run())[i]!;
        expect(o.messageProblems).toEqual([]);
      });
      it(`session '${label}': sends the recorded wire text (except capability answers our SKS gives differently)`, async () => {
        const o = (await run())[i]!;
        expect(o.wireDifferences.filter((q) => q !== 'InvocationResponse' || !o.capabilitiesAdjusted)).toEqual([]);
      });
    }
  });
}
