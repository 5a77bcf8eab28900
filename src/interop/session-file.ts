/**
 * Static checks of a recorded KeyGen2 session file (interop README, "Session
 * files: layout"): everything the server and the SKS computed is recomputed
 * from the recorded secrets with our own primitives. The replay against our
 * engine lives in ./replay.ts.
 */
import { createHash } from 'node:crypto';
import { parseSpki, verifyKmkSignature } from '../sks/crypto/keys.js';
import {
  decryptFromIssuer,
  deriveSessionKey,
  deviceIdFor,
  encryptForSks,
  encryptionKey,
  rollOverSignedData,
  sessionKdfInput,
  targetKeyReference,
  targetKeyReferenceSignedData,
} from '../sks/crypto/primitives.js';
import { CheckList, expectBytes, expectEqual, expectTrue, Mismatch, type CheckResult } from './check.js';
import type { JsonNode } from './json.js';
import {
  certificate,
  certificateSpki,
  checkHmacComputation,
  checkKeyObjectConsistency,
  checkRecordedSessionAttestation,
  checkSessionAttestation,
  ecdh,
  encodeFields,
  epochSecondsOf,
  recordedKey,
  sessionAttestationInput,
  type RecordedKey,
} from './vectors.js';

/** One recorded SKS call with where it was made. */
export interface RecordedCall {
  readonly index: number;
  readonly method: string;
  readonly node: JsonNode;
  /** The session that made it, or undefined for calls between or after sessions. */
  readonly session: JsonNode | undefined;
  /** `session 'main'`, `between sessions`, `after sessions`. */
  readonly where: string;
}

export const sessionName = (s: JsonNode): string => `session '${s.get('label').str()}'`;

/** Every SKS call of the file in `call_index` order. */
export function recordedCalls(doc: JsonNode): RecordedCall[] {
  const calls: RecordedCall[] = [];
  const add = (list: JsonNode | undefined, session: JsonNode | undefined, where: string): void => {
    for (const item of list?.items() ?? []) {
      calls.push({ index: item.get('call_index').int(), method: item.get('method').str(), node: item, session, where });
    }
  };
  for (const state of doc.get('sessions').items()) add(state.get('sks_calls'), state, sessionName(state));
  add(doc.opt('sks_calls_between_sessions'), undefined, 'between sessions');
  add(doc.opt('sks_calls_after_sessions'), undefined, 'after sessions');
  calls.sort((a, b) => a.index - b.index);
  for (let i = 1; i < calls.length; i++) {
    const prev = calls.at(i - 1);
    const cur = calls.at(i);
    if (prev !== undefined && prev.index === cur?.index) {
      throw new Mismatch(`call_index ${cur.index} occurs twice`);
    }
  }
  return calls;
}

/** `session 'main' #2 createKeyEntry Key.1`, `after sessions #5 signData key #1`. */
export function callName(recordedCall: RecordedCall): string {
  const recordedArgs = recordedCall.node.get('args');
  let what = '';
  const id = recordedArgs.optValue('id');
  const kh = recordedArgs.optValue('keyHandle');
  const target = recordedArgs.optValue('targetKeyHandle');
  if (id !== undefined) what = ` ${id.str()}`;
  else if (kh !== undefined) what = ` key #${String(kh.value)}`;
  if (target !== undefined) what += ` target key #${String(target.value)}`;
  return `${recordedCall.where} #${recordedCall.index} ${recordedCall.method}${what}`;
}

function kmkByName(doc: JsonNode, name: string): RecordedKey {
  return recordedKey(doc.get('test_keys').get('key_management_keys').get(name));
}

function testKeyChecks(doc: JsonNode, checks: CheckList): void {
  const tk = doc.get('test_keys');
  checks.run('test_keys device_attestation key object', () => checkKeyObjectConsistency(tk.get('device_attestation')));
  checks.run('test_keys device certificate', () => {
    const da = tk.get('device_attestation');
    const cert = da.get('certificate_der_hex').hex();
    expectBytes('device certificate key', da.get('spki_hex').hex(), certificateSpki(cert));
    const ca = certificate(da.get('issuer_ca_certificate_der_hex').hex());
    expectTrue('device certificate does not verify with issuer_ca_certificate_der_hex', certificate(cert).verify(ca.publicKey));
  });
  for (const [name, kmk] of tk.get('key_management_keys').entries()) {
    checks.run(`test_keys ${name} key object`, () => {
      checkKeyObjectConsistency(kmk);
      const path = kmk.get('certificate_path_der_hex').hexes();
      const first = path.at(0);
      if (first !== undefined) expectBytes('certificate key', kmk.get('spki_hex').hex(), certificateSpki(first));
    });
  }
  checks.run('test_keys certificate_issuer_ca key object', () => {
    const ca = tk.get('certificate_issuer_ca');
    checkKeyObjectConsistency(ca);
    const first = ca.get('certificate_path_der_hex').hexes().at(0);
    if (first !== undefined) expectBytes('CA certificate key', ca.get('spki_hex').hex(), certificateSpki(first));
  });
  for (const [id, key] of doc.opt('server_generated_imported_keys')?.entries() ?? []) {
    checks.run(`server_generated_imported_keys ${id} key object`, () => checkKeyObjectConsistency(key));
  }
}

