/**
 * The device's check of a credential-discovery lookup specifier (spec §6.5):
 * its nonce binds it to this session, and its JSF signature by the KMK covers
 * the JCS form of the specifier without `signature.value`.
 *
 * The strict decoder already makes both checks against the ids carried in the
 * message; the client repeats them against its own session ids, so that what
 * it answers never depends on a decoder side effect. The nonce, signed-data
 * and signature primitives are the messages module's (one copy in the code base).
 */
import { KeyGen2Error } from '../errors.js';
import { lookupSpecifierSignedData, verifyLookupSignature, type LookupSpecifier } from '../messages/index.js';

/**
 * Checks one lookup specifier: nonce (PROTOCOL on mismatch), then signature
 * (VERIFICATION, always the same message).
 */
export function verifyLookupSpecifier(spec: LookupSpecifier, expectedNonce: Uint8Array, path: string): void {
  if (!Buffer.from(spec.nonce).equals(Buffer.from(expectedNonce))) {
    throw new KeyGen2Error('PROTOCOL', `${path}.nonce: does not bind this session`, { path: `${path}.nonce` });
  }
  const { value, ...unsigned } = spec.signature;
  const signed = lookupSpecifierSignedData({ ...spec, signature: unsigned });
  verifyLookupSignature(spec.signature.algorithm, spec.signature.publicKey, signed, value, `${path}.signature.value`);
}
