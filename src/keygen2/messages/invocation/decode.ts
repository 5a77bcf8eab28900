/** Decoders of InvocationRequest (§6.1) and InvocationResponse (§6.2). */
import { schemaError } from '../../errors.js';
import { checkUri } from '../../json/id.js';
import type { ObjectReader } from '../../json/reader.js';
import { present } from '../codec.js';
import { ACTIONS, KEY_CONTAINERS } from '../enums.js';
import type { ClientCapability, InvocationRequest, InvocationResponse } from './types.js';

/** Reads the body of an InvocationRequest (§6.1). */
export function decodeInvocationRequest(r: ObjectReader): InvocationRequest {
  const serverSessionId = r.id('serverSessionId');
  const action = r.enumeration('action', ACTIONS);
  const privacyEnabled = r.optBoolean('privacyEnabled');
  // The reference reads any string list here (no emptiness or code check): its bytes win.
  const preferredLanguages = r.optStringArray('preferredLanguages');
  const targetKeyContainers = r.optEnumerationArray('targetKeyContainers', KEY_CONTAINERS, { nonEmpty: true, unique: true });
  const clientCapabilityQuery = r.optStringArray('clientCapabilityQuery', { nonEmpty: true, unique: true }, checkUri);
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

function decodeCapability(r: ObjectReader): ClientCapability {
  const type = r.uri('type');
  // Exactly one answer (§6.2): the reference reads the first present of the three, so a second
  // one is an unread (unknown) member; reporting it directly gives the clearer path.
  const kinds = (['supported', 'values', 'imageAttributes'] as const).filter((k) => r.has(k));
  if (kinds.length === 0) throw schemaError(r.pathOf('supported'), 'missing member (one of supported, values, imageAttributes)');
  if (kinds.length > 1) throw schemaError(r.pathOf(kinds[1]), 'only one of supported, values, imageAttributes allowed');
  switch (kinds[0]) {
    case 'supported':
      return { type, kind: 'supported', supported: r.boolean('supported') };
    case 'values':
      return { type, kind: 'values', values: r.stringArray('values', { nonEmpty: true }) };
    default: {
      const a = r.object('imageAttributes');
      return {
        type,
        kind: 'imageAttributes',
        imageAttributes: { mimeType: a.string('mimeType'), width: a.integer('width'), height: a.integer('height') },
      };
    }
  }
}

/** Reads the body of an InvocationResponse (§6.2). */
export function decodeInvocationResponse(r: ObjectReader): InvocationResponse {
  const serverSessionId = r.id('serverSessionId');
  const readers = r.optObjectArray('clientCapabilities', { nonEmpty: true });
  if (readers === undefined) return { qualifier: 'InvocationResponse', serverSessionId };
  const seen = new Set<string>();
  const clientCapabilities = readers.map((cr) => {
    const c = decodeCapability(cr);
    // Duplicate answers are rejected by the reference issuer (§11.1).
    if (seen.has(c.type)) throw schemaError(cr.pathOf('type'), 'duplicate capability URI');
    seen.add(c.type);
    return c;
  });
  return { qualifier: 'InvocationResponse', serverSessionId, clientCapabilities };
}
