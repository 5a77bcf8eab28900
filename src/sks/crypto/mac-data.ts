/**
 * The exact `Data` of every method MAC and attestation (spec §5.6, §5.10), as
 * pure functions that both sides of a provisioning session use: the SKS to
 * verify, the issuer to compute. Length prefixes are checked (spec §1.1) and a
 * value too long for its prefix is `ERROR_OPTION` naming the field.
 */
import type { CreatePinPolicyArgs } from '../api.js';
import { encoder } from './encoding.js';

const EMPTY = new Uint8Array(0);

/** PIN policy attributes as MACed by createPinPolicy (spec §6.7 step 10). */
export type PinPolicyMacFields = Pick<
  CreatePinPolicyArgs,
  'userDefined' | 'userModifiable' | 'format' | 'retryLimit' | 'grouping' | 'patternRestrictions' | 'minLength' | 'maxLength' | 'inputMethod'
>;

/** createKeyEntry fields as MACed (spec §6.8 step 10); `encryptedPin` only for an issuer-set PIN. */
export interface KeyEntryMacFields {
  readonly id: string;
  readonly keyEntryAlgorithm: string;
  readonly serverSeed: Uint8Array | undefined;
  readonly pinPolicyId: string;
  readonly encryptedPin: Uint8Array | undefined;
  readonly devicePinProtection: boolean;
  readonly enablePinCaching: boolean;
  readonly biometricProtection: number;
  readonly exportProtection: number;
  readonly deleteProtection: number;
  readonly appUsage: number;
  readonly friendlyName: string | undefined;
  readonly keyAlgorithm: string;
  readonly keyParameters: Uint8Array | undefined;
  readonly endorsedAlgorithms: readonly string[];
}

export const MacData = {
  createPukPolicy: (id: string, encryptedPuk: Uint8Array, format: number, retryLimit: number): Buffer =>
    encoder().str(id, 'id').arr(encryptedPuk, 'encryptedPuk').u8(format).u16(retryLimit).toBuffer(),

  createPinPolicy: (id: string, pukPolicyId: string, p: PinPolicyMacFields): Buffer =>
    encoder()
      .str(id, 'id')
      .str(pukPolicyId)
      .bool(p.userDefined)
      .bool(p.userModifiable)
      .u8(p.format)
      .u16(p.retryLimit)
      .u8(p.grouping)
      .u8(p.patternRestrictions)
      .u16(p.minLength)
      .u16(p.maxLength)
      .u8(p.inputMethod)
      .toBuffer(),

  createKeyEntry: (macFields: KeyEntryMacFields): Buffer => {
    const encode = encoder()
      .str(macFields.id, 'id')
      .str(macFields.keyEntryAlgorithm)
      .arr(macFields.serverSeed ?? EMPTY, 'serverSeed')
      .str(macFields.pinPolicyId);
    if (macFields.encryptedPin === undefined) encode.str('');
    else encode.arr(macFields.encryptedPin, 'pinValue');
    encode
      .bool(macFields.devicePinProtection)
      .bool(macFields.enablePinCaching)
      .u8(macFields.biometricProtection)
      .u8(macFields.exportProtection)
      .u8(macFields.deleteProtection)
      .u8(macFields.appUsage)
      .str(macFields.friendlyName ?? '', 'friendlyName')
      .str(macFields.keyAlgorithm, 'keyAlgorithm')
      .arr(macFields.keyParameters ?? EMPTY, 'keyParameters');
    for (const text of macFields.endorsedAlgorithms) encode.str(text, 'endorsedAlgorithms');
    return encode.toBuffer();
  },

  /** `currentSpki` is the key's public key before the call: the generated one. */
  setCertificatePath: (currentSpki: Uint8Array, id: string, path: readonly Uint8Array[]): Buffer => {
    const encode = encoder().arr(currentSpki).str(id, 'id');
    for (const bytes of path) encode.arr(bytes, 'certificatePath');
    return encode.toBuffer();
  },

  /** importSymmetricKey and importPrivateKey. */
  importKey: (endEntity: Uint8Array, encryptedKey: Uint8Array): Buffer => encoder().arr(endEntity).arr(encryptedKey, 'encryptedKey').toBuffer(),

  addExtension: (endEntity: Uint8Array, type: string, subType: number, qualifier: string, extensionData: Uint8Array): Buffer =>
    encoder().arr(endEntity).str(type, 'type').u8(subType).str(qualifier, 'qualifier').blob(extensionData).toBuffer(),

  /** postDeleteKey and postUnlockKey. */
  postDeleteOrUnlock: (authorization: Uint8Array): Buffer => encoder().arr(authorization, 'authorization').toBuffer(),

  /** postUpdateKey and postCloneKeyProtection (`endEntity` of the NEW key). */
  postUpdateOrClone: (endEntity: Uint8Array, authorization: Uint8Array): Buffer => encoder().arr(endEntity).arr(authorization, 'authorization').toBuffer(),

  closeProvisioningSession: (clientSessionId: string, serverSessionId: string, issuerUri: string, nonce: Uint8Array): Buffer =>
    encoder().str(clientSessionId).str(serverSessionId).str(issuerUri).arr(nonce, 'nonce').toBuffer(),

  keyAttestation: (publicKey: Uint8Array, mac: Uint8Array): Buffer => encoder().arr(publicKey).arr(mac, 'mac').toBuffer(),

  closeAttestation: (nonce: Uint8Array): Buffer => encoder().arr(nonce, 'nonce').toBuffer(),
} as const;
