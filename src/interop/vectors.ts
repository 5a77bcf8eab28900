/**
 * Helpers shared by the primitive, session-file and replay checks: the field
 * encodings of `input_fields`, the recorded key objects, ECDH and signature
 * verification in the formats of spec §1.4.
 */
import { createPrivateKey, createPublicKey, diffieHellman, verify, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { lookupAlgorithm, type HashName } from '../sks/algorithms.js';
import { encoder, type ByteEncoder } from '../sks/crypto/encoding.js';
import { hmacSha256, sessionAttestationInput, type SessionAttestationFields } from '../sks/crypto/primitives.js';
import { parsePkcs8, parseSpki, signBytes, spkiOf } from '../sks/crypto/keys.js';
import { expectBytes, Mismatch } from './check.js';
import { VectorFormatError, type JsonNode } from './json.js';

/** Appends one `{type, value | value_hex}` field (README "Byte encoding") to `enc`. */
export function encodeField(enc: ByteEncoder, field: JsonNode): void {
  const type = field.get('type').str();
  switch (type) {
    case 'string':
      enc.str(field.get('value').str());
      return;
    case 'array':
      enc.arr(field.get('value_hex').hex());
      return;
    case 'blob':
      enc.blob(field.get('value_hex').hex());
      return;
    case 'bool':
      enc.bool(field.get('value').bool());
      return;
    case 'byte':
      enc.u8(field.get('value').int());
      return;
    case 'short':
      enc.u16(field.get('value').int());
      return;
    case 'int':
      enc.u32(field.get('value').int());
      return;
    default:
      throw new VectorFormatError(`${field.path}.type: unknown field type "${type}"`);
  }
}

/** The concatenated encoding of an `input_fields` list. */
export function encodeFields(fields: JsonNode): Buffer {
  const enc = encoder();
  for (const node of fields.items()) encodeField(enc, node);
  return enc.toBuffer();
}

/** `ASCII(method or label) ‖ u16(counter)`: the key modifier of spec §5.5. */
export const counterKeyModifier = (label: string, counter: number): Buffer => encoder().raw(Buffer.from(label, 'ascii')).u16(counter).toBuffer();

/**
 * Checks one `{key_modifier_hex, input_hex, input_fields?, method_or_label?, counter?}`
 * computation: the modifier follows spec §5.5, the fields encode to the input,
 * and HMAC(sessionKey ‖ modifier, input) equals `expectedMac`.
 */
export function checkHmacComputation(node: JsonNode, sessionKey: Uint8Array, expectedMac: Uint8Array, what = 'mac'): void {
  const modifier = node.get('key_modifier_hex').hex();
  const label = node.optValue('method_or_label');
  const counter = node.optValue('counter');
  if (label !== undefined && counter !== undefined) {
    expectBytes('key_modifier_hex', counterKeyModifier(label.str(), counter.int()), modifier);
  }
  const input = node.get('input_hex').hex();
  const fields = node.opt('input_fields');
  if (fields !== undefined) expectBytes('input_fields encoding', input, encodeFields(fields));
  expectBytes(what, expectedMac, hmacSha256(Buffer.concat([sessionKey, modifier]), input));
}

/** A recorded key object (README "Key object") with its public key and, when known, its private key. */
export interface RecordedKey {
  readonly type: string;
  readonly spki: Buffer;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject | undefined;
}

export function recordedKey(node: JsonNode): RecordedKey {
  const spki = node.get('spki_hex').hex();
  const pkcs8 = node.optValue('pkcs8_hex');
  return {
    type: node.get('type').str(),
    spki,
    publicKey: parseSpki(spki),
    privateKey: pkcs8 === undefined ? undefined : parsePkcs8(pkcs8.hex()),
  };
}

const PRIVATE_JWK_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);

/**
 * The three forms of a key object describe the same key: the SPKI is canonical,
 * the PKCS#8 and the JWK (public members, and `d` when present) yield it.
 */
export function checkKeyObjectConsistency(node: JsonNode): void {
  const key = recordedKey(node);
  expectBytes('spki_hex is canonical', key.spki, spkiOf(key.publicKey));
  if (key.privateKey !== undefined) {
    expectBytes('public key of pkcs8_hex', key.spki, spkiOf(createPublicKey(key.privateKey)));
  }
  const jwkNode = node.optValue('jwk');
  if (jwkNode === undefined) return;
  const jwk: Partial<Record<string, string>> = {};
  for (const [entry, value] of jwkNode.entries()) jwk[entry] = value.str();
  const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_JWK_MEMBERS.has(k))) as JsonWebKey;
  expectBytes('SPKI of the public JWK', key.spki, spkiOf(createPublicKey({ key: publicJwk, format: 'jwk' })));
  if (jwk['d'] !== undefined) {
    const priv = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    expectBytes('public key of the private JWK', key.spki, spkiOf(createPublicKey(priv)));
  }
}

