/**
 * The protocol layer of a recorded session file (issue 8 item 6): every `wire`
 * message is decoded with the strict decoder, our issuer (fed the recorded
 * secrets and inputs) must produce each server message and accept each client
 * message, and our client (fed the recorded server messages, its SKS drawing
 * the recorded randomness) must make the recorded SKS calls and send the
 * recorded values. Check names:
 *
 *     session 'main' wire: decode #3 KeyCreationRequest
 *     session 'main' wire: issuer reproduces #3 KeyCreationRequest
 *     session 'main' wire: client reproduces #4 KeyCreationResponse
 *     session 'main' wire: client reproduces #2 createKeyEntry Key.1
 *
 * Attestations are compared byte for byte only where they are deterministic:
 * an RSA PKCS#1 v1.5 device signature or an HMAC. An ECDSA device signature is
 * randomized; the recorded one and ours are each verified with the device
 * certificate's key instead.
 */
import { createHash } from 'node:crypto';
import { runEnrollment, type EnrollmentSummary } from '../keygen2/client/run-enrollment.js';
import { decodeMessage, encodeMessage, RESPONSE_QUALIFIERS, type KeyGen2Message } from '../keygen2/messages/index.js';
import { createIssuer, type IssuerState, type ProvisioningOutcome } from '../keygen2/server/index.js';
import type { SecureKeyStore } from '../sks/api.js';
import { CheckList, describeError, expectBytes, expectEqual, Mismatch, type CheckResult } from './check.js';
import {
  diffCall,
  messagesOf,
  openReplayDevice,
  recordedClock,
  recordedInvocationUrl,
  recordedPlatform,
  recordedUi,
  replayTransport,
  replayUserCall,
  type DiffOptions,
  type RecordedMessage,
  type ReplayDevice,
} from './client-replay.js';
import { issuerReplayOf, type Replay } from './issuer-replay.js';
import type { JsonNode } from './json.js';
import { callName, recordedCalls, sessionName, type RecordedCall } from './session-file.js';
import { certificate, deterministicSigner, verifySignature } from './vectors.js';

const isResponse = (qualifier: string): boolean => (RESPONSE_QUALIFIERS as readonly string[]).includes(qualifier);

interface IndexedMessage extends RecordedMessage {
  readonly index: number;
  readonly sha256: JsonNode;
}

function indexedMessages(node: JsonNode): IndexedMessage[] {
  const plain = messagesOf(node);
  return node
    .get('messages')
    .items()
    .map((m, i) => ({ ...plain[i], index: m.get('index').int(), sha256: m.get('sha256_hex') }));
}

/** `expected …"mac":"AbC…", got …"mac":"AbD…" (first difference at character 812)`. */
function describeText(expected: string, got: string): string {
  let index = 0;
  while (index < expected.length && index < got.length && expected[index] === got[index]) index++;
  const window = (t: string): string => JSON.stringify(t.slice(Math.max(0, index - 24), index + 24));
  return `wire text differs at character ${index} of ${expected.length}: recorded …${window(expected)}…, ours …${window(got)}…`;
}

/** A decoded message in comparable form: bytes as hex, date-times as their text. */
export function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record['text'] === 'string' && typeof record['epochMs'] === 'number') return record['text'];
    return Object.fromEntries(Object.entries(record).map(([k, x]) => [k, comparable(x)]));
  }
  return value;
}

/** The first difference between two comparable values, as `$.path: expected …, got …`, or undefined. */
export function firstDifference(expected: unknown, got: unknown, path = '$'): string | undefined {
  // JSON.stringify gives undefined for functions and symbols, whatever its declared type says.
  const show = (v: unknown): string => (v === undefined ? 'nothing' : `${JSON.stringify(v) as string | undefined}`.slice(0, 80));
  if (Array.isArray(expected) && Array.isArray(got)) {
    for (let i = 0; i < Math.max(expected.length, got.length); i++) {
      const data = firstDifference(expected[i], got[i], `${path}[${i}]`);
      if (data !== undefined) return data;
    }
    return undefined;
  }
  if (typeof expected === 'object' && expected !== null && typeof got === 'object' && got !== null && !Array.isArray(expected) && !Array.isArray(got)) {
    const record = expected as Record<string, unknown>;
    const group = got as Record<string, unknown>;
    for (const key of new Set([...Object.keys(record), ...Object.keys(group)])) {
      const buf = firstDifference(record[key], group[key], `${path}.${key}`);
      if (buf !== undefined) return buf;
    }
    return undefined;
  }
  return expected === got ? undefined : `${path}: expected ${show(expected)}, got ${show(got)}`;
}

