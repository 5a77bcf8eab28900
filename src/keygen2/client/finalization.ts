/**
 * ProvisioningFinalizationRequest → ProvisioningFinalizationResponse (spec
 * §6.9, §6.10): certificates, imports, extensions and post-operations in the
 * processing order of spec §6.9.3, then `closeProvisioningSession`.
 */
import { createHash } from 'node:crypto';
import type { KeyHandle } from '../../sks/api.js';
import { ExtensionSubType } from '../../sks/constants.js';
import { encodePropertyBag } from '../../sks/session-crypto.js';
import { KeyGen2Error } from '../errors.js';
import type {
  IssuedCredential,
  PropertyBag,
  ProvisioningFinalizationRequest,
  ProvisioningFinalizationResponse,
  TargetKeyReference,
} from '../messages/index.js';
import { certificateInfo } from './certificate-info.js';
import { allKeys, checkSessionIds, closedSessions, type OpenSession } from './session.js';

export type PostOperationKind = 'update' | 'clone' | 'unlock' | 'delete';

/** A post-operation the SKS accepted (it takes effect at close, spec §9.2). */
export interface PostOperationDone {
  readonly operation: PostOperationKind;
  /** Handle of the target key before the session closed. */
  readonly targetKeyHandle: KeyHandle;
  /** SHA-256 of the target's EE certificate. */
  readonly fingerPrint: Uint8Array;
  /** For update and clone: the id of the new key of this session. */
  readonly newKeyId?: string;
}

export interface IssuedKey {
  readonly id: string;
  /** Handle in this session; after an update the new key takes over the target's handle (see summary). */
  readonly keyHandle: KeyHandle;
  readonly certificatePath: readonly Uint8Array[];
  readonly imported: 'symmetric' | 'private' | undefined;
  readonly extensionTypes: readonly string[];
}

/** Property bag extension data (spec §6.9.4), by the SKS's own encoder: the bytes the issuer MACed. */
export const propertyBagData = (bag: PropertyBag): Uint8Array =>
  encodePropertyBag(bag.properties.map((p) => ({ name: p.name, writable: p.writable ?? false, value: p.value })));

/** `target(R)` of spec §6.9.3: the key of a closed session with these ids whose EE certificate has this SHA-256. */
async function findTarget(openSession: OpenSession, ref: TargetKeyReference, path: string): Promise<KeyHandle> {
  const session = (await closedSessions(openSession.sks)).find((c) => c.clientSessionId === ref.clientSessionId && c.serverSessionId === ref.serverSessionId);
  if (session === undefined) throw new KeyGen2Error('PROTOCOL', `${path}: no closed session with these ids`, { path });
  const wanted = Buffer.from(ref.fingerPrint);
  for (const enumeratedKey of await allKeys(openSession.sks)) {
    if (enumeratedKey.provisioningHandle !== session.provisioningHandle) continue;
    const ee = (await openSession.sks.getKeyAttributes(enumeratedKey.keyHandle)).certificatePath.at(0);
    if (ee !== undefined && createHash('sha256').update(ee).digest().equals(wanted)) return enumeratedKey.keyHandle;
  }
  throw new KeyGen2Error('PROTOCOL', `${path}: no key of that session has this certificate`, { path: `${path}.fingerPrint` });
}

const postArgs = (target: KeyHandle, ref: TargetKeyReference): { targetKeyHandle: KeyHandle; authorization: Uint8Array; mac: Uint8Array } => ({
  targetKeyHandle: target,
  authorization: ref.authorization,
  mac: ref.mac,
});

/** Client-side checks of one issued credential that the SKS does not make (spec §6.9.1). */
function checkCredential(issuedCredential: IssuedCredential, path: string): void {
  if (issuedCredential.importSymmetricKey !== undefined && issuedCredential.importPrivateKey !== undefined) {
    throw new KeyGen2Error('SCHEMA', `${path}: both importSymmetricKey and importPrivateKey`, { path });
  }
  if (issuedCredential.updateKey !== undefined && issuedCredential.cloneKeyProtection !== undefined) {
    throw new KeyGen2Error('SCHEMA', `${path}: both updateKey and cloneKeyProtection`, { path });
  }
  if (issuedCredential.trustAnchor === true) {
    const last = issuedCredential.certificatePath.at(-1);
    if (last === undefined || !certificateInfo(last).isCa) {
      throw new KeyGen2Error('SCHEMA', `${path}.trustAnchor: the last certificate is not a CA`, { path: `${path}.trustAnchor` });
    }
  }
}

/**
 * Runs one ProvisioningFinalizationRequest and closes the session. Returns the
 * response, what was issued and which post-operations the SKS accepted.
 */
