/** createProvisioningSession (spec §6.1, §5.2, §5.3). */
import { diffieHellman, type ECDH, type KeyObject } from 'node:crypto';
import { ALGORITHM_SESSION_ATTEST_1, type EcCurve } from '../algorithms.js';
import type { CreateProvisioningSessionArgs, ProvisioningSessionResult } from '../api.js';
import { Limits } from '../constants.js';
import { canonicalEcPoint, checkExternalPublicKey, ecSpkiOfPoint, parseNamedCurveSpki, parseSpki, signBytes, spkiOf } from '../crypto/keys.js';
import { deriveSessionKey, deviceIdFor, hmacSha256, sessionAttestationInput, sessionKdfInput } from '../crypto/primitives.js';
import { SksError, cryptoFailure, cryptoOp, optionError } from '../errors.js';
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
  const agreed = ephemeralAgreement(ctx, serverEphemeralKeyBytes);
  let keyManagementKey: KeyObject | null;
  let deviceCertificate: Buffer | undefined;
  try {
    keyManagementKey = kmkBytes === undefined ? null : parseSpki(kmkBytes);
    if (keyManagementKey) checkExternalPublicKey(keyManagementKey, '"keyManagementKey"', 'keyManagementKey', false);
    checkIdSyntax(serverSessionId, 'serverSessionId');
    deviceCertificate = ctx.device.certificatePath.at(0);
    if (!privacyEnabled && !deviceCertificate) throw new SksError('NOT_AVAILABLE', 'The device has no certificate');
  } catch (error) {
    agreed.sharedSecret?.fill(0); // a later check refused the call: the secret is never used
    throw error;
  }
  const randomId = ctx.entropy.randomBytes(32);
  const clientSessionId = Array.from(randomId, (b) => ID_ALPHABET[b & 0x3f]).join('');
  const { sharedSecret, clientEphemeralKey, serverEphemeralKey } = agreed.sharedSecret === undefined ? await agreeViaKeyPair(ctx, agreed) : agreed;
  const deviceId = deviceIdFor(privacyEnabled, deviceCertificate ?? Buffer.alloc(0));
  const sessionKey = deriveSessionKey(sharedSecret, sessionKdfInput(clientSessionId, serverSessionId, issuerUri, deviceId));
  sharedSecret.fill(0);

  const kmkSpki = keyManagementKey ? spkiOf(keyManagementKey) : null;
  const attestationInput = sessionAttestationInput({
    clientSessionId,
    serverSessionId,
    issuerUri,
    deviceId,
    sessionKeyAlgorithm,
    privacyEnabled,
    serverEphemeralKey,
    clientEphemeralKey,
    keyManagementKey: kmkSpki ?? undefined,
    clientTime,
    sessionLifeTime,
    sessionKeyLimit: sessionKeyLimitAsPassed,
    serverCertificate,
  });
  const attestation = privacyEnabled ? hmacSha256(sessionKey, attestationInput) : signBytes(ctx.device.privateKey, 'sha256', attestationInput);

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

/** The session's ECDH agreement, or (when `sharedSecret` is undefined) the parsed server key to agree with later. */
type Agreement =
  | { readonly sharedSecret: Buffer; readonly clientEphemeralKey: Buffer; readonly serverEphemeralKey: Buffer }
  | { readonly sharedSecret?: undefined; readonly key: KeyObject; readonly curve: EcCurve };

/**
 * Parses the server's ephemeral key (spec §6.1 step 3) and, where the entropy source offers raw
 * ECDH and the key is in canonical form (named curve, uncompressed point: what every issuer
 * sends), agrees at once: `computeSecret` refuses a point off the curve, which is reported as
 * `parseNamedCurveSpki` reports it, at the same step. Any other form takes the KeyObject path,
 * whose checks are unchanged.
 */
function ephemeralAgreement(ctx: EngineContext, spki: Uint8Array): Agreement {
  const canonical = ctx.entropy.ephemeralEcdh === undefined ? undefined : canonicalEcPoint(spki);
  if (canonical === undefined || ctx.entropy.ephemeralEcdh === undefined) return parseNamedCurveSpki(spki, 'serverEphemeralKey');
  const ecdh = ctx.entropy.ephemeralEcdh(canonical.curve);
  let sharedSecret: Buffer;
  try {
    sharedSecret = ecdh.computeSecret(canonical.point);
  } catch (error) {
    throw cryptoFailure('public key is not a valid SubjectPublicKeyInfo', error);
  }
  return { sharedSecret, clientEphemeralKey: ecdhSpki(canonical.curve, ecdh), serverEphemeralKey: Buffer.from(spki) };
}

const ecdhSpki = (curve: EcCurve, ecdh: ECDH): Buffer => ecSpkiOfPoint(curve, ecdh.getPublicKey());

async function agreeViaKeyPair(
  ctx: EngineContext,
  server: { readonly key: KeyObject; readonly curve: EcCurve },
): Promise<{ sharedSecret: Buffer; clientEphemeralKey: Buffer; serverEphemeralKey: Buffer }> {
  const ephemeral = await ctx.entropy.generateKeyPair({ kind: 'ec', curve: server.curve }, 'ephemeral');
  const sharedSecret = cryptoOp('ECDH', () => diffieHellman({ privateKey: ephemeral.privateKey, publicKey: server.key }));
  return { sharedSecret, clientEphemeralKey: spkiOf(ephemeral.publicKey), serverEphemeralKey: spkiOf(server.key) };
}
