/**
 * Scheduled remote operations at a device's management session (spec §9.2):
 * after credential discovery the device's pending operations are claimed and
 * turned into deleteKeys / unlockKeys / updateKey targets; once the device
 * has confirmed the session, credentials and operations record the outcome.
 */
import { createHash } from 'node:crypto';
import type { DiscoveredCredential, ManagementPlan, ProvisioningOutcome, TargetKeyConfig } from '../../keygen2/server/index.js';
import type { CredentialStatus, IssuerDatabase, ScheduledOperation } from '../db/port.js';
import { isIssuerError } from '../errors.js';

export const fingerprintOf = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');

export interface ManagementSessionContext {
  readonly sessionId: string;
  readonly deviceId: string;
  /** The KMK that governs every discovered key once the client applied the roll-over chain. */
  readonly kmkId: string;
  /** Replacement key id in this session → the update operation it serves. */
  readonly updates: Readonly<Record<string, ScheduledOperation>>;
}

/** Claims the device's pending operations (and those this session claimed before a retry) and targets the found ones. */
export async function planManagementOperations(
  db: IssuerDatabase,
  ctx: ManagementSessionContext,
  discovered: readonly DiscoveredCredential[],
): Promise<ManagementPlan> {
  const claimed = await db.claimOperations(ctx.deviceId, ctx.sessionId);
  const running = (await db.listOperations({ deviceId: ctx.deviceId, status: 'running' })).filter((o) => o.sessionId === ctx.sessionId);
  const ops = [...new Map([...claimed, ...running].map((o) => [o.id, o])).values()];
  const found = new Map<string, DiscoveredCredential>();
  for (const discoveredCredential of discovered) {
    const ee = discoveredCredential.certificatePath.at(0);
    if (ee !== undefined) found.set(fingerprintOf(Buffer.from(ee, 'base64url')), discoveredCredential);
  }
  const unlockKeys: TargetKeyConfig[] = [];
  const deleteKeys: TargetKeyConfig[] = [];
  const updateKey: Record<string, TargetKeyConfig> = {};
  const updateKeyIdOf = new Map(Object.entries(ctx.updates).map(([keyId, op]) => [op.id, keyId]));
  for (const op of ops) {
    const credential = found.get(op.credentialFingerprint);
    if (credential === undefined) {
      await db.finishOperation(op.id, 'failed', 'the credential was not found on the device');
      continue;
    }
    const target: TargetKeyConfig = {
      certificate: credential.certificatePath[0],
      clientSessionId: credential.clientSessionId,
      serverSessionId: credential.serverSessionId,
      kmk: ctx.kmkId,
    };
    if (op.kind === 'delete') deleteKeys.push(target);
    else if (op.kind === 'unlock') unlockKeys.push(target);
    else {
      const keyId = updateKeyIdOf.get(op.id);
      // Scheduled after this session was created: no replacement key here; back to pending at the end.
      if (keyId !== undefined) updateKey[keyId] = target;
    }
  }
  return { unlockKeys, deleteKeys, updateKey };
}

/** Records a confirmed management session: deleted and replaced credentials, finished operations (idempotent). */
export async function recordManagementOutcome(db: IssuerDatabase, sessionId: string, deviceId: string, outcome: ProvisioningOutcome): Promise<void> {
  const running = (await db.listOperations({ deviceId, status: 'running' })).filter((o) => o.sessionId === sessionId);
  const byFingerprint = new Map(running.map((o) => [o.credentialFingerprint, o]));
  const finish = async (target: TargetKeyConfig, status: CredentialStatus | undefined, detail: string): Promise<void> => {
    const fp = fingerprintOf(Buffer.from(target.certificate, 'base64url'));
    if (status !== undefined) await db.setCredentialStatus(fp, status).catch(ignore('NOT_FOUND'));
    const op = byFingerprint.get(fp);
    if (op !== undefined) await db.finishOperation(op.id, 'done', detail).catch(ignore('CONFLICT'));
  };
  for (const target of outcome.deleted) await finish(target, 'deleted', 'deleted');
  for (const target of outcome.unlocked) await finish(target, undefined, 'unlocked');
  for (const update of outcome.updated) {
    const issued = outcome.keys.find((k) => k.id === update.keyId);
    const newFp = issued === undefined ? undefined : fingerprintOf(Buffer.from(issued.certificatePath[0], 'base64url'));
    await finish(update.target, 'deleted', JSON.stringify({ replacedBy: newFp }));
  }
  // Anything still running was not part of the confirmed outcome: back to pending.
  await db.releaseOperations(sessionId);
}

const ignore =
  (code: 'NOT_FOUND' | 'CONFLICT') =>
  (error: unknown): undefined => {
    if (isIssuerError(error) && error.code === code) return undefined;
    throw error;
  };
