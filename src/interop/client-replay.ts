/**
 * Replaying a recorded openkeystore session as the device (interop README §6,
 * "Client-side implementation"): our SKS draws the recorded randomness, a fake
 * transport serves the recorded issuer messages in order, and a recording
 * proxy in front of the SKS logs every state-changing call so that it can be
 * compared with the recording's `sks_calls[]`.
 *
 * Moved from test/keygen2/client/support/replay-harness.ts so that
 * `airtight interop` can run it.
 */
import { createMemoryKeyStore } from '../sks/store/memory/store.js';
import { openSecureKeyStore } from '../sks/engine/secure-key-store.js';
import { keyHandle as toKeyHandle, type SecureKeyStore } from '../sks/api.js';
import { parsePkcs8 } from '../sks/crypto/keys.js';
import type { JsonNode } from './json.js';
import { clientSessionIdBytes, ReplayEntropy, type RecordedPair } from './replay-entropy.js';
import { recordedKey } from './vectors.js';
import { sessionName } from './session-file.js';
import { buildInvocationUrl } from '../keygen2/http/invocation-url.js';
import type { ClientClock, EnrollmentUi, KeyGen2Transport, TransportReply } from '../keygen2/client/ports.js';
import type { PlatformCapabilities } from '../keygen2/client/capabilities.js';

/** The device PIN of the reference test harness (replay profile). */
const DEVICE_PIN = '1234';

// ---------------------------------------------------------------------------
// The recording SKS proxy

/** One state-changing SKS call, arguments by the SecureKeyStore parameter names. */
export interface LoggedCall {
  readonly method: string;
  readonly args: Record<string, unknown>;
  result?: unknown;
  error?: unknown;
}

/** Positional arguments → named, for the methods the recordings list (read-only ones are not logged). */
const NAMED: Readonly<Partial<Record<string, (...args: unknown[]) => Record<string, unknown>>>> = {
  createProvisioningSession: (a) => ({ ...(a as object) }),
  createPukPolicy: (a) => ({ ...(a as object) }),
  createPinPolicy: (a) => ({ ...(a as object) }),
  createKeyEntry: (a) => ({ ...(a as object) }),
  addExtension: (a) => ({ ...(a as object) }),
  setCertificatePath: (keyHandle, certificatePath, mac) => ({ keyHandle, certificatePath, mac }),
  importSymmetricKey: (keyHandle, encryptedKey, mac) => ({ keyHandle, encryptedKey, mac }),
  importPrivateKey: (keyHandle, encryptedKey, mac) => ({ keyHandle, encryptedKey, mac }),
  postDeleteKey: (provisioningHandle, op) => ({ provisioningHandle, ...(op as object) }),
  postUnlockKey: (provisioningHandle, op) => ({ provisioningHandle, ...(op as object) }),
  postUpdateKey: (keyHandle, op) => ({ keyHandle, ...(op as object) }),
  postCloneKeyProtection: (keyHandle, op) => ({ keyHandle, ...(op as object) }),
  updateKeyManagementKey: (provisioningHandle, keyManagementKey, authorization) => ({ provisioningHandle, keyManagementKey, authorization }),
  closeProvisioningSession: (provisioningHandle, nonce, mac) => ({ provisioningHandle, nonce, mac }),
  abortProvisioningSession: (provisioningHandle) => ({ provisioningHandle }),
};

function copyBytes(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v instanceof Uint8Array ? Uint8Array.from(v) : v]));
}

/** Java argument names that differ from ours. */
const ALIASES: Readonly<Record<string, string>> = { pukValue: 'encryptedPuk' };

export interface ReplayDevice {
  /** The recording proxy: what the client is given. */
  readonly sks: SecureKeyStore;
  /** The store behind it, for checks the client must not see. */
  readonly inner: SecureKeyStore;
  readonly entropy: ReplayEntropy;
  readonly log: LoggedCall[];
  /** clientSessionIds to hand out, in session order (queued as random bytes at each createProvisioningSession). */
  readonly clientSessionIds: string[];
}

