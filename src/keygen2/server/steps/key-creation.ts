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

  const keyEntry = async (k: PlannedKey, pinPolicyId: string | undefined): Promise<KeyEntrySpecifier> => {
    const encryptedPin = k.presetPin === undefined ? undefined : await port.encrypt(sk, await port.unseal(k.presetPin));
    if (encryptedPin !== undefined) decryptions++;
    const serverSeed = k.serverSeed === undefined ? undefined : unb64u(k.serverSeed, `${k.id}.serverSeed`);
    const keyParameters = k.keyParameters === undefined ? undefined : unb64u(k.keyParameters, `${k.id}.keyParameters`);
    const fields: KeyEntryMacFields = {
      id: k.id,
      keyEntryAlgorithm: ALGORITHM_KEY_ATTEST_1,
      serverSeed,
      pinPolicyId: pinPolicyId ?? '',
      encryptedPin,
      devicePinProtection: k.devicePinProtection === true,
      enablePinCaching: k.enablePinCaching === true,
      biometricProtection: biometricProtectionByte(k.biometricProtection),
      exportProtection: exportProtectionByte(k.exportProtection),
      deleteProtection: deleteProtectionByte(k.deleteProtection),
      appUsage: appUsageByte(k.appUsage),
      friendlyName: k.friendlyName,
      keyAlgorithm: k.keyAlgorithm,
      keyParameters,
      endorsedAlgorithms: k.endorsedAlgorithms ?? [],
    };
    const mac = await seq.mac(MacMethod.CREATE_KEY_ENTRY, MacData.createKeyEntry(fields));
    requested.push({
      id: k.id,
      keyAlgorithm: k.keyAlgorithm,
      ...(k.keyParameters === undefined ? {} : { keyParameters: k.keyParameters }),
      appUsage: k.appUsage,
      ...(pinPolicyId === undefined ? {} : { pinPolicyId }),
      mac: b64u(mac),
      attestationCounter: seq.reserveAttestation(),
    });
    return {
      id: k.id,
      ...(serverSeed === undefined ? {} : { serverSeed }),
      ...(k.devicePinProtection === undefined ? {} : { devicePinProtection: k.devicePinProtection }),
      ...(encryptedPin === undefined ? {} : { encryptedPin }),
      ...(k.enablePinCaching === undefined ? {} : { enablePinCaching: k.enablePinCaching }),
      ...(k.biometricProtection === undefined ? {} : { biometricProtection: k.biometricProtection }),
      ...(k.exportProtection === undefined ? {} : { exportProtection: k.exportProtection }),
      ...(k.deleteProtection === undefined ? {} : { deleteProtection: k.deleteProtection }),
      ...(k.friendlyName === undefined ? {} : { friendlyName: k.friendlyName }),
      appUsage: k.appUsage,
      keyAlgorithm: k.keyAlgorithm,
      ...(keyParameters === undefined ? {} : { keyParameters }),
      ...(k.endorsedAlgorithms === undefined ? {} : { endorsedAlgorithms: k.endorsedAlgorithms }),
      mac,
    };
  };

  const pinPolicy = async (p: PlannedPinPolicy, pukPolicyId: string | undefined): Promise<PinPolicySpecifier> => {
    const mac = await seq.mac(
      MacMethod.CREATE_PIN_POLICY,
      MacData.createPinPolicy(p.id, pukPolicyId ?? '', {
        // §6.7.2: userDefined is implied by the absence of preset PINs.
        userDefined: p.keys.every((k) => k.presetPin === undefined),
        userModifiable: p.userModifiable ?? true,
        format: passphraseFormatByte(p.format),
        retryLimit: p.retryLimit,
        grouping: groupingByte(p.grouping),
        patternRestrictions: patternMask(p.patternRestrictions),
        minLength: p.minLength,
        maxLength: p.maxLength,
        inputMethod: inputMethodByte(p.inputMethod),
      }),
    );
    const keyEntrySpecifiers: KeyEntrySpecifier[] = [];
    for (const k of p.keys) keyEntrySpecifiers.push(await keyEntry(k, p.id));
    return {
      id: p.id,
      minLength: p.minLength,
      maxLength: p.maxLength,
      retryLimit: p.retryLimit,
      format: p.format,
      ...(p.userModifiable === undefined ? {} : { userModifiable: p.userModifiable }),
      ...(p.grouping === undefined ? {} : { grouping: p.grouping }),
      ...(p.inputMethod === undefined ? {} : { inputMethod: p.inputMethod }),
      ...(p.patternRestrictions === undefined ? {} : { patternRestrictions: p.patternRestrictions }),
      mac,
      keyEntrySpecifiers,
    };
  };

  const pukPolicySpecifiers: PukPolicySpecifier[] = [];
  for (const u of state.plan.pukPolicies) {
    const encryptedPuk = await port.encrypt(sk, await port.unseal(u.puk));
    decryptions++;
    const mac = await seq.mac(MacMethod.CREATE_PUK_POLICY, MacData.createPukPolicy(u.id, encryptedPuk, passphraseFormatByte(u.format), u.retryLimit));
    const pinPolicySpecifiers: PinPolicySpecifier[] = [];
    for (const p of u.pinPolicies) pinPolicySpecifiers.push(await pinPolicy(p, u.id));
    pukPolicySpecifiers.push({ id: u.id, encryptedPuk, retryLimit: u.retryLimit, format: u.format, mac, pinPolicySpecifiers });
  }
  const pinPolicySpecifiers: PinPolicySpecifier[] = [];
  for (const p of state.plan.pinPolicies) pinPolicySpecifiers.push(await pinPolicy(p, undefined));
  const keyEntrySpecifiers: KeyEntrySpecifier[] = [];
  for (const k of state.plan.keys) keyEntrySpecifiers.push(await keyEntry(k, undefined));

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
  for (const [i, g] of response.generatedKeys.entries()) {
    const k = state.keys[i] as RequestedKey;
    const path = `$.generatedKeys[${i}]`;
    if (g.id !== k.id) throw protocolError(`${path}.id`, 'Generated keys are not in the requested order');
    const keyParameters = k.keyParameters === undefined ? undefined : unb64u(k.keyParameters, 'state.keys.keyParameters');
    if (!keyMatchesAlgorithm(g.publicKey, k.keyAlgorithm, keyParameters)) throw protocolError(`${path}.publicKey`, 'Generated key does not match the requested algorithm');
    await verifyAttestation(
      env.crypto,
      session.sessionKey,
      k.attestationCounter,
      MacData.keyAttestation(g.publicKey, unb64u(k.mac, 'state.keys.mac')),
      g.attestation,
      `${path}.attestation`,
    );
  }
  const deviceCertificatePath = session.deviceCertificatePath?.map((c) => unb64u(c, 'state.session.deviceCertificatePath'));
  const material: IssuedKeyMaterial[] = [];
  const keys: RequestedKey[] = [];
  for (const [i, g] of response.generatedKeys.entries()) {
    const k = state.keys[i] as RequestedKey;
    const issued = await callback(`certify(${k.id})`, () => env.certify({
      id: k.id,
      publicKey: g.publicKey,
      keyAlgorithm: k.keyAlgorithm,
      appUsage: k.appUsage,
      clientSessionId: session.clientSessionId,
      serverSessionId: state.serverSessionId,
      ...(deviceCertificatePath === undefined ? {} : { deviceCertificatePath }),
      capabilities: state.capabilities ?? [],
    }));
    material.push(issued);
    keys.push({ ...k, publicKey: b64u(g.publicKey), certificatePath: issued.certificatePath.map(b64u) });
  }
  return buildFinalization(env, { ...state, keys }, material);
}
