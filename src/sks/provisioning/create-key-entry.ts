/** createKeyEntry (spec §6.8) with the key attestation of spec §5.6. */
import { ALGORITHM_KEY_ATTEST_1, ALGORITHM_NONE, hasCap, keyGenSpecOf, lookupAlgorithm, Cap } from '../algorithms.js';
import type { CreateKeyEntryArgs, KeyEntryResult } from '../api.js';
import { BiometricProtection, ExportDeleteProtection, InputMethod, Limits, MacMethod } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { spkiOfGeneratedPair } from '../crypto/keys.js';
import { EntryKeys } from '../engine/entry-keys.js';
import { SksError, cryptoOpAsync, optionError } from '../errors.js';
import { attest, beginMac, decryptIssuerData, registerId, type EngineContext, type OpenSession } from '../engine/context.js';
import type { KeyEntry, PinPolicy } from '../engine/state.js';
import * as checked from '../engine/validate.js';
import type { KeyPairRequest } from '../entropy.js';
import { checkPinCompliance } from '../pin/pin-rules.js';

const checkRange = (name: string, value: number): void => {
  if (value < 0 || value > 3) throw optionError(`Invalid "${name}" value=${value}`, name);
};

export async function createKeyEntry(ctx: EngineContext, session: OpenSession, entryArgs: CreateKeyEntryArgs): Promise<KeyEntryResult> {
  const openPhase = session.phase;
  const id = checked.text('id', entryArgs.id);
  const keyEntryAlgorithm = checked.text('keyEntryAlgorithm', entryArgs.keyEntryAlgorithm);
  let serverSeed = checked.optionalBytes('serverSeed', entryArgs.serverSeed);
  const devicePinProtection = checked.flag('devicePinProtection', entryArgs.devicePinProtection);
  const pinPolicyHandle = checked.pinPolicyHandle('pinPolicyHandle', entryArgs.pinPolicyHandle);
  const pinValueIn = checked.optionalBytes('pinValue', entryArgs.pinValue);
  const enablePinCaching = checked.flag('enablePinCaching', entryArgs.enablePinCaching);
  const biometricProtection = checked.byteValue('biometricProtection', entryArgs.biometricProtection);
  const exportProtection = checked.byteValue('exportProtection', entryArgs.exportProtection);
  const deleteProtection = checked.byteValue('deleteProtection', entryArgs.deleteProtection);
  const appUsage = checked.byteValue('appUsage', entryArgs.appUsage);
  const friendlyName = checked.optionalText('friendlyName', entryArgs.friendlyName);
  const keyAlgorithm = checked.text('keyAlgorithm', entryArgs.keyAlgorithm);
  const keyParameters = checked.optionalBytes('keyParameters', entryArgs.keyParameters);
  const endorsedAlgorithms = checked.textList('endorsedAlgorithms', entryArgs.endorsedAlgorithms);
  const mac = checked.bytes('mac', entryArgs.mac);

  if (keyEntryAlgorithm !== ALGORITHM_KEY_ATTEST_1) {
    throw new SksError('ALGORITHM', `Unknown "keyEntryAlgorithm" : ${keyEntryAlgorithm}`, { field: 'keyEntryAlgorithm' });
  }
  const algorithm = lookupAlgorithm(keyAlgorithm);
  const genSpec = algorithm ? keyGenSpecOf(algorithm) : undefined;
  if (!algorithm || !genSpec) throw optionError(`Unsupported "keyAlgorithm": ${keyAlgorithm}`, 'keyAlgorithm');
  if (hasCap(algorithm, Cap.KEY_PARM)) {
    if (keyParameters === undefined) throw optionError('Missing "keyParameters"', 'keyParameters');
  } else if (keyParameters !== undefined) {
    throw optionError('Unexpected "keyParameters"', 'keyParameters');
  }
  serverSeed ??= new Uint8Array(0);
  if (serverSeed.length > Limits.MAX_LENGTH_SERVER_SEED) throw optionError(`"serverSeed" length error: ${serverSeed.length}`, 'serverSeed');
  checkRange('exportProtection', exportProtection);
  checkRange('deleteProtection', deleteProtection);
  checkRange('appUsage', appUsage);
  checkRange('biometricProtection', biometricProtection);

  // PIN source resolution (step 7)
  let pinProtection = true;
  let pinPolicy: PinPolicy | null = null;
  let pinIsEncrypted = false;
  if (devicePinProtection) {
    if (!ctx.profile.devicePinSupport) throw optionError('Unsupported: "devicePinProtection"', 'devicePinProtection');
    if (pinPolicyHandle !== 0) throw optionError('Device PIN mixed with PIN policy ojbect', 'devicePinProtection');
  } else if (pinPolicyHandle !== 0) {
    const policy = ctx.state.pinPolicies.get(pinPolicyHandle);
    if (policy?.owner !== session) throw optionError('Referenced PIN policy object not found', 'pinPolicyHandle');
    if (enablePinCaching && policy.inputMethod !== InputMethod.TRUSTED_GUI) {
      throw optionError('"enablePinCaching" must be combined with "trusted-gui"', 'enablePinCaching');
    }
    openPhase.names.set(policy.id, true);
    pinPolicy = policy;
    pinIsEncrypted = !policy.userDefined;
  } else {
    const lacking = (x: number): boolean => x === ExportDeleteProtection.PIN || x === ExportDeleteProtection.PUK;
    if (lacking(deleteProtection) || lacking(exportProtection)) throw optionError('Protection object lacks a PIN or PUK object', 'exportProtection');
    pinProtection = false;
    if (enablePinCaching) throw optionError('"enablePinCaching" without PIN', 'enablePinCaching');
    if (pinValueIn !== undefined) throw optionError('"pinValue" expected to be empty', 'pinValue');
  }
  if (biometricProtection !== BiometricProtection.NONE) {
    const exclusive = biometricProtection === BiometricProtection.EXCLUSIVE;
    if (exclusive === pinProtection) throw optionError('Invalid "biometricProtection" and PIN combination', 'biometricProtection');
  }
  if (!pinPolicy?.pukPolicy) {
    if (deleteProtection === ExportDeleteProtection.PUK || exportProtection === ExportDeleteProtection.PUK) {
      throw optionError('Protection object lacks a PIN or PUK object', 'exportProtection');
    }
  }
  if (pinPolicy && pinValueIn === undefined) {
    // The reference fails unchecked here (spec §17 #3); same outcome, clearer words.
    throw new SksError('INTERNAL', 'Missing "pinValue" for a PIN-protected key', { field: 'pinValue' });
  }

  // MAC (steps 10-11)
  const pendingMac = beginMac(openPhase, MacMethod.CREATE_KEY_ENTRY);
  const pinValue: Buffer | null = pinIsEncrypted ? decryptIssuerData(openPhase, pinValueIn!) : pinPolicy && pinValueIn ? Buffer.from(pinValueIn) : null;
  try {
    if (endorsedAlgorithms.length > Limits.MAX_ENDORSED_ALGORITHMS) {
      throw optionError(`More than ${Limits.MAX_ENDORSED_ALGORITHMS} "endorsedAlgorithms"`, 'endorsedAlgorithms');
    }
    let previous = '\u0000';
    for (const uri of endorsedAlgorithms) {
      if (uri <= previous) throw optionError(`Duplicate or incorrectly sorted algorithm: ${uri}`, 'endorsedAlgorithms');
      const alg = lookupAlgorithm(uri);
      if (!alg || alg.mask === 0) throw optionError(`Unsupported algorithm: ${uri}`, 'endorsedAlgorithms');
      if (uri === ALGORITHM_NONE && endorsedAlgorithms.length > 1) throw optionError(`Algorithm must be alone: ${uri}`, 'endorsedAlgorithms');
      previous = uri;
    }
    const data = MacData.createKeyEntry({
      id,
      keyEntryAlgorithm,
      serverSeed,
      pinPolicyId: pinPolicy?.id ?? '',
      encryptedPin: pinIsEncrypted ? pinValueIn : undefined,
      devicePinProtection,
      enablePinCaching,
      biometricProtection,
      exportProtection,
      deleteProtection,
      appUsage,
      friendlyName,
      keyAlgorithm,
      keyParameters,
      endorsedAlgorithms,
    });
    pendingMac.verify(data, mac);
    if (pinPolicy) checkPinCompliance(ctx.state, pinValue!, pinPolicy, appUsage, false);
  } catch (error) {
    pinValue?.fill(0);
    throw error;
  }

  // Key generation (steps 13-16)
  let request: KeyPairRequest;
  if (genSpec.kind === 'rsa') {
    let exponent = 65537n;
    if (genSpec.exponentFromParameters) {
      const buf = keyParameters!;
      if (buf.length < 1 || buf.length > 8) throw optionError(`"keyParameters" length error: ${buf.length}`, 'keyParameters');
      exponent = BigInt.asIntN(buf.length * 8, BigInt(`0x${Buffer.from(buf).toString('hex')}`));
    }
    request = { kind: 'rsa', bits: genSpec.bits, exponent };
  } else {
    request = genSpec;
  }
  registerId(openPhase, id, true);
  const handle = ctx.state.allocate('key');
  if (request.kind === 'rsa' && (request.exponent < 3n || request.exponent % 2n === 0n)) {
    throw new SksError('CRYPTO', 'Crypto failure: unusable RSA public exponent');
  }
  const pair = await cryptoOpAsync('key generation', () => ctx.entropy.generateKeyPair(request, 'key-entry'));
  const publicKeySpki = spkiOfGeneratedPair(pair);
  const attestation = attest(openPhase, MacData.keyAttestation(publicKeySpki, mac));

  const entry: KeyEntry = {
    handle,
    id,
    owner: session,
    appUsage,
    keyPair: EntryKeys.generated(pair),
    publicKeySpki,
    symmetricKey: null,
    certificatePath: null,
    endorsedAlgorithms,
    friendlyName: friendlyName ?? null,
    devicePinProtection,
    pinPolicy,
    pinValue,
    errorCount: 0,
    attemptReserved: false,
    enablePinCaching,
    biometricProtection,
    exportProtection,
    deleteProtection,
    keyBackup: 0,
    extensions: new Map(),
  };
  ctx.state.keys.set(handle, entry);
  return { keyHandle: handle, publicKey: publicKeySpki, attestation };
}
