/** CredentialDiscoveryRequest / CredentialDiscoveryResponse (spec §6.5, §6.6, §9). */
import type { DateTime } from '../../json/date-time.js';
import type { AppUsage, Grouping } from '../enums.js';
import type { CertificatePath, Id, PublicKeySpki } from '../common.js';

/** JOSE algorithms a lookup signature may use (§6.5: SHA-256 based only). */
export type LookupSignatureAlgorithm = 'ES256' | 'RS256' | 'PS256';

/** A JSF signature object (§6.5): exactly `algorithm`, `publicKey`, `value`. */
export interface JsfSignature {
  readonly algorithm: LookupSignatureAlgorithm;
  /** The KMK whose keys are looked up (its JWK `crv` is a JOSE name). */
  readonly publicKey: PublicKeySpki;
  /** ES256: raw `r ‖ s`; RS256/PS256: the RSA signature. */
  readonly value: Uint8Array;
}

/** `searchFilter` (§6.5): every present member must match (AND); at least one member. */
export interface SearchFilter {
  /** 32 bytes: SHA-256 of any certificate of the path. */
  readonly fingerPrint?: Uint8Array;
  /** Java regex, full match, over the Java RFC 2253 issuer DN of any certificate. */
  readonly issuerRegEx?: string;
  /** Decimal integer text, e.g. `"123"`. */
  readonly serialNumber?: string;
  readonly subjectRegEx?: string;
  readonly emailRegEx?: string;
  /** `OID` or `-OID`; non-empty, no duplicates. */
  readonly policyRules?: readonly string[];
  /** Key-usage names, optionally `-`-prefixed; non-empty, no duplicates. */
  readonly keyUsageRules?: readonly string[];
  /** EKU OIDs, optionally `-`-prefixed; non-empty, no duplicates. */
  readonly extendedKeyUsageRules?: readonly string[];
  /** UTC (§4.6). */
  readonly issuedBefore?: DateTime;
  /** UTC (§4.6). */
  readonly issuedAfter?: DateTime;
  readonly grouping?: Grouping;
  readonly appUsage?: AppUsage;
}

/** One `lookupSpecifiers[]` element, signed by the KMK (§6.5). */
export interface LookupSpecifier {
  /** Unique within the message. */
  readonly id: Id;
  /** `SHA-256(txt(clientSessionId) ‖ txt(serverSessionId))`; the client recomputes it. */
  readonly nonce: Uint8Array;
  readonly searchFilter?: SearchFilter;
  /** JSF over the JCS of this object without `signature.value`. */
  readonly signature: JsfSignature;
}

/** Issuer → client: find keys of earlier sessions governed by a KMK (§6.5). */
export interface CredentialDiscoveryRequest {
  readonly qualifier: 'CredentialDiscoveryRequest';
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** Non-empty. */
  readonly lookupSpecifiers: readonly LookupSpecifier[];
}

/** One key that matched (§6.6). */
export interface MatchingCredential {
  /** Session that currently owns the key. */
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  readonly certificatePath: CertificatePath;
  /** True when the key's PIN is blocked; the reference writes it only when true. */
  readonly locked?: boolean;
}

/** The answer to one lookup specifier (§6.6). */
export interface LookupResult {
  readonly id: Id;
  /** May be empty. */
  readonly matchingCredentials: readonly MatchingCredential[];
}

/** Client → issuer: lookup results, one per specifier in request order (§6.6). */
export interface CredentialDiscoveryResponse {
  readonly qualifier: 'CredentialDiscoveryResponse';
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** Non-empty. */
  readonly lookupResults: readonly LookupResult[];
}
