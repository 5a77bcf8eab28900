/**
 * KeyCreationRequest → KeyCreationResponse (spec §6.7, §6.8, §8): create PUK
 * policies, PIN policies and keys in the processing order of spec §6.7.3
 * (which is also the issuer's MAC order), asking for each user-defined PIN
 * once the SKS has verified its PIN policy.
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
  for (const pinPolicySpecifier of policies) {
    const preset = pinPolicySpecifier.keyEntrySpecifiers.filter((k) => k.encryptedPin !== undefined).length;
    if (preset !== 0 && preset !== pinPolicySpecifier.keyEntrySpecifiers.length) {
      throw new KeyGen2Error('SCHEMA', `PIN policy "${pinPolicySpecifier.id}" mixes preset and user-defined PINs (spec §6.7.2)`, { path: '$' });
    }
  }
}

/**
 * Runs one KeyCreationRequest against the open session. The user is asked for
 * the PINs of a user-defined PIN policy only after `createPinPolicy` verified
 * the policy's MAC, so a policy altered in transit (lengths, format, patterns)
 * is refused by the SKS before the user sees a prompt built from it. The
 * reference client prompts for all PINs before any SKS call; the SKS calls and
 * their order are the same either way. A cancel is USER_ABORT; the caller
 * aborts the SKS session.
 */
export async function createKeys(
  openSession: OpenSession,
  req: KeyCreationRequest,
  ui: EnrollmentUi,
  action: 'manage' | 'unlock',
  maxPinEntries: number,
): Promise<{ response: KeyCreationResponse; created: CreatedKey[] }> {
  checkSessionIds(openSession, req);
  checkKeyCreationRequest(req, action);
  const userPins = new Map<string, Uint8Array>();
  try {
    const generatedKeys: GeneratedKey[] = [];
    const created: CreatedKey[] = [];
    const createKey = async (keyEntrySpecifier: KeyEntrySpecifier, policy: PinPolicySpecifier | undefined, pinHandle: PinPolicyHandle): Promise<void> => {
      const keyEntryResult = await openSession.sks.createKeyEntry({
        provisioningHandle: openSession.provisioningHandle,
        id: keyEntrySpecifier.id,
        keyEntryAlgorithm: req.keyEntryAlgorithm,
        serverSeed: keyEntrySpecifier.serverSeed,
        devicePinProtection: keyEntrySpecifier.devicePinProtection ?? false,
        pinPolicyHandle: pinHandle,
        pinValue: policy === undefined ? undefined : (keyEntrySpecifier.encryptedPin ?? userPins.get(keyEntrySpecifier.id)),
        enablePinCaching: keyEntrySpecifier.enablePinCaching ?? false,
        biometricProtection: biometricProtectionByte(keyEntrySpecifier.biometricProtection),
        exportProtection: exportProtectionByte(keyEntrySpecifier.exportProtection),
        deleteProtection: deleteProtectionByte(keyEntrySpecifier.deleteProtection),
        appUsage: appUsageByte(keyEntrySpecifier.appUsage),
        friendlyName: keyEntrySpecifier.friendlyName,
        keyAlgorithm: keyEntrySpecifier.keyAlgorithm,
        keyParameters: keyEntrySpecifier.keyParameters,
        endorsedAlgorithms: keyEntrySpecifier.endorsedAlgorithms ?? [],
        mac: keyEntrySpecifier.mac,
      });
      generatedKeys.push({ id: keyEntrySpecifier.id, publicKey: keyEntryResult.publicKey, attestation: keyEntryResult.attestation });
      created.push({
        id: keyEntrySpecifier.id,
        keyHandle: keyEntryResult.keyHandle,
        keyAlgorithm: keyEntrySpecifier.keyAlgorithm,
        appUsage: keyEntrySpecifier.appUsage,
        friendlyName: keyEntrySpecifier.friendlyName,
        publicKey: keyEntryResult.publicKey,
        pinPolicyId: policy?.id,
      });
      ui.progress?.({ step: 'key-created', id: keyEntrySpecifier.id });
    };
    const pinPolicy = async (pinPolicySpecifier: PinPolicySpecifier, pukHandle: PukPolicyHandle): Promise<void> => {
      const pinHandle = await openSession.sks.createPinPolicy({
        provisioningHandle: openSession.provisioningHandle,
        id: pinPolicySpecifier.id,
        pukPolicyHandle: pukHandle,
        userDefined: !pinPolicySpecifier.keyEntrySpecifiers.some((k) => k.encryptedPin !== undefined),
        userModifiable: pinPolicySpecifier.userModifiable ?? true,
        format: passphraseFormatByte(pinPolicySpecifier.format),
        retryLimit: pinPolicySpecifier.retryLimit,
        grouping: groupingByte(pinPolicySpecifier.grouping),
        patternRestrictions: patternMask(pinPolicySpecifier.patternRestrictions),
        minLength: pinPolicySpecifier.minLength,
        maxLength: pinPolicySpecifier.maxLength,
        inputMethod: inputMethodByte(pinPolicySpecifier.inputMethod),
        mac: pinPolicySpecifier.mac,
      });
      for (const [id, pin] of await collectUserPins([pinPolicySpecifier], ui, maxPinEntries)) userPins.set(id, pin);
      for (const keyEntrySpecifier of pinPolicySpecifier.keyEntrySpecifiers) await createKey(keyEntrySpecifier, pinPolicySpecifier, pinHandle);
    };
    for (const pukPolicySpecifier of req.pukPolicySpecifiers ?? []) {
      const pukHandle = await openSession.sks.createPukPolicy({
        provisioningHandle: openSession.provisioningHandle,
        id: pukPolicySpecifier.id,
        encryptedPuk: pukPolicySpecifier.encryptedPuk,
        format: passphraseFormatByte(pukPolicySpecifier.format),
        retryLimit: pukPolicySpecifier.retryLimit,
        mac: pukPolicySpecifier.mac,
      });
      for (const query of pukPolicySpecifier.pinPolicySpecifiers) await pinPolicy(query, pukHandle);
    }
    for (const pinPolicySpecifierValue of req.pinPolicySpecifiers ?? []) await pinPolicy(pinPolicySpecifierValue, NO_PUK_POLICY);
    for (const keyEntrySpecifierValue of req.keyEntrySpecifiers ?? []) await createKey(keyEntrySpecifierValue, undefined, NO_PIN_POLICY);
    return {
      response: { qualifier: 'KeyCreationResponse', serverSessionId: openSession.serverSessionId, clientSessionId: openSession.clientSessionId, generatedKeys },
      created,
    };
  } finally {
    for (const pin of new Set(userPins.values())) pin.fill(0);
  }
}
