/**
 * ProvisioningFinalizationRequest (spec §6.9): per credential in order setCertificatePath, the
 * import, extensions, encrypted extensions, property bags, logotypes, then update or clone; then
 * all unlocks, all deletes, and the close MAC, whose next counter value the close attestation
 * takes (§6.9.3, interop README "Counter order"). ProvisioningFinalizationResponse (spec §6.10):
 * the close attestation — only after it verifies is anything provisioned (§11.2).
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { ExtensionSubType, MacMethod } from '../../../sks/constants.js';
import { MacData, deviceIdFor, encodePropertyBag, spkiOf, targetKeyReferenceSignedData } from '../../../sks/session-crypto.js';
import { KeyGen2Error } from '../../errors.js';
import type { TargetKeyReference } from '../../messages/common.js';
import type {
  Extension,
  IssuedCredential,
  Logotype,
  PropertyBag,
  ProvisioningFinalizationRequest,
  ProvisioningFinalizationResponse,
} from '../../messages/provisioning-finalization/types.js';
import type { TargetKeyConfig } from '../config.js';
import type { IssuedKeyMaterial, ResolvedEnvironment } from '../environment.js';
import { MacSequence, verifyAttestation } from '../mac-sequence.js';
import type { IssuerState, Plan, PlannedKey, RequestedKey } from '../state.js';
import { b64u, chargeSessionKey, configError, protocolError, unb64u } from '../util.js';

/** Every planned key by id. */
export function plannedKeys(plan: Plan): Map<string, PlannedKey> {
  const byId = new Map<string, PlannedKey>();
  for (const plannedKey of plan.keys) byId.set(plannedKey.id, plannedKey);
  for (const plannedPinPolicy of plan.pinPolicies) for (const pinKey of plannedPinPolicy.keys) byId.set(pinKey.id, pinKey);
  for (const plannedPukPolicy of plan.pukPolicies)
    for (const nestedPinPolicy of plannedPukPolicy.pinPolicies) for (const nestedKey of nestedPinPolicy.keys) byId.set(nestedKey.id, nestedKey);
  return byId;
}

