/**
 * KeyGen2 messages (spec §6): types, `decodeMessage` and `encodeMessage`.
 *
 * @example
 *   const msg = decodeMessage(body, ['InvocationResponse']); // typed as InvocationResponse
 *   const wire = encodeMessage({ qualifier: 'InvocationRequest', serverSessionId: 'S.1', action: 'manage' });
 *   // {"@context":"https://webpki.github.io/keygen2#20190318","@qualifier":"InvocationRequest","serverSessionId":"S.1","action":"manage"}
 */
import { KeyGen2Error, schemaError } from '../errors.js';
import { parseJson } from '../json/parse.js';
import { ObjectReader } from '../json/reader.js';
import { serializeJson } from '../json/serialize.js';
import type { JsonObject } from '../json/value.js';
import { KEYGEN2_CONTEXT, QUALIFIERS, type Qualifier } from './common.js';
import { decodeCredentialDiscoveryRequest, decodeCredentialDiscoveryResponse } from './credential-discovery/decode.js';
import { encodeCredentialDiscoveryRequest, encodeCredentialDiscoveryResponse } from './credential-discovery/encode.js';
import type { CredentialDiscoveryRequest, CredentialDiscoveryResponse } from './credential-discovery/types.js';
import { decodeInvocationRequest, decodeInvocationResponse } from './invocation/decode.js';
import { encodeInvocationRequest, encodeInvocationResponse } from './invocation/encode.js';
import type { InvocationRequest, InvocationResponse } from './invocation/types.js';
import { decodeKeyCreationRequest, decodeKeyCreationResponse } from './key-creation/decode.js';
import { encodeKeyCreationRequest, encodeKeyCreationResponse } from './key-creation/encode.js';
import type { KeyCreationRequest, KeyCreationResponse } from './key-creation/types.js';
import { decodeProvisioningFinalizationRequest, decodeProvisioningFinalizationResponse } from './provisioning-finalization/decode.js';
import { encodeProvisioningFinalizationRequest, encodeProvisioningFinalizationResponse } from './provisioning-finalization/encode.js';
import type { ProvisioningFinalizationRequest, ProvisioningFinalizationResponse } from './provisioning-finalization/types.js';
import { decodeProvisioningInitializationRequest, decodeProvisioningInitializationResponse } from './provisioning-initialization/decode.js';
import { encodeProvisioningInitializationRequest, encodeProvisioningInitializationResponse } from './provisioning-initialization/encode.js';
import type { ProvisioningInitializationRequest, ProvisioningInitializationResponse } from './provisioning-initialization/types.js';

export * from './common.js';
export * from './enums.js';
export type * from './invocation/types.js';
export type * from './provisioning-initialization/types.js';
export type * from './credential-discovery/types.js';
export type * from './key-creation/types.js';
export type * from './provisioning-finalization/types.js';
export type { DateTime } from '../json/date-time.js';
export { utcDateTime, offsetDateTime, epochSeconds } from '../json/date-time.js';
export { canonicalSpki, describePublicKey } from '../json/jwk.js';
export { decodeUtf8 } from '../json/parse.js';
export { lookupNonce, verifyLookupSignature, LOOKUP_SIGNATURE_ALGORITHMS } from './credential-discovery/signature.js';
export { lookupSpecifierSignedData, type UnsignedLookupSpecifier } from './credential-discovery/encode.js';
export { KEY_USAGE_NAMES } from './credential-discovery/decode.js';
export { javaRegexToRegExp, unquoteJavaRegex } from './credential-discovery/java-regex.js';
export { KEY_ALGORITHMS, KEY_ENTRY_ALGORITHM, SESSION_KEY_ALGORITHM, ENDORSED_NONE, takesKeyParameters } from './key-creation/algorithms.js';

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

const DECODERS: { readonly [Q in Qualifier]: (r: ObjectReader) => MessageOf<Q> } = {
  InvocationRequest: decodeInvocationRequest,
  InvocationResponse: decodeInvocationResponse,
  ProvisioningInitializationRequest: decodeProvisioningInitializationRequest,
  ProvisioningInitializationResponse: decodeProvisioningInitializationResponse,
  CredentialDiscoveryRequest: decodeCredentialDiscoveryRequest,
  CredentialDiscoveryResponse: decodeCredentialDiscoveryResponse,
  KeyCreationRequest: decodeKeyCreationRequest,
  KeyCreationResponse: decodeKeyCreationResponse,
  ProvisioningFinalizationRequest: decodeProvisioningFinalizationRequest,
  ProvisioningFinalizationResponse: decodeProvisioningFinalizationResponse,
};