/** Raw ECDH `Z` (x-coordinate, field length). */
export const ecdh = (privateKey: KeyObject, publicKey: KeyObject): Buffer => diffieHellman({ privateKey, publicKey });

/**
 * Verifies a signature in the SKS formats (spec §1.4): RSA PKCS#1 v1.5, ECDSA raw
 * R‖S, Ed25519 pure (`hash` ignored).
 */
export function verifySignature(publicKey: KeyObject, hash: HashName, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (publicKey.asymmetricKeyType) {
      case 'rsa':
        return verify(hash, data, publicKey, signature);
      case 'ec':
        return verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
      case 'ed25519':
        return verify(null, data, publicKey, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** The hash of a signature algorithm URI (`…#rsa-sha256`, `…#ecdsa-sha384`, …). */
export function signatureHashOf(algorithmUri: string): HashName {
  const descriptor = lookupAlgorithm(algorithmUri);
  if (descriptor !== undefined && (descriptor.operation.op === 'rsa-sign' || descriptor.operation.op === 'ecdsa-sign')) return descriptor.operation.hash;
  if (descriptor?.operation.op === 'ed25519-sign') return 'sha256';
  throw new Mismatch(`not a signature algorithm: ${algorithmUri}`);
}

/** Whether signatures by this key are deterministic (RSA PKCS#1 v1.5, Ed25519) and can be compared byte for byte. */
export const deterministicSigner = (key: KeyObject): boolean => key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'ed25519';

export const certificate = (der: Uint8Array): X509Certificate => new X509Certificate(Buffer.from(der));

/** DER SPKI of a certificate's subject key. */
export const certificateSpki = (der: Uint8Array): Buffer => spkiOf(certificate(der).publicKey);

/** Seconds since the epoch of an ISO 8601 date-time with offset (`2026-11-27T18:21:14+01:00`). */
export function epochSecondsOf(wire: string): number {
  const ms = Date.parse(wire);
  if (Number.isNaN(ms)) throw new Mismatch(`not a date-time: ${wire}`);
  return Math.floor(ms / 1000);
}

/** Inputs of the session attestation (spec §5.3); the builder is the one both sides of a session use. */
export type SessionAttestationParameters = SessionAttestationFields;
export { sessionAttestationInput };

/**
 * Checks a session attestation (spec §5.3): HMAC(sessionKey, A) in privacy mode;
 * otherwise a SHA-256 signature that verifies with the device certificate and,
 * for a deterministic device key (RSA PKCS#1 v1.5), equals our own signature
 * byte for byte. An ECDSA signature is randomized: it is only verified, and the
 * device private key is not needed.
 */
export function checkSessionAttestation(
  args: { readonly privacyEnabled: boolean; readonly input: Uint8Array; readonly value: Uint8Array; readonly sessionKey: Uint8Array },
  device: { readonly certificate: Uint8Array; readonly privateKey: KeyObject | undefined },
): void {
  if (args.privacyEnabled) {
    expectBytes('HMAC(session_key, attestation input)', args.value, hmacSha256(args.sessionKey, args.input));
    return;
  }
  const publicKey = certificate(device.certificate).publicKey;
  if (!verifySignature(publicKey, 'sha256', args.input, args.value)) {
    throw new Mismatch(`${publicKey.asymmetricKeyType ?? ''} device signature does not verify with the device certificate`);
  }
  if (!deterministicSigner(publicKey)) return;
  if (device.privateKey === undefined) throw new Mismatch('device private key missing (needed to re-sign a deterministic attestation)');
  expectBytes('re-signed with the device key', args.value, signBytes(device.privateKey, 'sha256', args.input));
}

/**
 * Whether two recorded values of one session attestation must be equal byte for
 * byte: yes for an HMAC and a deterministic device signature; an ECDSA one is
 * randomized, so each value is verified with the device certificate instead.
 */
export function checkRecordedSessionAttestation(
  what: string,
  args: { readonly privacyEnabled: boolean; readonly input: Uint8Array; readonly expected: Uint8Array; readonly got: Uint8Array },
  deviceCertificate: Uint8Array,
): void {
  const publicKey = certificate(deviceCertificate).publicKey;
  if (args.privacyEnabled || deterministicSigner(publicKey)) {
    expectBytes(what, args.expected, args.got);
    return;
  }
  if (!verifySignature(publicKey, 'sha256', args.input, args.got)) {
    throw new Mismatch(`${what}: the ${publicKey.asymmetricKeyType ?? ''} device signature does not verify with the device certificate`);
  }
}
