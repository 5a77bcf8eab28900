/**
 * A recording in the layout of ../shared/interop (README "Session files:
 * layout") whose device key is EC P-256, so that its session attestation is a
 * randomized ECDSA signature. The Java generator cannot be run here, so the
 * session is produced by *our* implementation: our issuer (fed the base
 * recording's configuration and randomness) talks to our client, whose SKS has
 * a fresh EC P-256 device key certified by a fresh manufacturer CA and draws
 * the base recording's client randomness (session id, ephemeral key, key
 * pairs). Everything that depends on the device key — device ID, session key,
 * every MAC and attestation, every encrypted value, the messages and the SKS
 * calls — is taken from that run; the rest of the base file is kept. The
 * `generator` field says so: this is not an openkeystore recording.
 *
 * Only single-session, privacy-disabled base recordings without post-operations
 * are supported (a second session would need target-key references re-signed).
 */
import { createHash } from 'node:crypto';
import { generateKeyPairSync } from '../../support/keygen.js';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import type { KeyGen2Transport, TransportReply } from '../../../src/keygen2/client/ports.js';
import { RESPONSE_QUALIFIERS } from '../../../src/keygen2/messages/index.js';
import { createIssuer, type IssuerState } from '../../../src/keygen2/server/index.js';
import { createManufacturerCa, issueDeviceCertificate } from '../../../src/sks/device/manufacturer-ca.js';
import { deriveSessionKey, encryptionKey, sessionKdfInput } from '../../../src/sks/crypto/primitives.js';
import { openReplayDevice, recordedClock, recordedInvocationUrl, recordedPlatform, recordedUi, type LoggedCall } from '../../../src/interop/client-replay.js';
import { issuerReplayOf } from '../../../src/interop/issuer-replay.js';
import { JsonNode } from '../../../src/interop/json.js';
import { encodeFields, sessionAttestationInput } from '../../../src/interop/vectors.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- the recording is untyped JSON */
type Json = any;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Our value in the recording's notation: bytes as hex, lists of bytes as hex lists, undefined as null. */
function recorded(val: unknown): unknown {
  if (val === undefined) return null;
  if (val instanceof Uint8Array) return hex(val);
  if (Array.isArray(val)) return val.map(recorded);
  return val;
}

/** Java argument names that differ from ours. */
const ALIASES: Readonly<Record<string, string>> = { pukValue: 'encryptedPuk' };

/** `{X_hex: …, Y: …}` of the template, with our values. */
function rewriteMembers(template: Record<string, unknown>, ours: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(template).map((key) => {
      const match = /^(.*?)(_der_hex|_spki_hex|_hex)?$/.exec(key);
      const name = match?.[1] ?? key;
      return [key, recorded(ours[ALIASES[name] ?? name])];
    }),
  );
}

interface LoggedHmac {
  readonly modifier: string;
  readonly input: string;
  readonly mac: string;
}

const ASCII_LABEL = /^[A-Za-z]+$/;

/** server_hmacs[] entry of one HMAC our issuer computed. */
function serverHmac(loggedHmac: LoggedHmac, seq: number): Json {
  const modifier = Buffer.from(loggedHmac.modifier, 'hex');
  const label = modifier.subarray(0, modifier.length - 2).toString('latin1');
  if (modifier.length === 0) {
    return {
      seq,
      purpose: 'encryption-key-derivation',
      method_or_label: null,
      counter: null,
      key_modifier_hex: '',
      input_hex: loggedHmac.input,
      mac_hex: loggedHmac.mac,
    };
  }
  if (modifier.length > 2 && ASCII_LABEL.test(label)) {
    return {
      seq,
      purpose: label === 'DeviceAttestation' ? 'attestation' : 'method-mac',
      method_or_label: label,
      counter: modifier.readUInt16BE(modifier.length - 2),
      key_modifier_hex: loggedHmac.modifier,
      input_hex: loggedHmac.input,
      mac_hex: loggedHmac.mac,
    };
  }
  return {
    seq,
    purpose: 'target-key-reference',
    method_or_label: null,
    counter: null,
    key_modifier_hex: loggedHmac.modifier,
    input_hex: loggedHmac.input,
    mac_hex: loggedHmac.mac,
  };
}

/**
 * A computation record (`mac_computation`, `attestation_computation`) for the HMAC with
 * value `mac`: the recorded one when its input is unchanged, otherwise rebuilt from our
 * issuer's HMAC (without `input_fields`, which the layout makes optional).
 */