const isQualifier = (s: string): s is Qualifier => (QUALIFIERS as readonly string[]).includes(s);

/**
 * Decodes one message strictly (§4.2, §11.1): SYNTAX for JSON the spec forbids (duplicate
 * members, lone surrogates, `-0`, control characters), SCHEMA for anything the message schema
 * forbids (unknown `@context`/`@qualifier`, unknown, missing or mistyped members at any depth,
 * bad values), VERIFICATION for a lookup signature that does not verify. With `expected`, a valid
 * message of another qualifier is a PROTOCOL error. Every error carries the JSON path.
 */
export function decodeMessage<Q extends Qualifier>(text: string, expected: readonly Q[]): MessageOf<Q>;
export function decodeMessage(text: string, expected?: readonly Qualifier[]): KeyGen2Message;
export function decodeMessage(text: string, expected?: readonly Qualifier[]): KeyGen2Message {
  try {
    const reader = ObjectReader.root(parseJson(text));
    // Receivers select the decoder by (@context, @qualifier); an unknown pair is an error (§4.1).
    if (reader.string('@context') !== KEYGEN2_CONTEXT) throw schemaError(reader.pathOf('@context'), 'unknown @context');
    const qualifier = reader.string('@qualifier');
    if (!isQualifier(qualifier)) throw schemaError(reader.pathOf('@qualifier'), 'unknown @qualifier');
    if (expected !== undefined && !expected.includes(qualifier)) {
      throw new KeyGen2Error('PROTOCOL', `${reader.pathOf('@qualifier')}: expected ${expected.join(' or ')}, got ${qualifier}`, {
        path: reader.pathOf('@qualifier'),
      });
    }
    const message = DECODERS[qualifier](reader);
    reader.finish();
    return message;
  } catch (cause) {
    if (cause instanceof KeyGen2Error) throw cause;
    // Hostile input must never escape as a TypeError or RangeError (a bug if it happens).
    throw new KeyGen2Error('INTERNAL', 'decoder failure', { path: '$', cause });
  }
}

function encodeObject(keyGen2Message: KeyGen2Message): JsonObject {
  switch (keyGen2Message.qualifier) {
    case 'InvocationRequest':
      return encodeInvocationRequest(keyGen2Message);
    case 'InvocationResponse':
      return encodeInvocationResponse(keyGen2Message);
    case 'ProvisioningInitializationRequest':
      return encodeProvisioningInitializationRequest(keyGen2Message);
    case 'ProvisioningInitializationResponse':
      return encodeProvisioningInitializationResponse(keyGen2Message);
    case 'CredentialDiscoveryRequest':
      return encodeCredentialDiscoveryRequest(keyGen2Message);
    case 'CredentialDiscoveryResponse':
      return encodeCredentialDiscoveryResponse(keyGen2Message);
    case 'KeyCreationRequest':
      return encodeKeyCreationRequest(keyGen2Message);
    case 'KeyCreationResponse':
      return encodeKeyCreationResponse(keyGen2Message);
    case 'ProvisioningFinalizationRequest':
      return encodeProvisioningFinalizationRequest(keyGen2Message);
    case 'ProvisioningFinalizationResponse':
      return encodeProvisioningFinalizationResponse(keyGen2Message);
  }
}

/** Options of {@link encodeMessage}. */
export interface EncodeOptions {
  /**
   * Decode the text strictly again before returning it (default true), so a message its receiver
   * would reject throws here, with the decoder's code and path. The issuer and the client turn
   * this off for the messages they build themselves from decoded input: the receiver decodes
   * strictly anyway, and the self-check doubles the codec cost (an X.509 parse per certificate).
   */
  readonly check?: boolean;
}

/**
 * Encodes a message as compact JSON in the reference's member order (§6), so
 * `encodeMessage(decodeMessage(wire)) === wire` for what the reference writes. Unless
 * `check: false`, the result is decoded again before it is returned: a message that its receiver
 * would reject (bad ID, empty list, wrong MAC length, …) throws the same SCHEMA error, with its
 * path, instead of going out.
 */
export function encodeMessage(message: KeyGen2Message, options: EncodeOptions = {}): string {
  let text: string;
  try {
    text = serializeJson(encodeObject(message));
  } catch (cause) {
    if (cause instanceof KeyGen2Error) throw cause;
    throw new KeyGen2Error('SCHEMA', '$: message cannot be encoded', { path: '$', cause });
  }
  if (options.check ?? true) decodeMessage(text, [message.qualifier]);
  return text;
}
