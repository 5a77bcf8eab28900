/** Key management by the key holder (spec §10.6-§10.12, §11.4). */
import { provisioningHandle, type EnumeratedKey, type ExtensionValue, type KeyAttributes, type KeyHandle, type KeyProtectionInfo } from '../api.js';
import { ExportDeleteProtection, ExtensionSubType, KeyBackup, Limits, ProtectionStatus } from '../constants.js';
import { SksError, optionError } from '../errors.js';
import { stdKey, type EngineContext } from '../engine/context.js';
import { removeCommittedKey, removeDamagedKey } from '../engine/removal.js';
import { durableErrorCount, isOpen, nextAfter, type KeyEntry } from '../engine/state.js';
import * as validate from '../engine/validate.js';
import { setPropertyValue } from '../extensions/property-bag.js';
import { checkPinCompliance, pinGroupOf } from '../pin/pin-rules.js';
import { resetPinErrors, verifyPin, verifyPuk } from '../pin/verification.js';

/** Export/delete protection levels (spec §8.10). */
async function authorizeProtected(ctx: EngineContext, key: KeyEntry, level: number, authorization: Uint8Array | undefined): Promise<void> {
  switch (level) {
    case ExportDeleteProtection.NOT_ALLOWED:
      throw new SksError('NOT_ALLOWED', `Operation not allowed on key #${key.handle}`);
    case ExportDeleteProtection.PIN:
      verifyPin(ctx, key, authorization);
      return;
    case ExportDeleteProtection.PUK:
      await verifyPuk(ctx, key, authorization);
      return;
    case ExportDeleteProtection.NONE:
      if (authorization !== undefined) throw optionError(`Redundant authorization information for key #${key.handle}`, 'authorization');
      return;
    default:
      // An unknown level is damage, never "none": a permissive default would
      // turn one edited byte into an unprotected export.
      throw new SksError('STORAGE', `Key #${key.handle} has an unknown protection level`);
  }
}

export async function exportKey(ctx: EngineContext, handle: KeyHandle, rawAuthorization: Uint8Array | undefined): Promise<Buffer> {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  const authorization = validate.optionalBytes('authorization', rawAuthorization);
  await authorizeProtected(ctx, key, key.exportProtection, authorization);
  if (!(key.keyBackup & KeyBackup.EXPORTED)) {
    key.keyBackup |= KeyBackup.EXPORTED;
    ctx.state.record({ kind: 'setKeyBackup', handle: key.handle, keyBackup: key.keyBackup });
  }
  return key.symmetricKey ? Buffer.from(key.symmetricKey) : key.keyPair.pkcs8()!;
}

export async function deleteKey(ctx: EngineContext, handle: KeyHandle, rawAuthorization: Uint8Array | undefined): Promise<void> {
  const handleValue = validate.keyHandle('keyHandle', handle);
  if (ctx.state.keys.damage(handleValue) !== undefined) {
    // A damaged key can be deleted without authorization: its protection cannot
    // be trusted, and anyone able to damage the row can delete it from the file anyway.
    removeDamagedKey(ctx.state, handleValue);
    return;
  }
  const key = stdKey(ctx, handleValue);
  const authorization = validate.optionalBytes('authorization', rawAuthorization);
  await authorizeProtected(ctx, key, key.deleteProtection, authorization);
  removeCommittedKey(ctx.state, key);
}

export async function unlockKey(ctx: EngineContext, handle: KeyHandle, rawPuk: Uint8Array): Promise<void> {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  await verifyPuk(ctx, key, validate.optionalBytes('authorization', rawPuk));
  resetPinErrors(ctx, key);
}

function setGroupPin(ctx: EngineContext, key: KeyEntry, newPin: Uint8Array, resetErrors: boolean): void {
  for (const keyEntry of pinGroupOf(ctx.state, key)) {
    keyEntry.pinValue?.fill(0);
    keyEntry.pinValue = Buffer.from(newPin);
    if (resetErrors) keyEntry.errorCount = 0;
    ctx.state.record({ kind: 'setKeyPin', handle: keyEntry.handle, pinValue: keyEntry.pinValue, errorCount: durableErrorCount(keyEntry) });
  }
}

function checkNewPin(ctx: EngineContext, key: KeyEntry, newPin: Uint8Array): void {
  const policy = key.pinPolicy;
  // Without a PIN policy there is nothing to change (spec §17 #2: the reference fails unchecked).
  if (!policy) throw optionError(`Key #${key.handle} has no PIN policy`, 'authorization');
  if (!policy.userModifiable) throw new SksError('NOT_ALLOWED', `PIN for key #${key.handle} is not user modifiable`);
  checkPinCompliance(ctx.state, newPin, policy, key.appUsage, true);
}

export function changePin(ctx: EngineContext, handle: KeyHandle, rawOld: Uint8Array | undefined, rawNew: Uint8Array): void {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  const oldPin = validate.optionalBytes('authorization', rawOld);
  const newPin = validate.bytes('newPin', rawNew);
  verifyPin(ctx, key, oldPin);
  checkNewPin(ctx, key, newPin);
  setGroupPin(ctx, key, newPin, false);
}

