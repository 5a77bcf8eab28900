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
  const m: Mutation[] = [];
  const usedPin = new Set<PinPolicyHandle>();
  for (const k of state.keys.values()) if (k.pinPolicy) usedPin.add(k.pinPolicy.handle);
  for (const [h, p] of state.pinPolicies) {
    if (isOpen(p.owner) || usedPin.has(h)) continue;
    state.pinPolicies.delete(h);
    m.push({ kind: 'deletePinPolicy', handle: h });
  }
  const usedPuk = new Set<PukPolicyHandle>();
  for (const p of state.pinPolicies.values()) if (p.pukPolicy) usedPuk.add(p.pukPolicy.handle);
  for (const [h, p] of state.pukPolicies) {
    if (isOpen(p.owner) || usedPuk.has(h)) continue;
    state.pukPolicies.delete(h);
    wipe(p.pukValue);
    m.push({ kind: 'deletePukPolicy', handle: h });
  }
  return m;
}

/** Deletes a damaged key's row, and the policies and session nothing readable uses any more. */
export function removeDamagedKey(state: SksState, handle: KeyHandle): void {
  state.keys.delete(handle);
  state.record({ kind: 'deleteKey', handle });
  for (const x of collectOrphanPolicies(state)) state.record(x);
}

/** Deletes a committed key; a session left without keys disappears too (spec §10.7 step 4). */
export function removeCommittedKey(state: SksState, key: KeyEntry): void {
  state.keys.delete(key.handle);
  wipeKey(key);
  state.record({ kind: 'deleteKey', handle: key.handle });
  for (const x of collectOrphanPolicies(state)) state.record(x);
  const owner = key.owner;
  if (![...state.keys.values()].some((k) => k.owner === owner)) {
    state.sessions.delete(owner.handle);
    state.record({ kind: 'deleteSession', handle: owner.handle });
  }
}