interface SessionContext {
  readonly doc: JsonNode;
  readonly session: JsonNode;
  readonly prefix: string;
  readonly sessionKey: Buffer;
  readonly deviceId: Buffer;
}

function sessionCryptoChecks(ctx: SessionContext, checks: CheckList): void {
  const { doc, session: node, prefix, sessionKey, deviceId } = ctx;
  const tk = doc.get('test_keys');
  const privacy = node.get('privacy_enabled').bool();
  const bytes = node.get('ecdh_z_hex').hex();
  checks.run(`${prefix} client time`, () => {
    const ct = node.get('client_time');
    expectEqual('epoch_seconds of the wire clientTime', ct.get('epoch_seconds').int(), epochSecondsOf(ct.get('wire').str()));
  });
  checks.run(`${prefix} ephemeral key objects`, () => {
    checkKeyObjectConsistency(node.get('ephemeral_keys').get('server'));
    checkKeyObjectConsistency(node.get('ephemeral_keys').get('client'));
  });
  const server = recordedKey(node.get('ephemeral_keys').get('server'));
  const client = recordedKey(node.get('ephemeral_keys').get('client'));
  checks.run(`${prefix} ECDH server private x client public`, () => {
    if (server.privateKey === undefined) throw new Mismatch('server ephemeral private key missing');
    expectBytes('ecdh_z_hex', bytes, ecdh(server.privateKey, client.publicKey));
  });
  checks.run(`${prefix} ECDH client private x server public`, () => {
    if (client.privateKey === undefined) throw new Mismatch('client ephemeral private key missing');
    expectBytes('ecdh_z_hex', bytes, ecdh(client.privateKey, server.publicKey));
  });
  checks.run(`${prefix} device ID`, () => {
    expectBytes('device_id_hex', deviceIdFor(privacy, tk.get('device_attestation').get('certificate_der_hex').hex()), deviceId);
  });
  const kdfInput = sessionKdfInput(node.get('client_session_id').str(), node.get('server_session_id').str(), node.get('issuer_uri').str(), deviceId);
  checks.run(`${prefix} KDF input`, () => expectBytes('session_key_kdf_input_hex', node.get('session_key_kdf_input_hex').hex(), kdfInput));
  checks.run(`${prefix} session key`, () => expectBytes('session_key_hex', sessionKey, deriveSessionKey(bytes, kdfInput)));
  const att = node.get('session_attestation');
  checks.run(`${prefix} session attestation input`, () => {
    const kmkName = node.optValue('key_management_key');
    const rebuilt = sessionAttestationInput({
      clientSessionId: node.get('client_session_id').str(),
      serverSessionId: node.get('server_session_id').str(),
      issuerUri: node.get('issuer_uri').str(),
      deviceId,
      sessionKeyAlgorithm: node.get('session_key_algorithm').str(),
      privacyEnabled: privacy,
      serverEphemeralKey: server.spki,
      clientEphemeralKey: client.spki,
      keyManagementKey: kmkName === undefined ? Buffer.alloc(0) : kmkByName(doc, kmkName.str()).spki,
      clientTime: node.get('client_time').get('epoch_seconds').int(),
      sessionLifeTime: node.get('session_life_time').int(),
      sessionKeyLimit: node.get('session_key_limit').int(),
      serverCertificate: tk.get('server_certificate').get('certificate_der_hex').hex(),
    });
    expectBytes('session_attestation.input_hex', att.get('input_hex').hex(), rebuilt);
  });
  checks.run(`${prefix} session attestation`, () => {
    const mode = att.get('mode').str();
    if (mode !== (privacy ? 'hmac' : 'device-signature')) throw new Mismatch(`mode "${mode}" does not fit privacy_enabled ${String(privacy)}`);
    const da = recordedKey(tk.get('device_attestation'));
    checkSessionAttestation(
      { privacyEnabled: privacy, input: att.get('input_hex').hex(), value: att.get('value_hex').hex(), sessionKey },
      { certificate: tk.get('device_attestation').get('certificate_der_hex').hex(), privateKey: da.privateKey },
    );
  });
  checks.run(`${prefix} encryption key`, () => expectBytes('encryption_key_hex', node.get('encryption_key_hex').hex(), encryptionKey(sessionKey)));
}

