/**
 * Verification of a credential-discovery lookup specifier (spec §6.5): its
 * nonce binds it to this session, and its JSF signature by the KMK covers the
 * RFC 8785 (JCS) form of the specifier without `signature.value`.
 */
import { createHash, createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import { encoder } from '../../sks/session-crypto.js';
import { KeyGen2Error, verificationError } from '../errors.js';
import type { LookupSpecifier } from '../messages/index.js';

/** `SHA-256(txt(clientSessionId) ‖ txt(serverSessionId))` (spec §6.5). */
export function lookupNonce(clientSessionId: string, serverSessionId: string): Buffer {
  const data = encoder().str(clientSessionId).str(serverSessionId).toBuffer();
  return createHash('sha256').update(data).digest();
}

/**
 * RFC 8785 canonical JSON of a value parsed from strict JSON: members sorted by
 * UTF-16 code units, ECMAScript number and string serialization.
 */
export function jcs(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new KeyGen2Error('SCHEMA', 'JCS: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(o[k])}`).join(',')}}`;
  }
  throw new KeyGen2Error('INTERNAL', 'JCS: unsupported value');
}

/** The bytes a lookup signature covers: JCS of the wire object with `signature.value` removed. */
export function lookupSignedData(wireSpecifier: unknown): Buffer {
  if (typeof wireSpecifier !== 'object' || wireSpecifier === null) throw new KeyGen2Error('INTERNAL', 'lookup specifier is not an object');
  const spec = { ...(wireSpecifier as Record<string, unknown>) };
  const sig = spec['signature'];
  if (typeof sig !== 'object' || sig === null) throw new KeyGen2Error('INTERNAL', 'lookup specifier without signature');
  const { value: _value, ...rest } = sig as Record<string, unknown>;
  void _value;
  spec['signature'] = rest;
  return Buffer.from(jcs(spec), 'utf8');
}

function verifyJsf(algorithm: string, key: KeyObject, data: Uint8Array, value: Uint8Array): boolean {
  try {
    switch (algorithm) {
      case 'ES256':
        if (key.asymmetricKeyType !== 'ec') return false;
        return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, value);
      case 'RS256':
        if (key.asymmetricKeyType !== 'rsa') return false;
        return verify('sha256', data, key, value);
      case 'PS256':
        if (key.asymmetricKeyType !== 'rsa') return false;
        return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, value);
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/**
 * Checks one lookup specifier: nonce, then signature. `wire` is the same
 * specifier as parsed JSON (the signature covers the text form, which the typed
 * message no longer holds). Throws PROTOCOL for a nonce mismatch and
 * VERIFICATION for a bad signature.
 */
export function verifyLookupSpecifier(
  spec: LookupSpecifier,
  wire: unknown,
  expectedNonce: Uint8Array,
  path: string,
): void {
  if (!Buffer.from(spec.nonce).equals(Buffer.from(expectedNonce))) {
    throw new KeyGen2Error('PROTOCOL', `${path}.nonce: does not bind this session`, { path: `${path}.nonce` });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spec.signature.publicKey), format: 'der', type: 'spki' });
  } catch (e) {
    throw new KeyGen2Error('SCHEMA', `${path}.signature.publicKey: unusable key`, { path: `${path}.signature.publicKey`, cause: e });
  }
  if (!verifyJsf(spec.signature.algorithm, key, lookupSignedData(wire), spec.signature.value)) {
    throw verificationError(`${path}.signature`);
  }
}
