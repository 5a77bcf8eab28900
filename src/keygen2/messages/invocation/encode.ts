/** Encoders of InvocationRequest (§6.1) and InvocationResponse (§6.2), in the reference's member order. */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, w } from '../codec.js';
import type { ClientCapability, InvocationRequest, InvocationResponse } from './types.js';

/** The InvocationRequest object. */
export const encodeInvocationRequest = (m: InvocationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['action', w.str(m.action)],
    ['privacyEnabled', w.opt(m.privacyEnabled, w.bool)],
    ['preferredLanguages', w.opt(m.preferredLanguages, w.strs)],
    ['targetKeyContainers', w.opt(m.targetKeyContainers, w.strs)],
    ['clientCapabilityQuery', w.opt(m.clientCapabilityQuery, w.strs)],
  ]);

function encodeCapability(c: ClientCapability): JsonObject {
  switch (c.kind) {
    case 'supported':
      return jsonObject([['type', w.str(c.type)], ['supported', w.bool(c.supported)]]);
    case 'values':
      return jsonObject([['type', w.str(c.type)], ['values', w.strs(c.values)]]);
    case 'imageAttributes':
      return jsonObject([
        ['type', w.str(c.type)],
        [
          'imageAttributes',
          jsonObject([
            ['mimeType', w.str(c.imageAttributes.mimeType)],
            ['width', w.int(c.imageAttributes.width)],
            ['height', w.int(c.imageAttributes.height)],
          ]),
        ],
      ]);
  }
}

/** The InvocationResponse object (never with the top-level `nonce`, quirk 1). */
export const encodeInvocationResponse = (m: InvocationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientCapabilities', w.opt(m.clientCapabilities, (cs) => w.objs(cs, encodeCapability))],
  ]);
