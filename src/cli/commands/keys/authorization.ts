/**
 * Which secret an operation on a key needs (spec §8.6, §8.8, §8.10), read from
 * getKeyProtectionInfo so that the key holder is asked only when the key
 * needs it, and the report of a rejected PIN or PUK with the tries left.
 *
 * Every command reads its secrets with the store closed (read the protection,
 * close, ask, reopen): a person typing a PIN must not keep other processes
 * out of the store.
 */
import type { KeyHandle, KeyProtectionInfo, SecureKeyStore } from '../../../sks/api.js';
import { BiometricProtection, ExportDeleteProtection, ProtectionStatus } from '../../../sks/constants.js';
import { SksError, isSksError } from '../../../sks/errors.js';
import { processSecretSources, readSecret, type SecretSources } from '../../secrets.js';
import { BIOMETRIC_NAMES, pinTriesLeft } from './describe.js';
import { readStdin } from './input.js';
import { KeyAuthorizationFailure, peekKeyStore, withKeyStore } from './store.js';

/** What the SKS will check: nothing, the key's PIN (or the device PIN), or the PUK. */
export type SecretNeed = 'none' | 'pin' | 'puk';

const has = (info: KeyProtectionInfo, bit: number): boolean => (info.protectionStatus & bit) !== 0;

/** The secret the crypto methods need (spec §8.8 `authorize`, without a biometric sensor). */
export function needForUse(handle: KeyHandle, info: KeyProtectionInfo): SecretNeed {
  const bio = info.biometricProtection;
  if (bio === BiometricProtection.COMBINED || bio === BiometricProtection.EXCLUSIVE) {
    throw new SksError(
      'NOT_AVAILABLE',
      `Key #${handle} needs biometric authentication (biometricProtection "${BIOMETRIC_NAMES[bio] ?? bio}"), which the airtight CLI cannot perform`,
    );
  }
  return has(info, ProtectionStatus.PIN_PROTECTED) || has(info, ProtectionStatus.DEVICE_PIN) ? 'pin' : 'none';
}

/** The secret of an export/delete protection level (spec §8.10); `not allowed` is left to the SKS. */
export function needForProtection(level: number): SecretNeed {
  switch (level) {
    case ExportDeleteProtection.PIN:
      return 'pin';
    case ExportDeleteProtection.PUK:
      return 'puk';
    default:
      return 'none';
  }
}

/**
 * Gets the secret `need` names, or `undefined` when there is nothing to ask:
 * no secret needed, or the PIN/PUK is already blocked (the SKS refuses any
 * value then, so asking would only waste the key holder's time).
 */
export async function acquireSecret(sources: SecretSources, handle: KeyHandle, info: KeyProtectionInfo, need: SecretNeed): Promise<Buffer | undefined> {
  switch (need) {
    case 'none':
      return undefined;
    case 'pin':
      if (has(info, ProtectionStatus.DEVICE_PIN)) return readSecret(sources, { kind: 'pin', label: `device PIN for key #${handle}` });
      if (!has(info, ProtectionStatus.PIN_PROTECTED) || has(info, ProtectionStatus.PIN_BLOCKED)) return undefined;
      return readSecret(sources, { kind: 'pin', label: `PIN for key #${handle}`, format: info.format });
    case 'puk':
      if (!has(info, ProtectionStatus.PUK_PROTECTED) || has(info, ProtectionStatus.PUK_BLOCKED)) return undefined;
      return readSecret(sources, { kind: 'puk', label: `PUK for key #${handle}`, format: info.pukFormat });
  }
}

