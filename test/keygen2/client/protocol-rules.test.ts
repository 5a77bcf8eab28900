/**
 * One negative test per client-side rule (spec §3.3, §6, §11.2), each built by
 * altering one recorded issuer message: the enrollment fails with the rule's
 * code and leaves no open SKS session and no key of that session behind.
 */
import { describe, expect, it } from 'vitest';
import { runEnrollment, UnconfirmedEnrollmentError, type EnrollmentOptions } from '../../../src/keygen2/client/run-enrollment.js';
import type { KeyGen2Transport, TransportReply } from '../../../src/keygen2/client/ports.js';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import type { JsonNode } from '../../../src/interop/json.js';
import {
  loadRecording,
  messagesOf,
  openReplayDevice,
  recordedClock,
  recordedInvocationUrl,
  recordedPlatform,
  recordedUi,
  replayTransport,
  replayUserCall,
  sessionFiles,
  type ReplayDevice,
} from './support/replay-harness.js';

type Json = Record<string, unknown>;

/** Which recording to use: the first whose session `label` (or the last session) has a message of this qualifier. */
function recordingWith(qualifier: string, where: (wire: string) => boolean = () => true): { doc: JsonNode; index: number } {
  for (const text of sessionFiles()) {
    const doc = loadRecording(text);
    const sessions = doc.get('sessions').items();
    const index = sessions.findIndex((s) => messagesOf(s).some((m) => m.qualifier === qualifier && where(m.wire)));
    if (index >= 0) return { doc, index };
  }
  throw new NoRecording(qualifier);
}

/** No recording has what a rule's test needs: the test is skipped (other recordings may be used for acceptance). */
class NoRecording extends Error {}

/** A rule's test, skipped when no recording fits. */
const rule = (name: string, body: () => Promise<void>): void => {
  it(name, async (ctx) => {
    try {
      await body();
    } catch (error) {
      if (error instanceof NoRecording) ctx.skip();
      else throw error;
    }
  });
};

type KeyCreationJson = { pukPolicySpecifiers?: Json[]; pinPolicySpecifiers?: Json[] };

/** A PIN policy with more than one key, all with preset PINs. */
const presetPinPolicy = (m: KeyCreationJson): Json | undefined =>
  [...(m.pukPolicySpecifiers ?? []).flatMap((p) => p['pinPolicySpecifiers'] as Json[]), ...(m.pinPolicySpecifiers ?? [])].find(
    (x) => (x['keyEntrySpecifiers'] as Json[]).length > 1 && (x['keyEntrySpecifiers'] as Json[]).every((k) => 'encryptedPin' in k),
  );

/** Runs the sessions before `index` as recorded, so the device is in the state the altered session expects. */
async function prepare(doc: JsonNode, index: number): Promise<ReplayDevice> {
  const device = openReplayDevice(doc);
  const between = doc.opt('sks_calls_between_sessions')?.items() ?? [];
  const sessions = doc.get('sessions').items();
  for (let i = 0; i <= index; i++) {
    const first = sessions[i].get('sks_calls').items()[0]?.get('call_index').int() ?? Number.MAX_SAFE_INTEGER;
    while (between.length > 0 && between[0].get('call_index').int() < first) await replayUserCall(device.inner, between.shift()!);
    if (i === index) break;
    await runEnrollment(
      optionsFor(
        doc,
        sessions[i],
        device,
        replayTransport(doc, sessions[i], () => undefined),
      ),
    );
  }
  return device;
}

function optionsFor(doc: JsonNode, session: JsonNode, device: ReplayDevice, transport: KeyGen2Transport): EnrollmentOptions {
  return {
    sks: device.sks,
    transport,
    ui: recordedUi(doc),
    invocationUrl: recordedInvocationUrl(session),
    clock: recordedClock(session),
    platform: recordedPlatform(session),
  };
}

/** The recorded transport, with one issuer message altered (by qualifier) and optionally a different last answer. */
function alteredTransport(doc: JsonNode, session: JsonNode, alter: (qualifier: string, m: Json) => Json | string, last?: TransportReply): KeyGen2Transport {
  const inner = replayTransport(doc, session, () => undefined);
  const change = (transportReply: TransportReply): TransportReply => {
    if (transportReply.kind === 'redirect') return last ?? transportReply;
    const json = JSON.parse(transportReply.text) as Json;
    const out = alter(json['@qualifier'] as string, json);
    return { ...transportReply, text: typeof out === 'string' ? out : JSON.stringify(out) };
  };
  return {
    fetchInvocation: async (inv) => change(await inner.fetchInvocation(inv)),
    postResponse: async (inv, text) => change(await inner.postResponse(inv, text)),
  };
}

