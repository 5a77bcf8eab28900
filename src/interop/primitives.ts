/**
 * Checks of a file in the `sks-primitives.json` layout (interop README,
 * "sks-primitives.json: layout"): byte encodings, session key and attestation,
 * method MACs, attestations, target key reference, KMK roll-over, issuer
 * encryption and signature formats, each recomputed with our own primitives.
 */
import { encoder } from '../sks/crypto/encoding.js';
import { parseSpki, signBytes, verifyKmkSignature } from '../sks/crypto/keys.js';
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
import { CheckList, expectBytes, expectTrue, Mismatch, type CheckResult } from './check.js';
import type { JsonNode } from './json.js';
import {
  checkHmacComputation,
  checkKeyObjectConsistency,
  checkSessionAttestation,
  deterministicSigner,
  ecdh,
  encodeField,
  encodeFields,
  recordedKey,
  sessionAttestationInput,
  signatureHashOf,
  verifySignature,
} from './vectors.js';

const short = (s: string, max = 40): string => (s.length <= max ? s : `${s.slice(0, max)}…`);

function fieldLabel(node: JsonNode): string {
  const val = node.opt('value');
  if (val !== undefined) return `${node.get('type').str()} ${short(JSON.stringify(val.value))}`;
  const text = node.get('value_hex').str();
  return `${node.get('type').str()} ${text.length / 2} bytes`;
}

function byteEncodingChecks(doc: JsonNode, checks: CheckList): void {
  const be = doc.get('byte_encoding');
  be.get('cases')
    .items()
    .forEach((node, index) => {
      checks.run(`byte_encoding[${index}] ${fieldLabel(node)}`, () => {
        const enc = encoder();
        encodeField(enc, node);
        expectBytes('encoding', node.get('encoding_hex').hex(), enc.toBuffer());
      });
    });
  checks.run('byte_encoding composite_example', () => {
    const ex = be.get('composite_example');
    expectBytes('encoding', ex.get('encoding_hex').hex(), encodeFields(ex.get('fields')));
  });
}

function createProvisioningSessionChecks(doc: JsonNode, checks: CheckList): void {
  const dak = doc.get('device_attestation_key');
  const device = { certificate: dak.get('certificate_der_hex').hex(), privateKey: recordedKey(dak.get('private_key')).privateKey };
  doc
    .get('create_provisioning_session')
    .items()
    .forEach((node, index) => {
      const privacy = node.get('privacy_enabled').bool();
      const prefix = `create_provisioning_session[${index}] ${node.opt('curve')?.str() ?? ''} privacy ${privacy ? 'on' : 'off'}`;
      checks.guard(`${prefix}: vector`, () => {
        const server = recordedKey(node.get('server_ephemeral_key'));
        const client = recordedKey(node.get('client_ephemeral_key'));
        const bytes = node.get('ecdh_z_hex').hex();
        const sessionKey = node.get('session_key_hex').hex();
        const deviceId = node.get('device_id_hex').hex();
        checks.run(`${prefix} ephemeral key objects`, () => {
          checkKeyObjectConsistency(node.get('server_ephemeral_key'));
          checkKeyObjectConsistency(node.get('client_ephemeral_key'));
        });
        checks.run(`${prefix} ECDH server private x client public`, () => {
          if (server.privateKey === undefined) throw new Mismatch('server ephemeral private key missing');
          expectBytes('Z', bytes, ecdh(server.privateKey, client.publicKey));
        });
        checks.run(`${prefix} ECDH client private x server public`, () => {
          if (client.privateKey === undefined) throw new Mismatch('client ephemeral private key missing');
          expectBytes('Z', bytes, ecdh(client.privateKey, server.publicKey));
        });
        checks.run(`${prefix} device ID`, () => {
          expectBytes('device_id_hex', deviceIdFor(privacy, device.certificate), deviceId);
        });
        const clientSessionId = node.get('client_session_id').str();
        const serverSessionId = node.get('server_session_id').str();
        const issuerUri = node.get('issuer_uri').str();
        checks.run(`${prefix} KDF input`, () => {
          expectBytes('kdf_input_hex', node.get('kdf_input_hex').hex(), sessionKdfInput(clientSessionId, serverSessionId, issuerUri, deviceId));
        });
        checks.run(`${prefix} session key`, () => {
          expectBytes('session_key_hex', sessionKey, deriveSessionKey(bytes, node.get('kdf_input_hex').hex()));
        });
        const input = node.get('attestation_input_hex').hex();
        checks.run(`${prefix} attestation input`, () => {
          const rebuilt = sessionAttestationInput({
            clientSessionId,
            serverSessionId,
            issuerUri,
            deviceId,
            sessionKeyAlgorithm: node.get('session_key_algorithm').str(),
            privacyEnabled: privacy,
            serverEphemeralKey: server.spki,
            clientEphemeralKey: client.spki,
            keyManagementKey: node.get('key_management_key_spki_hex').hex(),
            clientTime: node.get('client_time').int(),
            sessionLifeTime: node.get('session_life_time').int(),
            sessionKeyLimit: node.get('session_key_limit').int(),
            serverCertificate: node.get('server_certificate_der_hex').hex(),
          });
          expectBytes('attestation_input_hex', input, rebuilt);
        });
        checks.run(`${prefix} attestation`, () => {
          checkSessionAttestation(
            { privacyEnabled: privacy, input, value: node.get('attestation_hex').hex(), sessionKey },
            { certificate: device.certificate, privateKey: device.privateKey },
          );
        });
      });
    });
}

