/** Encoders of ProvisioningInitializationRequest (§6.3) and ProvisioningInitializationResponse (§6.4). */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, w } from '../codec.js';
import type { ProvisioningInitializationRequest, ProvisioningInitializationResponse, UpdatableKeyManagementKey } from './types.js';

const encodeUpdatable = (u: UpdatableKeyManagementKey): JsonObject =>
  jsonObject([
    ['publicKey', w.jwk(u.publicKey)],
    ['authorization', w.bin(u.authorization)],
    ['updatableKeyManagementKeys', w.opt(u.updatableKeyManagementKeys, (a) => w.objs(a, encodeUpdatable))],
  ]);

/** The ProvisioningInitializationRequest object. */
export const encodeProvisioningInitializationRequest = (m: ProvisioningInitializationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['serverTime', w.time(m.serverTime)],
    ['sessionKeyAlgorithm', w.str(m.sessionKeyAlgorithm)],
    ['sessionKeyLimit', w.int(m.sessionKeyLimit)],
    ['sessionLifeTime', w.int(m.sessionLifeTime)],
    ['serverEphemeralKey', w.jwk(m.serverEphemeralKey)],
    ['keyManagementKey', w.opt(m.keyManagementKey, w.jwk)],
    ['updatableKeyManagementKeys', w.opt(m.updatableKeyManagementKeys, (a) => w.objs(a, encodeUpdatable))],
  ]);

/** The ProvisioningInitializationResponse object (`attestation` last, as the reference writes it). */
export const encodeProvisioningInitializationResponse = (m: ProvisioningInitializationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['serverTime', w.time(m.serverTime)],
    ['clientTime', w.time(m.clientTime)],
    ['clientEphemeralKey', w.jwk(m.clientEphemeralKey)],
    ['deviceId', w.opt(m.deviceId, (d) => jsonObject([['certificatePath', w.certs(d.certificatePath)]]))],
    ['attestation', w.bin(m.attestation)],
  ]);