export async function setPin(ctx: EngineContext, handle: KeyHandle, rawPuk: Uint8Array, rawNew: Uint8Array): Promise<void> {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  const puk = validate.optionalBytes('authorization', rawPuk);
  const newPin = validate.bytes('newPin', rawNew);
  await verifyPuk(ctx, key, puk);
  checkNewPin(ctx, key, newPin);
  setGroupPin(ctx, key, newPin, true);
}

export function getExtension(ctx: EngineContext, handle: KeyHandle, rawType: string): ExtensionValue {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  const type = validate.text('type', rawType);
  const extension = key.extensions.get(type);
  if (!extension) throw optionError(`No such extension: ${type} for key #${key.handle}`, 'type');
  return { subType: extension.subType, qualifier: extension.qualifier, extensionData: Buffer.from(extension.data) };
}

export function setProperty(ctx: EngineContext, handle: KeyHandle, rawType: string, rawName: string, rawValue: string): void {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  const type = validate.text('type', rawType);
  const name = validate.text('name', rawName);
  const value = Buffer.from(validate.text('value', rawValue), 'utf8');
  const extension = key.extensions.get(type);
  if (extension?.subType !== ExtensionSubType.PROPERTY_BAG) throw optionError(`No such "propertyBag" : ${type}`, 'type');
  // The reference lets the 16-bit length wrap (spec §17 #11); we refuse.
  if (value.length > 0xffff) throw optionError(`"property" value too long: ${name}`, 'value');
  const outcome = setPropertyValue(extension.data, name, value);
  switch (outcome.kind) {
    case 'not-writable':
      throw new SksError('NOT_ALLOWED', `"property" not writable: ${name}`, { field: 'property' });
    case 'not-found':
      throw optionError(`"property" not found: ${name}`, 'property');
    case 'updated':
      if (outcome.data.length > Limits.MAX_LENGTH_EXTENSION_DATA) {
        throw optionError(`"propertyBag" would exceed ${Limits.MAX_LENGTH_EXTENSION_DATA} bytes: ${type}`, 'value');
      }
      extension.data = outcome.data;
      ctx.state.record({ kind: 'setExtensionData', handle: key.handle, type, data: extension.data });
  }
}

/** Keys of open sessions are skipped (spec §10.12). */
export function enumerateKeys(ctx: EngineContext, rawAfter: KeyHandle | 0): EnumeratedKey | undefined {
  const after = validate.keyHandle('keyHandle', rawAfter);
  const keys = ctx.state.keys;
  // Not a full scan (which decodes every key) for a handle that is not there.
  if (after !== 0 && !keys.has(after) && keys.damage(after) === undefined) return undefined;
  // Damaged keys are listed too (marked), so that they can be seen and deleted.
  const found = nextAfter(keys.withDamage(), after, (key) => key instanceof SksError || !isOpen(key.owner));
  if (found === undefined) return undefined;
  const [handleValue, key] = found;
  if (key instanceof SksError) return { keyHandle: handleValue, provisioningHandle: provisioningHandle(0), damaged: key.message };
  return { keyHandle: handleValue, provisioningHandle: key.owner.handle };
}

export function getKeyAttributes(ctx: EngineContext, handle: KeyHandle): KeyAttributes {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  return {
    symmetricKeyLength: key.symmetricKey?.length ?? 0,
    certificatePath: (key.certificatePath ?? []).map((c) => Buffer.from(c)),
    appUsage: key.appUsage,
    friendlyName: key.friendlyName ?? undefined,
    endorsedAlgorithms: [...key.endorsedAlgorithms],
    extensionTypes: [...key.extensions.keys()],
  };
}

export function getKeyProtectionInfo(ctx: EngineContext, handle: KeyHandle): KeyProtectionInfo {
  const key = stdKey(ctx, validate.keyHandle('keyHandle', handle));
  const pin = key.pinPolicy;
  const puk = pin?.pukPolicy ?? null;
  let status: number = ProtectionStatus.NO_PIN;
  if (key.devicePinProtection) status = ProtectionStatus.DEVICE_PIN;
  else if (pin) {
    status = ProtectionStatus.PIN_PROTECTED;
    if (key.errorCount >= pin.retryLimit) status |= ProtectionStatus.PIN_BLOCKED;
    if (puk) {
      status |= ProtectionStatus.PUK_PROTECTED;
      if (puk.retryLimit > 0 && puk.errorCount >= puk.retryLimit) status |= ProtectionStatus.PUK_BLOCKED;
    }
  }
  return {
    protectionStatus: status,
    pukFormat: puk?.format ?? 0,
    pukRetryLimit: puk?.retryLimit ?? 0,
    pukErrorCount: puk?.errorCount ?? 0,
    userDefined: pin?.userDefined ?? false,
    userModifiable: pin?.userModifiable ?? false,
    format: pin?.format ?? 0,
    retryLimit: pin?.retryLimit ?? 0,
    grouping: pin?.grouping ?? 0,
    patternRestrictions: pin?.patternRestrictions ?? 0,
    minLength: pin?.minLength ?? 0,
    maxLength: pin?.maxLength ?? 0,
    inputMethod: pin?.inputMethod ?? 0,
    pinErrorCount: pin ? key.errorCount : 0,
    enablePinCaching: key.enablePinCaching,
    biometricProtection: key.biometricProtection,
    exportProtection: key.exportProtection,
    deleteProtection: key.deleteProtection,
    keyBackup: key.keyBackup,
  };
}
