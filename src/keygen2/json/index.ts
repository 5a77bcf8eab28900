/** Strict JSON for KeyGen2 (spec §4): parser, typed readers, writer, base64url, JWK, date-times. */
export * from './value.js';
export * from './path.js';
export { parseJson, decodeUtf8, isWellFormed, MAX_DEPTH } from './parse.js';
export * from './reader.js';
export * from './serialize.js';
export * from './base64url.js';
export * from './date-time.js';
export * from './id.js';
export { readPublicKey, publicKeyToJwk, canonicalSpki, describePublicKey, type JwkPolicy, type KeyType } from './jwk.js';
export { readCertificatePath, checkCertificatePath, isCaCertificate } from './certificate-path.js';
