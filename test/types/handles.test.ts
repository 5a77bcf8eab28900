/**
 * Types that carry the rules (issue 7 item 2). Every `@ts-expect-error` line
 * below is a mistake the compiler must refuse: `tsc -p tsconfig.json` (which
 * includes test/) fails if any of them starts to compile. The functions are
 * never called; only the runtime checks at the end run under vitest.
 */
import { describe, expect, it } from 'vitest';
import {
  NO_PIN_POLICY,
  keyHandle,
  pinPolicyHandle,
  provisioningHandle,
  pukPolicyHandle,
  type CreateKeyEntryArgs,
  type KeyHandle,
  type PinPolicyHandle,
  type ProvisioningHandle,
  type PukPolicyHandle,
  type SecureKeyStore,
} from '../../src/sks/api.js';
import { closedSession, openKey, openSession, stdKey, type EngineContext } from '../../src/sks/engine/context.js';
import { CLOSED, isOpen, type Session, type SksState } from '../../src/sks/engine/state.js';
import type { SksError, SksErrorCode } from '../../src/sks/errors.js';

/** The public contract: handles of one kind never stand in for another, nor raw numbers for any. */
export async function publicApiHandles(
  sks: SecureKeyStore,
  provisioningHandle: ProvisioningHandle,
  hnd: KeyHandle,
  pin: PinPolicyHandle,
  puk: PukPolicyHandle,
  entry: CreateKeyEntryArgs,
): Promise<void> {
  await sks.getKeyAttributes(hnd);
  // @ts-expect-error a raw number is not a KeyHandle
  await sks.getKeyAttributes(7);
  // @ts-expect-error a provisioning handle is not a KeyHandle
  await sks.getKeyAttributes(provisioningHandle);
  // @ts-expect-error a PIN policy handle is not a KeyHandle
  await sks.deleteKey(pin);
  // @ts-expect-error a raw number is not a KeyHandle, even in an argument object
  await sks.signData({ keyHandle: 7, algorithm: 'x', data: new Uint8Array() });

  await sks.createKeyEntry({ ...entry, pinPolicyHandle: pin });
  await sks.createKeyEntry({ ...entry, pinPolicyHandle: NO_PIN_POLICY });
  // @ts-expect-error a key handle is not a PIN policy handle
  await sks.createKeyEntry({ ...entry, pinPolicyHandle: hnd });
  // @ts-expect-error a PUK policy handle is not a PIN policy handle
  await sks.createKeyEntry({ ...entry, pinPolicyHandle: puk });
  // @ts-expect-error "no PIN policy" is NO_PIN_POLICY, not a bare 0
  await sks.createKeyEntry({ ...entry, pinPolicyHandle: 0 });

  // @ts-expect-error a key handle is not a provisioning handle
  await sks.abortProvisioningSession(hnd);
  // @ts-expect-error a provisioning handle does not name a key to update
  await sks.postUpdateKey(provisioningHandle, { targetKeyHandle: hnd, authorization: new Uint8Array(), mac: new Uint8Array() });
  // @ts-expect-error a PIN policy handle is not a target key
  await sks.postDeleteKey(provisioningHandle, { targetKeyHandle: pin, authorization: new Uint8Array(), mac: new Uint8Array() });

  // Enumerations start at 0, and only at 0.
  await sks.enumerateKeys(0);
  await sks.enumerateProvisioningSessions(0, true);
  // @ts-expect-error an enumeration continues after a handle, not after any number
  await sks.enumerateKeys(1);
  // @ts-expect-error a provisioning handle does not continue a key enumeration
  await sks.enumerateKeys(provisioningHandle);

  // Handles still are numbers where numbers are read (printing, JSON).
  const asNumber: number = hnd;
  void asNumber;
  // @ts-expect-error but a number never becomes a handle without the edge constructors
  const forged: KeyHandle = asNumber;
  void forged;
  // @ts-expect-error and the constructors do not re-brand one kind as another
  const rebranded: PinPolicyHandle = keyHandle(1);
  void rebranded;
}

/** Inside the engine: its maps and lookups take the same branded handles. */
export function engineHandles(ctx: EngineContext, state: SksState, provisioningHandle: ProvisioningHandle, hnd: KeyHandle, pin: PinPolicyHandle): void {
  state.keys.get(hnd);
  state.pinPolicies.get(pin);
  // @ts-expect-error the key map is indexed by KeyHandle only
  state.keys.get(3);
  // @ts-expect-error a PIN policy handle does not index the key map
  state.keys.get(pin);
  // @ts-expect-error a key handle does not index the session map
  state.sessions.get(hnd);
  stdKey(ctx, hnd);
  openKey(ctx, hnd);
  openSession(ctx, provisioningHandle);
  // @ts-expect-error a provisioning handle does not find a key
  stdKey(ctx, provisioningHandle);
  // @ts-expect-error a key handle does not find a session
  closedSession(ctx, hnd);

  const hnd2: KeyHandle = state.allocate('key');
  // @ts-expect-error allocate returns the handle type of the kind it allocates
  const wrong: PinPolicyHandle = state.allocate('key');
  void hnd2;
  void wrong;
}

/** The session phase: open-only data is reachable only from an open session. */
export function sessionPhases(ctx: EngineContext, state: SksState, sess: Session, provisioningHandle: ProvisioningHandle): void {
  // @ts-expect-error the session key exists only in the open phase
  void sess.phase.sessionKey;
  if (isOpen(sess)) {
    void sess.phase.sessionKey; // narrowed: open
    state.closeWork(sess);
  }
  // @ts-expect-error only an open session can be closed
  state.closeWork(sess);
  // @ts-expect-error only an open session can be torn down
  state.dropOpenSession(closedSession(ctx, provisioningHandle));
  state.dropOpenSession(openSession(ctx, provisioningHandle));

  switch (sess.phase.kind) {
    case 'open':
      void sess.phase.expiresAt;
      break;
    case 'closed':
      // @ts-expect-error a closed session has no expiry
      void sess.phase.expiresAt;
      break;
    default: {
      const none: never = sess.phase;
      void none;
    }
  }
  // @ts-expect-error the phase is one of a closed set
  sess.phase = { kind: 'aborted' };
}

/** Error codes are a closed set, so `switch (e.code)` is exhaustive. */
export function errorCodes(err: SksError): number {
  // @ts-expect-error not an SKS error code
  const bad: SksErrorCode = 'TIMEOUT';
  void bad;
  switch (err.code) {
    case 'AUTHORIZATION':
    case 'NOT_ALLOWED':
    case 'STORAGE':
    case 'MAC':
    case 'CRYPTO':
    case 'NO_SESSION':
    case 'NO_KEY':
    case 'ALGORITHM':
    case 'OPTION':
    case 'INTERNAL':
    case 'EXTERNAL':
    case 'USER_ABORT':
    case 'NOT_AVAILABLE':
      return err.status;
    default: {
      const unreachable: never = err.code;
      return unreachable;
    }
  }
}

describe('branded handles', () => {
  it('are plain numbers at run time (the brand costs nothing)', () => {
    expect([provisioningHandle(1), keyHandle(2), pinPolicyHandle(3), pukPolicyHandle(4)]).toEqual([1, 2, 3, 4]);
    expect(NO_PIN_POLICY).toBe(0);
  });

  it('the closed phase is one shared frozen value', () => {
    expect(CLOSED).toEqual({ kind: 'closed' });
    expect(Object.isFrozen(CLOSED)).toBe(true);
  });
});
