/**
 * Issuer emulation for SKS scenario tests, equivalent to the reference suite's
 * (spec §15.1): it plays the server side of one provisioning session against a
 * `SecureKeyStore`, computing every MAC, encryption, target key reference and
 * KMK signature of spec §5 and verifying every attestation the SKS returns.
 *
 * Usage:
 * ```ts
 * const s = await IssuerSession.open(sks, { ca });
 * const pin = await s.createPinPolicy({ id: 'PIN' });
 * const key = await s.provisionKey({ pinPolicy: pin, userPin: '1234' });
 * await s.closeSession();
 * ```
 *
 * The emulator keeps its own MAC sequence counter: every method MAC it
 * generates and every attestation it verifies advances it (spec §5.5). The raw
 * hooks (`macFor`, `corruptNextMac`, `encrypt`, `macSequence`, …) let negative
 * tests tamper with any byte. A failed SKS call is never retried or hidden: the
 * `SksError` propagates to the test unchanged.
 *
 * Scope: this is the SKS-level call signer for tests of the SKS API itself
 * (spec §15.2: MAC, order, tampered-field, open-session and abort tests that
 * send calls the real issuer never would). Tests that only need keys
 * provisioned use the real issuer instead: `test/support/keygen2-harness.ts`
 * (`openHarness`, `createEnroller`) runs `keygen2/server` ↔ `runEnrollment` ↔
 * the SKS over wire text. Do not add positive-path provisioning here.
 */
