/**
 * ProvisioningInitializationResponse (spec §6.4): checks the echoes, verifies the device path
 * against the trusted roots, derives the session key (§5.2) and verifies the session attestation
 * (§5.3); then emits the CredentialDiscoveryRequest or the KeyCreationRequest.
 */
import { ALGORITHM_SESSION_ATTEST_1 } from '../../../sks/algorithms.js';
import { deviceIdFor, macEquals, sessionAttestationInput, sessionKdfInput, verifySignature } from '../../../sks/session-crypto.js';
import { KeyGen2Error, verificationError } from '../../errors.js';
import type { ProvisioningInitializationResponse } from '../../messages/provisioning-initialization/types.js';
import type { ResolvedEnvironment } from '../environment.js';
import { ecPointOf } from '../keys.js';
import type { IssuerState } from '../state.js';
import { b64u, protocolError, unb64u } from '../util.js';
import { emitAfterInitialization, type NextRequest } from './next.js';

const EMPTY = new Uint8Array(0);

export async function acceptInitialization(
  env: ResolvedEnvironment,
  state: IssuerState,
  response: ProvisioningInitializationResponse,
): Promise<{ state: IssuerState; request: NextRequest }> {
  // §3.2: the reference parses serverSessionId here but does not compare it; we do.
  if (response.serverSessionId !== state.serverSessionId) throw protocolError('$.serverSessionId', 'Session ID mismatch');
  if (response.serverTime.text !== state.serverTime) throw protocolError('$.serverTime', 'serverTime is not the echo of the request');
  const ephemeral = state.ephemeral;
  if (ephemeral === undefined) throw new KeyGen2Error('INTERNAL', 'No ephemeral key in the state');
  // Quirk 3: the mode must be the one requested, not inferred from deviceId alone.
  const privacy = state.privacyEnabled === true;
  if (privacy && response.deviceId !== undefined) throw protocolError('$.deviceId', 'deviceId in a privacy-enabled session');
  if (!privacy && response.deviceId === undefined) throw protocolError('$.deviceId', 'deviceId missing');
  if (ecPointOf(state.ephemeralCurve, response.clientEphemeralKey) === undefined) {
    throw protocolError('$.clientEphemeralKey', 'Client ephemeral key is not on the server ephemeral key curve');
  }
  const path = response.deviceId?.certificatePath;
  const device = path === undefined ? undefined : env.deviceTrust.verify(path);
  const deviceId = deviceIdFor(privacy, path?.[0] ?? EMPTY);
  const clientSessionId = response.clientSessionId;
  const kdfInput = sessionKdfInput(clientSessionId, state.serverSessionId, state.issuerUri, deviceId);
  const sessionKey = await env.crypto.deriveSessionKey(ephemeral.handle, response.clientEphemeralKey, kdfInput);
  const clientTime = Math.floor(response.clientTime.epochMs / 1000);
  const tolerance = env.clientTimeToleranceSeconds;
  if (tolerance !== undefined && Math.abs(clientTime * 1000 - env.clock()) > tolerance * 1000) {
    throw protocolError('$.clientTime', 'clientTime is too far from the issuer clock');
  }
  const attestationInput = sessionAttestationInput({
    clientSessionId,
    serverSessionId: state.serverSessionId,
    issuerUri: state.issuerUri,
    deviceId,
    sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
    privacyEnabled: privacy,
    serverEphemeralKey: unb64u(ephemeral.publicKey, 'state.ephemeral'),
    clientEphemeralKey: response.clientEphemeralKey,
    keyManagementKey: state.keyManagementKey === undefined ? undefined : unb64u(state.keyManagementKey, 'state.keyManagementKey'),
    clientTime,
    sessionLifeTime: state.sessionLifeTime,
    sessionKeyLimit: state.sessionKeyLimit,
    serverCertificate: unb64u(state.serverCertificate, 'state.serverCertificate'),
  });
  if (device === undefined) {
    const expected = await env.crypto.hmac(sessionKey, EMPTY, attestationInput);
    if (!macEquals(expected, response.attestation)) throw verificationError('$.attestation');
  } else {
    // RSA PKCS#1 v1.5 or ECDSA raw r‖s, SHA-256 (§5.3), by session-crypto's strict verifier; a
    // key or signature that does not fit is the same VERIFICATION as a bad signature.
    const key = device.publicKey;
    let ok: boolean;
    try {
      ok = verifySignature(key, key.asymmetricKeyType === 'ec' ? 'ECDSA-SHA256' : 'RSA-SHA256', attestationInput, response.attestation);
    } catch {
      ok = false;
    }
    if (!ok) throw verificationError('$.attestation');
  }
  const { ephemeral: _used, ...rest } = state;
  const established: IssuerState = {
    ...rest,
    session: {
      clientSessionId,
      clientTime: response.clientTime.text,
      ...(path === undefined ? {} : { deviceCertificatePath: path.map(b64u) }),
      sessionKey,
    },
  };
  return emitAfterInitialization(env, established);
}
