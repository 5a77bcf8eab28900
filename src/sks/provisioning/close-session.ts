/**
 * closeProvisioningSession (spec §6.2) and the check-and-commit algorithm of
 * spec §7.1. Steps A-C only read; once they pass, D-G change the live model
 * and the resulting records are handed to the store as one transaction.
 */
import { ALGORITHM_NONE, Cap, hasCap, lookupAlgorithm, symmetricKeyLengthPermitted } from '../algorithms.js';
import type { KeyHandle } from '../api.js';
import { MacMethod } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { isRsa, keysMatch } from '../crypto/keys.js';
import { SksError, optionError } from '../errors.js';
import { attest, beginMac, targetKey, type EngineContext, type OpenSession } from '../engine/context.js';
import { isUpdateOrDelete, keyRecord, pinPolicyRecord, pukPolicyRecord, sessionRecord, wipeKey, type KeyEntry, type Session } from '../engine/state.js';
import * as value from '../engine/validate.js';
import type { Mutation } from '../store/records.js';
import { pinGroupOf } from '../pin/pin-rules.js';
import { collectOrphanPolicies } from '../engine/removal.js';

export function closeProvisioningSession(ctx: EngineContext, session: OpenSession, rawNonce: Uint8Array, rawMac: Uint8Array): Buffer {
  const openPhase = session.phase;
  const nonce = value.bytes('nonce', rawNonce);
  const mac = value.bytes('mac', rawMac);
  beginMac(openPhase, MacMethod.CLOSE_PROVISIONING_SESSION).verify(
    MacData.closeProvisioningSession(session.clientSessionId, session.serverSessionId, session.issuerUri, nonce),
    mac,
  );
  const attestation = attest(openPhase, MacData.closeAttestation(nonce));

  // A. Unreferenced objects.
  for (const [id, referenced] of openPhase.names) {
    if (!referenced) throw optionError(`Unreferenced object "id" : ${id}`, 'id');
  }

  // B. Per-key checks.
  const own = ctx.state.keysOf(session);
  for (const key of own) checkKeyAtClose(ctx, session, key);

  // C. Post-operation targets still valid.
  for (const op of openPhase.postOps) targetKey(ctx, op.target.handle);

  // D. Execute pending operations.
  const deletedKeys: KeyHandle[] = [];
  const replaced: KeyEntry[] = [];
  for (const op of openPhase.postOps) {
    switch (op.kind) {
      case 'delete':
        ctx.state.keys.delete(op.target.handle);
        deletedKeys.push(op.target.handle);
        break;
      case 'unlock': {
        // Unlock whatever key holds the target handle now (spec §7.4 recommendation, §17 #10).
        const current = ctx.state.keys.get(op.target.handle) ?? op.target;
        for (const keyEntry of pinGroupOf(ctx.state, current)) keyEntry.errorCount = 0;
        const puk = current.pinPolicy?.pukPolicy;
        if (puk) puk.errorCount = 0;
        break;
      }
      case 'update':
      case 'clone': {
        const newKey = op.newKey!;
        newKey.pinPolicy = op.target.pinPolicy;
        newKey.pinValue = op.target.pinValue ? Buffer.from(op.target.pinValue) : null;
        newKey.errorCount = op.target.errorCount;
        // An attempt the target has paid in advance covers the new key too (it is written with it), so the
        // members of a PIN group keep one reservation state and none can be tried without a counted attempt.
        newKey.attemptReserved = op.target.attemptReserved;
        newKey.devicePinProtection = op.target.devicePinProtection;
        if (op.kind === 'update') {
          ctx.state.keys.delete(newKey.handle);
          newKey.handle = op.target.handle;
          ctx.state.keys.set(op.target.handle, newKey); // keeps the target's position
          replaced.push(op.target);
        }
        break;
      }
    }
  }

  // A later clone of the same target still copies its PIN: wipe replaced entries only now.
  for (const old of replaced) wipeKey(old);

  // E. Ownership transfer: the target's old session is absorbed.
  const absorbed: Session[] = [];
  for (const op of openPhase.postOps) {
    const old = op.target.owner;
    if (old === session || !ctx.state.sessions.has(old.handle)) continue;
    for (const keyEntry of ctx.state.keys.values()) if (keyEntry.owner === old) keyEntry.owner = session;
    for (const pinPolicy of ctx.state.pinPolicies.values()) if (pinPolicy.owner === old) pinPolicy.owner = session;
    for (const pukPolicy of ctx.state.pukPolicies.values()) if (pukPolicy.owner === old) pukPolicy.owner = session;
    ctx.state.sessions.delete(old.handle);
    absorbed.push(old);
  }

  // F, G. Close; an empty session disappears.
  openPhase.postOps.length = 0;
  ctx.state.closeWork(session);
  const remaining = ctx.state.keysOf(session);
  if (remaining.length === 0) ctx.state.sessions.delete(session.handle);
  // Only a deleted target can leave a policy without keys (an updated one passes its policy on).
  const orphans = deletedKeys.length > 0 ? collectOrphanPolicies(ctx.state) : [];

  const mutations: Mutation[] = [{ kind: 'setCounters', counters: { ...ctx.state.counters } }];
  if (remaining.length > 0) {
    mutations.push({ kind: 'putSession', session: sessionRecord(session) });
    for (const pukPolicy of ctx.state.pukPolicies.values())
      if (pukPolicy.owner === session) mutations.push({ kind: 'putPukPolicy', policy: pukPolicyRecord(pukPolicy) });
    for (const pinPolicy of ctx.state.pinPolicies.values())
      if (pinPolicy.owner === session) mutations.push({ kind: 'putPinPolicy', policy: pinPolicyRecord(pinPolicy) });
    for (const keyEntry of remaining) mutations.push({ kind: 'putKey', key: keyRecord(keyEntry) });
  }
  for (const handle of deletedKeys) mutations.push({ kind: 'deleteKey', handle });
  mutations.push(...orphans);
  for (const absorbedSession of absorbed) mutations.push({ kind: 'deleteSession', handle: absorbedSession.handle });
  for (const mutation of mutations) ctx.state.record(mutation);
  return attestation;
}

