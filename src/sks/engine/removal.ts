/** Removal of keys and of the policies and sessions they leave behind (spec §10.7, §7.3). */
import type { KeyHandle, PinPolicyHandle, PukPolicyHandle } from '../api.js';
import type { Mutation } from '../store/records.js';
import { wipe } from '../crypto/primitives.js';
import { isOpen, wipeKey, type KeyEntry, type SksState } from './state.js';

/**
 * Removes PIN policies no key uses any more, then PUK policies no PIN policy
 * uses, among committed objects only (an open session's policies may still be
 * waiting for their keys). Returns the matching durable deletions.
 */
export function collectOrphanPolicies(state: SksState): Mutation[] {
  const mutations: Mutation[] = [];
  const usedPin = new Set<PinPolicyHandle>();
  for (const keyEntry of state.keys.values()) if (keyEntry.pinPolicy) usedPin.add(keyEntry.pinPolicy.handle);
  for (const [pinPolicyHandle, pinPolicy] of state.pinPolicies) {
    if (isOpen(pinPolicy.owner) || usedPin.has(pinPolicyHandle)) continue;
    state.pinPolicies.delete(pinPolicyHandle);
    mutations.push({ kind: 'deletePinPolicy', handle: pinPolicyHandle });
  }
  const usedPuk = new Set<PukPolicyHandle>();
  for (const pinPolicyValue of state.pinPolicies.values()) if (pinPolicyValue.pukPolicy) usedPuk.add(pinPolicyValue.pukPolicy.handle);
  for (const [pukPolicyHandle, pukPolicyValue] of state.pukPolicies) {
    if (isOpen(pukPolicyValue.owner) || usedPuk.has(pukPolicyHandle)) continue;
    state.pukPolicies.delete(pukPolicyHandle);
    wipe(pukPolicyValue.pukValue);
    mutations.push({ kind: 'deletePukPolicy', handle: pukPolicyHandle });
  }
  return mutations;
}

/** Deletes a damaged key's row, and the policies and session nothing readable uses any more. */
export function removeDamagedKey(state: SksState, handle: KeyHandle): void {
  state.keys.delete(handle);
  state.record({ kind: 'deleteKey', handle });
  for (const mutation of collectOrphanPolicies(state)) state.record(mutation);
}

/** Deletes a committed key; a session left without keys disappears too (spec §10.7 step 4). */
export function removeCommittedKey(state: SksState, key: KeyEntry): void {
  state.keys.delete(key.handle);
  wipeKey(key);
  state.record({ kind: 'deleteKey', handle: key.handle });
  for (const mutation of collectOrphanPolicies(state)) state.record(mutation);
  const owner = key.owner;
  if (![...state.keys.values()].some((k) => k.owner === owner)) {
    state.sessions.delete(owner.handle);
    state.record({ kind: 'deleteSession', handle: owner.handle });
  }
}
