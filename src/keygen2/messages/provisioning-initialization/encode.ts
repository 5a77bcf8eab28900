/** Encoders of ProvisioningInitializationRequest (§6.3) and ProvisioningInitializationResponse (§6.4). */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, writer } from '../codec.js';
import type { ProvisioningInitializationRequest, ProvisioningInitializationResponse, UpdatableKeyManagementKey } from './types.js';

const encodeUpdatable = (u: UpdatableKeyManagementKey): JsonObject =>
  jsonObject([
    ['publicKey', writer.jwk(u.publicKey)],
    ['authorization', writer.bin(u.authorization)],
    ['updatableKeyManagementKeys', writer.opt(u.updatableKeyManagementKeys, (a) => writer.objs(a, encodeUpdatable))],
  ]);

/** The ProvisioningInitializationRequest object. */
export const encodeProvisioningInitializationRequest = (m: ProvisioningInitializationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['serverTime', writer.time(m.serverTime)],
    ['sessionKeyAlgorithm', writer.str(m.sessionKeyAlgorithm)],
    ['sessionKeyLimit', writer.int(m.sessionKeyLimit)],
    ['sessionLifeTime', writer.int(m.sessionLifeTime)],
    ['serverEphemeralKey', writer.jwk(m.serverEphemeralKey)],
    ['keyManagementKey', writer.opt(m.keyManagementKey, writer.jwk)],
    ['updatableKeyManagementKeys', writer.opt(m.updatableKeyManagementKeys, (a) => writer.objs(a, encodeUpdatable))],
  ]);

/** The ProvisioningInitializationResponse object (`attestation` last, as the reference writes it). */
export const encodeProvisioningInitializationResponse = (m: ProvisioningInitializationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['serverTime', writer.time(m.serverTime)],
    ['clientTime', writer.time(m.clientTime)],
    ['clientEphemeralKey', writer.jwk(m.clientEphemeralKey)],
    ['deviceId', writer.opt(m.deviceId, (d) => jsonObject([['certificatePath', writer.certs(d.certificatePath)]]))],
    ['attestation', writer.bin(m.attestation)],
  ]);
