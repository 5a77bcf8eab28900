/**
 * KeyGen2 messages (spec §6): types, `decodeMessage` and `encodeMessage`.
 *
 * @example
 *   const msg = decodeMessage(body, ['InvocationResponse']);
 *   if (msg.qualifier === 'InvocationResponse') { … }
 *   const wire = encodeMessage({ qualifier: 'InvocationRequest', serverSessionId: 'S.1', action: 'manage' });
 */
import { KeyGen2Error } from '../errors.js';
import type { Qualifier } from './common.js';
import type { InvocationRequest, InvocationResponse } from './invocation/types.js';
import type { ProvisioningInitializationRequest, ProvisioningInitializationResponse } from './provisioning-initialization/types.js';
import type { CredentialDiscoveryRequest, CredentialDiscoveryResponse } from './credential-discovery/types.js';
import type { KeyCreationRequest, KeyCreationResponse } from './key-creation/types.js';
import type { ProvisioningFinalizationRequest, ProvisioningFinalizationResponse } from './provisioning-finalization/types.js';

export * from './common.js';
export * from './enums.js';
export type * from './invocation/types.js';
export type * from './provisioning-initialization/types.js';
export type * from './credential-discovery/types.js';
export type * from './key-creation/types.js';
export type * from './provisioning-finalization/types.js';
export type { DateTime } from '../json/date-time.js';
export { utcDateTime, offsetDateTime, epochSeconds } from '../json/date-time.js';

/** Any of the ten KeyGen2 messages, discriminated on `qualifier` (= the wire `@qualifier`). */
export type KeyGen2Message =
  | InvocationRequest
  | InvocationResponse
  | ProvisioningInitializationRequest
  | ProvisioningInitializationResponse
  | CredentialDiscoveryRequest
  | CredentialDiscoveryResponse
  | KeyCreationRequest
  | KeyCreationResponse
  | ProvisioningFinalizationRequest
  | ProvisioningFinalizationResponse;

/** The message type of one qualifier. */
export type MessageOf<Q extends Qualifier> = Extract<KeyGen2Message, { readonly qualifier: Q }>;

/**
 * Decodes one message strictly (§4.2, §11.1). With `expected`, a valid message of another
 * qualifier is a PROTOCOL error. Every failure is a KeyGen2Error (SYNTAX, SCHEMA or PROTOCOL)
 * carrying the JSON path.
 */
export function decodeMessage<Q extends Qualifier>(text: string, expected: readonly Q[]): MessageOf<Q>;
export function decodeMessage(text: string, expected?: readonly Qualifier[]): KeyGen2Message;
export function decodeMessage(text: string, expected?: readonly Qualifier[]): KeyGen2Message {
  void text;
  void expected;
  throw new KeyGen2Error('INTERNAL', 'decodeMessage: not implemented yet');
}

/** Encodes a message as compact JSON in the reference's member order (§6). */
export function encodeMessage(message: KeyGen2Message): string {
  void message;
  throw new KeyGen2Error('INTERNAL', 'encodeMessage: not implemented yet');
}
