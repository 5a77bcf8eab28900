/** ProvisioningInitializationRequest / ProvisioningInitializationResponse (spec §6.3, §6.4). */
import type { DateTime } from '../../json/date-time.js';
import type { CertificatePath, Id, PublicKeySpki } from '../common.js';

/**
 * An older key-management key that rolls over to its parent (§6.3, §9.4); the tree is recursive.
 */
export interface UpdatableKeyManagementKey {
  /** The older KMK (RSA or EC). */
  readonly publicKey: PublicKeySpki;
  /** Signature by this older KMK over `"RollOverAuthorization" ‖ SPKI(parent KMK)` (§5.7). */
  readonly authorization: Uint8Array;
  /** Still older KMKs rolling over to this one; non-empty when present. */
  readonly updatableKeyManagementKeys?: readonly UpdatableKeyManagementKey[];
}

/** Issuer → client, step 2: the parameters of `createProvisioningSession` (§6.3). */
export interface ProvisioningInitializationRequest {
  readonly qualifier: 'ProvisioningInitializationRequest';
  readonly serverSessionId: Id;
  /** UTC, `…Z` (§4.6); the client echoes `text` verbatim. */
  readonly serverTime: DateTime;
  /** `https://webpki.github.io/sks/algorithm#session.1`. */
  readonly sessionKeyAlgorithm: string;
  /** 1…32767 (§5.8). */
  readonly sessionKeyLimit: number;
  /** 1…32767 seconds. */
  readonly sessionLifeTime: number;
  /** Issuer's ephemeral EC key. */
  readonly serverEphemeralKey: PublicKeySpki;
  /** Makes the session updatable (§9). */
  readonly keyManagementKey?: PublicKeySpki;
  /** Only with `keyManagementKey`; non-empty. */
  readonly updatableKeyManagementKeys?: readonly UpdatableKeyManagementKey[];
}

/** The `deviceId` object: the SKS device certificate path (§6.4). */
export interface DeviceId {
  readonly certificatePath: CertificatePath;
}

/** Client → issuer, step 2: the SKS session and its attestation (§6.4). */
export interface ProvisioningInitializationResponse {
  readonly qualifier: 'ProvisioningInitializationResponse';
  readonly serverSessionId: Id;
  /** From `createProvisioningSession`. */
  readonly clientSessionId: Id;
  /** Verbatim echo of the request's `serverTime` (compared as text). */
  readonly serverTime: DateTime;
  /** Local time with numeric offset (§4.6); `epochSeconds(clientTime)` went to the SKS. */
  readonly clientTime: DateTime;
  readonly clientEphemeralKey: PublicKeySpki;
  /** Present in E2ES mode, absent in privacy mode (§5.3). */
  readonly deviceId?: DeviceId;
  /** HMAC (privacy) or device signature (E2ES) over the attestation arguments (§5.3). */
  readonly attestation: Uint8Array;
}
