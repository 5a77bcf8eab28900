/**
 * What every KeyGen2 message shares: the envelope (§4.1) and the value types used by several
 * message pairs.
 */

/** The `@context` of all ten messages (§4.1). */
export const KEYGEN2_CONTEXT = 'https://webpki.github.io/keygen2#20190318';

/** Every `@qualifier`, requests and responses in protocol order (§1, §4.1). */
export const QUALIFIERS = [
  'InvocationRequest',
  'InvocationResponse',
  'ProvisioningInitializationRequest',
  'ProvisioningInitializationResponse',
  'CredentialDiscoveryRequest',
  'CredentialDiscoveryResponse',
  'KeyCreationRequest',
  'KeyCreationResponse',
  'ProvisioningFinalizationRequest',
  'ProvisioningFinalizationResponse',
] as const;

/** A KeyGen2 `@qualifier` (§4.1). */
export type Qualifier = (typeof QUALIFIERS)[number];

/** The five issuer → client qualifiers (what a client accepts). */
export const REQUEST_QUALIFIERS = [
  'InvocationRequest',
  'ProvisioningInitializationRequest',
  'CredentialDiscoveryRequest',
  'KeyCreationRequest',
  'ProvisioningFinalizationRequest',
] as const satisfies readonly Qualifier[];

/** The five client → issuer qualifiers (what an issuer accepts). */
export const RESPONSE_QUALIFIERS = [
  'InvocationResponse',
  'ProvisioningInitializationResponse',
  'CredentialDiscoveryResponse',
  'KeyCreationResponse',
  'ProvisioningFinalizationResponse',
] as const satisfies readonly Qualifier[];

/** An ID (§4.3): 1–32 characters in `!`…`~`. */
export type Id = string;

/**
 * A public key as DER SubjectPublicKeyInfo (§4.8), decoded from / encoded to a JWK (§4.7).
 * These bytes are exactly what MACs and attestations cover.
 */
export type PublicKeySpki = Uint8Array;

/** A certificate path (§4.9): DER certificates, end-entity first, each signed by the next. */
export type CertificatePath = readonly Uint8Array[];

/**
 * A target-key reference (§6.9.2): names a key of an earlier session for `updateKey`,
 * `cloneKeyProtection`, `unlockKeys[]` and `deleteKeys[]`. Wire order as written here.
 */
export interface TargetKeyReference {
  /** SHA-256 of the target key's end-entity certificate DER (32 bytes). */
  readonly fingerPrint: Uint8Array;
  /** Session that owns the target key. */
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** KMK signature over `"TargetKeyReference" ‖ keyId` (§5.7). */
  readonly authorization: Uint8Array;
  /** 32-byte MAC of the matching post-operation (§5.5). */
  readonly mac: Uint8Array;
}
