/**
 * The SecureKeyStore contract (spec §6 and §10): everything a KeyGen2 client,
 * a wallet app or a CLI may call. It is asynchronous so that a store in another
 * process or a hardware token can stand behind the same interface.
 *
 * Conventions:
 * - Byte values are `Uint8Array`; public keys are canonical DER SubjectPublicKeyInfo.
 * - An optional parameter left `undefined` is *absent*; a zero-length array is
 *   *present* (spec §1.6 makes the difference observable).
 * - Every failure is an `SksError` (./errors.ts).
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type ProvisioningHandle = Brand<number, 'ProvisioningHandle'>;
export type KeyHandle = Brand<number, 'KeyHandle'>;
export type PinPolicyHandle = Brand<number, 'PinPolicyHandle'>;
export type PukPolicyHandle = Brand<number, 'PukPolicyHandle'>;

/** Casts at the edges, where a handle arrives as a plain number (JSON, CLI). */
export const provisioningHandle = (n: number): ProvisioningHandle => n as ProvisioningHandle;
export const keyHandle = (n: number): KeyHandle => n as KeyHandle;
export const pinPolicyHandle = (n: number): PinPolicyHandle => n as PinPolicyHandle;
export const pukPolicyHandle = (n: number): PukPolicyHandle => n as PukPolicyHandle;
/** Handle 0 means "none" (policies) or "start" (enumerations). */
export const NO_PIN_POLICY = 0 as PinPolicyHandle;
export const NO_PUK_POLICY = 0 as PukPolicyHandle;

export interface DeviceInfo {
  readonly apiLevel: number;
  readonly deviceType: number;
  readonly updateUrl: string | undefined;
  readonly vendorName: string;
  readonly vendorDescription: string;
  /** Device certificate first. */
  readonly certificatePath: readonly Uint8Array[];
  readonly supportedAlgorithms: readonly string[];
  readonly cryptoDataSize: number;
  readonly extensionDataSize: number;
  readonly devicePinSupport: boolean;
  readonly biometricSupport: boolean;
}

export interface CreateProvisioningSessionArgs {
  readonly sessionKeyAlgorithm: string;
  readonly privacyEnabled: boolean;
  readonly serverSessionId: string;
  readonly serverEphemeralKey: Uint8Array;
  readonly issuerUri: string;
  readonly keyManagementKey?: Uint8Array | undefined;
  readonly clientTime: number;
  readonly sessionLifeTime: number;
  readonly sessionKeyLimit: number;
  readonly serverCertificate: Uint8Array;
}

export interface ProvisioningSessionResult {
  readonly provisioningHandle: ProvisioningHandle;
  readonly clientSessionId: string;
  readonly attestation: Uint8Array;
  readonly clientEphemeralKey: Uint8Array;
}

export interface ProvisioningSessionInfo {
  readonly provisioningHandle: ProvisioningHandle;
  readonly sessionKeyAlgorithm: string;
  readonly privacyEnabled: boolean;
  readonly keyManagementKey: Uint8Array | undefined;
  readonly clientTime: number;
  readonly sessionLifeTime: number;
  readonly serverSessionId: string;
  readonly clientSessionId: string;
  readonly issuerUri: string;
}

export interface CreatePukPolicyArgs {
  readonly provisioningHandle: ProvisioningHandle;
  readonly id: string;
  readonly encryptedPuk: Uint8Array;
  readonly format: number;
  readonly retryLimit: number;
  readonly mac: Uint8Array;
}

export interface CreatePinPolicyArgs {
  readonly provisioningHandle: ProvisioningHandle;
  readonly id: string;
  readonly pukPolicyHandle: PukPolicyHandle;
  readonly userDefined: boolean;
  readonly userModifiable: boolean;
  readonly format: number;
  readonly retryLimit: number;
  readonly grouping: number;
  readonly patternRestrictions: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly inputMethod: number;
  readonly mac: Uint8Array;
}

export interface CreateKeyEntryArgs {
  readonly provisioningHandle: ProvisioningHandle;
  readonly id: string;
  readonly keyEntryAlgorithm: string;
  readonly serverSeed?: Uint8Array | undefined;
  readonly devicePinProtection: boolean;
  readonly pinPolicyHandle: PinPolicyHandle;
  readonly pinValue?: Uint8Array | undefined;
  readonly enablePinCaching: boolean;
  readonly biometricProtection: number;
  readonly exportProtection: number;
  readonly deleteProtection: number;
  readonly appUsage: number;
  readonly friendlyName?: string | undefined;
  readonly keyAlgorithm: string;
  readonly keyParameters?: Uint8Array | undefined;
  readonly endorsedAlgorithms: readonly string[];
  readonly mac: Uint8Array;
}

export interface KeyEntryResult {
  readonly keyHandle: KeyHandle;
  readonly publicKey: Uint8Array;
  readonly attestation: Uint8Array;
}

export interface AddExtensionArgs {
  readonly keyHandle: KeyHandle;
  readonly type: string;
  readonly subType: number;
  readonly qualifier: string;
  readonly extensionData: Uint8Array;
  readonly mac: Uint8Array;
}

export interface ExtensionValue {
  readonly subType: number;
  readonly qualifier: string;
  readonly extensionData: Uint8Array;
}

export interface KeyAttributes {
  /** > 0 means the key is symmetric. */
  readonly symmetricKeyLength: number;
  readonly certificatePath: readonly Uint8Array[];
  readonly appUsage: number;
  readonly friendlyName: string | undefined;
  readonly endorsedAlgorithms: readonly string[];
  readonly extensionTypes: readonly string[];
}