/** `trustAnchor`: the last certificate must be a self-signed CA (the reference issuer's check, §6.9.1). */
function checkTrustAnchor(der: Uint8Array, where: string): void {
  let ok: boolean;
  try {
    const x509Certificate = new X509Certificate(Buffer.from(der));
    ok = x509Certificate.ca && x509Certificate.checkIssued(x509Certificate) && x509Certificate.verify(x509Certificate.publicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw configError(where, 'trustAnchor needs a self-signed CA certificate last');
}

/** Does the DER certificate contain this SPKI (i.e. certify this key)? A byte search, no parser. */
const certifies = (certificate: Uint8Array, spki: Uint8Array): boolean => Buffer.from(certificate).indexOf(Buffer.from(spki)) >= 0;

export async function buildFinalization(
  env: ResolvedEnvironment,
  state: IssuerState,
  material: readonly IssuedKeyMaterial[],
): Promise<{ state: IssuerState; request: ProvisioningFinalizationRequest }> {
  const session = state.session;
  if (session === undefined) throw new KeyGen2Error('INTERNAL', 'No session in the state');
  const port = env.crypto;
  const sk = session.sessionKey;
  const devicePath = session.deviceCertificatePath;
  const deviceId = deviceIdFor(
    devicePath === undefined,
    devicePath?.[0] === undefined ? new Uint8Array(0) : unb64u(devicePath[0], 'state.session.deviceCertificatePath'),
  );
  const seq = new MacSequence(port, sk, state.counter);
  const planned = plannedKeys(state.plan);
  /** Decryptions and keyIds the SKS will count besides MACs and attestations (spec §5.8). */
  let otherUses = 0;

  /** keyId, authorization and the fields of a target-key reference (spec §5.7, §6.9.2). */
  const target = async (targetKeyConfig: TargetKeyConfig, where: string): Promise<{ authorization: Uint8Array; ref: Omit<TargetKeyReference, 'mac'> }> => {
    const certificate = unb64u(targetKeyConfig.certificate, `${where}.certificate`);
    const keyId = await port.hmac(sk, deviceId, certificate);
    otherUses++;
    const authorization = await port.sign(targetKeyConfig.kmk, targetKeyReferenceSignedData(keyId));
    return {
      authorization,
      ref: {
        fingerPrint: createHash('sha256').update(certificate).digest(),
        serverSessionId: targetKeyConfig.serverSessionId,
        clientSessionId: targetKeyConfig.clientSessionId,
        authorization,
      },
    };
  };

  const updated: Array<{ keyId: string; target: TargetKeyConfig }> = [];
  const cloned: Array<{ keyId: string; target: TargetKeyConfig }> = [];
  const issuedCredentials: IssuedCredential[] = [];
  for (const [index, requestedKey] of state.keys.entries()) {
    const where = `certify(${requestedKey.id})`;
    const issued = material.at(index);
    const plan = planned.get(requestedKey.id);
    if (issued === undefined || plan === undefined || requestedKey.publicKey === undefined)
      throw new KeyGen2Error('INTERNAL', `No certificate for ${requestedKey.id}`);
    const path = issued.certificatePath;
    const ee = path.at(0);
    if (ee === undefined) throw configError(`${where}.certificatePath`, 'empty certificate path');
    const generated = unb64u(requestedKey.publicKey, 'state.keys.publicKey');
    if (issued.importPrivateKey !== undefined && issued.importSymmetricKey !== undefined) throw configError(where, 'at most one import');
    let certifiedKey = generated;
    if (issued.importPrivateKey !== undefined) {
      try {
        certifiedKey = spkiOf(createPrivateKey({ key: Buffer.from(issued.importPrivateKey), format: 'der', type: 'pkcs8' }));
      } catch (cause) {
        throw new KeyGen2Error('INTERNAL', `Issuer configuration ${where}.importPrivateKey: not PKCS#8`, { path: `${where}.importPrivateKey`, cause });
      }
    }
    if (!certifies(ee, certifiedKey)) throw configError(`${where}.certificatePath`, 'the end-entity certificate does not certify the key');
    if (plan.trustAnchor === true) checkTrustAnchor(path[path.length - 1], `${where}.certificatePath`);
    // setCertificatePath MACs the generated key's SPKI, even when a private key is imported (§6.9.3).
    const mac = await seq.mac(MacMethod.SET_CERTIFICATE_PATH, MacData.setCertificatePath(generated, requestedKey.id, path));
    const importKey = async (method: typeof MacMethod.IMPORT_SYMMETRIC_KEY | typeof MacMethod.IMPORT_PRIVATE_KEY, value: Uint8Array) => {
      const encryptedKey = await port.encrypt(sk, value);
      otherUses++;
      return { encryptedKey, mac: await seq.mac(method, MacData.importKey(ee, encryptedKey)) };
    };
    const importSymmetricKey = issued.importSymmetricKey === undefined ? undefined : await importKey(MacMethod.IMPORT_SYMMETRIC_KEY, issued.importSymmetricKey);
    const importPrivateKey = issued.importPrivateKey === undefined ? undefined : await importKey(MacMethod.IMPORT_PRIVATE_KEY, issued.importPrivateKey);
    const addExtension = (type: string, subType: number, qualifier: string, data: Uint8Array): Promise<Uint8Array> =>
      seq.mac(MacMethod.ADD_EXTENSION, MacData.addExtension(ee, type, subType, qualifier, data));
    const extensions: Extension[] = [];
    for (const [index2, extensionConfig] of (plan.extensions ?? []).entries()) {
      const extensionData = unb64u(extensionConfig.data, `${requestedKey.id}.extensions[${index2}].data`);
      extensions.push({
        type: extensionConfig.type,
        extensionData,
        mac: await addExtension(extensionConfig.type, ExtensionSubType.EXTENSION, '', extensionData),
      });
    }
    const encryptedExtensions: Extension[] = [];
    for (const extension of plan.encryptedExtensions ?? []) {
      const extensionData = await port.encrypt(sk, await port.unseal(extension.data));
      otherUses++;
      encryptedExtensions.push({
        type: extension.type,
        extensionData,
        mac: await addExtension(extension.type, ExtensionSubType.ENCRYPTED_EXTENSION, '', extensionData),
      });
    }
    const propertyBags: PropertyBag[] = [];
    for (const propertyBagConfig of plan.propertyBags ?? []) {
      const properties = propertyBagConfig.properties.map((p) => ({ name: p.name, value: p.value, ...(p.writable === true ? { writable: true } : {}) }));
      // §6.9.4: the SKS's own encoder, so the MACed bytes are the ones the client rebuilds.
      const extensionData = encodePropertyBag(properties.map((p) => ({ name: p.name, writable: p.writable === true, value: p.value })));
      propertyBags.push({
        type: propertyBagConfig.type,
        properties,
        mac: await addExtension(propertyBagConfig.type, ExtensionSubType.PROPERTY_BAG, '', extensionData),
      });
    }
    const logotypes: Logotype[] = [];
    for (const [index2Value, logotypeConfig] of (plan.logotypes ?? []).entries()) {
      const extensionData = unb64u(logotypeConfig.data, `${requestedKey.id}.logotypes[${index2Value}].data`);
      logotypes.push({
        type: logotypeConfig.type,
        mimeType: logotypeConfig.mimeType,
        extensionData,
        mac: await addExtension(logotypeConfig.type, ExtensionSubType.LOGOTYPE, logotypeConfig.mimeType, extensionData),
      });
    }
    let updateKey: TargetKeyReference | undefined;
    let cloneKeyProtection: TargetKeyReference | undefined;
    if (plan.updateKey !== undefined) {
      const updateTarget = await target(plan.updateKey, `${requestedKey.id}.updateKey`);
      updateKey = { ...updateTarget.ref, mac: await seq.mac(MacMethod.POST_UPDATE_KEY, MacData.postUpdateOrClone(ee, updateTarget.authorization)) };
      updated.push({ keyId: requestedKey.id, target: plan.updateKey });
    }
    if (plan.cloneKeyProtection !== undefined) {
      const cloneTarget = await target(plan.cloneKeyProtection, `${requestedKey.id}.cloneKeyProtection`);
      cloneKeyProtection = {
        ...cloneTarget.ref,
        mac: await seq.mac(MacMethod.POST_CLONE_KEY_PROTECTION, MacData.postUpdateOrClone(ee, cloneTarget.authorization)),
      };
      cloned.push({ keyId: requestedKey.id, target: plan.cloneKeyProtection });
    }
    issuedCredentials.push({
      id: requestedKey.id,
      certificatePath: path,
      mac,
      ...(plan.trustAnchor === true ? { trustAnchor: true } : {}),
      ...(importSymmetricKey === undefined ? {} : { importSymmetricKey }),
      ...(importPrivateKey === undefined ? {} : { importPrivateKey }),
      ...(extensions.length === 0 ? {} : { extensions }),
      ...(encryptedExtensions.length === 0 ? {} : { encryptedExtensions }),
      ...(propertyBags.length === 0 ? {} : { propertyBags }),
      ...(logotypes.length === 0 ? {} : { logotypes }),
      ...(updateKey === undefined ? {} : { updateKey }),
      ...(cloneKeyProtection === undefined ? {} : { cloneKeyProtection }),
    });
  }
  const unlockKeys: TargetKeyReference[] = [];
  for (const [unlockIndex, unlockConfig] of state.plan.unlockKeys.entries()) {
    const unlockTarget = await target(unlockConfig, `config.unlockKeys[${unlockIndex}]`);
    unlockKeys.push({ ...unlockTarget.ref, mac: await seq.mac(MacMethod.POST_UNLOCK_KEY, MacData.postDeleteOrUnlock(unlockTarget.authorization)) });
  }
  const deleteKeys: TargetKeyReference[] = [];
  for (const [deleteIndex, deleteConfig] of state.plan.deleteKeys.entries()) {
    const deleteTarget = await target(deleteConfig, `config.deleteKeys[${deleteIndex}]`);
    deleteKeys.push({ ...deleteTarget.ref, mac: await seq.mac(MacMethod.POST_DELETE_KEY, MacData.postDeleteOrUnlock(deleteTarget.authorization)) });
  }
  const nonce = env.randomBytes(32);
  const closeMac = await seq.mac(
    MacMethod.CLOSE_PROVISIONING_SESSION,
    MacData.closeProvisioningSession(session.clientSessionId, state.serverSessionId, state.issuerUri, nonce),
  );
  const attestationCounter = seq.reserveAttestation();
  const sessionKeyUses = chargeSessionKey(state.sessionKeyUses, seq.counter - state.counter + otherUses, state.sessionKeyLimit);
  const request: ProvisioningFinalizationRequest = {
    qualifier: 'ProvisioningFinalizationRequest',
    serverSessionId: state.serverSessionId,
    clientSessionId: session.clientSessionId,
    ...(issuedCredentials.length === 0 ? {} : { issuedCredentials }),
    ...(unlockKeys.length === 0 ? {} : { unlockKeys }),
    ...(deleteKeys.length === 0 ? {} : { deleteKeys }),
    sessionCloseData: { nonce, mac: closeMac },
  };
  return {
    state: {
      ...state,
      phase: 'finalization',
      counter: seq.counter,
      sessionKeyUses,
      postOperations: { updated, cloned, unlocked: state.plan.unlockKeys, deleted: state.plan.deleteKeys },
      close: { nonce: b64u(nonce), attestationCounter },
    },
    request,
  };
}

/** What a verified session provisioned: safe to record as issued. */
export interface ProvisioningOutcome {
  readonly serverSessionId: string;
  readonly clientSessionId: string;
  readonly deviceCertificatePath?: readonly string[];
  readonly keys: ReadonlyArray<Required<Pick<RequestedKey, 'id' | 'keyAlgorithm' | 'appUsage' | 'publicKey' | 'certificatePath'>>>;
  readonly updated: ReadonlyArray<{ readonly keyId: string; readonly target: TargetKeyConfig }>;
  readonly cloned: ReadonlyArray<{ readonly keyId: string; readonly target: TargetKeyConfig }>;
  readonly unlocked: readonly TargetKeyConfig[];
  readonly deleted: readonly TargetKeyConfig[];
}

export async function acceptFinalization(
  env: ResolvedEnvironment,
  state: IssuerState,
  response: ProvisioningFinalizationResponse,
): Promise<{ state: IssuerState; outcome: ProvisioningOutcome }> {
  const session = state.session;
  const close = state.close;
  if (session === undefined || close === undefined) throw new KeyGen2Error('INTERNAL', 'No session in the state');
  if (response.serverSessionId !== state.serverSessionId) throw protocolError('$.serverSessionId', 'Session ID mismatch');
  if (response.clientSessionId !== session.clientSessionId) throw protocolError('$.clientSessionId', 'Session ID mismatch');
  await verifyAttestation(
    env.crypto,
    session.sessionKey,
    close.attestationCounter,
    MacData.closeAttestation(unb64u(close.nonce, 'state.close.nonce')),
    response.attestation,
    '$.attestation',
  );
  const ops = state.postOperations ?? { updated: [], cloned: [], unlocked: [], deleted: [] };
  const outcome: ProvisioningOutcome = {
    serverSessionId: state.serverSessionId,
    clientSessionId: session.clientSessionId,
    ...(session.deviceCertificatePath === undefined ? {} : { deviceCertificatePath: session.deviceCertificatePath }),
    keys: state.keys.map((k) => ({
      id: k.id,
      keyAlgorithm: k.keyAlgorithm,
      appUsage: k.appUsage,
      publicKey: k.publicKey ?? '',
      certificatePath: k.certificatePath ?? [],
    })),
    ...ops,
  };
  return { state: { ...state, phase: 'done', counter: close.attestationCounter + 1 }, outcome };
}