function checkKeyAtClose(ctx: EngineContext, session: OpenSession, key: KeyEntry): void {
  const ee = key.certificatePath?.[0];
  if (!ee) throw optionError(`Missing "setCertificatePath" for: ${key.id}`, 'certificatePath');
  // The generated pair matches by construction; anything replaced since is tested.
  if (!key.keyPair.stillGenerated) {
    const privateKey = key.keyPair.privateKey!;
    const publicKey = key.keyPair.publicKey;
    if (isRsa(publicKey) !== isRsa(privateKey)) {
      throw optionError(`RSA/EC mixup between public and private keys for: ${key.id}`);
    }
    const publicType = publicKey.asymmetricKeyType;
    if (publicType === 'rsa' || publicType === 'ec') {
      if (publicType === 'ec' && privateKey.asymmetricKeyType !== 'ec') {
        throw new SksError('CRYPTO', 'Crypto failure: key match test');
      }
      if (!keysMatch(privateKey, publicKey)) throw optionError(`Public/private key mismatch for: ${key.id}`);
    }
  }
  for (const other of ctx.state.keys.values()) {
    const otherEe = other.certificatePath?.[0];
    // Length and last octet (a signature's: random) keep the common case in JavaScript; equals() only for candidates.
    if (other === key || otherEe?.length !== ee.length || otherEe[ee.length - 1] !== ee[ee.length - 1] || !otherEe.equals(ee)) continue;
    const excused = session.phase.postOps.some((op) => op.target === other && isUpdateOrDelete(op));
    if (!excused) throw optionError(`Duplicate certificate in "setCertificatePath" for: ${key.id}`);
  }
  for (const uri of key.endorsedAlgorithms) {
    if (uri === ALGORITHM_NONE) continue;
    const alg = lookupAlgorithm(uri)!;
    const symmetricAlg = hasCap(alg, Cap.SYM_KEY);
    if (key.symmetricKey) {
      if (symmetricAlg && hasCap(alg, Cap.SYM_ENC) && !symmetricKeyLengthPermitted(alg, key.symmetricKey.length)) {
        throw optionError(`Key ${key.id} has wrong size (${key.symmetricKey.length}) for algorithm: ${uri}`);
      }
      if (symmetricAlg) continue;
      throw optionError(`Symmetric key ${key.id} does not match algorithm: ${uri}`);
    }
    const rsa = key.keyPair.publicIsRsa;
    if (!symmetricAlg && hasCap(alg, Cap.RSA_KEY) === rsa) continue;
    throw optionError(`${rsa ? 'RSA' : 'EC'} key ${key.id} does not match algorithm: ${uri}`);
  }
}
