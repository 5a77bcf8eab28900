/**
 * Every recorded openkeystore session replayed with our client as the device:
 * fed the recorded issuer messages, the client must make exactly the recorded
 * SKS calls (method, arguments, results) and send responses that carry the
 * recorded values (attestations included: the RSA device signature, the key
 * and close HMACs are deterministic under the recorded randomness).
 */
import { describe, expect, it } from 'vitest';
import type { EnrollmentSummary } from '../../../src/keygen2/client/run-enrollment.js';
import { decodeMessage } from '../../../src/keygen2/messages/index.js';
import type { JsonNode } from '../../../src/interop/json.js';
import { adjustCapabilities, comparable, runClientSession } from '../../../src/interop/wire.js';
import { diffCall, loadRecording, messagesOf, openReplayDevice, replayUserCall, sessionFiles } from './support/replay-harness.js';

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
    const { sent, summary, error, calls: ours } = await runClientSession(doc, session, device);
    const recordedMessages = messagesOf(session).filter((m) => m.direction === 'client->server');
    for (const [index, mine] of sent.entries()) {
      const rec = recordedMessages.at(index);
      if (rec === undefined) {
        messageProblems.push('the client sent more messages than recorded');
        continue;
      }
      if (mine !== rec.wire) wireDifferences.push(rec.qualifier);
      try {
        const decoded = comparable(decodeMessage(mine)) as Record<string, unknown>;
        let theirs = comparable(decodeMessage(rec.wire)) as Record<string, unknown>;
        if (rec.qualifier === 'InvocationResponse') {
          const adjusted = adjustCapabilities(theirs, decoded);
          capabilitiesAdjusted = JSON.stringify(adjusted) !== JSON.stringify(theirs);
          theirs = adjusted;
        }
        expect(decoded).toEqual(theirs);
      } catch (caught) {
        messageProblems.push(`${rec.qualifier}: ${caught instanceof Error ? caught.message.slice(0, 2000) : String(caught)}`);
      }
    }
    // The summary's handles are live after the close: each holds the certificate the summary names.
    const summaryProblems: string[] = [];
    for (const installedKey of summary?.keys ?? []) {
      const path = (await device.inner.getKeyAttributes(installedKey.keyHandle)).certificatePath;
      if (!Buffer.from(path[0]).equals(Buffer.from(installedKey.certificatePath[0])))
        summaryProblems.push(`${installedKey.id}: handle ${installedKey.keyHandle} holds another certificate`);
    }
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