function serverSideChecks(ctx: SessionContext, checks: CheckList): void {
  const { doc, session: node, prefix, sessionKey, deviceId } = ctx;
  for (const handle of node.get('server_hmacs').items()) {
    const purpose = handle.get('purpose').str();
    const label = handle.optValue('method_or_label')?.str();
    checks.run(`${prefix} server_hmacs[${handle.get('seq').int()}] ${purpose}${label === undefined ? '' : ` ${label}`}`, () => {
      checkHmacComputation(handle, sessionKey, handle.get('mac_hex').hex(), 'mac_hex');
      if (purpose === 'encryption-key-derivation') {
        expectBytes('encryption key', node.get('encryption_key_hex').hex(), handle.get('mac_hex').hex());
      } else if (purpose === 'target-key-reference') {
        expectBytes('key modifier (device ID)', deviceId, handle.get('key_modifier_hex').hex());
      }
    });
  }
  node
    .get('encryptions')
    .items()
    .forEach((error, index) => {
      checks.run(`${prefix} encryptions[${index}] ${error.get('label').str()}`, () => {
        const key = error.get('key_hex').hex();
        expectBytes('key_hex (the session encryption key)', node.get('encryption_key_hex').hex(), key);
        expectBytes(
          'encrypt with the recorded IV',
          error.get('iv_and_ciphertext_hex').hex(),
          encryptForSks(key, error.get('plaintext_hex').hex(), error.get('iv_hex').hex()),
        );
        expectBytes('decrypt', error.get('plaintext_hex').hex(), decryptFromIssuer(key, error.get('iv_and_ciphertext_hex').hex()));
      });
    });
  node
    .get('kmk_signatures')
    .items()
    .forEach((key, index) => {
      const signer = key.get('signer_kmk').str();
      checks.run(`${prefix} kmk_signatures[${index}] ${key.get('purpose').str()} by ${signer}`, () => {
        const ok = verifyKmkSignature(kmkByName(doc, signer).publicKey, key.get('signed_data_hex').hex(), key.get('signature_hex').hex());
        expectTrue(`signature does not verify with ${signer}`, ok);
      });
    });
  node
    .get('messages')
    .items()
    .forEach((message) => {
      checks.run(`${prefix} messages[${message.get('index').int()}] ${message.get('qualifier').str()} sha256`, () => {
        const digest = createHash('sha256').update(message.get('wire').str(), 'utf8').digest();
        expectBytes('sha256_hex', message.get('sha256_hex').hex(), digest);
      });
    });
}

function certificateChecks(ctx: SessionContext, checks: CheckList): void {
  const { doc, session: node, prefix } = ctx;
  const ca = doc.get('test_keys').get('certificate_issuer_ca');
  const caKey = parseSpki(ca.get('spki_hex').hex());
  const caPath = ca.get('certificate_path_der_hex').hexes();
  for (const group of node.get('sks_generated_keys').items()) {
    checks.run(`${prefix} sks_generated_keys ${group.get('id').str()} key object`, () => checkKeyObjectConsistency(group.get('key')));
  }
  for (const [id, pathNode] of node.get('issued_certificate_paths').entries()) {
    checks.run(`${prefix} issued certificate path ${id}`, () => {
      const path = pathNode.hexes();
      const ee = path.at(0);
      if (ee === undefined) throw new Mismatch('empty certificate path');
      path.forEach((der, index) => {
        if (caPath.some((c) => c.equals(der))) return; // the CA's own path
        const next = path.at(index + 1);
        const issuerKey = next === undefined ? caKey : certificate(next).publicKey;
        expectTrue(`certificate [${index}] does not verify with its issuer`, certificate(der).verify(issuerKey));
      });
      const imported = doc.opt('server_generated_imported_keys')?.opt(id);
      const generated = node
        .get('sks_generated_keys')
        .items()
        .find((g) => g.get('id').str() === id);
      const expected = imported ?? generated?.get('key');
      if (expected === undefined) throw new Mismatch(`no generated or imported key with id ${id}`);
      expectBytes('end-entity certificate key', expected.get('spki_hex').hex(), certificateSpki(ee));
    });
  }
}

