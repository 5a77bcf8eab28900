/** ProvisioningFinalizationRequest / ProvisioningFinalizationResponse (spec §6.9, §6.10). */
import type { CertificatePath, Id, TargetKeyReference } from '../common.js';

/** `importSymmetricKey` / `importPrivateKey` (§6.9.1). */
export interface ImportedKey {
  /** `encrypt(raw key)` or `encrypt(PKCS#8 DER)` (§5.6). */
  readonly encryptedKey: Uint8Array;
  readonly mac: Uint8Array;
}

/** A plain or encrypted extension (§6.9.1); for encrypted ones `extensionData` is `encrypt(data)`. */
export interface Extension {
  readonly type: string;
  readonly extensionData: Uint8Array;
  readonly mac: Uint8Array;
}

/** One property of a property bag (§6.9.4). */
export interface Property {
  readonly name: string;
  readonly value: string;
  /** Absent = false; the reference writes it only when true. */
  readonly writable?: boolean;
}

/** A property bag (§6.9.1, §6.9.4). */
export interface PropertyBag {
  readonly type: string;
  /** Non-empty; names unique. */
  readonly properties: readonly Property[];
  readonly mac: Uint8Array;
}

/** A logotype (§6.9.1, §10.3). */
export interface Logotype {
  readonly type: string;
  readonly mimeType: string;
  /** The image bytes. */
  readonly extensionData: Uint8Array;
  readonly mac: Uint8Array;
}

/** One `issuedCredentials[]` element: certificate path and extras for a created key (§6.9.1). */
export interface IssuedCredential {
  readonly id: Id;
  readonly certificatePath: CertificatePath;
  /** `setCertificatePath` MAC. */
  readonly mac: Uint8Array;
  /** The last certificate is a user-installable trust anchor; absent = false. */
  readonly trustAnchor?: boolean;
  /** At most one of the two imports. */
  readonly importSymmetricKey?: ImportedKey;
  readonly importPrivateKey?: ImportedKey;
  /** Each list non-empty when present. */
  readonly extensions?: readonly Extension[];
  readonly encryptedExtensions?: readonly Extension[];
  readonly propertyBags?: readonly PropertyBag[];
  readonly logotypes?: readonly Logotype[];
  /** At most one of `updateKey` / `cloneKeyProtection`. */
  readonly updateKey?: TargetKeyReference;
  readonly cloneKeyProtection?: TargetKeyReference;
}

/** `sessionCloseData` (§6.9). */
export interface SessionCloseData {
  readonly nonce: Uint8Array;
  /** `closeProvisioningSession` MAC. */
  readonly mac: Uint8Array;
}

/** Issuer → client: certificates, post-operations and the close MAC (§6.9). */
export interface ProvisioningFinalizationRequest {
  readonly qualifier: 'ProvisioningFinalizationRequest';
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** Non-empty when present; processed in array order (§6.9.3). */
  readonly issuedCredentials?: readonly IssuedCredential[];
  readonly unlockKeys?: readonly TargetKeyReference[];
  readonly deleteKeys?: readonly TargetKeyReference[];
  readonly sessionCloseData: SessionCloseData;
}

/** Client → issuer: the close attestation (§6.10). */
export interface ProvisioningFinalizationResponse {
  readonly qualifier: 'ProvisioningFinalizationResponse';
  readonly serverSessionId: Id;
  readonly clientSessionId: Id;
  /** `ATTEST(arr(nonce))`, 32 bytes. */
  readonly attestation: Uint8Array;
}