/** Recorded capability answers for SKS algorithms are the reference SKS's; ours are our SKS's (spec §10.1 "truthfully"). */
export function adjustCapabilities(recorded: Record<string, unknown>, ours: Record<string, unknown>): Record<string, unknown> {
  const result = recorded['clientCapabilities'];
  const options = ours['clientCapabilities'];
  if (!Array.isArray(result) || !Array.isArray(options)) return recorded;
  const algorithm = (t: unknown): boolean => typeof t === 'string' && t.startsWith('https://webpki.github.io/sks/algorithm#');
  return {
    ...recorded,
    clientCapabilities: (result as Array<Record<string, unknown>>).map((record) => {
      const mine = (options as Array<Record<string, unknown>>).find((x) => x['type'] === record['type']);
      return algorithm(record['type']) && mine?.['kind'] === 'supported' ? mine : record;
    }),
  };
}

/**
 * How a session's attestation is checked: `undefined` when it is deterministic
 * (HMAC in privacy mode, RSA PKCS#1 v1.5) and compared byte for byte; otherwise
 * a verifier over the recorded attestation input with the device certificate's key.
 */
export function randomizedAttestationVerifier(doc: JsonNode, node: JsonNode): ((value: Uint8Array) => string | undefined) | undefined {
  if (node.get('privacy_enabled').bool()) return undefined;
  const publicKey = certificate(doc.get('test_keys').get('device_attestation').get('certificate_der_hex').hex()).publicKey;
  if (deterministicSigner(publicKey)) return undefined;
  const input = node.get('session_attestation').get('input_hex').hex();
  return (value) =>
    verifySignature(publicKey, 'sha256', input, value)
      ? undefined
      : `the ${publicKey.asymmetricKeyType ?? ''} device signature does not verify with the device certificate`;
}

// ---------------------------------------------------------------------------
// wire: decode

function decodeChecks(node: JsonNode, prefix: string, checks: CheckList): void {
  for (const indexedMessage of indexedMessages(node)) {
    checks.run(`${prefix} wire: decode #${indexedMessage.index} ${indexedMessage.qualifier}`, () => {
      expectBytes('sha256_hex of the wire text', indexedMessage.sha256.hex(), createHash('sha256').update(indexedMessage.wire, 'utf8').digest());
      const decoded = decodeMessage(indexedMessage.wire);
      expectEqual('@qualifier', indexedMessage.qualifier, decoded.qualifier);
      expectEqual('direction', isResponse(indexedMessage.qualifier) ? 'client->server' : 'server->client', indexedMessage.direction);
    });
  }
}

// ---------------------------------------------------------------------------
// wire: issuer reproduces

