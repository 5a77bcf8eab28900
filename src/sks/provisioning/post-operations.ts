/**
 * Post-provisioning operations (spec §6.13, §6.14, §7.4) and the KMK roll-over
 * (spec §6.15). Registration only: nothing happens to a target before the
 * registering session closes.
 */
import type { KeyHandle, PostOperationArgs } from '../api.js';
import { MacMethod, PinGrouping } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { checkExternalPublicKey, parseSpki, spkiOf, verifyKmkSignature } from '../crypto/keys.js';
import { rollOverSignedData, targetKeyReferenceSignedData } from '../crypto/primitives.js';
import { SksError, optionError } from '../errors.js';
import { beginMac, keyIdOf, targetKey, type EngineContext, type OpenKey, type OpenSession } from '../engine/context.js';
import type { KeyEntry, PostOperation, Session } from '../engine/state.js';
import * as value from '../engine/validate.js';
import { endEntityCertificate } from './key-material.js';

function checkPrivacyConsistency(session: OpenSession, target: KeyEntry): void {
  if (session.privacyEnabled !== target.owner.privacyEnabled) {
    throw optionError(`Inconsistent use of the "privacyEnabled" attribute for key #${target.handle}`, 'privacyEnabled');
  }
}

/** Verifies the KMK authorization over the target key reference (spec §5.8). */
function verifyAuthorization(session: OpenSession, target: KeyEntry, authorization: Uint8Array): void {
  const ee = target.certificatePath?.[0];
  if (!ee) throw optionError(`Missing "setCertificatePath" for: ${target.id}`);
  const keyId = keyIdOf(session.phase, ee);
  const kmk = target.owner.keyManagementKey!;
  if (!verifyKmkSignature(kmk, targetKeyReferenceSignedData(keyId), authorization)) {
    throw optionError(`"authorization" signature did not verify for key #${target.handle}`, 'authorization');
  }
}

/** The combining rules of spec §7.4. */
function register(session: OpenSession, op: PostOperation): void {
  for (const other of session.phase.postOps) {
    if (other.newKey && other.newKey === op.newKey) throw optionError(`New key used for multiple operations: ${op.newKey.id}`);
    if (other.target === op.target) {
      const item = op.target.handle;
      if (other.kind === 'delete' || op.kind === 'delete') throw optionError(`Delete wasn't exclusive for key #${item}`);
      if (other.kind === 'unlock' && op.kind === 'unlock') throw optionError(`Multiple unlocks of key #${item}`);
      if (other.kind === 'update' && op.kind === 'update') throw optionError(`Multiple updates of key #${item}`);
    }
  }
  session.phase.postOps.push(op);
}

function parseOp(postOperationArgs: PostOperationArgs): { target: KeyHandle; authorization: Uint8Array; mac: Uint8Array } {
  const record = value.object('op', postOperationArgs);
  return {
    target: value.keyHandle('targetKeyHandle', record['targetKeyHandle']),
    authorization: value.bytes('authorization', record['authorization']),
    mac: value.bytes('mac', record['mac']),
  };
}

/** postDeleteKey and postUnlockKey (spec §6.13). */
export function postDeleteOrUnlock(ctx: EngineContext, session: OpenSession, kind: 'delete' | 'unlock', postOperationArgs: PostOperationArgs): void {
  const { target: handle, authorization, mac } = parseOp(postOperationArgs);
  const target = targetKey(ctx, handle);
  if (kind === 'unlock' && !target.pinPolicy) throw optionError(`Key #${handle} is not PIN protected`);
  const pendingMac = beginMac(session.phase, kind === 'delete' ? MacMethod.POST_DELETE_KEY : MacMethod.POST_UNLOCK_KEY);
  checkPrivacyConsistency(session, target);
  pendingMac.verify(MacData.postDeleteOrUnlock(authorization), mac);
  verifyAuthorization(session, target, authorization);
  register(session, { kind, target, newKey: null });
}

/** postUpdateKey and postCloneKeyProtection (spec §6.14). */
export function postUpdateOrClone(ctx: EngineContext, newKey: OpenKey, kind: 'update' | 'clone', postOperationArgs: PostOperationArgs): void {
  const session = newKey.owner;
  const { target: handle, authorization, mac } = parseOp(postOperationArgs);
  const target = targetKey(ctx, handle);
  if (newKey.pinPolicy || newKey.devicePinProtection) throw optionError('Updated/cloned keys must not define PIN protection');
  if (kind === 'update') {
    if (newKey.appUsage !== target.appUsage) throw optionError('Updated keys must have the same "appUsage" as the target key');
  } else if (target.pinPolicy && target.pinPolicy.grouping !== PinGrouping.SHARED) {
    throw optionError('A cloned key protection must have PIN grouping="shared"');
  }
  const ee = endEntityCertificate(newKey);
  const pendingMac = beginMac(session.phase, kind === 'update' ? MacMethod.POST_UPDATE_KEY : MacMethod.POST_CLONE_KEY_PROTECTION);
  checkPrivacyConsistency(session, target);
  pendingMac.verify(MacData.postUpdateOrClone(ee, authorization), mac);
  verifyAuthorization(session, target, authorization);
  register(session, { kind, target, newKey });
}

/** updateKeyManagementKey (spec §6.15): immediate, not tied to any open session. */
export function updateKeyManagementKey(ctx: EngineContext, session: Session, rawKmk: Uint8Array, rawAuthorization: Uint8Array): void {
  const kmkBytes = value.bytes('keyManagementKey', rawKmk);
  const authorization = value.bytes('authorization', rawAuthorization);
  const oldKmk = session.keyManagementKey;
  if (!oldKmk) throw new SksError('NOT_ALLOWED', `Session is not updatable: ${session.handle}`);
  const newKmk = parseSpki(kmkBytes);
  // The reference does not validate the new key; we apply the rules of session creation (spec §17 #7).
  checkExternalPublicKey(newKmk, '"keyManagementKey"', 'keyManagementKey', false);
  const newSpki = spkiOf(newKmk);
  if (!verifyKmkSignature(oldKmk, rollOverSignedData(newSpki), authorization)) {
    throw optionError(`"authorization" signature did not verify for session: ${session.handle}`, 'authorization');
  }
  session.keyManagementKey = newKmk;
  session.keyManagementKeySpki = newSpki;
  ctx.state.record({ kind: 'setSessionKmk', handle: session.handle, keyManagementKey: newSpki });
}