/** The recorded key pairs, in draw order: each session's client ephemeral key and its createKeyEntry keys. */
export function recordedPairs(doc: JsonNode): { ephemeral: RecordedPair[]; keyEntries: RecordedPair[] } {
  const ephemeral: RecordedPair[] = [];
  const keyEntries: RecordedPair[] = [];
  for (const node of doc.get('sessions').items()) {
    ephemeral.push({ label: `${sessionName(node)} client ephemeral key`, key: recordedKey(node.get('ephemeral_keys').get('client')) });
    for (const group of node.get('sks_generated_keys').items()) {
      keyEntries.push({ label: `${sessionName(node)} ${group.get('id').str()}`, key: recordedKey(group.get('key')) });
    }
  }
  return { ephemeral, keyEntries };
}

/**
 * Our SKS as the reference test device: a fresh memory store, the recorded device
 * attestation key and certificate, the reference harness's profile, and `entropy`.
 */
export function openRecordedSks(doc: JsonNode, entropy: ReplayEntropy): SecureKeyStore {
  const da = doc.get('test_keys').get('device_attestation');
  return openSecureKeyStore({
    store: createMemoryKeyStore(),
    device: { privateKey: parsePkcs8(da.get('pkcs8_hex').hex()), certificatePath: [da.get('certificate_der_hex').hex()] },
    entropy,
    profile: {
      vendorName: 'WebPKI.org',
      devicePinSupport: true,
      biometricSupport: true,
      verifyDevicePin: (pin) => pin !== undefined && Buffer.from(pin).toString('utf8') === DEVICE_PIN,
    },
  });
}

export function openReplayDevice(doc: JsonNode): ReplayDevice {
  const pairs = recordedPairs(doc);
  const clientSessionIds = doc
    .get('sessions')
    .items()
    .map((node) => node.get('client_session_id').str());
  const entropy = new ReplayEntropy(pairs.ephemeral, pairs.keyEntries);
  const inner = openRecordedSks(doc, entropy);
  const log: LoggedCall[] = [];
  const ids = [...clientSessionIds];
  const sks = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      const name = NAMED[prop];
      const fn = value as (...a: unknown[]) => Promise<unknown>;
      return async (...input: unknown[]): Promise<unknown> => {
        if (prop === 'createProvisioningSession') {
          const id = ids.shift();
          if (id !== undefined) entropy.expectRandomBytes(`clientSessionId ${id}`, clientSessionIdBytes(id));
        }
        // Copies: the client wipes PIN buffers after use.
        const entry: LoggedCall | undefined = name === undefined ? undefined : { method: prop, args: copyBytes(name(...input)) };
        if (entry !== undefined) log.push(entry);
        try {
          const res = await fn.apply(target, input);
          if (entry !== undefined) entry.result = res;
          return res;
        } catch (err) {
          if (entry !== undefined) entry.error = err;
          throw err;
        }
      };
    },
  });
  return { sks, inner, entropy, log, clientSessionIds };
}

// ---------------------------------------------------------------------------
// Comparing logged calls with recorded ones

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Our value in the recording's notation: bytes as hex, lists of bytes as hex lists, undefined as null. */
/** JSON text for a mismatch report, cut at 120 characters; JSON.stringify gives undefined for functions whatever its type says. */
const shortJson = (value: unknown): string => `${JSON.stringify(value) as string | undefined}`.slice(0, 120);

function normalize(val: unknown): unknown {
  if (val === undefined) return null;
  if (val instanceof Uint8Array) return hex(val);
  if (Array.isArray(val)) return val.map(normalize);
  return val;
}

export interface DiffOptions {
  /**
   * Set when the session attestation is a randomized signature (an EC device
   * key, privacy disabled): instead of a byte comparison, our attestation is
   * handed here; the answer is a problem, or undefined when it verifies.
   */
  readonly sessionAttestation?: (ours: Uint8Array) => string | undefined;
}