function sessionCallChecks(ctx: SessionContext, calls: readonly RecordedCall[], checks: CheckList): void {
  const { doc, session: state, sessionKey, deviceId } = ctx;
  for (const call of calls) {
    if (call.session?.value !== state.value) continue;
    const item = call.node;
    const callArgs = item.get('args');
    const name = callName(call);
    const mc = item.opt('mac_computation');
    if (mc !== undefined) {
      checks.run(`${name} MAC computation`, () => checkHmacComputation(mc, sessionKey, callArgs.get('mac_hex').hex()));
    }
    const ac = item.opt('attestation_computation');
    if (ac !== undefined && call.method === 'createProvisioningSession') {
      checks.run(`${name} attestation computation`, () => {
        const input = ac.get('input_hex').hex();
        expectBytes('input_fields encoding', input, encodeFields(ac.get('input_fields')));
        expectBytes('session_attestation.input_hex', state.get('session_attestation').get('input_hex').hex(), input);
      });
    } else if (ac !== undefined) {
      checks.run(`${name} attestation computation`, () => {
        const result = item.get('result');
        const value = result.isObject() ? result.get('attestation_hex').hex() : result.hex();
        checkHmacComputation(ac, sessionKey, value, 'attestation');
      });
    }
    const sk = item.opt('session_key_computation');
    if (sk !== undefined) {
      checks.run(`${name} session key computation`, () => {
        const input = sk.get('input_hex').hex();
        expectBytes('input_fields encoding', input, encodeFields(sk.get('input_fields')));
        expectBytes('session_key_hex', sk.get('session_key_hex').hex(), deriveSessionKey(state.get('ecdh_z_hex').hex(), input));
        expectBytes('session key of the session', sessionKey, sk.get('session_key_hex').hex());
      });
    }
    if (call.method === 'createProvisioningSession') {
      checks.run(`${name} recorded values`, () => {
        const node = item.get('result');
        expectEqual('clientSessionId', state.get('client_session_id').str(), node.get('clientSessionId').str());
        expectEqual('serverSessionId', state.get('server_session_id').str(), callArgs.get('serverSessionId').str());
        expectEqual('clientTime', state.get('client_time').get('epoch_seconds').int(), callArgs.get('clientTime').int());
        expectBytes('clientEphemeralKey', state.get('ephemeral_keys').get('client').get('spki_hex').hex(), node.get('clientEphemeralKey_spki_hex').hex());
        expectBytes('serverEphemeralKey', state.get('ephemeral_keys').get('server').get('spki_hex').hex(), callArgs.get('serverEphemeralKey_spki_hex').hex());
        const att = state.get('session_attestation');
        checkRecordedSessionAttestation(
          'attestation',
          {
            privacyEnabled: state.get('privacy_enabled').bool(),
            input: att.get('input_hex').hex(),
            expected: att.get('value_hex').hex(),
            got: node.get('attestation_hex').hex(),
          },
          doc.get('test_keys').get('device_attestation').get('certificate_der_hex').hex(),
        );
      });
    }
    if (call.method === 'closeProvisioningSession') {
      checks.run(`${name} close_session`, () => {
        const cs = state.get('close_session');
        expectBytes('nonce', cs.get('nonce_hex').hex(), callArgs.get('nonce_hex').hex());
        expectBytes('attestation', cs.get('attestation_hex').hex(), item.get('result').hex());
      });
    }
    const auth = item.opt('authorization_computation');
    if (auth !== undefined) {
      checks.run(`${name} authorization`, () => {
        const signed = auth.get('signed_data_hex').hex();
        if (call.method === 'updateKeyManagementKey') {
          expectBytes('signed_data_hex', rollOverSignedData(callArgs.get('keyManagementKey_spki_hex').hex()), signed);
        } else {
          const keyId = targetKeyReference(sessionKey, deviceId, auth.get('target_certificate_der_hex').hex());
          expectBytes('key_id_hex', auth.get('key_id_hex').hex(), keyId);
          expectBytes('signed_data_hex', targetKeyReferenceSignedData(keyId), signed);
        }
        const signer = auth.get('signer_kmk').str();
        const ok = verifyKmkSignature(kmkByName(doc, signer).publicKey, signed, callArgs.get('authorization_hex').hex());
        expectTrue(`authorization does not verify with ${signer}`, ok);
      });
    }
  }
}

/** Runs every static check of a session-layout document. */
export function runSessionFileChecks(doc: JsonNode): CheckResult[] {
  const checks = new CheckList();
  checks.guard('test_keys: vector', () => testKeyChecks(doc, checks));
  let calls: RecordedCall[] = [];
  checks.guard('SKS calls: vector', () => {
    calls = recordedCalls(doc);
  });
  for (const node of doc.get('sessions').items()) {
    const prefix = sessionName(node);
    checks.guard(`${prefix}: vector`, () => {
      const ctx: SessionContext = { doc, session: node, prefix, sessionKey: node.get('session_key_hex').hex(), deviceId: node.get('device_id_hex').hex() };
      checks.guard(`${prefix} session crypto: vector`, () => sessionCryptoChecks(ctx, checks));
      checks.guard(`${prefix} server side: vector`, () => serverSideChecks(ctx, checks));
      checks.guard(`${prefix} certificates: vector`, () => certificateChecks(ctx, checks));
      checks.guard(`${prefix} SKS calls: vector`, () => sessionCallChecks(ctx, calls, checks));
    });
  }
  return checks.results;
}