/** The line after a rejected PIN or PUK, from the protection info read after the failure. */
export function authorizationHint(handle: KeyHandle, info: KeyProtectionInfo, need: SecretNeed): string | undefined {
  if (need === 'pin' && has(info, ProtectionStatus.PIN_PROTECTED)) {
    if (!has(info, ProtectionStatus.PIN_BLOCKED)) return `${pinTriesLeft(info)} of ${info.retryLimit} PIN tries left for key #${handle}`;
    if (has(info, ProtectionStatus.PUK_PROTECTED) && !has(info, ProtectionStatus.PUK_BLOCKED)) {
      return `the PIN of key #${handle} is blocked: unblock it with "airtight keys unlock ${handle}" (needs the PUK)`;
    }
    return `the PIN of key #${handle} is blocked, and without a usable PUK only its issuer can unlock it`;
  }
  if (need === 'puk' && has(info, ProtectionStatus.PUK_PROTECTED)) {
    if (has(info, ProtectionStatus.PUK_BLOCKED)) return `the PUK of key #${handle} is blocked: only its issuer can unlock the key`;
    if (info.pukRetryLimit === 0) return `the PUK of key #${handle} has no retry limit`;
    return `${Math.max(0, info.pukRetryLimit - info.pukErrorCount)} of ${info.pukRetryLimit} PUK tries left for key #${handle}`;
  }
  return undefined;
}

/**
 * Runs an SKS call that checks `need`; an `AUTHORIZATION` failure becomes a
 * {@link KeyAuthorizationFailure} carrying the tries left, read again from
 * the store. The secret is wiped when the call ends, whatever the outcome.
 */
export async function authorized<T>(
  sks: SecureKeyStore,
  handle: KeyHandle,
  need: SecretNeed,
  secret: Buffer | undefined,
  call: (secret: Buffer | undefined) => Promise<T>,
): Promise<T> {
  try {
    return await call(secret);
  } catch (error) {
    if (!isSksError(error) || error.code !== 'AUTHORIZATION') throw error;
    let hint: string | undefined;
    try {
      hint = authorizationHint(handle, await sks.getKeyProtectionInfo(handle), need);
    } catch {
      hint = undefined;
    }
    throw new KeyAuthorizationFailure(error, hint);
  } finally {
    secret?.fill(0);
  }
}

/** The key's protection, read before anything is asked; the store is closed again at once. */
export const protectionOf = (dir: string, handle: KeyHandle): Promise<KeyProtectionInfo> => peekKeyStore(dir, (sks) => sks.getKeyProtectionInfo(handle));

/**
 * Runs `call` on the store in `dir` with a secret that was read before the
 * store was opened, through {@link authorized}; the secret is wiped whatever
 * happens, also when the store cannot be opened.
 */
export async function withSecret(
  dir: string,
  handle: KeyHandle,
  need: SecretNeed,
  secret: Buffer | undefined,
  call: (sks: SecureKeyStore, secret: Buffer | undefined) => Promise<void>,
): Promise<void> {
  try {
    await withKeyStore(dir, (sks) => authorized(sks, handle, need, secret, (s) => call(sks, s)));
  } finally {
    secret?.fill(0);
  }
}

/**
 * The user-API crypto call of `sign` and `decrypt`: reads the key's protection,
 * asks for the PIN only if the key needs one, reads the data (stdin after the
 * prompt, so the two don't compete), and only then opens the store again to
 * run `call` with the PIN: no store is held while a person or a pipe is awaited.
 */
export async function useKeyOnData(
  dir: string,
  handle: KeyHandle,
  pinFile: string | undefined,
  data: Buffer | undefined,
  call: (sks: SecureKeyStore, data: Buffer, authorization: Buffer | undefined) => Promise<void>,
): Promise<void> {
  const info = await protectionOf(dir, handle);
  const need = needForUse(handle, info);
  const secret = await acquireSecret(processSecretSources({ pin: pinFile }), handle, info, need);
  let input: Buffer;
  try {
    input = data ?? (await readStdin());
  } catch (error) {
    secret?.fill(0);
    throw error;
  }
  await withSecret(dir, handle, need, secret, (sks, authorization) => call(sks, input, authorization));
}