function computation(template: Json, hmacs: readonly LoggedHmac[], mac: string): Json {
  const handle = hmacs.find((x) => x.mac === mac);
  if (handle === undefined) throw new Error(`no issuer HMAC with value ${mac.slice(0, 16)}…`);
  const entry = serverHmac(handle, 0);
  if (template?.input_hex === handle.input && template?.key_modifier_hex === handle.modifier) return template;
  return { purpose: entry.purpose, method_or_label: entry.method_or_label, counter: entry.counter, key_modifier_hex: handle.modifier, input_hex: handle.input };
}

/** `input_fields` with the old device ID replaced by the new one; must encode to `input`. */
function replaceDeviceId(fields: Json[], oldId: string, newId: string, input: Buffer): Json[] {
  const out = fields.map((f) => (f.value_hex === oldId ? { ...f, value_hex: newId } : f));
  if (!encodeFields(JsonNode.root(out)).equals(input)) throw new Error('input_fields do not rebuild the input');
  return out;
}

export interface EcDeviceRecording {
  /** The document, in the recorded layout. */
  readonly doc: Json;
  /** DER of the manufacturer CA that certified the device key. */
  readonly deviceCa: Buffer;
}

/** Produces an EC P-256 device recording from `base` (a parsed recording; see the file comment). */
export async function recordWithEcDevice(base: Json): Promise<EcDeviceRecording> {
  if (base.sessions.length !== 1 || base.sessions[0].privacy_enabled !== false) throw new Error('one privacy-disabled session expected');
  const doc: Json = JSON.parse(JSON.stringify(base));
  const session: Json = doc.sessions[0];

  // The device: a fresh EC P-256 key, certified by a fresh manufacturer CA.
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ca = await createManufacturerCa({ subject: 'CN=Airtight Interop Test Device CA', keyType: 'ec-p256' });
  const deviceCert = await issueDeviceCertificate(ca, pair.publicKey, { serialNumber: 'interop-ec-1' });
  doc.generator = 'airtight test recorder: our issuer, client and SKS with an EC P-256 device key (not openkeystore)';
  doc.generator_runtime = `node ${process.version}`;
  doc.scenario = `${String(base.scenario)} Re-run by Airtight with an EC P-256 device key: the session attestation is a randomized ECDSA signature.`;
  doc.test_keys.device_attestation = {
    type: 'EC P-256',
    spki_hex: hex(pair.publicKey.export({ type: 'spki', format: 'der' })),
    pkcs8_hex: hex(pair.privateKey.export({ type: 'pkcs8', format: 'der' })),
    jwk: pair.privateKey.export({ format: 'jwk' }),
    certificate_der_hex: hex(deviceCert),
    subject: 'CN=Airtight Device, serialNumber=interop-ec-1',
    issuer_ca_certificate_der_hex: hex(ca.certificate),
  };

  // Our issuer, fed the base recording's configuration and randomness, trusting the new CA.
  const replay = issuerReplayOf('ec-device', doc, session);
  const issuer = createIssuer(replay.environment);
  // Our client, its SKS with the new device key and the recorded client randomness.
  const device = openReplayDevice(JsonNode.root(doc));
  const messages: Array<{ direction: string; qualifier: string; wire: string }> = [];
  const qualifierOf = (text: string): string => (JSON.parse(text) as { '@qualifier': string })['@qualifier'];
  const serverCertificate = Buffer.from(doc.test_keys.server_certificate.certificate_der_hex, 'hex');
  let state: IssuerState | undefined;
  const reply = (text: string | undefined): TransportReply => {
    if (text === undefined) return { kind: 'redirect', location: 'http://issuer.example.com/done' };
    messages.push({ direction: 'server->client', qualifier: qualifierOf(text), wire: text });
    return { kind: 'message', text };
  };
  const transport: KeyGen2Transport = {
    fetchInvocation: async () => {
      const started = await issuer.startText(replay.config);
      state = started.state;
      return { ...reply(started.request), serverCertificate } as TransportReply;
    },
    postResponse: async (_inv, text) => {
      messages.push({ direction: 'client->server', qualifier: qualifierOf(text), wire: text });
      if (state === undefined) throw new Error('no issuer state');
      const step = await issuer.acceptText(state, text);
      state = step.state;
      return reply(step.request);
    },
  };
  const child = JsonNode.root(session);
  await runEnrollment({
    sks: device.sks,
    transport,
    ui: recordedUi(JsonNode.root(doc)),
    invocationUrl: recordedInvocationUrl(child),
    clock: recordedClock(child),
    platform: recordedPlatform(child),
  });
  if (state?.phase !== 'done') throw new Error(`the issuer ended in phase ${String(state?.phase)}`);

  // Everything that depends on the device key.
  const oldDeviceId: string = session.device_id_hex;
  const deviceId = hex(deviceCert);
  const kdfInput = sessionKdfInput(session.client_session_id, session.server_session_id, session.issuer_uri, deviceCert);
  const sessionKey = deriveSessionKey(Buffer.from(session.ecdh_z_hex, 'hex'), kdfInput);
  const calls: LoggedCall[] = device.log;
  const create = calls.at(0);
  if (create?.method !== 'createProvisioningSession') throw new Error('the first SKS call is not createProvisioningSession');
  const attestation = (create.result as { attestation: Uint8Array }).attestation;
  const attestationInput = sessionAttestationInput({
    clientSessionId: session.client_session_id,
    serverSessionId: session.server_session_id,
    issuerUri: session.issuer_uri,
    deviceId: deviceCert,
    sessionKeyAlgorithm: session.session_key_algorithm,
    privacyEnabled: false,
    serverEphemeralKey: Buffer.from(session.ephemeral_keys.server.spki_hex, 'hex'),
    clientEphemeralKey: Buffer.from(session.ephemeral_keys.client.spki_hex, 'hex'),
    keyManagementKey: undefined,
    clientTime: session.client_time.epoch_seconds,
    sessionLifeTime: session.session_life_time,
    sessionKeyLimit: session.session_key_limit,
    serverCertificate,
  });
  const hmacs = replay.log.hmacs;
  session.device_id_hex = deviceId;
  session.device_id_note = 'The device certificate DER (privacy disabled).';
  session.session_key_kdf_input_hex = hex(kdfInput);
  session.session_key_hex = hex(sessionKey);
  session.session_attestation = { mode: 'device-signature', input_hex: hex(attestationInput), value_hex: hex(attestation) };
  session.encryption_key_hex = hex(encryptionKey(sessionKey));
  session.messages = messages.map((m, index) => ({ index, ...m, sha256_hex: createHash('sha256').update(m.wire, 'utf8').digest('hex') }));
  const responses = RESPONSE_QUALIFIERS as readonly string[];
  if (messages.some((m) => responses.includes(m.qualifier) !== (m.direction === 'client->server'))) throw new Error('message directions');
  session.server_hmacs = hmacs.filter((h) => h.modifier !== '' || h.input === hex(Buffer.from('EncryptionKey'))).map(serverHmac);
  session.encryptions = (session.encryptions as Json[]).map((error) => {
    const out = replay.log.encryptions.find((c) => c.startsWith(error.iv_hex));
    if (out === undefined) throw new Error(`no encryption with the recorded IV of ${String(error.label)}`);
    return { ...error, key_hex: session.encryption_key_hex, iv_and_ciphertext_hex: out };
  });
  if (calls.length !== session.sks_calls.length) throw new Error(`expected ${session.sks_calls.length} SKS calls, made ${calls.length}`);
  session.sks_calls = (session.sks_calls as Json[]).map((template, index) => {
    const ours = calls[index];
    if (ours.method !== template.method) throw new Error(`SKS call ${index}: ${ours.method} instead of ${String(template.method)}`);
    const call: Json = { ...template, args: rewriteMembers(template.args, ours.args) };
    if (template.result !== undefined) {
      call.result =
        typeof template.result === 'object' && template.result !== null
          ? rewriteMembers(template.result, ours.result as Record<string, unknown>)
          : recorded(ours.result);
    }
    if (template.mac_computation !== undefined) call.mac_computation = computation(template.mac_computation, hmacs, call.args.mac_hex);
    if (template.method === 'createProvisioningSession') {
      call.attestation_computation = {
        mode: 'device-signature',
        input_hex: hex(attestationInput),
        input_fields: replaceDeviceId(template.attestation_computation.input_fields, oldDeviceId, deviceId, attestationInput),
      };
      call.session_key_computation = {
        hmac_key: 'ecdh_z',
        input_hex: hex(kdfInput),
        input_fields: replaceDeviceId(template.session_key_computation.input_fields, oldDeviceId, deviceId, kdfInput),
        session_key_hex: hex(sessionKey),
      };
    } else if (template.attestation_computation !== undefined) {
      const value = typeof call.result === 'string' ? call.result : call.result.attestation_hex;
      call.attestation_computation = computation(template.attestation_computation, hmacs, value);
    }
    return call;
  });
  const close = session.sks_calls.find((c: Json) => c.method === 'closeProvisioningSession');
  session.close_session = { ...session.close_session, attestation_hex: close.result };
  return { doc, deviceCa: ca.certificate };
}
