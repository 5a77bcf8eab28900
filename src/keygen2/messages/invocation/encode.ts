/** Encoders of InvocationRequest (§6.1) and InvocationResponse (§6.2), in the reference's member order. */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, writer } from '../codec.js';
import type { ClientCapability, InvocationRequest, InvocationResponse } from './types.js';

/** The InvocationRequest object. */
export const encodeInvocationRequest = (m: InvocationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['action', writer.str(m.action)],
    ['privacyEnabled', writer.opt(m.privacyEnabled, writer.bool)],
    ['preferredLanguages', writer.opt(m.preferredLanguages, writer.strs)],
    ['targetKeyContainers', writer.opt(m.targetKeyContainers, writer.strs)],
    ['clientCapabilityQuery', writer.opt(m.clientCapabilityQuery, writer.strs)],
  ]);

function encodeCapability(clientCapability: ClientCapability): JsonObject {
  switch (clientCapability.kind) {
    case 'supported':
      return jsonObject([
        ['type', writer.str(clientCapability.type)],
        ['supported', writer.bool(clientCapability.supported)],
      ]);
    case 'values':
      return jsonObject([
        ['type', writer.str(clientCapability.type)],
        ['values', writer.strs(clientCapability.values)],
      ]);
    case 'imageAttributes':
      return jsonObject([
        ['type', writer.str(clientCapability.type)],
        [
          'imageAttributes',
          jsonObject([
            ['mimeType', writer.str(clientCapability.imageAttributes.mimeType)],
            ['width', writer.int(clientCapability.imageAttributes.width)],
            ['height', writer.int(clientCapability.imageAttributes.height)],
          ]),
        ],
      ]);
  }
}

/** The InvocationResponse object (never with the top-level `nonce`, quirk 1). */
export const encodeInvocationResponse = (m: InvocationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientCapabilities', writer.opt(m.clientCapabilities, (cs) => writer.objs(cs, encodeCapability))],
  ]);