export async function finalizeSession(
  openSession: OpenSession,
  req: ProvisioningFinalizationRequest,
): Promise<{ response: ProvisioningFinalizationResponse; issued: IssuedKey[]; postOperations: PostOperationDone[] }> {
  checkSessionIds(openSession, req);
  const credentials = req.issuedCredentials ?? [];
  credentials.forEach((c, i) => checkCredential(c, `$.issuedCredentials[${i}]`));
  const sks = openSession.sks;
  const issued: IssuedKey[] = [];
  const postOperations: PostOperationDone[] = [];
  for (const [index, issuedCredential] of credentials.entries()) {
    const path = `$.issuedCredentials[${index}]`;
    const handle = await sks.getKeyHandle(openSession.provisioningHandle, issuedCredential.id);
    await sks.setCertificatePath(handle, issuedCredential.certificatePath, issuedCredential.mac);
    if (issuedCredential.importSymmetricKey !== undefined)
      await sks.importSymmetricKey(handle, issuedCredential.importSymmetricKey.encryptedKey, issuedCredential.importSymmetricKey.mac);
    if (issuedCredential.importPrivateKey !== undefined)
      await sks.importPrivateKey(handle, issuedCredential.importPrivateKey.encryptedKey, issuedCredential.importPrivateKey.mac);
    const types: string[] = [];
    const add = async (type: string, subType: number, qualifier: string, extensionData: Uint8Array, mac: Uint8Array): Promise<void> => {
      await sks.addExtension({ keyHandle: handle, type, subType, qualifier, extensionData, mac });
      types.push(type);
    };
    for (const extension of issuedCredential.extensions ?? [])
      await add(extension.type, ExtensionSubType.EXTENSION, '', extension.extensionData, extension.mac);
    for (const error of issuedCredential.encryptedExtensions ?? [])
      await add(error.type, ExtensionSubType.ENCRYPTED_EXTENSION, '', error.extensionData, error.mac);
    for (const propertyBag of issuedCredential.propertyBags ?? [])
      await add(propertyBag.type, ExtensionSubType.PROPERTY_BAG, '', propertyBagData(propertyBag), propertyBag.mac);
    for (const logotype of issuedCredential.logotypes ?? [])
      await add(logotype.type, ExtensionSubType.LOGOTYPE, logotype.mimeType, logotype.extensionData, logotype.mac);
    if (issuedCredential.updateKey !== undefined) {
      const target = await findTarget(openSession, issuedCredential.updateKey, `${path}.updateKey`);
      await sks.postUpdateKey(handle, postArgs(target, issuedCredential.updateKey));
      postOperations.push({ operation: 'update', targetKeyHandle: target, fingerPrint: issuedCredential.updateKey.fingerPrint, newKeyId: issuedCredential.id });
    }
    if (issuedCredential.cloneKeyProtection !== undefined) {
      const target = await findTarget(openSession, issuedCredential.cloneKeyProtection, `${path}.cloneKeyProtection`);
      await sks.postCloneKeyProtection(handle, postArgs(target, issuedCredential.cloneKeyProtection));
      postOperations.push({
        operation: 'clone',
        targetKeyHandle: target,
        fingerPrint: issuedCredential.cloneKeyProtection.fingerPrint,
        newKeyId: issuedCredential.id,
      });
    }
    issued.push({
      id: issuedCredential.id,
      keyHandle: handle,
      certificatePath: issuedCredential.certificatePath,
      imported: issuedCredential.importSymmetricKey !== undefined ? 'symmetric' : issuedCredential.importPrivateKey !== undefined ? 'private' : undefined,
      extensionTypes: types,
    });
  }
  for (const [unlockIndex, targetKeyReference] of (req.unlockKeys ?? []).entries()) {
    const target = await findTarget(openSession, targetKeyReference, `$.unlockKeys[${unlockIndex}]`);
    await sks.postUnlockKey(openSession.provisioningHandle, postArgs(target, targetKeyReference));
    postOperations.push({ operation: 'unlock', targetKeyHandle: target, fingerPrint: targetKeyReference.fingerPrint });
  }
  for (const [deleteIndex, data] of (req.deleteKeys ?? []).entries()) {
    const target = await findTarget(openSession, data, `$.deleteKeys[${deleteIndex}]`);
    await sks.postDeleteKey(openSession.provisioningHandle, postArgs(target, data));
    postOperations.push({ operation: 'delete', targetKeyHandle: target, fingerPrint: data.fingerPrint });
  }
  const attestation = await sks.closeProvisioningSession(openSession.provisioningHandle, req.sessionCloseData.nonce, req.sessionCloseData.mac);
  return {
    response: {
      qualifier: 'ProvisioningFinalizationResponse',
      serverSessionId: openSession.serverSessionId,
      clientSessionId: openSession.clientSessionId,
      attestation,
    },
    issued,
    postOperations,
  };
}
