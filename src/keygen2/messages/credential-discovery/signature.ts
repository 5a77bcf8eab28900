/**
 * The lookup-specifier JSF signature (spec §5.7, §6.5) and the lookup nonce.
 *
 * Signed data: the JCS (RFC 8785) form of the whole lookup-specifier object with
 * `signature.value` removed. ES256 values are raw `r ‖ s`; RS256 is PKCS#1 v1.5; PS256 is
 * RSASSA-PSS with a 32-byte salt.
 */
import { createHash } from 'node:crypto';
import { encoder, parseSpki, verifySignature, type SignatureAlgorithmName } from '../../../sks/session-crypto.js';
import { verificationError } from '../../errors.js';
import { canonicalizeJson } from '../../json/serialize.js';
import type { JsonObject } from '../../json/value.js';
import type { LookupSignatureAlgorithm } from './types.js';

/** The algorithms the client accepts (§6.5: SHA-256 based only). */
export const LOOKUP_SIGNATURE_ALGORITHMS: readonly LookupSignatureAlgorithm[] = ['ES256', 'RS256', 'PS256'];

/** JOSE name → session-crypto's verifier (strict lengths; ES256 raw `r ‖ s`, PS256 salt 32). */
const VERIFIER: Readonly<Record<LookupSignatureAlgorithm, SignatureAlgorithmName>> = {
  ES256: 'ECDSA-SHA256',
  RS256: 'RSA-SHA256',
  PS256: 'RSA-PSS-SHA256',
};

/**
 * The lookup `nonce`: `SHA-256(txt(clientSessionId) ‖ txt(serverSessionId))` (§6.5).
 * @example lookupNonce('bt00Dw1MFY-O8nEpp97GTyZtqpFESmnb', 'Srv.Example.0001') // 8239d014… (§14.3)
 */
export function lookupNonce(clientSessionId: string, serverSessionId: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(encoder().str(clientSessionId).str(serverSessionId).toBuffer()).digest());
}

/**
 * The bytes a lookup signature covers: JCS of the specifier object, whose `signature` member
 * must not contain `value` (§6.5).
 */
export function lookupSignedData(specifierWithoutValue: JsonObject): Uint8Array {
  return new Uint8Array(Buffer.from(canonicalizeJson(specifierWithoutValue), 'utf8'));
}

/**
 * Verifies a lookup signature; throws VERIFICATION (always the same message) at `path` when the
 * value does not verify or the key does not fit the algorithm (ES256 needs P-256, RS256/PS256 RSA).
 */
export function verifyLookupSignature(
  algorithm: LookupSignatureAlgorithm,
  publicKey: Uint8Array,
  signedData: Uint8Array,
  value: Uint8Array,
  path: string,
): void {
  let ok = false;
  try {
    const key = parseSpki(publicKey);
    // ES256 is P-256 only; the verifier itself refuses a key of the wrong type or a wrong length.
    if (algorithm !== 'ES256' || key.asymmetricKeyDetails?.namedCurve === 'prime256v1') ok = verifySignature(key, VERIFIER[algorithm], signedData, value);
  } catch {
    ok = false;
  }
  if (!ok) throw verificationError(path);
}
