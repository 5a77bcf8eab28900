/**
 * KeyCreationRequest (spec §6.7): PUK policies, their PIN policies, their keys; then PUK-less PIN
 * policies and their keys; then keys without PIN — each MAC taking the next counter value and each
 * key reserving the value after its MAC for its attestation (§5.4, §6.7.3, interop README
 * "Counter order"). KeyCreationResponse (spec §6.8): count, order, key type and attestation of
 * every key; then the certification callback, and the ProvisioningFinalizationRequest.
 */
import { ALGORITHM_KEY_ATTEST_1 } from '../../../sks/algorithms.js';
import { MacMethod } from '../../../sks/constants.js';
import { MacData, type KeyEntryMacFields } from '../../../sks/session-crypto.js';
import { KeyGen2Error } from '../../errors.js';
import {
  appUsageByte,
  biometricProtectionByte,
  deleteProtectionByte,
  exportProtectionByte,
  groupingByte,
  inputMethodByte,
  passphraseFormatByte,
  patternMask,
} from '../../messages/enums.js';
import type { KeyCreationRequest, KeyCreationResponse, KeyEntrySpecifier, PinPolicySpecifier, PukPolicySpecifier } from '../../messages/key-creation/types.js';
import type { ProvisioningFinalizationRequest } from '../../messages/provisioning-finalization/types.js';
import type { IssuedKeyMaterial, ResolvedEnvironment } from '../environment.js';
import { keyMatchesAlgorithm } from '../keys.js';
import { MacSequence, verifyAttestation } from '../mac-sequence.js';
import type { IssuerState, PlannedKey, PlannedPinPolicy, RequestedKey } from '../state.js';
import { b64u, callback, chargeSessionKey, protocolError, unb64u } from '../util.js';
import { buildFinalization } from './finalization.js';

