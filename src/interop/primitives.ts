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

function fieldLabel(f: JsonNode): string {
  const v = f.opt('value');
  if (v !== undefined) return `${f.get('type').str()} ${short(JSON.stringify(v.value))}`;
  const h = f.get('value_hex').str();
  return `${f.get('type').str()} ${h.length / 2} bytes`;
}

function byteEncodingChecks(doc: JsonNode, checks: CheckList): void {
  const be = doc.get('byte_encoding');
  be.get('cases')
    .items()
    .forEach((c, i) => {
      checks.run(`byte_encoding[${i}] ${fieldLabel(c)}`, () => {
        const enc = encoder();
        encodeField(enc, c);
        expectBytes('encoding', c.get('encoding_hex').hex(), enc.toBuffer());
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
    .forEach((c, i) => {
      const privacy = c.get('privacy_enabled').bool();
      const prefix = `create_provisioning_session[${i}] ${c.opt('curve')?.str() ?? ''} privacy ${privacy ? 'on' : 'off'}`;
      checks.guard(`${prefix}: vector`, () => {
        const server = recordedKey(c.get('server_ephemeral_key'));
        const client = recordedKey(c.get('client_ephemeral_key'));
        const z = c.get('ecdh_z_hex').hex();
        const sessionKey = c.get('session_key_hex').hex();
        const deviceId = c.get('device_id_hex').hex();
        checks.run(`${prefix} ephemeral key objects`, () => {
          checkKeyObjectConsistency(c.get('server_ephemeral_key'));
          checkKeyObjectConsistency(c.get('client_ephemeral_key'));
        });
        checks.run(`${prefix} ECDH server private x client public`, () => {
          if (server.privateKey === undefined) throw new Mismatch('server ephemeral private key missing');
          expectBytes('Z', z, ecdh(server.privateKey, client.publicKey));
        });
        checks.run(`${prefix} ECDH client private x server public`, () => {
          if (client.privateKey === undefined) throw new Mismatch('client ephemeral private key missing');
          expectBytes('Z', z, ecdh(client.privateKey, server.publicKey));
        });
        checks.run(`${prefix} device ID`, () => {
          expectBytes('device_id_hex', deviceIdFor(privacy, device.certificate), deviceId);
        });
        const clientSessionId = c.get('client_session_id').str();
        const serverSessionId = c.get('server_session_id').str();
        const issuerUri = c.get('issuer_uri').str();
        checks.run(`${prefix} KDF input`, () => {
          expectBytes('kdf_input_hex', c.get('kdf_input_hex').hex(), sessionKdfInput(clientSessionId, serverSessionId, issuerUri, deviceId));
        });
        checks.run(`${prefix} session key`, () => {
          expectBytes('session_key_hex', sessionKey, deriveSessionKey(z, c.get('kdf_input_hex').hex()));
        });
        const input = c.get('attestation_input_hex').hex();
        checks.run(`${prefix} attestation input`, () => {
          const rebuilt = sessionAttestationInput({
            clientSessionId,
            serverSessionId,
            issuerUri,
            deviceId,
            sessionKeyAlgorithm: c.get('session_key_algorithm').str(),
            privacyEnabled: privacy,
            serverEphemeralKey: server.spki,
            clientEphemeralKey: client.spki,
            keyManagementKey: c.get('key_management_key_spki_hex').hex(),
            clientTime: c.get('client_time').int(),
            sessionLifeTime: c.get('session_life_time').int(),
            sessionKeyLimit: c.get('session_key_limit').int(),
            serverCertificate: c.get('server_certificate_der_hex').hex(),
          });
          expectBytes('attestation_input_hex', input, rebuilt);
        });
        checks.run(`${prefix} attestation`, () => {
          checkSessionAttestation(
            { privacyEnabled: privacy, input, value: c.get('attestation_hex').hex(), sessionKey },
            { certificate: device.certificate, privateKey: device.privateKey },
          );
        });
      });
    });
}

function macChecks(doc: JsonNode, checks: CheckList): void {
  const one = (name: string, c: JsonNode, valueKey: string): void => {
    checks.run(name, () => {
      const sessionKey = c.get('session_key_hex').hex();
      expectBytes('hmac_key_hex', c.get('hmac_key_hex').hex(), Buffer.concat([sessionKey, c.get('key_modifier_hex').hex()]));
      checkHmacComputation(c, sessionKey, c.get(valueKey).hex(), valueKey);
    });
  };
  doc
    .get('provisioning_method_macs')
    .items()
    .forEach((c, i) => {
      const subType = c.optValue('sub_type');
      const label = `${c.get('sks_method').str()}${subType === undefined ? '' : ` subType ${String(subType.value)}`}`;
      one(`provisioning_method_macs[${i}] ${label}`, c, 'mac_hex');
    });
  one('key_attestation', doc.get('key_attestation'), 'attestation_hex');
  one('close_attestation', doc.get('close_attestation'), 'attestation_hex');
}

function kmkChecks(doc: JsonNode, checks: CheckList): void {
  const t = doc.get('target_key_reference');
  checks.run('target_key_reference key ID', () => {
    const keyId = targetKeyReference(t.get('session_key_hex').hex(), t.get('device_id_hex').hex(), t.get('target_certificate_der_hex').hex());
    expectBytes('key_id_hex', t.get('key_id_hex').hex(), keyId);
  });
  checks.run('target_key_reference signed data', () => {
    expectBytes('signed_data_hex', t.get('signed_data_hex').hex(), targetKeyReferenceSignedData(t.get('key_id_hex').hex()));
  });
  checks.run('target_key_reference authorization', () => {
    const ok = verifyKmkSignature(parseSpki(t.get('kmk_spki_hex').hex()), t.get('signed_data_hex').hex(), t.get('authorization_hex').hex());
    expectTrue(`authorization does not verify with ${t.get('kmk').str()}`, ok);
  });
  const r = doc.get('kmk_rollover_authorization');
  checks.run('kmk_rollover_authorization signed data', () => {
    expectBytes('signed_data_hex', r.get('signed_data_hex').hex(), rollOverSignedData(r.get('new_kmk_spki_hex').hex()));
  });
  checks.run('kmk_rollover_authorization authorization', () => {
    const ok = verifyKmkSignature(parseSpki(r.get('current_kmk_spki_hex').hex()), r.get('signed_data_hex').hex(), r.get('authorization_hex').hex());
    expectTrue(`authorization does not verify with ${r.get('current_kmk').str()}`, ok);
  });
}

function encryptionChecks(doc: JsonNode, checks: CheckList): void {
  doc
    .get('encryptions')
    .items()
    .forEach((e, i) => {
      const prefix = `encryptions[${i}] ${e.opt('what')?.str() ?? ''}`;
      checks.run(`${prefix} encryption key`, () => {
        expectBytes('encryption_key_hex', e.get('encryption_key_hex').hex(), encryptionKey(e.get('session_key_hex').hex()));
      });
      checks.run(`${prefix} encrypt`, () => {
        const got = encryptForSks(e.get('encryption_key_hex').hex(), e.get('plaintext_hex').hex(), e.get('iv_hex').hex());
        expectBytes('iv_and_ciphertext_hex', e.get('iv_and_ciphertext_hex').hex(), got);
      });
      checks.run(`${prefix} decrypt`, () => {
        const got = decryptFromIssuer(e.get('encryption_key_hex').hex(), e.get('iv_and_ciphertext_hex').hex());
        expectBytes('plaintext_hex', e.get('plaintext_hex').hex(), got);
      });
    });
}

function signatureChecks(doc: JsonNode, checks: CheckList): void {
  doc
    .get('signatures')
    .items()
    .forEach((s, i) => {
      const algorithm = s.get('algorithm').str();
      const prefix = `signatures[${i}] ${algorithm.slice(algorithm.indexOf('#') + 1)}`;
      checks.run(`${prefix} signer key object`, () => checkKeyObjectConsistency(s.get('signer_key')));
      checks.run(`${prefix} verify`, () => {
        const key = recordedKey(s.get('signer_key'));
        const ok = verifySignature(key.publicKey, signatureHashOf(algorithm), s.get('data_hex').hex(), s.get('signature_hex').hex());
        expectTrue('signature does not verify with the signer key', ok);
      });
      const key = recordedKey(s.get('signer_key'));
      if (key.privateKey !== undefined && deterministicSigner(key.privateKey)) {
        const privateKey = key.privateKey;
        checks.run(`${prefix} re-sign`, () => {
          const ours = signBytes(privateKey, signatureHashOf(algorithm), s.get('data_hex').hex());
          expectBytes('signature_hex', s.get('signature_hex').hex(), ours);
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
