/**
 * What every operation works with: the live state, the device, the injected
 * environment; plus the object lookups of spec §3.6 and the session-key
 * bookkeeping of spec §5.4-§5.7.
 */
import { MacMethod, type MacMethodName } from '../constants.js';
import { macEquals, decryptFromIssuer, encryptionKey, hmacSha256, macKey, targetKeyReference } from '../crypto/primitives.js';
import type { DeviceIdentity, DeviceProfile } from '../device/identity.js';
import type { Entropy } from '../entropy.js';
import { SksError, macError, optionError } from '../errors.js';
import type { KeyHandle, ProvisioningHandle } from '../api.js';
import { isOpen, type KeyEntry, type OpenPhase, type OpenSession, type Session, type SksState } from './state.js';

export type { OpenSession } from './state.js';

export interface EngineContext {
  readonly state: SksState;
  readonly device: DeviceIdentity;
  readonly profile: DeviceProfile;
  readonly entropy: Entropy;
  readonly clock: () => number;
  /**
   * Writes the call's pending mutations now, durably, or throws `STORAGE`.
   * For what must be on disk before a call goes on: a PIN/PUK attempt is
   * counted before the comparison (pin/verification.ts).
   */
  readonly persist: () => void;
}

// ---------------------------------------------------------------- lookups (spec §3.6)

export function findSession(ctx: EngineContext, provisioningHandle: ProvisioningHandle): Session {
  const sessionState = ctx.state.sessions.get(provisioningHandle);
  if (!sessionState) throw ctx.state.sessions.damage(provisioningHandle) ?? new SksError('NO_SESSION', `No such provisioning session: ${provisioningHandle}`);
  return sessionState;
}

export function openSession(ctx: EngineContext, provisioningHandle: ProvisioningHandle): OpenSession {
  const session = findSession(ctx, provisioningHandle);
  if (!isOpen(session)) throw new SksError('NO_SESSION', `Session not open: ${provisioningHandle}`);
  return session;
}

export function closedSession(ctx: EngineContext, provisioningHandle: ProvisioningHandle): Session {
  const session = findSession(ctx, provisioningHandle);
  if (isOpen(session)) throw new SksError('NOT_ALLOWED', `Session is open: ${provisioningHandle}`);
  return session;
}

function findKey(ctx: EngineContext, handle: KeyHandle): KeyEntry {
  const key = ctx.state.keys.get(handle);
  // A damaged key refuses every use (deleteKey aside, see key-management.ts).
  if (!key) throw ctx.state.keys.damage(handle) ?? new SksError('NO_KEY', `Key not found #${handle}`);
  return key;
}

/** A key under provisioning: its owner is in the open phase. */
export type OpenKey = KeyEntry & { owner: OpenSession };

const isOpenKey = (key: KeyEntry): key is OpenKey => isOpen(key.owner);

/** A key of a still-open session (provisioning calls). */
export function openKey(ctx: EngineContext, handle: KeyHandle): OpenKey {
  const key = findKey(ctx, handle);
  if (!isOpenKey(key)) throw new SksError('NO_KEY', `Key #${handle} not belonging to open session`);
  return key;
}

/** A key usable by applications: its session is closed. */
export function stdKey(ctx: EngineContext, handle: KeyHandle): KeyEntry {
  const key = findKey(ctx, handle);
  if (isOpen(key.owner)) throw new SksError('NO_KEY', `Key #${handle} still in provisioning`);
  return key;
}

/** A post-operation target: closed and owned by an updatable session. */
export function targetKey(ctx: EngineContext, handle: KeyHandle): KeyEntry {
  const key = findKey(ctx, handle);
  if (isOpen(key.owner)) throw optionError(`Key #${handle} still in provisioning`);
  if (key.owner.damage) throw key.owner.damage;
  if (!key.owner.keyManagementKey) throw optionError(`Key #${handle} belongs to a non-updatable provisioning session`);
  return key;
}

// ---------------------------------------------------------------- session key (spec §5.4-§5.8)

/** One use of the session key; fails when the budget is spent. */
export function useSessionKey(openPhase: OpenPhase): void {
  if (openPhase.sessionKeyLimit <= 0) throw optionError('"sessionKeyLimit" exceeded', 'sessionKeyLimit');
  openPhase.sessionKeyLimit -= 1;
}

/** A MAC in progress: its key is fixed (and its sequence number spent) when it starts. */
export interface PendingMac {
  verify(data: Uint8Array, mac: Uint8Array): void;
}

/** One session-key use and the next sequence number: the key of a method MAC or attestation (spec §5.5). */
function nextMacKey(openPhase: OpenPhase, method: MacMethodName): Buffer {
  useSessionKey(openPhase);
  const counter = openPhase.macSequenceCounter;
  openPhase.macSequenceCounter = (counter + 1) & 0xffff;
  return macKey(openPhase.sessionKey, method, counter);
}

/** Starts a method MAC: one use and one sequence number, consumed even if verification fails. */
export function beginMac(openPhase: OpenPhase, method: MacMethodName): PendingMac {
  const key = nextMacKey(openPhase, method);
  return {
    verify(data, mac) {
      const expected = hmacSha256(key, data);
      key.fill(0);
      if (!macEquals(expected, mac)) throw macError();
    },
  };
}

/** An attestation HMAC (method name `DeviceAttestation`, spec §5.6). */
export function attest(openPhase: OpenPhase, data: Uint8Array): Buffer {
  const key = nextMacKey(openPhase, MacMethod.DEVICE_ATTESTATION);
  const result = hmacSha256(key, data);
  key.fill(0);
  return result;
}

/** Decrypts issuer-encrypted data (spec §5.7): one use. */
export function decryptIssuerData(openPhase: OpenPhase, data: Uint8Array): Buffer {
  useSessionKey(openPhase);
  const key = encryptionKey(openPhase.sessionKey);
  try {
    return decryptFromIssuer(key, data);
  } finally {
    key.fill(0);
  }
}

/** The target key reference of spec §5.8: one use. */
export function keyIdOf(openPhase: OpenPhase, targetCertificate: Uint8Array): Buffer {
  useSessionKey(openPhase);
  return targetKeyReference(openPhase.sessionKey, openPhase.deviceId, targetCertificate);
}

/** Ids of keys and policies (spec §3.4): duplicate check first, then syntax. */
export function registerId(openPhase: OpenPhase, id: string, referenced: boolean): void {
  if (openPhase.names.has(id)) throw optionError(`Duplicate "id" : ${id}`, 'id');
  checkIdSyntax(id, 'id');
  openPhase.names.set(id, referenced);
}

export function checkIdSyntax(value: string, name: string): void {
  let ok = value.length >= 1 && value.length <= 32;
  for (let i = 0; ok && i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) ok = false;
  }
  if (!ok) throw optionError(`Malformed "${name}" : ${value}`, name);
}
