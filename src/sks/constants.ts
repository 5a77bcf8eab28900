/** Limits, MAC method names and enumerated byte values (spec §2). */

export const Limits = {
  MAX_LENGTH_PIN_PUK: 128,
  MAX_LENGTH_QUALIFIER: 128,
  MAX_LENGTH_SYMMETRIC_KEY: 128,
  MAX_LENGTH_ID_TYPE: 32,
  MAX_LENGTH_SERVER_SEED: 64,
  MAX_LENGTH_URI: 1000,
  MAX_RETRY_LIMIT: 10000,
  AES_CBC_PKCS5_PADDING: 32,
  MAX_LENGTH_CRYPTO_DATA: 16384,
  MAX_LENGTH_EXTENSION_DATA: 250000,
  SKS_API_LEVEL: 106,
  /** The document's limits the reference leaves unchecked (spec §16 item 6); enforced here. */
  MAX_ENDORSED_ALGORITHMS: 255,
  MAX_EXTENSIONS_PER_KEY: 255,
} as const;

/** ASCII modifiers of the MAC keys (spec §2.2); note the capitals in PIN and PUK. */
export const MacMethod = {
  SET_CERTIFICATE_PATH: 'setCertificatePath',
  IMPORT_SYMMETRIC_KEY: 'importSymmetricKey',
  IMPORT_PRIVATE_KEY: 'importPrivateKey',
  CLOSE_PROVISIONING_SESSION: 'closeProvisioningSession',
  CREATE_KEY_ENTRY: 'createKeyEntry',
  CREATE_PIN_POLICY: 'createPINPolicy',
  CREATE_PUK_POLICY: 'createPUKPolicy',
  ADD_EXTENSION: 'addExtension',
  POST_DELETE_KEY: 'postDeleteKey',
  POST_UNLOCK_KEY: 'postUnlockKey',
  POST_UPDATE_KEY: 'postUpdateKey',
  POST_CLONE_KEY_PROTECTION: 'postCloneKeyProtection',
  DEVICE_ATTESTATION: 'DeviceAttestation',
} as const;

export type MacMethodName = (typeof MacMethod)[keyof typeof MacMethod];

/** KDF and KMK constants (spec §2.3). */
export const Kdf = {
  ENCRYPTION_KEY: 'EncryptionKey',
  ANONYMOUS: 'Anonymous',
  TARGET_KEY_REFERENCE: 'TargetKeyReference',
  ROLL_OVER_AUTHORIZATION: 'RollOverAuthorization',
} as const;

export const AppUsage = { SIGNATURE: 0, AUTHENTICATION: 1, ENCRYPTION: 2, UNIVERSAL: 3 } as const;
export const PinGrouping = { NONE: 0, SHARED: 1, SIGN_PLUS_STD: 2, UNIQUE: 3 } as const;
export const PinPattern = { TWO_IN_A_ROW: 0x01, THREE_IN_A_ROW: 0x02, SEQUENCE: 0x04, REPEATED: 0x08, MISSING_GROUP: 0x10 } as const;
export const PassphraseFormat = { NUMERIC: 0, ALPHANUMERIC: 1, STRING: 2, BINARY: 3 } as const;
export const ExtensionSubType = { EXTENSION: 0, ENCRYPTED_EXTENSION: 1, PROPERTY_BAG: 2, LOGOTYPE: 3 } as const;
export const ExportDeleteProtection = { NONE: 0, PIN: 1, PUK: 2, NOT_ALLOWED: 3 } as const;
export const InputMethod = { ANY: 0, PROGRAMMATIC: 1, TRUSTED_GUI: 2 } as const;
export const BiometricProtection = { NONE: 0, ALTERNATIVE: 1, COMBINED: 2, EXCLUSIVE: 3 } as const;

/** `protectionStatus` bits of getKeyProtectionInfo (spec §2.6). */
export const ProtectionStatus = {
  NO_PIN: 0x00,
  PIN_PROTECTED: 0x01,
  PUK_PROTECTED: 0x02,
  PIN_BLOCKED: 0x04,
  PUK_BLOCKED: 0x08,
  DEVICE_PIN: 0x10,
} as const;

export const KeyBackup = { IMPORTED: 0x01, EXPORTED: 0x02 } as const;