interface Outcome {
  readonly error: KeyGen2Error;
  readonly device: ReplayDevice;
  readonly openSessionsLeft: boolean;
  /** Calls this session made (after `prepare`). */
  readonly calls: string[];
}

async function failWith(
  qualifier: string,
  alter: (qualifier: string, m: Json) => Json | string,
  options: { where?: (wire: string) => boolean; last?: TransportReply; change?: (o: EnrollmentOptions) => EnrollmentOptions } = {},
): Promise<Outcome> {
  const { doc, index } = recordingWith(qualifier, options.where);
  const session = doc.get('sessions').items()[index];
  const device = await prepare(doc, index);
  const before = device.log.length;
  const base = optionsFor(doc, session, device, alteredTransport(doc, session, alter, options.last));
  const errorValue = await runEnrollment(options.change?.(base) ?? base).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(errorValue).toBeInstanceOf(KeyGen2Error);
  return {
    error: errorValue as KeyGen2Error,
    device,
    openSessionsLeft: (await device.inner.enumerateProvisioningSessions(0, true)) !== undefined,
    calls: device.log.slice(before).map((c) => c.method),
  };
}

const aborted = (outcome: Outcome): void => {
  expect(outcome.calls[0]).toBe('createProvisioningSession');
  expect(outcome.calls.at(-1)).toBe('abortProvisioningSession');
  expect(outcome.openSessionsLeft).toBe(false);
};

/** Alters the issuer message of one qualifier in place. */
const swap =
  (target: string, f: (m: Json) => void) =>
  (qualifier: string, json: Json): Json => {
    if (qualifier === target) f(json);
    return json;
  };