async function issuerChecks(file: string, doc: JsonNode, node: JsonNode, prefix: string, checks: CheckList): Promise<void> {
  const messages = indexedMessages(node);
  const name = (m: IndexedMessage): string => `${prefix} wire: issuer reproduces #${m.index} ${m.qualifier}`;
  const endNames = ['session end', 'server_hmacs', 'encryptions', 'kmk_signatures'].map((n) => `${prefix} wire: issuer reproduces ${n}`);
  let replay: Replay;
  try {
    replay = issuerReplayOf(file, doc.value, node.value);
  } catch (error) {
    const detail = `no issuer configuration from the recording: ${describeError(error)}`;
    for (const indexedMessage of messages) checks.fail(name(indexedMessage), detail);
    for (const count of endNames) checks.fail(count, detail);
    return;
  }
  const issuer = createIssuer(replay.environment);
  let broken: string | undefined;
  let state: IssuerState | undefined;
  let request: KeyGen2Message | undefined;
  let outcome: ProvisioningOutcome | undefined;
  try {
    ({ state, request } = await issuer.start(replay.config));
  } catch (error) {
    broken = `the issuer did not start: ${describeError(error)}`;
  }
  for (const message of messages) {
    if (broken !== undefined || state === undefined) {
      checks.fail(name(message), `not reached: ${broken ?? 'no state'}`);
      continue;
    }
    if (message.direction === 'server->client') {
      const sent = request;
      request = undefined;
      checks.run(name(message), () => {
        if (sent === undefined) throw new Mismatch('the issuer sent no request here');
        expectEqual('@qualifier', message.qualifier, sent.qualifier);
        const text = encodeMessage(sent);
        if (text !== message.wire) throw new Mismatch(describeText(message.wire, text));
      });
      continue;
    }
    try {
      // Persisted between steps, as a service would.
      const step = await issuer.accept(JSON.parse(JSON.stringify(state)) as IssuerState, decodeMessage(message.wire, [...RESPONSE_QUALIFIERS]));
      state = step.state;
      request = step.request;
      outcome = step.outcome ?? outcome;
      checks.pass(name(message));
    } catch (error) {
      checks.fail(name(message), `rejected: ${describeError(error)}`);
      broken = `#${message.index} ${message.qualifier} was rejected`;
    }
  }
  const [endName, hmacName, encryptionName, signatureName] = endNames as [string, string, string, string];
  checks.run(endName, () => {
    if (broken !== undefined) throw new Mismatch(`not reached: ${broken}`);
    expectEqual('issuer phase', 'done', state?.phase);
    if (request !== undefined) throw new Mismatch(`the issuer has an unrecorded ${request.qualifier} to send`);
    const ids = outcome?.keys.map((k) => k.id) ?? [];
    expectEqual('issued keys', JSON.stringify(node.get('issued_certificate_paths').keys()), JSON.stringify(ids));
  });
  checks.run(hmacName, () => {
    // Every HMAC the reference server computed with the session key, and nothing else.
    const recorded = node
      .get('server_hmacs')
      .items()
      .filter((h) => h.get('purpose').str() !== 'encryption-key-derivation')
      .map((h) => `${h.get('key_modifier_hex').str()}/${h.get('input_hex').str()}/${h.get('mac_hex').str()}`)
      .sort();
    const ours = replay.log.hmacs
      .filter((h) => h.modifier !== '')
      .map((h) => `${h.modifier}/${h.input}/${h.mac}`)
      .sort();
    const missing = recorded.filter((h) => !ours.includes(h));
    const extra = ours.filter((h) => !recorded.includes(h));
    if (missing.length > 0 || extra.length > 0) {
      throw new Mismatch(`${missing.length} recorded HMACs not computed, ${extra.length} computed HMACs not recorded (of ${recorded.length})`);
    }
  });
  checks.run(encryptionName, () => {
    const recorded = node
      .get('encryptions')
      .items()
      .map((e) => e.get('iv_and_ciphertext_hex').str())
      .sort();
    const ours = [...replay.log.encryptions].sort();
    expectEqual('encrypted values (IV ‖ ciphertext, sorted)', JSON.stringify(recorded), JSON.stringify(ours));
  });
  checks.run(signatureName, () => {
    // A KMK signature is ECDSA or RSA; the replay hands back the recorded one only
    // for exactly the recorded signed bytes, so an unmatched request means other bytes.
    if (replay.log.unmatchedSignatures.length > 0) {
      throw new Mismatch(`the issuer signed bytes no kmk_signatures[] entry covers: ${replay.log.unmatchedSignatures.map((u) => u.slice(0, 60)).join(', ')}`);
    }
  });
}

// ---------------------------------------------------------------------------
// wire: client reproduces

export interface ClientRun {
  readonly sent: string[];
  readonly summary: EnrollmentSummary | undefined;
  readonly error: unknown;
  readonly calls: ReplayDevice['log'];
}

/** Runs our client through one recorded session on the replay device: what it sent, its summary or error, and its SKS calls. */
export async function runClientSession(doc: JsonNode, node: JsonNode, device: ReplayDevice): Promise<ClientRun> {
  const sent: string[] = [];
  const start = device.log.length;
  let summary: EnrollmentSummary | undefined;
  let error: unknown;
  try {
    summary = await runEnrollment({
      sks: device.sks,
      transport: replayTransport(doc, node, (ours) => sent.push(ours)),
      ui: recordedUi(doc),
      invocationUrl: recordedInvocationUrl(node),
      clock: recordedClock(node),
      platform: recordedPlatform(node),
    });
  } catch (err) {
    error = err;
  }
  return { sent, summary, error, calls: device.log.slice(start) };
}

function compareClientMessage(recorded: IndexedMessage, ours: string | undefined, verifier: DiffOptions['sessionAttestation']): void {
  if (ours === undefined) throw new Mismatch('the client did not send it');
  const mine = comparable(decodeMessage(ours)) as Record<string, unknown>;
  let theirs = comparable(decodeMessage(recorded.wire)) as Record<string, unknown>;
  if (recorded.qualifier === 'InvocationResponse') theirs = adjustCapabilities(theirs, mine);
  if (recorded.qualifier === 'ProvisioningInitializationResponse' && verifier !== undefined) {
    const { attestation: ourAttestation, ...mineRest } = mine;
    const { attestation: _recorded, ...theirsRest } = theirs;
    const data = firstDifference(theirsRest, mineRest);
    if (data !== undefined) throw new Mismatch(data);
    if (typeof ourAttestation !== 'string') throw new Mismatch('no attestation');
    const problem = verifier(Buffer.from(ourAttestation, 'hex'));
    if (problem !== undefined) throw new Mismatch(`$.attestation: ${problem}`);
    return;
  }
  const buf = firstDifference(theirs, mine);
  if (buf !== undefined) throw new Mismatch(buf);
}

