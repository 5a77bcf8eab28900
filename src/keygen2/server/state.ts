/**
 * The issuer's whole per-session state (spec §7) as one plain value: strings, numbers, booleans,
 * arrays and objects only, binary as base64url, secrets as crypto-port references. A service
 * persists it between requests (`JSON.stringify`) and may resume it in another process.
 */
import type { EcCurve } from '../../sks/algorithms.js';
import type { Action, AppUsage, KeyContainer } from '../messages/enums.js';
import type { Base64Url, CapabilityQuery, KeyConfig, LookupConfig, PinPolicyConfig, PukPolicyConfig, TargetKeyConfig, UpdatableKmkConfig } from './config.js';
import type { SealedRef } from './crypto-port.js';

/**
 * Which response the issuer waits for (spec §3.2). Every step accepts that response and emits
 * the next request, so "request then response" alternation is the phase itself.
 */
export type IssuerPhase = 'invocation' | 'initialization' | 'discovery' | 'key-creation' | 'finalization' | 'done' | 'aborted';

/** A key as planned: the configuration with its id fixed and secrets sealed. */
export type PlannedKey = Omit<KeyConfig, 'id' | 'presetPin' | 'encryptedExtensions'> & {
  readonly id: string;
  readonly presetPin?: SealedRef;
  readonly encryptedExtensions?: ReadonlyArray<{ readonly type: string; readonly data: SealedRef }>;
};
export type PlannedPinPolicy = Omit<PinPolicyConfig, 'id' | 'keys'> & { readonly id: string; readonly keys: readonly PlannedKey[] };
export type PlannedPukPolicy = Omit<PukPolicyConfig, 'id' | 'puk' | 'pinPolicies'> & {
  readonly id: string;
  readonly puk: SealedRef;
  readonly pinPolicies: readonly PlannedPinPolicy[];
};

/** What the session provisions, fixed at `start` (plus post-operations a discovery may add). */
export interface Plan {
  readonly pukPolicies: readonly PlannedPukPolicy[];
  readonly pinPolicies: readonly PlannedPinPolicy[];
  readonly keys: readonly PlannedKey[];
  readonly lookups: ReadonlyArray<LookupConfig & { readonly id: string }>;
  readonly unlockKeys: readonly TargetKeyConfig[];
  readonly deleteKeys: readonly TargetKeyConfig[];
  readonly deferredIssuance: boolean;
  readonly keyManagementKey?: string;
  readonly updatableKeyManagementKeys?: readonly UpdatableKmkConfig[];
}

/** A capability answer as received (spec §6.2). */
export type CapabilityAnswer =
  | { readonly type: string; readonly supported: boolean }
  | { readonly type: string; readonly values: readonly string[] }
  | { readonly type: string; readonly imageAttributes: { readonly mimeType: string; readonly width: number; readonly height: number } };

/** The established provisioning session (after ProvisioningInitializationResponse). */
export interface EstablishedSession {
  readonly clientSessionId: string;
  /** `clientTime` text as received. */
  readonly clientTime: string;
  /**
   * The device certificate path (E2ES mode only). Device ID `D` of the KDF (spec §5.2) is its
   * first certificate, or `Anonymous` in privacy mode.
   */
  readonly deviceCertificatePath?: readonly Base64Url[];
  readonly sessionKey: SealedRef;
}

/** A key requested in the KeyCreationRequest, in processing order (spec §6.7.3). */
export interface RequestedKey {
  readonly id: string;
  readonly keyAlgorithm: string;
  readonly keyParameters?: Base64Url;
  readonly appUsage: AppUsage;
  readonly pinPolicyId?: string;
  /** The key's createKeyEntry MAC. */
  readonly mac: Base64Url;
  /** Counter value reserved for its attestation (spec §5.4). */
  readonly attestationCounter: number;
  /** SPKI returned in KeyCreationResponse, once verified. */
  readonly publicKey?: Base64Url;
  /** Path sent in ProvisioningFinalizationRequest. */
  readonly certificatePath?: readonly Base64Url[];
}

/** The result of a discovery round (spec §6.6). */
export interface DiscoveredCredential {
  readonly lookupId: string;
  readonly serverSessionId: string;
  readonly clientSessionId: string;
  readonly certificatePath: readonly Base64Url[];
  readonly locked: boolean;
}

export interface IssuerState {
  readonly version: 1;
  /**
   * Incremented by every step: a service persists a step's state only if the stored revision is
   * still the one it read (compare-and-swap), so two concurrent posts of one session cannot both
   * proceed — nor a key be certified twice (ARCHITECTURE "persist each step before answering").
   */
  readonly revision: number;
  readonly phase: IssuerPhase;
  readonly serverSessionId: string;
  /** Exactly the text sent; the echo must equal it (spec §6.4). */
  readonly serverTime: string;
  readonly issuerUri: string;
  readonly serverCertificate: Base64Url;
  readonly action: Action;
  /** As configured; `undefined` = not written (false). */
  readonly privacyEnabled?: boolean;
  readonly preferredLanguages?: readonly string[];
  readonly targetKeyContainers?: readonly KeyContainer[];
  readonly capabilityQueries: readonly CapabilityQuery[];
  readonly capabilities?: readonly CapabilityAnswer[];
  readonly ephemeralCurve: EcCurve;
  readonly sessionKeyLimit: number;
  readonly sessionLifeTime: number;
  readonly plan: Plan;
  /** Until the session key is derived. */
  readonly ephemeral?: { readonly publicKey: Base64Url; readonly handle: SealedRef };
  /** SPKI of this session's KMK. */
  readonly keyManagementKey?: Base64Url;
  readonly session?: EstablishedSession;
  /** The MAC sequence counter (spec §5.4): the next value to use. */
  readonly counter: number;
  /**
   * Uses of the session key the SKS will count against `sessionKeyLimit` (spec §5.8): MACs,
   * attestations, decryptions and keyIds caused so far.
   */
  readonly sessionKeyUses: number;
  readonly discovered?: readonly DiscoveredCredential[];
  readonly keys: readonly RequestedKey[];
  /** Post-operations sent in the finalization request (fingerprints, base64url). */
  readonly postOperations?: {
    readonly updated: ReadonlyArray<{ readonly keyId: string; readonly target: TargetKeyConfig }>;
    readonly cloned: ReadonlyArray<{ readonly keyId: string; readonly target: TargetKeyConfig }>;
    readonly unlocked: readonly TargetKeyConfig[];
    readonly deleted: readonly TargetKeyConfig[];
  };
  readonly close?: { readonly nonce: Base64Url; readonly attestationCounter: number };
}
