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
function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record['text'] === 'string' && typeof record['epochMs'] === 'number') return record['text'];
    return Object.fromEntries(Object.entries(record).map(([k, x]) => [k, comparable(x)]));
  }
  return value;
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
  const result = recorded['clientCapabilities'];
  const options = ours['clientCapabilities'];
  if (!Array.isArray(result) || !Array.isArray(options)) return recorded;
  const algorithm = (t: unknown): boolean => typeof t === 'string' && t.startsWith('https://webpki.github.io/sks/algorithm#');
  return {
    ...recorded,
    clientCapabilities: result.map((record: Record<string, unknown>) => {
      const mine = options.find((x: Record<string, unknown>) => x['type'] === record['type']) as Record<string, unknown> | undefined;
      return algorithm(record['type']) && mine?.['kind'] === 'supported' ? mine : record;
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
    while (between.length > 0 && between[0].get('call_index').int() < firstIndex) await replayUserCall(device.inner, between.shift()!);
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
      } catch (error) {
        messageProblems.push(`${rec.qualifier}: ${error instanceof Error ? error.message.slice(0, 2000) : String(error)}`);
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
    } catch (errorValue) {
      error = errorValue;
    }
    // The summary's handles are live after the close: each holds the certificate the summary names.
    const summaryProblems: string[] = [];
    for (const installedKey of summary?.keys ?? []) {
      const path = (await device.inner.getKeyAttributes(installedKey.keyHandle)).certificatePath;
      if (!Buffer.from(path[0]).equals(Buffer.from(installedKey.certificatePath[0])))
        summaryProblems.push(`${installedKey.id}: handle ${installedKey.keyHandle} holds another certificate`);
    }
    const ours = device.log.slice(start);
    const callProblems: string[] = [];
    if (ours.length !== recorded.length) callProblems.push(`expected ${recorded.length} SKS calls, the client made ${ours.length}`);
    for (let i = 0; i < Math.min(ours.length, recorded.length); i++) callProblems.push(...diffCall(ours[i], recorded[i]).map((p) => `#${i}: ${p}`));
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
    for (const [index, node] of doc.get('sessions').items().entries()) {
      const label = node.get('label').str();
      it(`session '${label}': completes`, async () => {
        const sessionOutcome = (await run())[index];
        expect(
          sessionOutcome.error === undefined
            ? undefined
            : String(sessionOutcome.error as Error) +
                ((sessionOutcome.error as { cause?: unknown }).cause ? ` (cause: ${String((sessionOutcome.error as { cause?: unknown }).cause)})` : ''),
        ).toBeUndefined();
        expect(sessionOutcome.summary?.redirectUrl).toBe('http://issuer.example.com/done');
      });
      it(`session '${label}': reports live key handles and the recorded credentials`, async () => {
        const sessionOutcome = (await run())[index];
        expect(sessionOutcome.summaryProblems).toEqual([]);
        expect(sessionOutcome.summary?.keys.map((k) => k.id).sort()).toEqual(node.get('issued_certificate_paths').keys().sort());
        const handles = doc.opt('key_handles');
        for (const [name, handle] of handles?.entries() ?? []) {
          // "label/id" or "label/id (replaced by label2/id2)": the new key took over the handle.
          const match = /^([^/]+)\/(\S+)(?: \(replaced by ([^/]+)\/(\S+)\))?$/.exec(name);
          if (match === null) continue;
          const [owner, id] = match.at(3) !== undefined ? [match[3], match[4]] : [match[1], match[2]];
          if (owner === label) expect(sessionOutcome.summary?.keys.find((k) => k.id === id)?.keyHandle, name).toBe(handle.int());
        }
      });
      it(`session '${label}': makes the recorded SKS calls`, async () => {
        const sessionOutcome = (await run())[index];
        expect(sessionOutcome.ourCalls).toEqual(sessionOutcome.recordedCalls);
        expect(sessionOutcome.callProblems).toEqual([]);
      });
      it(`session '${label}': sends the recorded values`, async () => {
        const sessionOutcome = (await run())[index];
        expect(sessionOutcome.messageProblems).toEqual([]);
      });
      it(`session '${label}': sends the recorded wire text (except capability answers our SKS gives differently)`, async () => {
        const sessionOutcome = (await run())[index];
        expect(sessionOutcome.wireDifferences.filter((q) => q !== 'InvocationResponse' || !sessionOutcome.capabilitiesAdjusted)).toEqual([]);
      });
    }
  });
}
