/**
 * PIN and PUK verification with retry counters (spec §8.6), and the
 * biometric/PIN authorization of the user-API crypto methods (spec §8.8).
 *
 * No free guess, ever: an attempt is counted durably *before* the PIN or PUK
 * is compared ("decrement first"), and the count is given back on success.
 * Counting after a wrong comparison is not enough: when that write fails, the
 * wrong PIN gets `STORAGE` while a right one (which needs no write) succeeds,
 * so an attacker who makes writes fail (a full disk, `ulimit -f`) learns every
 * guess for free. Counting first, a failing store answers every attempt, right
 * or wrong, with the same `STORAGE` error before any comparison is made.
 *
 * To keep a correct PIN cheap, the give-back is lazy (see `AttemptCounter` in
 * engine/state.ts): a reservation stays standing after a success, so further
 * correct PINs in the same store instance write nothing; it is returned when
 * the store closes ({@link releaseAttemptReservations}) or folded into the
 * next counter write.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BiometricProtection } from '../constants.js';
import { SksError, optionError } from '../errors.js';
import type { EngineContext } from '../engine/context.js';
import { durableErrorCount, type AttemptCounter, type KeyEntry, type PukPolicy, type SksState } from '../engine/state.js';
import { pinGroupOf, secretEquals } from './pin-rules.js';

const authorizationError = (k: KeyEntry): SksError => new SksError('AUTHORIZATION', `"authorization" error for key #${k.handle}`, { field: 'authorization' });

/** One retry counter of the store: a key's PIN counter or a PUK policy's. */
interface CounterTarget {
  readonly counter: AttemptCounter;
  /** The mutation that writes `count` as the durable value. */
  readonly write: (count: number) => void;
}

const keyCounter = (ctx: EngineContext, k: KeyEntry): CounterTarget => ({
  counter: k,
  write: (errorCount) => ctx.state.record({ kind: 'setKeyErrorCount', handle: k.handle, errorCount }),
});

const pukCounter = (ctx: EngineContext, p: PukPolicy): CounterTarget => ({
  counter: p,
  write: (errorCount) => ctx.state.record({ kind: 'setPukErrorCount', handle: p.handle, errorCount }),
});

const pinCounters = (ctx: EngineContext, key: KeyEntry): CounterTarget[] => pinGroupOf(ctx.state, key).map((k) => keyCounter(ctx, k));

/** Sets live counts and reservations, recording a write only where the durable value changes. */
function setCounters(targets: readonly CounterTarget[], errorCount: number, attemptReserved: boolean): void {
  for (const { counter, write } of targets) {
    const before = durableErrorCount(counter);
    counter.errorCount = errorCount;
    counter.attemptReserved = attemptReserved;
    const after = durableErrorCount(counter);
    if (after !== before) write(after);
  }
}

/**
 * Makes sure the coming attempt is already counted on disk. Writes (durably,
 * now) only when no reservation stands; if that write fails nothing has been
 * compared and the caller gets the store's `STORAGE` error, the same for any
 * PIN. The live model is put back first, so a later call cannot mistake the
 * failed write for a standing reservation.
 */
function reserveAttempt(ctx: EngineContext, targets: readonly CounterTarget[], live: number): void {
  if (targets.every((t) => t.counter.attemptReserved)) return;
  const saved = targets.map((t) => ({ ...t.counter }));
  setCounters(targets, live, true);
  try {
    ctx.persist();
  } catch (error) {
    targets.forEach((t, i) => Object.assign(t.counter, saved[i]));
    throw error;
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
  // A blocked PIN is refused whatever the value: no comparison, so nothing to count.
  if (key.errorCount >= policy.retryLimit) throw authorizationError(key);
  const live = key.errorCount;
  // The group is looked up only when a counter must change: a correct PIN under a standing reservation costs no scan.
  let group: CounterTarget[] | undefined;
  if (!key.attemptReserved) reserveAttempt(ctx, (group = pinCounters(ctx, key)), live);
  if (!secretEquals(pin, key.pinValue)) {
    // The reservation becomes the counted error: the store already holds live + 1, so no write.
    setCounters(group ?? pinCounters(ctx, key), live + 1, false);
    throw authorizationError(key);
  }
  // Group members move together, so a zero counter means the whole group is at zero: no write.
  if (live !== 0) setCounters(group ?? pinCounters(ctx, key), 0, true);
}

export async function verifyPuk(ctx: EngineContext, key: KeyEntry, puk: Uint8Array | undefined): Promise<void> {
  const pukPolicy = key.pinPolicy?.pukPolicy;
  if (!pukPolicy) throw optionError(`Key #${key.handle} has no PUK`, 'authorization');
  const counted = pukPolicy.retryLimit > 0;
  const target = [pukCounter(ctx, pukPolicy)];
  const live = pukPolicy.errorCount;
  if (counted) {
    if (live >= pukPolicy.retryLimit) throw authorizationError(key);
    reserveAttempt(ctx, target, live);
  } else {
    // A PUK that never blocks is slowed down instead (spec §8.6).
    await sleep(ctx.profile.unlimitedPukDelayMs);
  }
  if (!secretEquals(puk, pukPolicy.pukValue)) {
    if (counted) setCounters(target, live + 1, false);
    throw authorizationError(key);
  }
  if (live !== 0) setCounters(target, 0, counted);
}

/**
 * Gives back every standing reservation (one write for all), so the store
 * holds the true counts; the store facade calls it when it closes. Entries
 * no longer in the store (deleted, replaced by an update) are not visited,
 * nor entries never decoded (a reservation needs a use, which decodes).
 */
export function releaseAttemptReservations(ctx: EngineContext): void {
  const { state } = ctx;
  for (const keyEntry of state.keys.loaded()) {
    if (keyEntry.attemptReserved) setCounters([keyCounter(ctx, keyEntry)], keyEntry.errorCount, false);
  }
  for (const pukPolicy of state.pukPolicies.loaded()) {
    if (pukPolicy.attemptReserved) setCounters([pukCounter(ctx, pukPolicy)], pukPolicy.errorCount, false);
  }
}

/**
 * After a failed write the facade reloads the committed state, where a
 * standing reservation reads as one more error. Carry a reservation over only
 * when the loaded count is exactly the reserved one, i.e. when it really is on
 * disk (a reservation whose own write just failed is not, and is dropped);
 * otherwise the higher count stands, which is the safe direction.
 */
export function carryAttemptReservations(from: SksState, to: SksState): void {
  const carry = (old: AttemptCounter | undefined, loaded: AttemptCounter | undefined): void => {
    if (old?.attemptReserved !== true || loaded?.errorCount !== old.errorCount + 1) return;
    loaded.errorCount = old.errorCount;
    loaded.attemptReserved = true;
  };
  // Only entries the old state decoded can hold a reservation; the rest stay undecoded in both.
  for (const keyEntry of from.keys.loaded()) if (keyEntry.attemptReserved) carry(keyEntry, to.keys.get(keyEntry.handle));
  for (const pukPolicy of from.pukPolicies.loaded()) if (pukPolicy.attemptReserved) carry(pukPolicy, to.pukPolicies.get(pukPolicy.handle));
}

/** Resets the PIN error counters of a key's synchronized group (unlock). */
export function resetPinErrors(ctx: EngineContext, key: KeyEntry): void {
  for (const counterTarget of pinCounters(ctx, key)) setCounters([counterTarget], 0, counterTarget.counter.attemptReserved);
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