/**
 * Differences between one logged call and one recorded call (method, every
 * recorded argument, and the recorded result), as readable lines.
 */
export function diffCall(ours: LoggedCall, recorded: JsonNode, options: DiffOptions = {}): string[] {
  const problems: string[] = [];
  const method = recorded.get('method').str();
  if (ours.method !== method) return [`method: expected ${method}, got ${ours.method}`];
  for (const [key, node] of recorded.get('args').entries()) {
    const match = /^(.*?)(_der_hex|_spki_hex|_hex)?$/.exec(key)!;
    const name = ALIASES[match[1]] ?? match[1];
    const expected: unknown = node.isNull() ? null : node.value;
    const got = normalize(ours.args[name]);
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      problems.push(`${method}.${key}: expected ${shortJson(expected)}, got ${shortJson(got)}`);
    }
  }
  const result = recorded.opt('result');
  if (ours.error !== undefined)
    problems.push(`${method}: failed: ${ours.error instanceof Error ? `${ours.error.name}: ${ours.error.message}` : JSON.stringify(ours.error)}`);
  else if (result !== undefined && !result.isNull()) {
    const val = result.value;
    if (typeof val === 'object' && val !== null && !Array.isArray(val)) {
      const record = ours.result as Record<string, unknown>;
      for (const [key, node] of result.entries()) {
        const match = /^(.*?)(_spki_hex|_hex)?$/.exec(key)!;
        const verify = options.sessionAttestation;
        if (method === 'createProvisioningSession' && key === 'attestation_hex' && verify !== undefined) {
          // A randomized (ECDSA) device signature: verified, never compared.
          const ours = record[match[1]];
          const problem = ours instanceof Uint8Array ? verify(ours) : 'no attestation';
          if (problem !== undefined) problems.push(`${method} result.${key}: ${problem}`);
          continue;
        }
        if (JSON.stringify(node.value) !== JSON.stringify(normalize(record[match[1]]))) problems.push(`${method} result.${key} differs`);
      }
    } else if (JSON.stringify(val) !== JSON.stringify(normalize(ours.result))) {
      problems.push(`${method} result differs: expected ${JSON.stringify(val)}, got ${JSON.stringify(normalize(ours.result))}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Calls the recording made between sessions (user API: a wrong PIN that blocks a key, …)

/** Replays a between-sessions call on the store directly; a recorded exception must recur. */
export async function replayUserCall(sks: SecureKeyStore, call: JsonNode): Promise<void> {
  const node = call.get('args');
  const bytes = (name: string): Uint8Array | undefined => {
    const value = node.opt(`${name}_hex`);
    return value === undefined || value.isNull() ? undefined : value.hex();
  };
  const kh = toKeyHandle(node.get('keyHandle').int());
  const method = call.get('method').str();
  let run: () => Promise<unknown>;
  switch (method) {
    case 'signData':
      run = () =>
        sks.signData({
          keyHandle: kh,
          algorithm: node.get('algorithm').str(),
          parameters: bytes('parameters'),
          biometricAuth: node.optValue('biometricAuth')?.bool() ?? false,
          authorization: bytes('authorization'),
          data: bytes('data')!,
        });
      break;
    case 'setPin':
      run = () => sks.setPin(kh, bytes('authorization')!, bytes('newPin')!);
      break;
    case 'unlockKey':
      run = () => sks.unlockKey(kh, bytes('authorization')!);
      break;
    case 'deleteKey':
      run = () => sks.deleteKey(kh, bytes('authorization'));
      break;
    default:
      throw new Error(`the harness cannot replay a between-sessions ${method}`);
  }
  const failed = await run().then(
    () => false,
    () => true,
  );
  if (failed !== call.has('exception'))
    throw new Error(`between-sessions ${method} #${call.get('call_index').int()}: expected ${call.has('exception') ? 'an exception' : 'success'}`);
}

// ---------------------------------------------------------------------------
// The device's environment for one recorded session

export interface RecordedMessage {
  readonly direction: 'server->client' | 'client->server';
  readonly qualifier: string;
  readonly wire: string;
}

export const messagesOf = (session: JsonNode): RecordedMessage[] =>
  session
    .get('messages')
    .items()
    .map((m) => ({ direction: m.get('direction').str() as RecordedMessage['direction'], qualifier: m.get('qualifier').str(), wire: m.get('wire').str() }));

/** The clock the reference client had: the recorded instant and UTC offset of `clientTime`. */
export function recordedClock(session: JsonNode): ClientClock {
  const ct = session.get('client_time');
  const wire = ct.get('wire').str();
  const match = /([+-])(\d{2}):(\d{2})$/.exec(wire);
  const offset = match === null ? 0 : (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
  const at = new Date(ct.get('epoch_seconds').int() * 1000);
  return { now: () => at, utcOffsetMinutes: () => offset };
}

/** The invocation URL that would have started this session: `url` is the recorded issuerUri. */
export function recordedInvocationUrl(session: JsonNode): string {
  const issuerUri = session.get('issuer_uri').str();
  return buildInvocationUrl({ initUrl: `${issuerUri}${issuerUri.includes('?') ? '&' : '?'}init=true`, transactionUrl: issuerUri, cookie: 'JSESSIONID=replay' });
}

/** The platform the reference client described: its logotype and client-attribute answers, taken from its InvocationResponse. */
export function recordedPlatform(session: JsonNode): PlatformCapabilities {
  const response = messagesOf(session).find((m) => m.qualifier === 'InvocationResponse');
  const caps = response === undefined ? [] : ((JSON.parse(response.wire) as { clientCapabilities?: Array<Record<string, unknown>> }).clientCapabilities ?? []);
  const clientAttributes: Record<string, string[]> = {};
  const imagePreferences: Record<string, { mimeType: string; width: number; height: number }> = {};
  for (const record of caps) {
    const type = record['type'] as string;
    if (Array.isArray(record['values'])) clientAttributes[type] = record['values'] as string[];
    if (typeof record['imageAttributes'] === 'object' && record['imageAttributes'] !== null) {
      imagePreferences[type] = record['imageAttributes'] as { mimeType: string; width: number; height: number };
    }
  }
  return { clientAttributes, imagePreferences };
}

/** A UI that consents and types the recording's user-defined PIN. */
export function recordedUi(doc: JsonNode, events: unknown[] = []): EnrollmentUi {
  const pin = doc.get('constants').get('user_defined_pin').str();
  return {
    consent: () => Promise.resolve(true),
    enterPin: () => Promise.resolve(pin),
    progress: (e) => events.push(e),
  };
}

/**
 * A transport that serves the recorded server messages in order and hands
 * each client message to `onClientMessage` (with the recorded one). After the
 * last server message it answers the final POST with a 302. The `init` GET
 * reports the recorded TLS server certificate.
 */
export function replayTransport(
  doc: JsonNode,
  session: JsonNode,
  onClientMessage: (ours: string, recorded: RecordedMessage | undefined) => void,
): KeyGen2Transport & { readonly served: number } {
  const messages = messagesOf(session);
  const server = messages.filter((m) => m.direction === 'server->client');
  const client = messages.filter((m) => m.direction === 'client->server');
  const serverCertificate = doc.get('test_keys').get('server_certificate').get('certificate_der_hex').hex();
  let next = 0;
  let posted = 0;
  const serve = (): TransportReply => {
    const recordedMessage = server.at(next++);
    return recordedMessage === undefined ? { kind: 'redirect', location: 'http://issuer.example.com/done' } : { kind: 'message', text: recordedMessage.wire };
  };
  return {
    get served() {
      return next;
    },
    fetchInvocation: () => {
      const transportReply = serve();
      return Promise.resolve(transportReply.kind === 'message' ? { ...transportReply, serverCertificate } : transportReply);
    },
    postResponse: (_inv, text) => {
      onClientMessage(text, client[posted++]);
      return Promise.resolve(serve());
    },
  };
}
