/**
 * KeyCreationRequest → KeyCreationResponse (spec §6.7, §6.8, §8): collect the
 * user-defined PINs, then create PUK policies, PIN policies and keys in the
 * processing order of spec §6.7.3 (which is also the issuer's MAC order).
 */
import { NO_PIN_POLICY, NO_PUK_POLICY, type KeyHandle, type PinPolicyHandle, type PukPolicyHandle } from '../../sks/api.js';
import { KeyGen2Error } from '../errors.js';
import {
  appUsageByte,
  biometricProtectionByte,
  deleteProtectionByte,
  exportProtectionByte,
  groupingByte,
  inputMethodByte,
  passphraseFormatByte,
  patternMask,
  type GeneratedKey,
  type KeyCreationRequest,
  type KeyCreationResponse,
  type KeyEntrySpecifier,
  type PinPolicySpecifier,
} from '../messages/index.js';
import { collectUserPins } from './pin-collection.js';
import type { EnrollmentUi } from './ports.js';
import { checkSessionIds, type OpenSession } from './session.js';

/** A key the SKS created in this session, for the enrollment summary. */
export interface CreatedKey {
  readonly id: string;
  readonly keyHandle: KeyHandle;
  readonly keyAlgorithm: string;
  readonly appUsage: KeyEntrySpecifier['appUsage'];
  readonly friendlyName: string | undefined;
  readonly publicKey: Uint8Array;
  readonly pinPolicyId: string | undefined;
}

/** All PIN policies of the request in processing order (PUK-governed first). */
function pinPoliciesOf(req: KeyCreationRequest): PinPolicySpecifier[] {
  return [...(req.pukPolicySpecifiers ?? []).flatMap((p) => p.pinPolicySpecifiers), ...(req.pinPolicySpecifiers ?? [])];
}

/** How many keys the request asks for. */
export const keyCount = (req: KeyCreationRequest): number =>
  pinPoliciesOf(req).reduce((n, p) => n + p.keyEntrySpecifiers.length, 0) + (req.keyEntrySpecifiers?.length ?? 0);

/** Semantic checks the SKS cannot make for us (spec §3.1, §6.7.2, §11.1). */
function checkKeyCreationRequest(req: KeyCreationRequest, action: 'manage' | 'unlock'): void {
  if (action === 'unlock') {
    throw new KeyGen2Error('PROTOCOL', 'an "unlock" session may not create keys (spec §3.1)', { path: '$' });
  }
  const policies = pinPoliciesOf(req);
  if (keyCount(req) === 0) throw new KeyGen2Error('SCHEMA', 'a KeyCreationRequest must request at least one key', { path: '$' });
  for (const p of policies) {
    const preset = p.keyEntrySpecifiers.filter((k) => k.encryptedPin !== undefined).length;
    if (preset !== 0 && preset !== p.keyEntrySpecifiers.length) {
      throw new KeyGen2Error('SCHEMA', `PIN policy "${p.id}" mixes preset and user-defined PINs (spec §6.7.2)`, { path: '$' });
    }
  }
}

/**
 * Runs one KeyCreationRequest against the open session. PINs are collected
 * from the UI first (a cancel leaves the SKS untouched but for the open session,
 * which the caller aborts).
 */
export async function createKeys(
  s: OpenSession,
  req: KeyCreationRequest,
  ui: EnrollmentUi,
  action: 'manage' | 'unlock',
  maxPinEntries: number,
): Promise<{ response: KeyCreationResponse; created: CreatedKey[] }> {
  checkSessionIds(s, req);
  checkKeyCreationRequest(req, action);
  const userPins = await collectUserPins(pinPoliciesOf(req), ui, maxPinEntries);
  try {
    const generatedKeys: GeneratedKey[] = [];
    const created: CreatedKey[] = [];
    const createKey = async (k: KeyEntrySpecifier, policy: PinPolicySpecifier | undefined, pinHandle: PinPolicyHandle): Promise<void> => {
      const r = await s.sks.createKeyEntry({
        provisioningHandle: s.provisioningHandle,
        id: k.id,
        keyEntryAlgorithm: req.keyEntryAlgorithm,
        serverSeed: k.serverSeed,
        devicePinProtection: k.devicePinProtection ?? false,
        pinPolicyHandle: pinHandle,
        pinValue: policy === undefined ? undefined : (k.encryptedPin ?? userPins.get(k.id)),
        enablePinCaching: k.enablePinCaching ?? false,
        biometricProtection: biometricProtectionByte(k.biometricProtection),
        exportProtection: exportProtectionByte(k.exportProtection),
        deleteProtection: deleteProtectionByte(k.deleteProtection),
        appUsage: appUsageByte(k.appUsage),
        friendlyName: k.friendlyName,
        keyAlgorithm: k.keyAlgorithm,
        keyParameters: k.keyParameters,
        endorsedAlgorithms: k.endorsedAlgorithms ?? [],
        mac: k.mac,
      });
      generatedKeys.push({ id: k.id, publicKey: r.publicKey, attestation: r.attestation });
      created.push({
        id: k.id,
        keyHandle: r.keyHandle,
        keyAlgorithm: k.keyAlgorithm,
        appUsage: k.appUsage,
        friendlyName: k.friendlyName,
        publicKey: r.publicKey,
        pinPolicyId: policy?.id,
      });
      ui.progress?.({ step: 'key-created', id: k.id });
    };
    const pinPolicy = async (q: PinPolicySpecifier, pukHandle: PukPolicyHandle): Promise<void> => {
      const pinHandle = await s.sks.createPinPolicy({
        provisioningHandle: s.provisioningHandle,
        id: q.id,
        pukPolicyHandle: pukHandle,
        userDefined: !q.keyEntrySpecifiers.some((k) => k.encryptedPin !== undefined),
        userModifiable: q.userModifiable ?? true,
        format: passphraseFormatByte(q.format),
        retryLimit: q.retryLimit,
        grouping: groupingByte(q.grouping),
        patternRestrictions: patternMask(q.patternRestrictions),
        minLength: q.minLength,
        maxLength: q.maxLength,
        inputMethod: inputMethodByte(q.inputMethod),
        mac: q.mac,
      });
      for (const k of q.keyEntrySpecifiers) await createKey(k, q, pinHandle);
    };
    for (const p of req.pukPolicySpecifiers ?? []) {
      const pukHandle = await s.sks.createPukPolicy({
        provisioningHandle: s.provisioningHandle,
        id: p.id,
        encryptedPuk: p.encryptedPuk,
        format: passphraseFormatByte(p.format),
        retryLimit: p.retryLimit,
        mac: p.mac,
      });
      for (const q of p.pinPolicySpecifiers) await pinPolicy(q, pukHandle);
    }
    for (const q of req.pinPolicySpecifiers ?? []) await pinPolicy(q, NO_PUK_POLICY);
    for (const k of req.keyEntrySpecifiers ?? []) await createKey(k, undefined, NO_PIN_POLICY);
    return {
      response: { qualifier: 'KeyCreationResponse', serverSessionId: s.serverSessionId, clientSessionId: s.clientSessionId, generatedKeys },
      created,
    };
  } finally {
    for (const pin of new Set(userPins.values())) pin.fill(0);
  }
}
