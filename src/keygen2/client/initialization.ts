/**
 * ProvisioningInitializationRequest → ProvisioningInitializationResponse
 * (spec §3.3 step 2, §6.3, §6.4, §9.4): apply KMK roll-overs, open the SKS
 * session, and report the client's ephemeral key, device id and attestation.
 */
import type { SecureKeyStore } from '../../sks/api.js';
import { KeyGen2Error } from '../errors.js';
import {
  epochSeconds,
  offsetDateTime,
  type ProvisioningInitializationRequest,
  type ProvisioningInitializationResponse,
  type UpdatableKeyManagementKey,
} from '../messages/index.js';
import type { ClientClock } from './ports.js';
import { closedSessions, sameBytes, type OpenSession } from './session.js';

/**
 * The KMK roll-over procedure of spec §9.4: older generations first; every
 * closed session governed by a child KMK is moved to its parent.
 */
export async function applyKeyManagementKeyUpdates(
  sks: SecureKeyStore,
  parent: Uint8Array,
  children: readonly UpdatableKeyManagementKey[] | undefined,
): Promise<number> {
  let updates = 0;
  for (const child of children ?? []) {
    updates += await applyKeyManagementKeyUpdates(sks, child.publicKey, child.updatableKeyManagementKeys);
    for (const provisioningSessionInfo of await closedSessions(sks)) {
      if (sameBytes(provisioningSessionInfo.keyManagementKey, child.publicKey)) {
        await sks.updateKeyManagementKey(provisioningSessionInfo.provisioningHandle, parent, child.authorization);
        updates++;
      }
    }
  }
  return updates;
}

export interface InitializationContext {
  readonly sks: SecureKeyStore;
  readonly clock: ClientClock;
  /** From the InvocationRequest. */
  readonly serverSessionId: string;
  readonly privacyEnabled: boolean;
  /** The decoded `url` of the invocation URL, verbatim (spec §2.3). */
  readonly issuerUri: string;
  /** DER of the TLS leaf certificate of the `init` GET; empty without TLS (spec §2.3). */
  readonly serverCertificate: Uint8Array;
  /** Device certificate path (from `getDeviceInfo`). */
  readonly deviceCertificatePath: readonly Uint8Array[];
  /** Largest accepted distance between `serverTime` and the device clock; undefined = not checked. */
  readonly serverTimeToleranceSeconds: number | undefined;
}

/** Request checks that need no SKS: session id, serverTime sanity, KMK tree placement. */
export function checkInitializationRequest(req: ProvisioningInitializationRequest, ctx: InitializationContext, now: Date): void {
  if (req.serverSessionId !== ctx.serverSessionId) {
    throw new KeyGen2Error('PROTOCOL', "serverSessionId differs from the InvocationRequest's", { path: '$.serverSessionId' });
  }
  if (ctx.serverTimeToleranceSeconds !== undefined && Math.abs(req.serverTime.epochMs - now.getTime()) > ctx.serverTimeToleranceSeconds * 1000) {
    throw new KeyGen2Error('PROTOCOL', 'serverTime is too far from the device clock', { path: '$.serverTime' });
  }
  if (req.updatableKeyManagementKeys !== undefined && req.keyManagementKey === undefined) {
    throw new KeyGen2Error('SCHEMA', 'updatableKeyManagementKeys without keyManagementKey', { path: '$.updatableKeyManagementKeys' });
  }
}

/**
 * Runs the SKS side of initialization. Returns the open session (the caller
 * owns aborting it on any later failure) and the response to send.
 */
export async function initializeSession(
  req: ProvisioningInitializationRequest,
  ctx: InitializationContext,
  onOpened: (s: OpenSession) => void,
): Promise<{ session: OpenSession; response: ProvisioningInitializationResponse }> {
  const now = ctx.clock.now();
  checkInitializationRequest(req, ctx, now);
  if (req.keyManagementKey !== undefined) {
    await applyKeyManagementKeyUpdates(ctx.sks, req.keyManagementKey, req.updatableKeyManagementKeys);
  }
  const offset = ctx.clock.utcOffsetMinutes?.(now) ?? -now.getTimezoneOffset();
  const clientTime = offsetDateTime(now.getTime(), offset);
  const provisioningSessionResult = await ctx.sks.createProvisioningSession({
    sessionKeyAlgorithm: req.sessionKeyAlgorithm,
    privacyEnabled: ctx.privacyEnabled,
    serverSessionId: req.serverSessionId,
    serverEphemeralKey: req.serverEphemeralKey,
    issuerUri: ctx.issuerUri,
    keyManagementKey: req.keyManagementKey,
    clientTime: epochSeconds(clientTime),
    sessionLifeTime: req.sessionLifeTime,
    sessionKeyLimit: req.sessionKeyLimit,
    serverCertificate: ctx.serverCertificate,
  });
  const session: OpenSession = {
    sks: ctx.sks,
    provisioningHandle: provisioningSessionResult.provisioningHandle,
    serverSessionId: req.serverSessionId,
    clientSessionId: provisioningSessionResult.clientSessionId,
    privacyEnabled: ctx.privacyEnabled,
    keyManagementKey: req.keyManagementKey,
  };
  onOpened(session);
  const base = {
    qualifier: 'ProvisioningInitializationResponse',
    serverSessionId: req.serverSessionId,
    clientSessionId: provisioningSessionResult.clientSessionId,
    serverTime: req.serverTime,
    clientTime,
    clientEphemeralKey: provisioningSessionResult.clientEphemeralKey,
    attestation: provisioningSessionResult.attestation,
  } as const;
  const response: ProvisioningInitializationResponse = ctx.privacyEnabled ? base : { ...base, deviceId: { certificatePath: ctx.deviceCertificatePath } };
  return { session, response };
}