async function clientChecks(doc: JsonNode, calls: readonly RecordedCall[], checks: CheckList): Promise<void> {
  const sessions = doc.get('sessions').items();
  let device: ReplayDevice | undefined;
  let openProblem = '';
  try {
    device = openReplayDevice(doc);
  } catch (error) {
    openProblem = describeError(error);
  }
  const between = calls.filter((c) => c.where === 'between sessions');
  for (const state of sessions) {
    const prefix = sessionName(state);
    const messages = indexedMessages(state).filter((m) => m.direction === 'client->server');
    const recorded = calls.filter((c) => c.session?.value === state.value);
    const callCheckName = (recordedCall: RecordedCall): string => {
      try {
        return `${prefix} wire: client reproduces ${callName(recordedCall).slice(recordedCall.where.length + 1)}`;
      } catch {
        return `${prefix} wire: client reproduces #${recordedCall.index} ${recordedCall.method}`;
      }
    };
    const endName = `${prefix} wire: client reproduces session end`;
    if (device === undefined) {
      for (const indexedMessage of messages)
        checks.fail(`${prefix} wire: client reproduces #${indexedMessage.index} ${indexedMessage.qualifier}`, `no device: ${openProblem}`);
      for (const item of recorded) checks.fail(callCheckName(item), `no device: ${openProblem}`);
      checks.fail(endName, `no device: ${openProblem}`);
      continue;
    }
    // The user's calls between sessions (a wrong PIN that blocks a key, …), on the store directly.
    const firstIndex = recorded[0]?.index ?? Number.MAX_SAFE_INTEGER;
    const store: SecureKeyStore = device.inner;
    while (between.length > 0 && (between[0]?.index ?? 0) < firstIndex) {
      const call2 = between.shift()!;
      await checks.guardAsync(`${prefix} wire: client reproduces between sessions #${call2.index} ${call2.method}`, () => replayUserCall(store, call2.node));
    }
    const run = await runClientSession(doc, state, device);
    const verifier = randomizedAttestationVerifier(doc, state);
    messages.forEach((message, idx) => {
      checks.run(`${prefix} wire: client reproduces #${message.index} ${message.qualifier}`, () => compareClientMessage(message, run.sent[idx], verifier));
    });
    recorded.forEach((recordedCall, index) => {
      checks.run(callCheckName(recordedCall), () => {
        const ours = run.calls.at(index);
        if (ours === undefined)
          throw new Mismatch(`the client did not make it${run.error === undefined ? '' : ` (the enrollment ${describeError(run.error)})`}`);
        const problems = diffCall(ours, recordedCall.node, verifier === undefined ? {} : { sessionAttestation: verifier });
        if (problems.length > 0) throw new Mismatch(problems.join('; '));
      });
    });
    checks.run(endName, () => {
      if (run.error !== undefined) throw new Mismatch(`the enrollment ${describeError(run.error)}`);
      expectEqual('SKS calls made', recorded.length, run.calls.length);
      expectEqual('client messages sent', messages.length, run.sent.length);
      const ids = (run.summary?.keys.map((k) => k.id) ?? []).sort();
      expectEqual('installed keys', JSON.stringify(state.get('issued_certificate_paths').keys().sort()), JSON.stringify(ids));
    });
  }
}

/** Runs the protocol-layer checks of a session-layout document. */
export async function runWireChecks(doc: JsonNode, file = 'recording'): Promise<CheckResult[]> {
  const checks = new CheckList();
  const sessions = doc.get('sessions').items();
  for (const node of sessions) {
    const prefix = sessionName(node);
    checks.guard(`${prefix} wire: decode: vector`, () => decodeChecks(node, prefix, checks));
  }
  for (const state of sessions) {
    const prefix = sessionName(state);
    await checks.guardAsync(`${prefix} wire: issuer reproduces: vector`, () => issuerChecks(file, doc, state, prefix, checks));
  }
  let calls: RecordedCall[] = [];
  checks.guard('wire: client reproduces: vector', () => {
    calls = recordedCalls(doc);
  });
  await checks.guardAsync('wire: client reproduces: vector', () => clientChecks(doc, calls, checks));
  return checks.results;
}
