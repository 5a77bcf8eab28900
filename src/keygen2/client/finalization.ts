/**
 * ProvisioningFinalizationRequest → ProvisioningFinalizationResponse (spec
 * §6.9, §6.10): certificates, imports, extensions and post-operations in the
 * processing order of spec §6.9.3, then `closeProvisioningSession`.
 */
import { createHash } from 'node:crypto';
import type { KeyHandle } from '../../sks/api.js';
import { ExtensionSubType } from '../../sks/constants.js';
import { encoder } from '../../sks/session-crypto.js';
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

/** Property bag extension data (spec §6.9.4): `txt(name) ‖ bool(writable) ‖ txt(value)` per property. */
export function propertyBagData(bag: PropertyBag): Uint8Array {
  const e = encoder();
  for (const p of bag.properties) e.str(p.name).bool(p.writable ?? false).str(p.value);
  return e.toBuffer();
}

/** `target(R)` of spec §6.9.3: the key of a closed session with these ids whose EE certificate has this SHA-256. */
async function findTarget(s: OpenSession, ref: TargetKeyReference, path: string): Promise<KeyHandle> {
  const session = (await closedSessions(s.sks)).find((c) => c.clientSessionId === ref.clientSessionId && c.serverSessionId === ref.serverSessionId);
  if (session === undefined) throw new KeyGen2Error('PROTOCOL', `${path}: no closed session with these ids`, { path });
  const wanted = Buffer.from(ref.fingerPrint);
  for (const k of await allKeys(s.sks)) {
    if (k.provisioningHandle !== session.provisioningHandle) continue;
    const ee = (await s.sks.getKeyAttributes(k.keyHandle)).certificatePath[0];
    if (ee !== undefined && createHash('sha256').update(ee).digest().equals(wanted)) return k.keyHandle;
  }
  throw new KeyGen2Error('PROTOCOL', `${path}: no key of that session has this certificate`, { path: `${path}.fingerPrint` });
}

const postArgs = (target: KeyHandle, ref: TargetKeyReference): { targetKeyHandle: KeyHandle; authorization: Uint8Array; mac: Uint8Array } => ({
  targetKeyHandle: target,
  authorization: ref.authorization,
  mac: ref.mac,
});

/** Client-side checks of one issued credential that the SKS does not make (spec §6.9.1). */
function checkCredential(c: IssuedCredential, path: string): void {
  if (c.importSymmetricKey !== undefined && c.importPrivateKey !== undefined) {
    throw new KeyGen2Error('SCHEMA', `${path}: both importSymmetricKey and importPrivateKey`, { path });
  }
  if (c.updateKey !== undefined && c.cloneKeyProtection !== undefined) {
    throw new KeyGen2Error('SCHEMA', `${path}: both updateKey and cloneKeyProtection`, { path });
  }
  if (c.trustAnchor === true) {
    const last = c.certificatePath[c.certificatePath.length - 1];
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
  s: OpenSession,
  req: ProvisioningFinalizationRequest,
): Promise<{ response: ProvisioningFinalizationResponse; issued: IssuedKey[]; postOperations: PostOperationDone[] }> {
  checkSessionIds(s, req);
  const credentials = req.issuedCredentials ?? [];
  credentials.forEach((c, i) => checkCredential(c, `$.issuedCredentials[${i}]`));
  const sks = s.sks;
  const issued: IssuedKey[] = [];
  const postOperations: PostOperationDone[] = [];
  for (const [i, c] of credentials.entries()) {
    const path = `$.issuedCredentials[${i}]`;
    const k = await sks.getKeyHandle(s.provisioningHandle, c.id);
    await sks.setCertificatePath(k, c.certificatePath, c.mac);
    if (c.importSymmetricKey !== undefined) await sks.importSymmetricKey(k, c.importSymmetricKey.encryptedKey, c.importSymmetricKey.mac);
    if (c.importPrivateKey !== undefined) await sks.importPrivateKey(k, c.importPrivateKey.encryptedKey, c.importPrivateKey.mac);
    const types: string[] = [];
    const add = async (type: string, subType: number, qualifier: string, extensionData: Uint8Array, mac: Uint8Array): Promise<void> => {
      await sks.addExtension({ keyHandle: k, type, subType, qualifier, extensionData, mac });
      types.push(type);
    };
    for (const e of c.extensions ?? []) await add(e.type, ExtensionSubType.EXTENSION, '', e.extensionData, e.mac);
    for (const e of c.encryptedExtensions ?? []) await add(e.type, ExtensionSubType.ENCRYPTED_EXTENSION, '', e.extensionData, e.mac);
    for (const b of c.propertyBags ?? []) await add(b.type, ExtensionSubType.PROPERTY_BAG, '', propertyBagData(b), b.mac);
    for (const l of c.logotypes ?? []) await add(l.type, ExtensionSubType.LOGOTYPE, l.mimeType, l.extensionData, l.mac);
    if (c.updateKey !== undefined) {
      const target = await findTarget(s, c.updateKey, `${path}.updateKey`);
      await sks.postUpdateKey(k, postArgs(target, c.updateKey));
      postOperations.push({ operation: 'update', targetKeyHandle: target, fingerPrint: c.updateKey.fingerPrint, newKeyId: c.id });
    }
    if (c.cloneKeyProtection !== undefined) {
      const target = await findTarget(s, c.cloneKeyProtection, `${path}.cloneKeyProtection`);
      await sks.postCloneKeyProtection(k, postArgs(target, c.cloneKeyProtection));
      postOperations.push({ operation: 'clone', targetKeyHandle: target, fingerPrint: c.cloneKeyProtection.fingerPrint, newKeyId: c.id });
    }
    issued.push({
      id: c.id,
      keyHandle: k,
      certificatePath: c.certificatePath,
      imported: c.importSymmetricKey !== undefined ? 'symmetric' : c.importPrivateKey !== undefined ? 'private' : undefined,
      extensionTypes: types,
    });
  }
  for (const [i, u] of (req.unlockKeys ?? []).entries()) {
    const target = await findTarget(s, u, `$.unlockKeys[${i}]`);
    await sks.postUnlockKey(s.provisioningHandle, postArgs(target, u));
    postOperations.push({ operation: 'unlock', targetKeyHandle: target, fingerPrint: u.fingerPrint });
  }
  for (const [i, d] of (req.deleteKeys ?? []).entries()) {
    const target = await findTarget(s, d, `$.deleteKeys[${i}]`);
    await sks.postDeleteKey(s.provisioningHandle, postArgs(target, d));
    postOperations.push({ operation: 'delete', targetKeyHandle: target, fingerPrint: d.fingerPrint });
  }
  const attestation = await sks.closeProvisioningSession(s.provisioningHandle, req.sessionCloseData.nonce, req.sessionCloseData.mac);
  return {
    response: { qualifier: 'ProvisioningFinalizationResponse', serverSessionId: s.serverSessionId, clientSessionId: s.clientSessionId, attestation },
    issued,
    postOperations,
  };
}
