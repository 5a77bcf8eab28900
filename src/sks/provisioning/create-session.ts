/** createProvisioningSession (spec §6.1, §5.2, §5.3). */
import { diffieHellman } from 'node:crypto';
import { ALGORITHM_SESSION_ATTEST_1 } from '../algorithms.js';
import type { CreateProvisioningSessionArgs, ProvisioningSessionResult } from '../api.js';
import { Limits } from '../constants.js';
import { checkExternalPublicKey, parseNamedCurveSpki, parseSpki, signBytes, spkiOf } from '../crypto/keys.js';
import { deriveSessionKey, deviceIdFor, hmacSha256, sessionAttestationInput, sessionKdfInput } from '../crypto/primitives.js';
import { SksError, cryptoOp, optionError } from '../errors.js';
import { checkIdSyntax, type EngineContext } from '../engine/context.js';
import type { OpenSession } from '../engine/state.js';
import * as value from '../engine/validate.js';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export async function createProvisioningSession(ctx: EngineContext, raw: CreateProvisioningSessionArgs): Promise<ProvisioningSessionResult> {
  const record = value.object('args', raw);
  const sessionKeyAlgorithm = value.text('sessionKeyAlgorithm', record['sessionKeyAlgorithm']);
  const privacyEnabled = value.flag('privacyEnabled', record['privacyEnabled']);
  const serverSessionId = value.text('serverSessionId', record['serverSessionId']);
  const serverEphemeralKeyBytes = value.bytes('serverEphemeralKey', record['serverEphemeralKey']);
  const issuerUri = value.text('issuerUri', record['issuerUri']);
  const kmkBytes = value.optionalBytes('keyManagementKey', record['keyManagementKey']);
  const clientTime = value.int('clientTime', record['clientTime'], -0x80000000, 0xffffffff);
  const sessionLifeTime = value.int('sessionLifeTime', record['sessionLifeTime'], 0, 0xffff);
  // Attested as passed; counted as Java's signed short (0x8000..0xFFFF allow no use, spec §5.4).
  const sessionKeyLimitAsPassed = value.int('sessionKeyLimit', record['sessionKeyLimit'], -32768, 65535);
  const sessionKeyLimit = (sessionKeyLimitAsPassed << 16) >> 16;
  const serverCertificate = value.bytes('serverCertificate', record['serverCertificate']);

  if (sessionKeyAlgorithm !== ALGORITHM_SESSION_ATTEST_1) {
    throw optionError(`Unknown "sessionKeyAlgorithm" : ${sessionKeyAlgorithm}`, 'sessionKeyAlgorithm');
  }
  if (issuerUri.length === 0 || issuerUri.length > Limits.MAX_LENGTH_URI) {
    throw optionError(`"issuerUri" length error: ${issuerUri.length}`, 'issuerUri');
  }
  // Named curves only: explicit parameters could hide a wrong cofactor (Wycheproof), as for keyAgreement.
  const { key: serverEphemeralKey, curve: serverCurve } = parseNamedCurveSpki(serverEphemeralKeyBytes, 'serverEphemeralKey');
  const keyManagementKey = kmkBytes === undefined ? null : parseSpki(kmkBytes);
  if (keyManagementKey) checkExternalPublicKey(keyManagementKey, '"keyManagementKey"', 'keyManagementKey', false);
  checkIdSyntax(serverSessionId, 'serverSessionId');
  const deviceCertificate = ctx.device.certificatePath.at(0);
  if (!privacyEnabled && !deviceCertificate) throw new SksError('NOT_AVAILABLE', 'The device has no certificate');

  const randomId = ctx.entropy.randomBytes(32);
  const clientSessionId = Array.from(randomId, (b) => ID_ALPHABET[b & 0x3f]).join('');
  const ephemeral = await ctx.entropy.generateKeyPair({ kind: 'ec', curve: serverCurve }, 'ephemeral');
  const buf = cryptoOp('ECDH', () => diffieHellman({ privateKey: ephemeral.privateKey, publicKey: serverEphemeralKey }));
  const deviceId = deviceIdFor(privacyEnabled, deviceCertificate ?? Buffer.alloc(0));
  const sessionKey = deriveSessionKey(buf, sessionKdfInput(clientSessionId, serverSessionId, issuerUri, deviceId));
  buf.fill(0);

  const clientEphemeralKey = spkiOf(ephemeral.publicKey);
  const kmkSpki = keyManagementKey ? spkiOf(keyManagementKey) : null;
  const attestationInput = sessionAttestationInput({
    clientSessionId,
    serverSessionId,
    issuerUri,
    deviceId,
    sessionKeyAlgorithm,
    privacyEnabled,
    serverEphemeralKey: spkiOf(serverEphemeralKey),
    clientEphemeralKey,
    keyManagementKey: kmkSpki ?? undefined,
    clientTime,
    sessionLifeTime,
    sessionKeyLimit: sessionKeyLimitAsPassed,
    serverCertificate,
  });
  const attestation = privacyEnabled
    ? hmacSha256(sessionKey, attestationInput)
    : signBytes(ctx.device.privateKey, 'sha256', attestationInput);

  const handle = ctx.state.allocate('session');
  const session: OpenSession = {
    handle,
    privacyEnabled,
    clientSessionId,
    serverSessionId,
    issuerUri,
    keyManagementKey,
    keyManagementKeySpki: kmkSpki,
    clientTime,
    sessionLifeTime,
    phase: {
      kind: 'open',
      sessionKey,
      deviceId,
      macSequenceCounter: 0,
      sessionKeyLimit,
      names: new Map(),
      postOps: [],
      expiresAt: ctx.clock() + sessionLifeTime * 1000,
    },
  };
  ctx.state.sessions.set(handle, session);
  ctx.state.openSessions.add(session);
  return { provisioningHandle: handle, clientSessionId, attestation, clientEphemeralKey };
}