export async function buildKeyCreation(env: ResolvedEnvironment, state: IssuerState): Promise<{ state: IssuerState; request: KeyCreationRequest }> {
  const session = state.session;
  if (session === undefined) throw new KeyGen2Error('INTERNAL', 'No session in the state');
  const port = env.crypto;
  const sk = session.sessionKey;
  const seq = new MacSequence(port, sk, state.counter);
  const requested: RequestedKey[] = [];
  let decryptions = 0;

  const keyEntry = async (plannedKey: PlannedKey, pinPolicyId: string | undefined): Promise<KeyEntrySpecifier> => {
    const encryptedPin = plannedKey.presetPin === undefined ? undefined : await port.encrypt(sk, await port.unseal(plannedKey.presetPin));
    if (encryptedPin !== undefined) decryptions++;
    const serverSeed = plannedKey.serverSeed === undefined ? undefined : unb64u(plannedKey.serverSeed, `${plannedKey.id}.serverSeed`);
    const keyParameters = plannedKey.keyParameters === undefined ? undefined : unb64u(plannedKey.keyParameters, `${plannedKey.id}.keyParameters`);
    const fields: KeyEntryMacFields = {
      id: plannedKey.id,
      keyEntryAlgorithm: ALGORITHM_KEY_ATTEST_1,
      serverSeed,
      pinPolicyId: pinPolicyId ?? '',
      encryptedPin,
      devicePinProtection: plannedKey.devicePinProtection === true,
      enablePinCaching: plannedKey.enablePinCaching === true,
      biometricProtection: biometricProtectionByte(plannedKey.biometricProtection),
      exportProtection: exportProtectionByte(plannedKey.exportProtection),
      deleteProtection: deleteProtectionByte(plannedKey.deleteProtection),
      appUsage: appUsageByte(plannedKey.appUsage),
      friendlyName: plannedKey.friendlyName,
      keyAlgorithm: plannedKey.keyAlgorithm,
      keyParameters,
      endorsedAlgorithms: plannedKey.endorsedAlgorithms ?? [],
    };
    const mac = await seq.mac(MacMethod.CREATE_KEY_ENTRY, MacData.createKeyEntry(fields));
    requested.push({
      id: plannedKey.id,
      keyAlgorithm: plannedKey.keyAlgorithm,
      ...(plannedKey.keyParameters === undefined ? {} : { keyParameters: plannedKey.keyParameters }),
      appUsage: plannedKey.appUsage,
      ...(pinPolicyId === undefined ? {} : { pinPolicyId }),
      mac: b64u(mac),
      attestationCounter: seq.reserveAttestation(),
    });
    return {
      id: plannedKey.id,
      ...(serverSeed === undefined ? {} : { serverSeed }),
      ...(plannedKey.devicePinProtection === undefined ? {} : { devicePinProtection: plannedKey.devicePinProtection }),
      ...(encryptedPin === undefined ? {} : { encryptedPin }),
      ...(plannedKey.enablePinCaching === undefined ? {} : { enablePinCaching: plannedKey.enablePinCaching }),
      ...(plannedKey.biometricProtection === undefined ? {} : { biometricProtection: plannedKey.biometricProtection }),
      ...(plannedKey.exportProtection === undefined ? {} : { exportProtection: plannedKey.exportProtection }),
      ...(plannedKey.deleteProtection === undefined ? {} : { deleteProtection: plannedKey.deleteProtection }),
      ...(plannedKey.friendlyName === undefined ? {} : { friendlyName: plannedKey.friendlyName }),
      appUsage: plannedKey.appUsage,
      keyAlgorithm: plannedKey.keyAlgorithm,
      ...(keyParameters === undefined ? {} : { keyParameters }),
      ...(plannedKey.endorsedAlgorithms === undefined ? {} : { endorsedAlgorithms: plannedKey.endorsedAlgorithms }),
      mac,
    };
  };

  const pinPolicy = async (plannedPinPolicy: PlannedPinPolicy, pukPolicyId: string | undefined): Promise<PinPolicySpecifier> => {
    const mac = await seq.mac(
      MacMethod.CREATE_PIN_POLICY,
      MacData.createPinPolicy(plannedPinPolicy.id, pukPolicyId ?? '', {
        // §6.7.2: userDefined is implied by the absence of preset PINs.
        userDefined: plannedPinPolicy.keys.every((k) => k.presetPin === undefined),
        userModifiable: plannedPinPolicy.userModifiable ?? true,
        format: passphraseFormatByte(plannedPinPolicy.format),
        retryLimit: plannedPinPolicy.retryLimit,
        grouping: groupingByte(plannedPinPolicy.grouping),
        patternRestrictions: patternMask(plannedPinPolicy.patternRestrictions),
        minLength: plannedPinPolicy.minLength,
        maxLength: plannedPinPolicy.maxLength,
        inputMethod: inputMethodByte(plannedPinPolicy.inputMethod),
      }),
    );
    const keyEntrySpecifiers: KeyEntrySpecifier[] = [];
    for (const plannedKey of plannedPinPolicy.keys) keyEntrySpecifiers.push(await keyEntry(plannedKey, plannedPinPolicy.id));
    return {
      id: plannedPinPolicy.id,
      minLength: plannedPinPolicy.minLength,
      maxLength: plannedPinPolicy.maxLength,
      retryLimit: plannedPinPolicy.retryLimit,
      format: plannedPinPolicy.format,
      ...(plannedPinPolicy.userModifiable === undefined ? {} : { userModifiable: plannedPinPolicy.userModifiable }),
      ...(plannedPinPolicy.grouping === undefined ? {} : { grouping: plannedPinPolicy.grouping }),
      ...(plannedPinPolicy.inputMethod === undefined ? {} : { inputMethod: plannedPinPolicy.inputMethod }),
      ...(plannedPinPolicy.patternRestrictions === undefined ? {} : { patternRestrictions: plannedPinPolicy.patternRestrictions }),
      mac,
      keyEntrySpecifiers,
    };
  };

  const pukPolicySpecifiers: PukPolicySpecifier[] = [];
  for (const plannedPukPolicy of state.plan.pukPolicies) {
    const encryptedPuk = await port.encrypt(sk, await port.unseal(plannedPukPolicy.puk));
    decryptions++;
    const mac = await seq.mac(
      MacMethod.CREATE_PUK_POLICY,
      MacData.createPukPolicy(plannedPukPolicy.id, encryptedPuk, passphraseFormatByte(plannedPukPolicy.format), plannedPukPolicy.retryLimit),
    );
    const pinPolicySpecifiers: PinPolicySpecifier[] = [];
    for (const params of plannedPukPolicy.pinPolicies) pinPolicySpecifiers.push(await pinPolicy(params, plannedPukPolicy.id));
    pukPolicySpecifiers.push({
      id: plannedPukPolicy.id,
      encryptedPuk,
      retryLimit: plannedPukPolicy.retryLimit,
      format: plannedPukPolicy.format,
      mac,
      pinPolicySpecifiers,
    });
  }
  const pinPolicySpecifiers: PinPolicySpecifier[] = [];
  for (const plannedPinPolicyValue of state.plan.pinPolicies) pinPolicySpecifiers.push(await pinPolicy(plannedPinPolicyValue, undefined));
  const keyEntrySpecifiers: KeyEntrySpecifier[] = [];
  for (const plannedKeyValue of state.plan.keys) keyEntrySpecifiers.push(await keyEntry(plannedKeyValue, undefined));

  const request: KeyCreationRequest = {
    qualifier: 'KeyCreationRequest',
    serverSessionId: state.serverSessionId,
    clientSessionId: session.clientSessionId,
    keyEntryAlgorithm: ALGORITHM_KEY_ATTEST_1,
    ...(state.plan.deferredIssuance ? { deferredIssuance: true } : {}),
    ...(pukPolicySpecifiers.length === 0 ? {} : { pukPolicySpecifiers }),
    ...(pinPolicySpecifiers.length === 0 ? {} : { pinPolicySpecifiers }),
    ...(keyEntrySpecifiers.length === 0 ? {} : { keyEntrySpecifiers }),
  };
  const sessionKeyUses = chargeSessionKey(state.sessionKeyUses, seq.counter - state.counter + decryptions, state.sessionKeyLimit);
  return { state: { ...state, phase: 'key-creation', counter: seq.counter, sessionKeyUses, keys: requested }, request };
}

