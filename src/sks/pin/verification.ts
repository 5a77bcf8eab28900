/**
 * PIN and PUK verification with retry counters (spec §8.6), and the
 * biometric/PIN authorization of the user-API crypto methods (spec §8.8).
 *
 * A failed attempt is recorded as a pending durable mutation *before* the
 * error is thrown; the store facade writes it before the caller can learn the
 * result, so killing the process at any instant gives no free guess.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BiometricProtection } from '../constants.js';
import { SksError, optionError } from '../errors.js';
import type { EngineContext } from '../engine/context.js';
import type { KeyEntry } from '../engine/state.js';
import { pinGroupOf, secretEquals } from './pin-rules.js';

const authorizationError = (k: KeyEntry): SksError => new SksError('AUTHORIZATION', `"authorization" error for key #${k.handle}`, { field: 'authorization' });

function setGroupErrorCount(ctx: EngineContext, group: readonly KeyEntry[], count: number): void {
  for (const k of group) {
    if (k.errorCount === count) continue;
    k.errorCount = count;
    ctx.state.record({ kind: 'setKeyErrorCount', handle: k.handle, errorCount: count });
  }
}

export function verifyPin(ctx: EngineContext, key: KeyEntry, pin: Uint8Array | undefined): void {
  const policy = key.pinPolicy;
  if (!policy) {
    if (key.devicePinProtection) {
      if (!ctx.profile.verifyDevicePin?.(pin)) throw authorizationError(key);
      return;
    }
    if (pin !== undefined) throw optionError(`Redundant authorization information for key #${key.handle}`, 'authorization');
    return;
  }
  if (key.errorCount >= policy.retryLimit) throw authorizationError(key);
  if (!secretEquals(pin, key.pinValue)) {
    setGroupErrorCount(ctx, pinGroupOf(ctx.state, key), key.errorCount + 1);
    throw authorizationError(key);
  }
  // Group members move together, so a zero counter means the whole group is at zero: no write.
  if (key.errorCount !== 0) setGroupErrorCount(ctx, pinGroupOf(ctx.state, key), 0);
}

export async function verifyPuk(ctx: EngineContext, key: KeyEntry, puk: Uint8Array | undefined): Promise<void> {
  const pukPolicy = key.pinPolicy?.pukPolicy;
  if (!pukPolicy) throw optionError(`Key #${key.handle} has no PUK`, 'authorization');
  if (pukPolicy.retryLimit > 0) {
    if (pukPolicy.errorCount >= pukPolicy.retryLimit) throw authorizationError(key);
  } else {
    // A PUK that never blocks is slowed down instead (spec §8.6).
    await sleep(ctx.profile.unlimitedPukDelayMs);
  }
  if (!secretEquals(puk, pukPolicy.pukValue)) {
    if (pukPolicy.retryLimit > 0) {
      pukPolicy.errorCount += 1;
      ctx.state.record({ kind: 'setPukErrorCount', handle: pukPolicy.handle, errorCount: pukPolicy.errorCount });
    }
    throw authorizationError(key);
  }
  if (pukPolicy.errorCount !== 0) {
    pukPolicy.errorCount = 0;
    ctx.state.record({ kind: 'setPukErrorCount', handle: pukPolicy.handle, errorCount: 0 });
  }
}

/** Resets the PIN error counters of a key's synchronized group (unlock). */
export function resetPinErrors(ctx: EngineContext, key: KeyEntry): void {
  setGroupErrorCount(ctx, pinGroupOf(ctx.state, key), 0);
}

/** `authorize` of spec §8.8, applied by the five crypto methods. */
export function authorize(ctx: EngineContext, key: KeyEntry, biometricAuth: boolean, pin: Uint8Array | undefined): void {
  const bio = key.biometricProtection;
  if (biometricAuth) {
    if (bio === BiometricProtection.NONE) throw optionError(`Biometric option invalid for key #${key.handle}`, 'biometricAuth');
    if (bio === BiometricProtection.EXCLUSIVE || bio === BiometricProtection.ALTERNATIVE) {
      if (pin !== undefined) throw optionError(`Biometric + pin option invalid for key #${key.handle}`, 'authorization');
      return;
    }
    verifyPin(ctx, key, pin);
    return;
  }
  if (bio === BiometricProtection.COMBINED || bio === BiometricProtection.EXCLUSIVE) {
    throw optionError(`Missing biometric for key #${key.handle}`, 'biometricAuth');
  }
  verifyPin(ctx, key, pin);
}