import { createPublicKey, diffieHellman, randomBytes, sign as nodeSign, verify as nodeVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from './keygen.js';
import { ALGORITHM_KEY_ATTEST_1, ALGORITHM_SESSION_ATTEST_1 } from '../../src/sks/algorithms.js';
import {
  NO_PIN_POLICY,
  NO_PUK_POLICY,
  type KeyHandle,
  type PinPolicyHandle,
  type ProvisioningHandle,
  type PukPolicyHandle,
  type SecureKeyStore,
} from '../../src/sks/api.js';
import {
  AppUsage,
  BiometricProtection,
  ExportDeleteProtection,
  ExtensionSubType,
  InputMethod,
  Kdf,
  MacMethod,
  PassphraseFormat,
  PinGrouping,
  type MacMethodName,
} from '../../src/sks/constants.js';
import {
  deriveSessionKey,
  encryptForSks,
  encryptionKey,
  hmacSha256,
  methodMac,
  rollOverSignedData,
  sessionAttestationInput,
  sessionKdfInput,
  targetKeyReference,
  targetKeyReferenceSignedData,
  type SessionAttestationFields,
} from '../../src/sks/crypto/primitives.js';
import { MacData as SharedMacData, type KeyEntryMacFields, type PinPolicyMacFields } from '../../src/sks/crypto/mac-data.js';
import type { TestCa } from './test-ca.js';

export const EC_P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';

/** A key management key: the issuer keeps the private half (spec §5.8, §5.9). */
export interface Kmk {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Raised by the emulator itself (not the SKS) when an attestation does not verify. */
export class IssuerVerificationError extends Error {
  override readonly name = 'IssuerVerificationError';
}

/** What the emulator remembers about a key created through it. */
export interface ProvisionedKey {
  readonly keyHandle: KeyHandle;
  readonly id: string;
  readonly appUsage: number;
  /** The public key the SKS generated (canonical SPKI and KeyObject). */
  readonly generatedSpki: Buffer;
  readonly generatedPublicKey: KeyObject;
  readonly attestation: Buffer;
  /** SPKI the SKS currently holds for the key: the generated one, then the end-entity certificate's. */
  currentSpki: Buffer;
  /** Set by a successful `setCertificatePath`. */
  certificatePath: Buffer[] | undefined;
}

/** `KeyRef`: the emulator's record or a bare handle (looked up in this store's registry). */
export type KeyRef = ProvisionedKey | KeyHandle;

export interface IssuerOptions {
  /** Privacy-enabled (anonymous) provisioning; default false. */
  readonly privacyEnabled?: boolean;
  /** KMK sent to `createProvisioningSession` (absent: a non-updatable session). */
  readonly kmk?: Kmk | undefined;
  /** KMK signing post-operation authorizations by default; defaults to `kmk`. */
  readonly postOpKmk?: Kmk | undefined;
  /** Default 50 (spec §15.1). */
  readonly sessionKeyLimit?: number;
  /** Default 10000. */
  readonly sessionLifeTime?: number;
  /** Default `http://issuer.example.com/provsess`. */
  readonly issuerUri?: string;
  /** Default bytes `01 02 03`. */
  readonly serverCertificate?: Uint8Array;
  /** Node curve name of the server ephemeral key (default `prime256v1`); ignored when `serverEphemeralKey` is set. */
  readonly serverEphemeralCurve?: string;
  /** A ready server ephemeral EC key pair. */
  readonly serverEphemeralKey?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** Default `S-<random hex>`. */
  readonly serverSessionId?: string;
  /** Seconds since the epoch; default now. */
  readonly clientTime?: number;
  /** Default the `session.1` URI. */
  readonly sessionKeyAlgorithm?: string;
  /** CA used by `setCertificatePath` when no path is given. */
  readonly ca?: TestCa;
}

export interface PinPolicyOptions {
  readonly id?: string;
  /** PUK policy created by this session (its id goes into the MAC). */
  readonly pukPolicy?: PukPolicyHandle;
  /** Overrides the PUK policy id put into the MAC (for foreign handles). */
  readonly pukPolicyId?: string;
  /** Default true. */
  readonly userDefined?: boolean;
  /** Default false. */
  readonly userModifiable?: boolean;
  /** Default numeric. */
  readonly format?: number;
  /** Default 3. */
  readonly retryLimit?: number;
  /** Default none. */
  readonly grouping?: number;
  /** Default 0. */
  readonly patternRestrictions?: number;
  /** Default 4. */
  readonly minLength?: number;
  /** Default 8. */
  readonly maxLength?: number;
  /** Default any. */
  readonly inputMethod?: number;
}

export type PinBytes = Uint8Array | string;

export interface KeyEntryOptions {
  /** Default `Key.<n>` (n counts keys of this session from 1). */
  readonly id?: string;
  /** Default `ec.nist.p256`. */
  readonly keyAlgorithm?: string;
  /** Default the `key.1` URI. */
  readonly keyEntryAlgorithm?: string;
  /** Absent by default. */
  readonly keyParameters?: Uint8Array;
  readonly pinPolicy?: PinPolicyHandle;
  /** Overrides the PIN policy id put into the MAC (for foreign handles). */
  readonly pinPolicyId?: string;
  /** A user-defined PIN: sent in clear, MACed as `str("")`. */
  readonly userPin?: PinBytes;
  /** An issuer-set PIN: encrypted by the emulator, MACed encrypted (spec §8.4). */
  readonly presetPin?: PinBytes;
  /** Default authentication. */
  readonly appUsage?: number;
  /** Default non-exportable (3). */
  readonly exportProtection?: number;
  /** Default none (0). */
  readonly deleteProtection?: number;
  /** Default none (0). */
  readonly biometricProtection?: number;
  /** Default `[]`. */
  readonly endorsedAlgorithms?: readonly string[];
  /** Default 32 random bytes; `null` sends it absent. */
  readonly serverSeed?: Uint8Array | null;
  /** Default false. */
  readonly devicePinProtection?: boolean;
  /** Default false. */
  readonly enablePinCaching?: boolean;
  /** Default `""`; `null` sends it absent. */
  readonly friendlyName?: string | null;
}

export interface CertificateOptions {
  /** Certify this public key instead of the generated one (KeyObject or SPKI). */
  readonly publicKey?: KeyObject | Uint8Array;
  /** Use this exact path (end-entity first) instead of issuing one. */
  readonly path?: readonly Uint8Array[];
  /** Subject CN of the issued certificate; default the key id. */
  readonly commonName?: string;
  /** Pads the issued certificate with an extension of this many bytes. */
  readonly paddingBytes?: number;
  /** Append the CA certificate after the end-entity certificate; default false. */
  readonly includeCa?: boolean;
}

export interface ExtensionOptions {
  readonly type: string;
  readonly subType: number;
  /** Default `""`. */
  readonly qualifier?: string;
  /** Clear data; encrypted by the emulator for subType 0x01 unless `encrypt` is false. */
  readonly data: Uint8Array;
  readonly encrypt?: boolean;
}

export interface PostOperationOptions {
  /** KMK signing the authorization; default the session's `postOpKmk`/`kmk`. */
  readonly kmk?: Kmk;
  /** Sends these exact bytes as the authorization. */
  readonly authorization?: Uint8Array;
  /** Target end-entity certificate for the reference; default from `getKeyAttributes` (or the registry). */
  readonly targetCertificate?: Uint8Array;
}

const utf8 = (v: PinBytes): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

const CURVE_ALIASES: Readonly<Record<string, string>> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

export type { SessionAttestationFields };

/** The exact `Data` of every method MAC and attestation, shared with the SKS (src/sks/crypto/mac-data.ts). */
export const MacData = {
  ...SharedMacData,
  sessionAttestation: (f: SessionAttestationFields): Buffer => sessionAttestationInput(f),
} as const;
export type { KeyEntryMacFields, PinPolicyMacFields };

/** Per-store registry of keys created through any emulator session (for lookups by handle). */
const registries = new WeakMap<SecureKeyStore, Map<number, ProvisionedKey>>();
const registryOf = (sks: SecureKeyStore): Map<number, ProvisionedKey> => {
  let result = registries.get(sks);
  if (result === undefined) {
    result = new Map();
    registries.set(sks, result);
  }
  return result;
};

/** The emulator's record of a key created through any session on `sks`, by handle. */
export const provisionedKey = (sks: SecureKeyStore, handle: KeyHandle): ProvisionedKey | undefined => registryOf(sks).get(handle);

/**
 * Signs like a KMK holder (spec §5.8, §5.9): RSA PKCS#1 v1.5 SHA-256 or ECDSA
 * SHA-256 raw R||S.
 */
export function kmkSign(kmk: Kmk, data: Uint8Array): Buffer {
  if (kmk.privateKey.asymmetricKeyType === 'ec') {
    return nodeSign('sha256', data, { key: kmk.privateKey, dsaEncoding: 'ieee-p1363' });
  }
  return nodeSign('sha256', data, kmk.privateKey);
}

/** Canonical SPKI of a public KeyObject. */
export const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/**
 * `updateKeyManagementKey` with a correct roll-over authorization (spec §5.9):
 * `oldKmk` signs "RollOverAuthorization" || SPKI(newKmk).
 */
export async function rollOverKmk(sks: SecureKeyStore, handle: ProvisioningHandle, oldKmk: Kmk, newKmk: Kmk | KeyObject): Promise<void> {
  const newPublic = 'publicKey' in newKmk ? newKmk.publicKey : newKmk;
  const newSpki = spki(newPublic);
  await sks.updateKeyManagementKey(handle, newSpki, kmkSign(oldKmk, rollOverSignedData(newSpki)));
}

/** Verifies a device signature over the session attestation data (spec §5.3). */
function verifyDeviceSignature(deviceCertificate: Uint8Array, data: Buffer, signature: Uint8Array): boolean {
  const key = new X509Certificate(Buffer.from(deviceCertificate)).publicKey;
  if (key.asymmetricKeyType === 'ec') return nodeVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (key.asymmetricKeyType === 'rsa') return nodeVerify('sha256', data, key, signature);
  throw new IssuerVerificationError(`unsupported device key type ${key.asymmetricKeyType ?? '?'}`);
}

/** One emulated provisioning session (the issuer's side). */
export class IssuerSession {
  readonly sks: SecureKeyStore;
  readonly provisioningHandle: ProvisioningHandle;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly issuerUri: string;
  readonly privacyEnabled: boolean;
  /** The SKS's ephemeral key (canonical SPKI) and session attestation, as returned. */
  readonly clientEphemeralKey: Buffer;
  readonly sessionAttestation: Buffer;
  /** `HMAC(Z, kdf input)` (spec §5.2). */
  readonly sessionKey: Buffer;
  /** "Anonymous" or the device certificate (spec §5.1). */
  readonly deviceId: Buffer;
  readonly kmk: Kmk | undefined;
  readonly postOpKmk: Kmk | undefined;
  readonly ca: TestCa | undefined;
  /** Keys created in this session, in creation order. */
  readonly keys: ProvisionedKey[] = [];

  private counter = 0;
  private corruptNext = false;
  private readonly pinPolicies = new Map<number, { id: string; userDefined: boolean }>();
  private readonly pukPolicies = new Map<number, string>();

  private constructor(
    sks: SecureKeyStore,
    init: {
      handle: ProvisioningHandle;
      clientSessionId: string;
      serverSessionId: string;
      issuerUri: string;
      privacyEnabled: boolean;
      clientEphemeralKey: Buffer;
      sessionAttestation: Buffer;
      sessionKey: Buffer;
      deviceId: Buffer;
      kmk: Kmk | undefined;
      postOpKmk: Kmk | undefined;
      ca: TestCa | undefined;
    },
  ) {
    this.sks = sks;
    this.provisioningHandle = init.handle;
    this.clientSessionId = init.clientSessionId;
    this.serverSessionId = init.serverSessionId;
    this.issuerUri = init.issuerUri;
    this.privacyEnabled = init.privacyEnabled;
    this.clientEphemeralKey = init.clientEphemeralKey;
    this.sessionAttestation = init.sessionAttestation;
    this.sessionKey = init.sessionKey;
    this.deviceId = init.deviceId;
    this.kmk = init.kmk;
    this.postOpKmk = init.postOpKmk;
    this.ca = init.ca;
  }

  /**
   * Creates the server ephemeral key, calls `createProvisioningSession`, derives
   * the session key and verifies the session attestation (spec §5.2, §5.3).
   * An attestation that does not verify aborts the session and throws
   * `IssuerVerificationError`; an SKS failure propagates as is.
   */
  static async open(sks: SecureKeyStore, options: IssuerOptions = {}): Promise<IssuerSession> {
    const privacyEnabled = options.privacyEnabled ?? false;
    const curve = options.serverEphemeralCurve ?? 'prime256v1';
    const ephemeral = options.serverEphemeralKey ?? generateKeyPairSync('ec', { namedCurve: CURVE_ALIASES[curve] ?? curve });
    const serverSessionId = options.serverSessionId ?? `S-${randomBytes(8).toString('hex')}`;
    const issuerUri = options.issuerUri ?? 'http://issuer.example.com/provsess';
    const serverCertificate = Buffer.from(options.serverCertificate ?? [1, 2, 3]);
    const clientTime = options.clientTime ?? Math.floor(Date.now() / 1000);
    const sessionLifeTime = options.sessionLifeTime ?? 10000;
    const sessionKeyLimit = options.sessionKeyLimit ?? 50;
    const sessionKeyAlgorithm = options.sessionKeyAlgorithm ?? ALGORITHM_SESSION_ATTEST_1;
    const serverSpki = spki(ephemeral.publicKey);
    const kmkSpki = options.kmk === undefined ? undefined : spki(options.kmk.publicKey);

    const result = await sks.createProvisioningSession({
      sessionKeyAlgorithm,
      privacyEnabled,
      serverSessionId,
      serverEphemeralKey: serverSpki,
      issuerUri,
      keyManagementKey: kmkSpki,
      clientTime,
      sessionLifeTime,
      sessionKeyLimit,
      serverCertificate,
    });

    const deviceCertificate = (await sks.getDeviceInfo()).certificatePath.at(0);
    if (deviceCertificate === undefined) throw new IssuerVerificationError('device has no certificate');
    const deviceId = privacyEnabled ? Buffer.from(Kdf.ANONYMOUS, 'ascii') : Buffer.from(deviceCertificate);
    const clientEphemeral = createPublicKey({ key: Buffer.from(result.clientEphemeralKey), format: 'der', type: 'spki' });
    const nonSharedBuffer = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: clientEphemeral });
    const sessionKey = deriveSessionKey(nonSharedBuffer, sessionKdfInput(result.clientSessionId, serverSessionId, issuerUri, deviceId));

    // Session attestation data A (spec §5.3).
    const bytes = MacData.sessionAttestation({
      clientSessionId: result.clientSessionId,
      serverSessionId,
      issuerUri,
      deviceId,
      sessionKeyAlgorithm,
      privacyEnabled,
      serverEphemeralKey: serverSpki,
      clientEphemeralKey: spki(clientEphemeral),
      keyManagementKey: kmkSpki,
      clientTime,
      sessionLifeTime,
      sessionKeyLimit,
      serverCertificate,
    });
    const ok = privacyEnabled
      ? hmacSha256(sessionKey, bytes).equals(Buffer.from(result.attestation))
      : verifyDeviceSignature(deviceCertificate, bytes, result.attestation);
    if (!ok) {
      await sks.abortProvisioningSession(result.provisioningHandle);
      throw new IssuerVerificationError('session attestation did not verify');
    }
    return new IssuerSession(sks, {
      handle: result.provisioningHandle,
      clientSessionId: result.clientSessionId,
      serverSessionId,
      issuerUri,
      privacyEnabled,
      clientEphemeralKey: Buffer.from(result.clientEphemeralKey),
      sessionAttestation: Buffer.from(result.attestation),
      sessionKey,
      deviceId,
      kmk: options.kmk,
      postOpKmk: options.postOpKmk ?? options.kmk,
      ca: options.ca,
    });
  }

  // ---------------------------------------------------------------- raw hooks

  /** The next MAC sequence number the emulator will use (spec §5.5). */
  get macSequence(): number {
    return this.counter;
  }

  /** Moves the emulator's sequence counter (to desynchronize on purpose). */
  set macSequence(value: number) {
    this.counter = value;
  }

  /** Flips one bit of the next MAC `macFor` produces. */
  corruptNextMac(): void {
    this.corruptNext = true;
  }

  /** `HMAC(sessionKey || method || u16(q), data)` with the next sequence number (advances it). */
  macFor(method: MacMethodName, data: Uint8Array): Buffer {
    const mac = methodMac(this.sessionKey, method, this.counter, data);
    this.counter = (this.counter + 1) & 0xffff;
    if (this.corruptNext) {
      this.corruptNext = false;
      mac[0] ^= 0x01;
    }
    return mac;
  }

  /**
   * Checks an attestation the SKS produced (`DeviceAttestation` MAC with the
   * next sequence number, which it consumes); throws `IssuerVerificationError`.
   */
  verifyAttestation(data: Uint8Array, attestation: Uint8Array, what = 'attestation'): void {
    const expected = methodMac(this.sessionKey, MacMethod.DEVICE_ATTESTATION, this.counter, data);
    this.counter = (this.counter + 1) & 0xffff;
    if (!expected.equals(Buffer.from(attestation))) throw new IssuerVerificationError(`${what} did not verify`);
  }

  /** Issuer encryption of spec §5.7 (random IV). */
  encrypt(plaintext: Uint8Array): Buffer {
    return encryptForSks(encryptionKey(this.sessionKey), plaintext);
  }

  /** `HMAC(sessionKey || deviceId, targetCertificate)` (spec §5.8). */
  targetKeyReference(targetCertificate: Uint8Array): Buffer {
    return targetKeyReference(this.sessionKey, this.deviceId, targetCertificate);
  }

  /** The post-operation authorization over `targetCertificate`, signed by `kmk` (spec §5.8). */
  authorizationFor(targetCertificate: Uint8Array, kmk: Kmk): Buffer {
    return kmkSign(kmk, targetKeyReferenceSignedData(this.targetKeyReference(targetCertificate)));
  }

  /** The emulator's record of a key (by record or handle). */
  key(ref: KeyRef): ProvisionedKey {
    if (typeof ref !== 'number') return ref;
    const keyValue = this.keys.find((x) => x.keyHandle === ref) ?? registryOf(this.sks).get(ref);
    if (keyValue === undefined) throw new Error(`emulator: unknown key handle ${ref}`);
    return keyValue;
  }

  // ------------------------------------------------------- provisioning calls

  /** createPukPolicy (spec §6.6): encrypts `puk`, MACs, returns the handle. */
  async createPukPolicy(id: string, puk: PinBytes, format: number = PassphraseFormat.NUMERIC, retryLimit = 3): Promise<PukPolicyHandle> {
    const encryptedPuk = this.encrypt(utf8(puk));
    const mac = this.macFor(MacMethod.CREATE_PUK_POLICY, MacData.createPukPolicy(id, encryptedPuk, format, retryLimit));
    const handle = await this.sks.createPukPolicy({ provisioningHandle: this.provisioningHandle, id, encryptedPuk, format, retryLimit, mac });
    this.pukPolicies.set(handle, id);
    return handle;
  }

  /** createPinPolicy (spec §6.7) with the §15.1 defaults. */
  async createPinPolicy(options: PinPolicyOptions = {}): Promise<PinPolicyHandle> {
    const id = options.id ?? 'PIN';
    const pukPolicyHandle = options.pukPolicy ?? NO_PUK_POLICY;
    const pukPolicyId = options.pukPolicyId ?? (pukPolicyHandle === NO_PUK_POLICY ? '' : (this.pukPolicies.get(pukPolicyHandle) ?? ''));
    const params = {
      userDefined: options.userDefined ?? true,
      userModifiable: options.userModifiable ?? false,
      format: options.format ?? PassphraseFormat.NUMERIC,
      retryLimit: options.retryLimit ?? 3,
      grouping: options.grouping ?? PinGrouping.NONE,
      patternRestrictions: options.patternRestrictions ?? 0,
      minLength: options.minLength ?? 4,
      maxLength: options.maxLength ?? 8,
      inputMethod: options.inputMethod ?? InputMethod.ANY,
    };
    const mac = this.macFor(MacMethod.CREATE_PIN_POLICY, MacData.createPinPolicy(id, pukPolicyId, params));
    const handle = await this.sks.createPinPolicy({ provisioningHandle: this.provisioningHandle, id, pukPolicyHandle, ...params, mac });
    this.pinPolicies.set(handle, { id, userDefined: params.userDefined });
    return handle;
  }

  /**
   * createKeyEntry (spec §6.8) with the §15.1 defaults; verifies the key
   * attestation and returns the emulator's record of the key.
   */
  async createKeyEntry(options: KeyEntryOptions = {}): Promise<ProvisionedKey> {
    const id = options.id ?? `Key.${this.keys.length + 1}`;
    const keyEntryAlgorithm = options.keyEntryAlgorithm ?? ALGORITHM_KEY_ATTEST_1;
    const keyAlgorithm = options.keyAlgorithm ?? EC_P256;
    const serverSeed = options.serverSeed === null ? undefined : (options.serverSeed ?? randomBytes(32));
    const pinPolicyHandle = options.pinPolicy ?? NO_PIN_POLICY;
    const pinPolicyId = options.pinPolicyId ?? (pinPolicyHandle === NO_PIN_POLICY ? '' : (this.pinPolicies.get(pinPolicyHandle)?.id ?? ''));
    const devicePinProtection = options.devicePinProtection ?? false;
    const enablePinCaching = options.enablePinCaching ?? false;
    const biometricProtection = options.biometricProtection ?? BiometricProtection.NONE;
    const exportProtection = options.exportProtection ?? ExportDeleteProtection.NOT_ALLOWED;
    const deleteProtection = options.deleteProtection ?? ExportDeleteProtection.NONE;
    const appUsage = options.appUsage ?? AppUsage.AUTHENTICATION;
    const friendlyName = options.friendlyName === null ? undefined : (options.friendlyName ?? '');
    const endorsedAlgorithms = options.endorsedAlgorithms ?? [];
    const encryptedPin = options.presetPin === undefined ? undefined : this.encrypt(utf8(options.presetPin));
    const pinValue = encryptedPin ?? (options.userPin === undefined ? undefined : utf8(options.userPin));

    const mac = this.macFor(
      MacMethod.CREATE_KEY_ENTRY,
      MacData.createKeyEntry({
        id,
        keyEntryAlgorithm,
        serverSeed,
        pinPolicyId,
        encryptedPin,
        devicePinProtection,
        enablePinCaching,
        biometricProtection,
        exportProtection,
        deleteProtection,
        appUsage,
        friendlyName,
        keyAlgorithm,
        keyParameters: options.keyParameters,
        endorsedAlgorithms,
      }),
    );

    const result = await this.sks.createKeyEntry({
      provisioningHandle: this.provisioningHandle,
      id,
      keyEntryAlgorithm,
      serverSeed,
      devicePinProtection,
      pinPolicyHandle,
      pinValue,
      enablePinCaching,
      biometricProtection,
      exportProtection,
      deleteProtection,
      appUsage,
      friendlyName,
      keyAlgorithm,
      keyParameters: options.keyParameters,
      endorsedAlgorithms,
      mac,
    });
    const generatedSpki = Buffer.from(result.publicKey);
    this.verifyAttestation(MacData.keyAttestation(generatedSpki, mac), result.attestation, 'key attestation');
    const key: ProvisionedKey = {
      keyHandle: result.keyHandle,
      id,
      appUsage,
      generatedSpki,
      generatedPublicKey: createPublicKey({ key: generatedSpki, format: 'der', type: 'spki' }),
      attestation: Buffer.from(result.attestation),
      currentSpki: generatedSpki,
      certificatePath: undefined,
    };
    this.keys.push(key);
    registryOf(this.sks).set(result.keyHandle, key);
    return key;
  }

  /**
   * setCertificatePath (spec §6.9). Without `path`, issues a certificate from
   * the test CA for the generated public key (or `options.publicKey`).
   */
  async setCertificatePath(ref: KeyRef, options: CertificateOptions = {}): Promise<Buffer[]> {
    const key = this.key(ref);
    let path: Buffer[];
    if (options.path !== undefined) {
      path = options.path.map((c) => Buffer.from(c));
    } else {
      if (this.ca === undefined) throw new Error('emulator: no CA configured');
      const ee = await this.ca.issue(options.publicKey ?? key.generatedSpki, {
        commonName: options.commonName ?? key.id,
        ...(options.paddingBytes === undefined ? {} : { paddingBytes: options.paddingBytes }),
      });
      path = options.includeCa === true ? [ee, this.ca.certificate] : [ee];
    }
    const mac = this.macFor(MacMethod.SET_CERTIFICATE_PATH, MacData.setCertificatePath(key.currentSpki, key.id, path));
    await this.sks.setCertificatePath(key.keyHandle, path, mac);
    key.certificatePath = path;
    const first = path.at(0);
    if (first !== undefined) {
      try {
        key.currentSpki = spki(new X509Certificate(first).publicKey);
      } catch {
        // Not a parseable certificate: the SKS would have refused it, keep the old key.
      }
    }
    return path;
  }

  /** createKeyEntry followed by setCertificatePath (the common case). */
  async provisionKey(options: KeyEntryOptions = {}, certificate: CertificateOptions = {}): Promise<ProvisionedKey> {
    const key = await this.createKeyEntry(options);
    await this.setCertificatePath(key, certificate);
    return key;
  }

  private endEntity(key: ProvisionedKey): Buffer {
    const ee = key.certificatePath?.[0];
    // Without a certificate the SKS must fail before the MAC (spec §5.5); any bytes do.
    return ee ?? Buffer.alloc(0);
  }

  /** importSymmetricKey (spec §6.10): encrypts `secret`. */
  async importSymmetricKey(ref: KeyRef, secret: Uint8Array): Promise<void> {
    const key = this.key(ref);
    const encryptedKey = this.encrypt(secret);
    const mac = this.macFor(MacMethod.IMPORT_SYMMETRIC_KEY, MacData.importKey(this.endEntity(key), encryptedKey));
    await this.sks.importSymmetricKey(key.keyHandle, encryptedKey, mac);
  }

  /** importPrivateKey (spec §6.11): PKCS#8 of `privateKey`, encrypted. */
  async importPrivateKey(ref: KeyRef, privateKey: KeyObject | Uint8Array): Promise<void> {
    const key = this.key(ref);
    const pkcs8 = privateKey instanceof Uint8Array ? privateKey : privateKey.export({ type: 'pkcs8', format: 'der' });
    const encryptedKey = this.encrypt(pkcs8);
    const mac = this.macFor(MacMethod.IMPORT_PRIVATE_KEY, MacData.importKey(this.endEntity(key), encryptedKey));
    await this.sks.importPrivateKey(key.keyHandle, encryptedKey, mac);
  }

  /** addExtension (spec §6.12); an encrypted extension (0x01) is encrypted here. */
  async addExtension(ref: KeyRef, options: ExtensionOptions): Promise<void> {
    const key = this.key(ref);
    const qualifier = options.qualifier ?? '';
    const encrypt = options.encrypt ?? options.subType === ExtensionSubType.ENCRYPTED_EXTENSION;
    const extensionData = encrypt ? this.encrypt(options.data) : Buffer.from(options.data);
    const mac = this.macFor(MacMethod.ADD_EXTENSION, MacData.addExtension(this.endEntity(key), options.type, options.subType, qualifier, extensionData));
    await this.sks.addExtension({ keyHandle: key.keyHandle, type: options.type, subType: options.subType, qualifier, extensionData, mac });
  }

  private async targetCertificate(target: KeyRef, options: PostOperationOptions): Promise<Uint8Array> {
    if (options.targetCertificate !== undefined) return options.targetCertificate;
    const handle = typeof target === 'number' ? target : target.keyHandle;
    try {
      const ee = (await this.sks.getKeyAttributes(handle)).certificatePath.at(0);
      if (ee !== undefined) return ee;
    } catch {
      // The target is gone or still in provisioning: fall back to what the emulator saw.
    }
    const known = typeof target === 'number' ? registryOf(this.sks).get(target) : target;
    return known?.certificatePath?.[0] ?? Buffer.alloc(0);
  }

  private async authorization(target: KeyRef, options: PostOperationOptions): Promise<Uint8Array> {
    if (options.authorization !== undefined) return options.authorization;
    const kmk = options.kmk ?? this.postOpKmk;
    if (kmk === undefined) throw new Error('emulator: no KMK to sign the post-operation with');
    return this.authorizationFor(await this.targetCertificate(target, options), kmk);
  }

  private static handleOf(ref: KeyRef): KeyHandle {
    return typeof ref === 'number' ? ref : ref.keyHandle;
  }

  /** postDeleteKey (spec §6.13). */
  async postDeleteKey(target: KeyRef, options: PostOperationOptions = {}): Promise<void> {
    const authorization = await this.authorization(target, options);
    const mac = this.macFor(MacMethod.POST_DELETE_KEY, MacData.postDeleteOrUnlock(authorization));
    await this.sks.postDeleteKey(this.provisioningHandle, { targetKeyHandle: IssuerSession.handleOf(target), authorization, mac });
  }

  /** postUnlockKey (spec §6.13). */
  async postUnlockKey(target: KeyRef, options: PostOperationOptions = {}): Promise<void> {
    const authorization = await this.authorization(target, options);
    const mac = this.macFor(MacMethod.POST_UNLOCK_KEY, MacData.postDeleteOrUnlock(authorization));
    await this.sks.postUnlockKey(this.provisioningHandle, { targetKeyHandle: IssuerSession.handleOf(target), authorization, mac });
  }

  /** postUpdateKey (spec §6.14): `newKey` (certified, in this session) replaces `target` at close. */
  async postUpdateKey(newKey: KeyRef, target: KeyRef, options: PostOperationOptions = {}): Promise<void> {
    const key = this.key(newKey);
    const authorization = await this.authorization(target, options);
    const mac = this.macFor(MacMethod.POST_UPDATE_KEY, MacData.postUpdateOrClone(this.endEntity(key), authorization));
    await this.sks.postUpdateKey(key.keyHandle, { targetKeyHandle: IssuerSession.handleOf(target), authorization, mac });
  }

  /** postCloneKeyProtection (spec §6.14). */
  async postCloneKeyProtection(newKey: KeyRef, target: KeyRef, options: PostOperationOptions = {}): Promise<void> {
    const key = this.key(newKey);
    const authorization = await this.authorization(target, options);
    const mac = this.macFor(MacMethod.POST_CLONE_KEY_PROTECTION, MacData.postUpdateOrClone(this.endEntity(key), authorization));
    await this.sks.postCloneKeyProtection(key.keyHandle, { targetKeyHandle: IssuerSession.handleOf(target), authorization, mac });
  }

  /** getKeyHandle of this session (spec §6.5). */
  getKeyHandle(id: string): Promise<KeyHandle> {
    return this.sks.getKeyHandle(this.provisioningHandle, id);
  }

  /**
   * closeProvisioningSession (spec §6.2): MACs, calls, verifies the close
   * attestation and returns it.
   */
  async closeSession(nonce: Uint8Array = randomBytes(16)): Promise<Buffer> {
    const mac = this.macFor(
      MacMethod.CLOSE_PROVISIONING_SESSION,
      MacData.closeProvisioningSession(this.clientSessionId, this.serverSessionId, this.issuerUri, nonce),
    );
    const attestation = Buffer.from(await this.sks.closeProvisioningSession(this.provisioningHandle, nonce, mac));
    this.verifyAttestation(MacData.closeAttestation(nonce), attestation, 'close attestation');
    return attestation;
  }

  /** abortProvisioningSession. */
  abort(): Promise<void> {
    return this.sks.abortProvisioningSession(this.provisioningHandle);
  }
}
