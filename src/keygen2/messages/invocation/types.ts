/** InvocationRequest / InvocationResponse (spec §6.1, §6.2, §10). */
import type { Action, KeyContainer } from '../enums.js';
import type { Id } from '../common.js';

/** Issuer → client, step 1: opens the session and asks for consent and capabilities (§6.1). */
export interface InvocationRequest {
  readonly qualifier: 'InvocationRequest';
  readonly serverSessionId: Id;
  readonly action: Action;
  /** Privacy mode (§5.3); absent means false. Kept optional so an explicit `false` round-trips. */
  readonly privacyEnabled?: boolean;
  /** ISO 639-1 codes in preference order; non-empty when present. */
  readonly preferredLanguages?: readonly string[];
  /** Non-empty, no duplicates, preference order. */
  readonly targetKeyContainers?: readonly KeyContainer[];
  /** Absolute URIs, non-empty, no duplicates (§10). */
  readonly clientCapabilityQuery?: readonly string[];
}

/** Image preference answer to a `logotype#…` query (§10.1). */
export interface ImageAttributes {
  readonly mimeType: string;
  readonly width: number;
  readonly height: number;
}

/**
 * One `clientCapabilities[]` element (§6.2): `type` plus exactly one answer. `supported: false`
 * is a valid answer to every kind of query.
 */
export type ClientCapability =
  | { readonly type: string; readonly kind: 'supported'; readonly supported: boolean }
  | { readonly type: string; readonly kind: 'values'; readonly values: readonly string[] }
  | { readonly type: string; readonly kind: 'imageAttributes'; readonly imageAttributes: ImageAttributes };

/** Client → issuer, step 1: consent given, capability answers (§6.2). */
export interface InvocationResponse {
  readonly qualifier: 'InvocationResponse';
  /** Copy of the request's. */
  readonly serverSessionId: Id;
  /** Present exactly when the request had `clientCapabilityQuery`; one answer per query. */
  readonly clientCapabilities?: readonly ClientCapability[];
}