function macChecks(doc: JsonNode, checks: CheckList): void {
  const one = (name: string, node: JsonNode, valueKey: string): void => {
    checks.run(name, () => {
      const sessionKey = node.get('session_key_hex').hex();
      expectBytes('hmac_key_hex', node.get('hmac_key_hex').hex(), Buffer.concat([sessionKey, node.get('key_modifier_hex').hex()]));
      checkHmacComputation(node, sessionKey, node.get(valueKey).hex(), valueKey);
    });
  };
  doc
    .get('provisioning_method_macs')
    .items()
    .forEach((node, index) => {
      const subType = node.optValue('sub_type');
      const label = `${node.get('sks_method').str()}${subType === undefined ? '' : ` subType ${String(subType.value)}`}`;
      one(`provisioning_method_macs[${index}] ${label}`, node, 'mac_hex');
    });
  one('key_attestation', doc.get('key_attestation'), 'attestation_hex');
  one('close_attestation', doc.get('close_attestation'), 'attestation_hex');
}

function kmkChecks(doc: JsonNode, checks: CheckList): void {
  const node = doc.get('target_key_reference');
  checks.run('target_key_reference key ID', () => {
    const keyId = targetKeyReference(node.get('session_key_hex').hex(), node.get('device_id_hex').hex(), node.get('target_certificate_der_hex').hex());
    expectBytes('key_id_hex', node.get('key_id_hex').hex(), keyId);
  });
  checks.run('target_key_reference signed data', () => {
    expectBytes('signed_data_hex', node.get('signed_data_hex').hex(), targetKeyReferenceSignedData(node.get('key_id_hex').hex()));
  });
  checks.run('target_key_reference authorization', () => {
    const ok = verifyKmkSignature(parseSpki(node.get('kmk_spki_hex').hex()), node.get('signed_data_hex').hex(), node.get('authorization_hex').hex());
    expectTrue(`authorization does not verify with ${node.get('kmk').str()}`, ok);
  });
  const result = doc.get('kmk_rollover_authorization');
  checks.run('kmk_rollover_authorization signed data', () => {
    expectBytes('signed_data_hex', result.get('signed_data_hex').hex(), rollOverSignedData(result.get('new_kmk_spki_hex').hex()));
  });
  checks.run('kmk_rollover_authorization authorization', () => {
    const ok = verifyKmkSignature(
      parseSpki(result.get('current_kmk_spki_hex').hex()),
      result.get('signed_data_hex').hex(),
      result.get('authorization_hex').hex(),
    );
    expectTrue(`authorization does not verify with ${result.get('current_kmk').str()}`, ok);
  });
}

function encryptionChecks(doc: JsonNode, checks: CheckList): void {
  doc
    .get('encryptions')
    .items()
    .forEach((node, index) => {
      const prefix = `encryptions[${index}] ${node.opt('what')?.str() ?? ''}`;
      checks.run(`${prefix} encryption key`, () => {
        expectBytes('encryption_key_hex', node.get('encryption_key_hex').hex(), encryptionKey(node.get('session_key_hex').hex()));
      });
      checks.run(`${prefix} encrypt`, () => {
        const got = encryptForSks(node.get('encryption_key_hex').hex(), node.get('plaintext_hex').hex(), node.get('iv_hex').hex());
        expectBytes('iv_and_ciphertext_hex', node.get('iv_and_ciphertext_hex').hex(), got);
      });
      checks.run(`${prefix} decrypt`, () => {
        const got = decryptFromIssuer(node.get('encryption_key_hex').hex(), node.get('iv_and_ciphertext_hex').hex());
        expectBytes('plaintext_hex', node.get('plaintext_hex').hex(), got);
      });
    });
}

function signatureChecks(doc: JsonNode, checks: CheckList): void {
  doc
    .get('signatures')
    .items()
    .forEach((node, index) => {
      const algorithm = node.get('algorithm').str();
      const prefix = `signatures[${index}] ${algorithm.slice(algorithm.indexOf('#') + 1)}`;
      checks.run(`${prefix} signer key object`, () => checkKeyObjectConsistency(node.get('signer_key')));
      checks.run(`${prefix} verify`, () => {
        const key = recordedKey(node.get('signer_key'));
        const ok = verifySignature(key.publicKey, signatureHashOf(algorithm), node.get('data_hex').hex(), node.get('signature_hex').hex());
        expectTrue('signature does not verify with the signer key', ok);
      });
      const key = recordedKey(node.get('signer_key'));
      if (key.privateKey !== undefined && deterministicSigner(key.privateKey)) {
        const privateKey = key.privateKey;
        checks.run(`${prefix} re-sign`, () => {
          const ours = signBytes(privateKey, signatureHashOf(algorithm), node.get('data_hex').hex());
          expectBytes('signature_hex', node.get('signature_hex').hex(), ours);
        });
      }
    });
}

/** Runs every check of a primitives-layout document. */
export function runPrimitiveChecks(doc: JsonNode): CheckResult[] {
  const checks = new CheckList();
  checks.guard('byte_encoding: vector', () => byteEncodingChecks(doc, checks));
  checks.guard('create_provisioning_session: vector', () => createProvisioningSessionChecks(doc, checks));
  checks.guard('provisioning MACs: vector', () => macChecks(doc, checks));
  checks.guard('KMK authorizations: vector', () => kmkChecks(doc, checks));
  checks.guard('encryptions: vector', () => encryptionChecks(doc, checks));
  checks.guard('signatures: vector', () => signatureChecks(doc, checks));
  return checks.results;
}