export async function acceptKeyCreation(
  env: ResolvedEnvironment,
  state: IssuerState,
  response: KeyCreationResponse,
): Promise<{ state: IssuerState; request: ProvisioningFinalizationRequest }> {
  const session = state.session;
  if (session === undefined) throw new KeyGen2Error('INTERNAL', 'No session in the state');
  if (response.serverSessionId !== state.serverSessionId) throw protocolError('$.serverSessionId', 'Session ID mismatch');
  if (response.clientSessionId !== session.clientSessionId) throw protocolError('$.clientSessionId', 'Session ID mismatch');
  if (response.generatedKeys.length !== state.keys.length) throw protocolError('$.generatedKeys', 'Wrong number of generated keys');
  // Every check first, then certification: nothing is certified for a response that fails anywhere.
  for (const [index, generatedKey] of response.generatedKeys.entries()) {
    const requestedKey = state.keys[index];
    const path = `$.generatedKeys[${index}]`;
    if (generatedKey.id !== requestedKey.id) throw protocolError(`${path}.id`, 'Generated keys are not in the requested order');
    // The attestation first: the public key is parsed (RSA, other curves) only once the SKS vouched for it.
    await verifyAttestation(
      env.crypto,
      session.sessionKey,
      requestedKey.attestationCounter,
      MacData.keyAttestation(generatedKey.publicKey, unb64u(requestedKey.mac, 'state.keys.mac')),
      generatedKey.attestation,
      `${path}.attestation`,
    );
    const keyParameters = requestedKey.keyParameters === undefined ? undefined : unb64u(requestedKey.keyParameters, 'state.keys.keyParameters');
    if (!keyMatchesAlgorithm(generatedKey.publicKey, requestedKey.keyAlgorithm, keyParameters))
      throw protocolError(`${path}.publicKey`, 'Generated key does not match the requested algorithm');
  }
  const deviceCertificatePath = session.deviceCertificatePath?.map((c) => unb64u(c, 'state.session.deviceCertificatePath'));
  const material: IssuedKeyMaterial[] = [];
  const keys: RequestedKey[] = [];
  for (const [indexValue, group] of response.generatedKeys.entries()) {
    const requestedKeyValue = state.keys[indexValue];
    const issued = await callback(`certify(${requestedKeyValue.id})`, () =>
      env.certify({
        id: requestedKeyValue.id,
        publicKey: group.publicKey,
        keyAlgorithm: requestedKeyValue.keyAlgorithm,
        appUsage: requestedKeyValue.appUsage,
        clientSessionId: session.clientSessionId,
        serverSessionId: state.serverSessionId,
        ...(deviceCertificatePath === undefined ? {} : { deviceCertificatePath }),
        capabilities: state.capabilities ?? [],
      }),
    );
    material.push(issued);
    keys.push({ ...requestedKeyValue, publicKey: b64u(group.publicKey), certificatePath: issued.certificatePath.map(b64u) });
  }
  return buildFinalization(env, { ...state, keys }, material);
}