describe('client protocol rules', () => {
  rule('rejects-initialization-for-another-session (serverSessionId differs from the InvocationRequest)', async () => {
    const outcome = await failWith(
      'ProvisioningInitializationRequest',
      swap('ProvisioningInitializationRequest', (m) => (m['serverSessionId'] = 'another.session')),
    );
    expect(outcome.error.code).toBe('PROTOCOL');
    expect(outcome.calls).toEqual([]);
  });

  rule('rejects-server-time-far-from-the-device-clock', async () => {
    const outcome = await failWith('ProvisioningInitializationRequest', (_q, m) => m, {
      change: (opt) => ({ ...opt, clock: { now: () => new Date(opt.clock!.now().getTime() + 3 * 86_400_000), utcOffsetMinutes: () => 60 } }),
    });
    expect(outcome.error.code).toBe('PROTOCOL');
    expect(outcome.calls).toEqual([]);
  });

  rule('rejects-key-creation-for-another-client-session', async () => {
    const outcome = await failWith(
      'KeyCreationRequest',
      swap('KeyCreationRequest', (m) => (m['clientSessionId'] = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')),
    );
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
  });

  rule('rejects-finalization-for-another-server-session', async () => {
    const outcome = await failWith(
      'ProvisioningFinalizationRequest',
      swap('ProvisioningFinalizationRequest', (m) => (m['serverSessionId'] = 'another.session')),
    );
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
    expect(await outcome.device.inner.enumerateKeys(0)).toBeUndefined();
  });

  rule('rejects-key-creation-in-an-unlock-session (spec §3.1)', async () => {
    const outcome = await failWith(
      'KeyCreationRequest',
      swap('InvocationRequest', (m) => (m['action'] = 'unlock')),
    );
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
  });

  rule('rejects-a-second-key-creation-round', async () => {
    const { doc, index } = recordingWith('KeyCreationRequest');
    const kcr = messagesOf(doc.get('sessions').items()[index]).find((m) => m.qualifier === 'KeyCreationRequest')!.wire;
    const outcome = await failWith('KeyCreationRequest', (q, m) => (q === 'ProvisioningFinalizationRequest' ? kcr : m));
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
  });

  rule('rejects-discovery-after-key-creation', async () => {
    const { doc, index } = recordingWith('CredentialDiscoveryRequest');
    const cdr = messagesOf(doc.get('sessions').items()[index]).find((m) => m.qualifier === 'CredentialDiscoveryRequest')!.wire;
    const outcome = await failWith('CredentialDiscoveryRequest', (q, m) => (q === 'ProvisioningFinalizationRequest' ? cdr : m));
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
  });

  rule('rejects-a-message-where-the-final-redirect-belongs (the session is already committed)', async () => {
    const outcome = await failWith('ProvisioningFinalizationRequest', (_q, m) => m, { last: { kind: 'message', text: '{}' } });
    expect(outcome.error.code).toBe('PROTOCOL');
    expect(outcome.calls.at(-1)).toBe('closeProvisioningSession');
    // Nothing can be undone after the close: the error says what the device now holds.
    const error = outcome.error;
    if (!(error instanceof UnconfirmedEnrollmentError)) throw new Error(`expected an UnconfirmedEnrollmentError, got ${error.name}`);
    const installed = error.installed;
    expect(outcome.error.message).toMatch(/^the device committed the session, but the issuer did not confirm it: /);
    for (const key of installed.keys) expect((await outcome.device.inner.getKeyAttributes(key.keyHandle)).certificatePath.length).toBeGreaterThan(0);
    expect(installed.keys.length + installed.postOperations.length).toBeGreaterThan(0);
  });

  rule('rejects-mixed-preset-and-user-pins (spec §6.7.2)', async () => {
    const outcome = await failWith(
      'KeyCreationRequest',
      (text, json) => {
        if (text !== 'KeyCreationRequest') return json;
        delete (presetPinPolicy(json)!['keyEntrySpecifiers'] as Json[])[0]['encryptedPin'];
        return json;
      },
      { where: (w) => presetPinPolicy(JSON.parse(w) as KeyCreationJson) !== undefined },
    );
    expect(outcome.error.code).toBe('SCHEMA');
    aborted(outcome);
  });

  rule('rejects-post-operation-on-an-unknown-key', async () => {
    const outcome = await failWith(
      'ProvisioningFinalizationRequest',
      swap('ProvisioningFinalizationRequest', (json) => {
        const data = (json['deleteKeys'] as Json[])[0];
        data['fingerPrint'] = Buffer.alloc(32, 7).toString('base64url');
      }),
      { where: (w) => w.includes('"deleteKeys"') },
    );
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
  });

  rule('rejects-lookup-bound-to-another-session (nonce)', async () => {
    const outcome = await failWith(
      'CredentialDiscoveryRequest',
      swap('CredentialDiscoveryRequest', (json) => {
        (json['lookupSpecifiers'] as Json[])[0]['nonce'] = Buffer.alloc(32, 1).toString('base64url');
      }),
    );
    expect(outcome.error.code).toBe('PROTOCOL');
    aborted(outcome);
  });

  rule('rejects-lookup-with-a-bad-signature', async () => {
    const outcome = await failWith(
      'CredentialDiscoveryRequest',
      swap('CredentialDiscoveryRequest', (json) => {
        const sig = (json['lookupSpecifiers'] as Json[])[0]['signature'] as Json;
        const bytes = Buffer.from(sig['value'] as string, 'base64url');
        bytes[5] ^= 1;
        sig['value'] = bytes.toString('base64url');
      }),
    );
    expect(outcome.error.code).toBe('VERIFICATION');
    aborted(outcome);
  });

  rule('rejects-tampered-mac (the SKS refuses; nothing remains)', async () => {
    const outcome = await failWith(
      'KeyCreationRequest',
      swap('KeyCreationRequest', (json) => {
        const keys = (json['keyEntrySpecifiers'] as Json[] | undefined) ?? ((json['pinPolicySpecifiers'] as Json[])[0]['keyEntrySpecifiers'] as Json[]);
        const mac = Buffer.from(keys[0]['mac'] as string, 'base64url');
        mac[0] ^= 1;
        keys[0]['mac'] = mac.toString('base64url');
      }),
      { where: (w) => !w.includes('pukPolicySpecifiers') },
    );
    expect(outcome.error.code).toBe('SKS');
    expect(outcome.openSessionsLeft).toBe(false);
    expect(await outcome.device.inner.enumerateKeys(0)).toBeUndefined();
  });

  rule('rejects-https-init-without-a-server-certificate (spec §2.3)', async () => {
    const outcome = await failWith('InvocationRequest', (_q, m) => m, {
      change: (opt) => ({
        ...opt,
        invocationUrl: 'webpkiproxy://keygen2?init=https%3A%2F%2Fissuer.example.com%2Fkg2%3Finit%3Dtrue&url=https%3A%2F%2Fissuer.example.com%2Fkg2',
        transport: {
          ...opt.transport,
          fetchInvocation: async (inv) => ({ ...(await opt.transport.fetchInvocation(inv)), serverCertificate: undefined }) as TransportReply,
        },
      }),
    });
    expect(outcome.error.code).toBe('TRANSPORT');
    expect(outcome.calls).toEqual([]);
  });
});
