/**
 * The lookup-specifier JSF signature (spec §5.7, §6.5) and the lookup nonce.
 *
 * Signed data: the JCS (RFC 8785) form of the whole lookup-specifier object with
 * `signature.value` removed. ES256 values are raw `r ‖ s`; RS256 is PKCS#1 v1.5; PS256 is
 * RSASSA-PSS with a 32-byte salt.
 */
import { constants, createHash, createPublicKey, verify } from 'node:crypto';
import { verificationError } from '../../errors.js';
import { describePublicKey } from '../../json/jwk.js';
import { canonicalizeJson } from '../../json/serialize.js';
import type { JsonObject } from '../../json/value.js';
import type { LookupSignatureAlgorithm } from './types.js';

/** The algorithms the client accepts (§6.5: SHA-256 based only). */
export const LOOKUP_SIGNATURE_ALGORITHMS: readonly LookupSignatureAlgorithm[] = ['ES256', 'RS256', 'PS256'];

const txt = (text: string): Buffer => {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
};

/**
 * The lookup `nonce`: `SHA-256(txt(clientSessionId) ‖ txt(serverSessionId))` (§6.5).
 * @example lookupNonce('bt00Dw1MFY-O8nEpp97GTyZtqpFESmnb', 'Srv.Example.0001') // 8239d014… (§14.3)
 */
export function lookupNonce(clientSessionId: string, serverSessionId: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(txt(clientSessionId)).update(txt(serverSessionId)).digest());
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
    const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
    const data = describePublicKey(publicKey);
    if (algorithm === 'ES256') {
      ok = data.kty === 'EC' && data.crv === 'P-256' && value.length === 64 && verify('sha256', signedData, { key, dsaEncoding: 'ieee-p1363' }, value);
    } else if (data.kty === 'RSA') {
      ok =
        algorithm === 'RS256'
          ? verify('sha256', signedData, key, value)
          : verify('sha256', signedData, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, value);
    }
  } catch {
    ok = false;
  }
  if (!ok) throw verificationError(path);
}
