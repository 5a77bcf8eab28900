/**
 * The session cryptography that both ends of a provisioning session compute
 * (spec §5): the byte encoding of MAC inputs, the session-key KDF, method MACs,
 * attestation inputs, issuer-side encryption, target key references and KMK
 * signed data, property-bag bytes. The SKS imports it to verify; the KeyGen2 issuer imports it to
 * compute. It loads node:crypto only: no store, no X.509 library.
 *
 * Exported as `airtight/sks/session-crypto`.
 */
export { ByteEncoder, encoder } from './crypto/encoding.js';
export { MacData, type KeyEntryMacFields, type PinPolicyMacFields } from './crypto/mac-data.js';
export {
  decryptFromIssuer,
  deriveSessionKey,
  deviceIdFor,
  encryptForSks,
  encryptionKey,
  hmacSha256,
  macEquals,
  macKey,
  methodMac,
  rollOverSignedData,
  sessionAttestationInput,
  sessionKdfInput,
  targetKeyReference,
  targetKeyReferenceSignedData,
  wipe,
  type SessionAttestationFields,
} from './crypto/primitives.js';
export {
  spkiOf,
  parseSpki,
  parseNamedCurveSpki,
  canonicalEcPoint,
  ecSpkiOfPoint,
  parsePkcs8,
  pkcs8Of,
  verifyKmkSignature,
  signBytes,
  keysMatch,
} from './crypto/keys.js';
export { SIGNATURE_ALGORITHM_NAMES, verifySignature, type SignatureAlgorithmName } from './crypto/verify.js';
/** EC key pairs as raw bytes, and the reused per-curve ECDH objects, for an issuer's ephemeral keys (see crypto/keygen.ts). */
export { generateRawEcKeyPair, reusableEcdh, type RawEcKeyPair } from './crypto/keygen.js';
export { Kdf, MacMethod, type MacMethodName } from './constants.js';
/** Property bags (KeyGen2 §6.9.4): the issuer MACs the same bytes the client sends. */
export { encodePropertyBag, parsePropertyBag, isValidPropertyBag, type Property } from './extensions/property-bag.js';
