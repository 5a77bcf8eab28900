/** Decoders of ProvisioningInitializationRequest (§6.3) and ProvisioningInitializationResponse (§6.4). */
import { schemaError } from '../../errors.js';
import { readPublicKey } from '../../json/jwk.js';
import type { ObjectReader } from '../../json/reader.js';
import { present, readPath } from '../codec.js';
import type { ProvisioningInitializationRequest, ProvisioningInitializationResponse, UpdatableKeyManagementKey } from './types.js';

/** 1…32767: signed 16-bit on the Java side (§5.8, quirk 15). */
const SHORT_MAX = 32767;

/** Session ephemeral keys are EC (the reference casts them to ECPublicKey). */
const EPHEMERAL = { types: ['EC'] } as const;
/** Key-management keys are RSA or EC (§6.3). */
const KMK = { types: ['RSA', 'EC'] } as const;

function decodeUpdatable(reader: ObjectReader): UpdatableKeyManagementKey {
  const publicKey = readPublicKey(reader.object('publicKey'), KMK);
  const authorization = reader.binary('authorization', { min: 1 });
  const older = reader.optObjectArray('updatableKeyManagementKeys', { nonEmpty: true })?.map(decodeUpdatable);
  return present({ publicKey, authorization, updatableKeyManagementKeys: older });
}

/** Reads the body of a ProvisioningInitializationRequest (§6.3). */
export function decodeProvisioningInitializationRequest(reader: ObjectReader): ProvisioningInitializationRequest {
  const serverSessionId = reader.id('serverSessionId');
  const serverTime = reader.dateTime('serverTime', 'utc');
  const sessionKeyAlgorithm = reader.uri('sessionKeyAlgorithm');
  const sessionKeyLimit = reader.integer('sessionKeyLimit', 1, SHORT_MAX);
  const sessionLifeTime = reader.integer('sessionLifeTime', 1, SHORT_MAX);
  const serverEphemeralKey = readPublicKey(reader.object('serverEphemeralKey'), EPHEMERAL);
  const kmk = reader.optObject('keyManagementKey');
  const keyManagementKey = kmk === undefined ? undefined : readPublicKey(kmk, KMK);
  // The reference reads the roll-over tree only under a keyManagementKey (§6.3); without one the
  // member would stay unread, so say so at its own path.
  if (kmk === undefined && reader.has('updatableKeyManagementKeys')) {
    throw schemaError(reader.pathOf('updatableKeyManagementKeys'), 'only allowed together with keyManagementKey');
  }
  const updatableKeyManagementKeys = reader.optObjectArray('updatableKeyManagementKeys', { nonEmpty: true })?.map(decodeUpdatable);
  return present({
    qualifier: 'ProvisioningInitializationRequest' as const,
    serverSessionId,
    serverTime,
    sessionKeyAlgorithm,
    sessionKeyLimit,
    sessionLifeTime,
    serverEphemeralKey,
    keyManagementKey,
    updatableKeyManagementKeys,
  });
}

/** Reads the body of a ProvisioningInitializationResponse (§6.4). */
export function decodeProvisioningInitializationResponse(reader: ObjectReader): ProvisioningInitializationResponse {
  const serverSessionId = reader.id('serverSessionId');
  const clientSessionId = reader.id('clientSessionId');
  // The issuer compares the echo as text (§6.4); it must still be a §4.6 UTC date-time to match.
  const serverTime = reader.dateTime('serverTime', 'utc');
  const clientTime = reader.dateTime('clientTime', 'offset');
  const clientEphemeralKey = readPublicKey(reader.object('clientEphemeralKey'), EPHEMERAL);
  const device = reader.optObject('deviceId');
  const deviceId = device === undefined ? undefined : { certificatePath: readPath(device) };
  const attestation = reader.binary('attestation', { min: 1 });
  return present({
    qualifier: 'ProvisioningInitializationResponse' as const,
    serverSessionId,
    clientSessionId,
    serverTime,
    clientTime,
    clientEphemeralKey,
    deviceId,
    attestation,
  });
}
