/** Decoders of InvocationRequest (§6.1) and InvocationResponse (§6.2). */
import { schemaError } from '../../errors.js';
import { checkUri } from '../../json/id.js';
import type { ObjectReader } from '../../json/reader.js';
import { present } from '../codec.js';
import { ACTIONS, KEY_CONTAINERS } from '../enums.js';
import type { ClientCapability, InvocationRequest, InvocationResponse } from './types.js';

/** Reads the body of an InvocationRequest (§6.1). */
export function decodeInvocationRequest(reader: ObjectReader): InvocationRequest {
  const serverSessionId = reader.id('serverSessionId');
  const action = reader.enumeration('action', ACTIONS);
  const privacyEnabled = reader.optBoolean('privacyEnabled');
  // The reference reads any string list here (no emptiness or code check): its bytes win.
  const preferredLanguages = reader.optStringArray('preferredLanguages');
  const targetKeyContainers = reader.optEnumerationArray('targetKeyContainers', KEY_CONTAINERS, { nonEmpty: true, unique: true });
  const clientCapabilityQuery = reader.optStringArray('clientCapabilityQuery', { nonEmpty: true, unique: true }, checkUri);
  return present({
    qualifier: 'InvocationRequest' as const,
    serverSessionId,
    action,
    privacyEnabled,
    preferredLanguages,
    targetKeyContainers,
    clientCapabilityQuery,
  });
}

function decodeCapability(reader: ObjectReader): ClientCapability {
  const type = reader.uri('type');
  // Exactly one answer (§6.2): the reference reads the first present of the three, so a second
  // one is an unread (unknown) member; reporting it directly gives the clearer path.
  const kinds = (['supported', 'values', 'imageAttributes'] as const).filter((k) => reader.has(k));
  if (kinds.length === 0) throw schemaError(reader.pathOf('supported'), 'missing member (one of supported, values, imageAttributes)');
  if (kinds.length > 1) throw schemaError(reader.pathOf(kinds[1]), 'only one of supported, values, imageAttributes allowed');
  switch (kinds[0]) {
    case 'supported':
      return { type, kind: 'supported', supported: reader.boolean('supported') };
    case 'values':
      return { type, kind: 'values', values: reader.stringArray('values', { nonEmpty: true }) };
    default: {
      const imageReader = reader.object('imageAttributes');
      return {
        type,
        kind: 'imageAttributes',
        imageAttributes: { mimeType: imageReader.string('mimeType'), width: imageReader.integer('width'), height: imageReader.integer('height') },
      };
    }
  }
}

/** Reads the body of an InvocationResponse (§6.2). */
export function decodeInvocationResponse(reader: ObjectReader): InvocationResponse {
  const serverSessionId = reader.id('serverSessionId');
  const readers = reader.optObjectArray('clientCapabilities', { nonEmpty: true });
  if (readers === undefined) return { qualifier: 'InvocationResponse', serverSessionId };
  const seen = new Set<string>();
  const clientCapabilities = readers.map((cr) => {
    const clientCapability = decodeCapability(cr);
    // Duplicate answers are rejected by the reference issuer (§11.1).
    if (seen.has(clientCapability.type)) throw schemaError(cr.pathOf('type'), 'duplicate capability URI');
    seen.add(clientCapability.type);
    return clientCapability;
  });
  return { qualifier: 'InvocationResponse', serverSessionId, clientCapabilities };
}