export interface KeyProtectionInfo {
  readonly protectionStatus: number;
  readonly pukFormat: number;
  readonly pukRetryLimit: number;
  readonly pukErrorCount: number;
  readonly userDefined: boolean;
  readonly userModifiable: boolean;
  readonly format: number;
  readonly retryLimit: number;
  readonly grouping: number;
  readonly patternRestrictions: number;
  readonly minLength: number;
  readonly maxLength: number;
  readonly inputMethod: number;
  readonly pinErrorCount: number;
  readonly enablePinCaching: boolean;
  readonly biometricProtection: number;
  readonly exportProtection: number;
  readonly deleteProtection: number;
  readonly keyBackup: number;
}

export interface EnumeratedKey {
  readonly keyHandle: KeyHandle;
  /** 0 for a damaged key (its owner cannot be trusted). */
  readonly provisioningHandle: ProvisioningHandle;
  /**
   * Present when the key's stored record (or a policy it depends on) failed its
   * integrity check: the key refuses every use except deleteKey, and this says why.
   */
  readonly damaged?: string;
}

/** Common arguments of the five user-API crypto methods (spec §10). */
export interface CryptoCallArgs {
  readonly keyHandle: KeyHandle;
  readonly algorithm: string;
  readonly parameters?: Uint8Array | undefined;
  readonly biometricAuth?: boolean;
  readonly authorization?: Uint8Array | undefined;
}

export interface PostOperationArgs {
  readonly targetKeyHandle: KeyHandle;
  readonly authorization: Uint8Array;
  readonly mac: Uint8Array;
}

export interface SecureKeyStore {
  getDeviceInfo(): Promise<DeviceInfo>;

  // Provisioning (spec §6)
  createProvisioningSession(args: CreateProvisioningSessionArgs): Promise<ProvisioningSessionResult>;
  closeProvisioningSession(provisioningHandle: ProvisioningHandle, nonce: Uint8Array, mac: Uint8Array): Promise<Uint8Array>;
  abortProvisioningSession(provisioningHandle: ProvisioningHandle): Promise<void>;
  /** `provisioningState` true lists open sessions, false closed ones. */
  enumerateProvisioningSessions(provisioningHandle: ProvisioningHandle | 0, provisioningState: boolean): Promise<ProvisioningSessionInfo | undefined>;
  getKeyHandle(provisioningHandle: ProvisioningHandle, id: string): Promise<KeyHandle>;
  createPukPolicy(args: CreatePukPolicyArgs): Promise<PukPolicyHandle>;
  createPinPolicy(args: CreatePinPolicyArgs): Promise<PinPolicyHandle>;
  createKeyEntry(args: CreateKeyEntryArgs): Promise<KeyEntryResult>;
  setCertificatePath(keyHandle: KeyHandle, certificatePath: readonly Uint8Array[], mac: Uint8Array): Promise<void>;
  importSymmetricKey(keyHandle: KeyHandle, encryptedKey: Uint8Array, mac: Uint8Array): Promise<void>;
  importPrivateKey(keyHandle: KeyHandle, encryptedKey: Uint8Array, mac: Uint8Array): Promise<void>;
  addExtension(args: AddExtensionArgs): Promise<void>;
  postDeleteKey(provisioningHandle: ProvisioningHandle, op: PostOperationArgs): Promise<void>;
  postUnlockKey(provisioningHandle: ProvisioningHandle, op: PostOperationArgs): Promise<void>;
  postUpdateKey(keyHandle: KeyHandle, op: PostOperationArgs): Promise<void>;
  postCloneKeyProtection(keyHandle: KeyHandle, op: PostOperationArgs): Promise<void>;
  updateKeyManagementKey(provisioningHandle: ProvisioningHandle, keyManagementKey: Uint8Array, authorization: Uint8Array): Promise<void>;

  // User and management API (spec §10)
  enumerateKeys(keyHandle: KeyHandle | 0): Promise<EnumeratedKey | undefined>;
  getKeyAttributes(keyHandle: KeyHandle): Promise<KeyAttributes>;
  getKeyProtectionInfo(keyHandle: KeyHandle): Promise<KeyProtectionInfo>;
  getExtension(keyHandle: KeyHandle, type: string): Promise<ExtensionValue>;
  setProperty(keyHandle: KeyHandle, type: string, name: string, value: string): Promise<void>;
  deleteKey(keyHandle: KeyHandle, authorization?: Uint8Array): Promise<void>;
  exportKey(keyHandle: KeyHandle, authorization?: Uint8Array): Promise<Uint8Array>;
  unlockKey(keyHandle: KeyHandle, authorization: Uint8Array): Promise<void>;
  changePin(keyHandle: KeyHandle, authorization: Uint8Array | undefined, newPin: Uint8Array): Promise<void>;
  setPin(keyHandle: KeyHandle, authorization: Uint8Array, newPin: Uint8Array): Promise<void>;
  updateFirmware(chunk: Uint8Array): Promise<string>;
  signData(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array>;
  performHmac(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array>;
  /** `mode` true encrypts, false decrypts. */
  symmetricKeyEncrypt(args: CryptoCallArgs & { readonly mode: boolean; readonly data: Uint8Array }): Promise<Uint8Array>;
  asymmetricKeyDecrypt(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array>;
  keyAgreement(args: CryptoCallArgs & { readonly publicKey: Uint8Array }): Promise<Uint8Array>;

  /** Ends open provisioning sessions (they leave no trace), wipes secrets in memory and releases the store. */
  close(): Promise<void>;
}
