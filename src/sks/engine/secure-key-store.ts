/**
 * The SecureKeyStore facade: serializes calls (spec §1.8), tears down a
 * provisioning session on failure (spec §4.2), expires sessions, and writes
 * each call's durable changes before the call returns or throws.
 */
import { ALGORITHM_SESSION_ATTEST_1, ALGORITHMS } from '../algorithms.js';
import { detachedPrivateKey } from '../crypto/keygen.js';
import type {
  AddExtensionArgs,
  CreateKeyEntryArgs,
  CreatePinPolicyArgs,
  CreateProvisioningSessionArgs,
  CreatePukPolicyArgs,
  CryptoCallArgs,
  DeviceInfo,
  EnumeratedKey,
  ExtensionValue,
  KeyAttributes,
  KeyEntryResult,
  KeyHandle,
  KeyProtectionInfo,
  PinPolicyHandle,
  PostOperationArgs,
  ProvisioningHandle,
  ProvisioningSessionInfo,
  ProvisioningSessionResult,
  PukPolicyHandle,
  SecureKeyStore,
} from '../api.js';
import { Limits } from '../constants.js';
import { DEFAULT_PROFILE, deviceIdentityFromRecord, type DeviceIdentity, type DeviceProfile } from '../device/identity.js';
import { systemEntropy, type Entropy } from '../entropy.js';
import { SksError } from '../errors.js';
import { addExtension } from '../provisioning/add-extension.js';
import { closeProvisioningSession } from '../provisioning/close-session.js';
import { createKeyEntry } from '../provisioning/create-key-entry.js';
import { createPinPolicy, createPukPolicy } from '../provisioning/create-policies.js';
import { createProvisioningSession } from '../provisioning/create-session.js';
import { importPrivateKey, importSymmetricKey, setCertificatePath } from '../provisioning/key-material.js';
import { postDeleteOrUnlock, postUpdateOrClone, updateKeyManagementKey } from '../provisioning/post-operations.js';
import { carryAttemptReservations, releaseAttemptReservations } from '../pin/verification.js';
import type { KeyStorePort } from '../store/records.js';
import * as cryptoOperations from '../user/crypto-operations.js';
import * as manage from '../user/key-management.js';
import { closedSession, openKey, openSession, type EngineContext, type OpenKey, type OpenSession } from './context.js';
import { isOpen, nextAfter, SksState, wipeKey, wipeWrittenRecords } from './state.js';
import * as validate from './validate.js';

/** Callers from plain JavaScript may pass no arguments object: the missing handle is then reported by the handle check. */
const optionalArgs = <T>(args: T): T | undefined => args;

export interface SecureKeyStoreOptions {
  /** Committed state lives here; open provisioning sessions live in memory only. */
  readonly store: KeyStorePort;
  /** The device identity; when absent the store's device record is used. */
  readonly device?: DeviceIdentity;
  readonly profile?: Partial<DeviceProfile>;
  readonly entropy?: Entropy;
  /** Milliseconds since the epoch; used for session expiry. */
  readonly clock?: () => number;
}

/**
 * Opens a key store over a persistence port.
 *
 * @example
 * ```ts
 * const sks = openSecureKeyStore({ store: openKeyStoreDirectory('/var/lib/airtight') });
 * const { provisioningHandle } = await sks.createProvisioningSession({ ... });
 * ```
 */
export function openSecureKeyStore(options: SecureKeyStoreOptions): SecureKeyStore {
  return new SoftwareSecureKeyStore(options);
}

class SoftwareSecureKeyStore implements SecureKeyStore {
  private readonly store: KeyStorePort;
  private ctx: EngineContext;
  private locked = false;
  private closed = false;
  private readonly waiters: Array<() => void> = [];

  constructor(options: SecureKeyStoreOptions) {
    this.store = options.store;
    const snapshot = options.store.load();
    // A caller's key may still belong to a Node key-generation job (crypto/keygen.ts says why that matters).
    const given = options.device;
    const device: DeviceIdentity | undefined = given
      ? {
          // Anything but a private key is left as given, to fail where it is used, as before.
          privateKey: given.privateKey.type === 'private' ? detachedPrivateKey(given.privateKey) : given.privateKey,
          get certificatePath() {
            return given.certificatePath; // read when used, as the caller's object would be
          },
        }
      : snapshot.device
        ? deviceIdentityFromRecord(snapshot.device.read())
        : undefined;
    if (!device) throw new SksError('NOT_AVAILABLE', 'The key store has no device identity (run "airtight device init")');
    this.ctx = {
      state: SksState.fromSnapshot(snapshot),
      device,
      profile: { ...DEFAULT_PROFILE, ...options.profile },
      entropy: options.entropy ?? systemEntropy,
      clock: options.clock ?? Date.now,
      persist: () => this.flush(),
    };
  }

  /**
   * Runs one API call exclusively (spec §1.8), then persists what it changed —
   * also when it failed. (A PIN/PUK attempt is made durable earlier, before
   * the comparison, through `ctx.persist`: see pin/verification.ts.) When the store is idle and the call is synchronous (every
   * user-API call), it runs to completion at once, with no scheduling hop.
   */
  private run<T>(fn: (ctx: EngineContext) => T | Promise<T>): Promise<T> {
    if (this.locked) {
      return new Promise<void>((resume) => this.waiters.push(resume)).then(() => this.runHoldingLock(fn));
    }
    this.locked = true;
    return this.runHoldingLock(fn);
  }

  private runHoldingLock<T>(fn: (ctx: EngineContext) => T | Promise<T>): Promise<T> {
    let result: T | Promise<T>;
    try {
      if (this.closed) throw new SksError('NOT_AVAILABLE', 'The key store is closed');
      this.expireSessions();
      result = fn(this.ctx);
    } catch (error) {
      return this.finish(() => {
        throw toSksError(error);
      });
    }
    if (!(result instanceof Promise)) {
      const value = result;
      return this.finish(() => value);
    }
    return result.then(
      (value) => this.finish(() => value),
      (e: unknown) =>
        this.finish(() => {
          throw toSksError(e);
        }),
    );
  }

  /** Flushes the call's durable changes, releases the lock, then settles with `outcome`. */
  private finish<T>(outcome: () => T): Promise<T> {
    try {
      this.flush();
      return Promise.resolve(outcome());
    } catch (error) {
      return Promise.reject(toSksError(error));
    } finally {
      const next = this.waiters.shift();
      if (next) next();
      else this.locked = false;
    }
  }

  private flush(): void {
    const pending = this.ctx.state.takePending();
    if (pending.length === 0) return;
    try {
      this.store.apply(pending);
    } catch (error) {
      // Memory may now be ahead of the disk: reload the committed truth (open sessions are lost).
      const before = this.ctx.state;
      for (const openSession of [...before.openSessions]) before.dropOpenSession(openSession);
      const state = SksState.fromSnapshot(this.store.load());
      carryAttemptReservations(before, state);
      this.ctx = { ...this.ctx, state };
      throw error instanceof SksError ? error : new SksError('STORAGE', 'The key store could not be written', { cause: error });
    } finally {
      wipeWrittenRecords(pending);
    }
  }

  /** Open sessions past their lifetime are aborted: they leave no trace (spec §7.3). */
  private expireSessions(): void {
    const open = this.ctx.state.openSessions;
    if (open.size === 0) return;
    const now = this.ctx.clock();
    for (const openSession of [...open]) if (openSession.phase.expiresAt <= now) this.ctx.state.dropOpenSession(openSession);
  }

  /**
   * A provisioning call (spec §4.2): `locate` finds its object without tearing
   * anything down; any later failure tears down the object's open session.
   */
  private tearingDown<O, T>(locate: (ctx: EngineContext) => O, sessionOf: (o: O) => OpenSession, fn: (ctx: EngineContext, o: O) => T | Promise<T>): Promise<T> {
    return this.run(async (ctx) => {
      const object = locate(ctx);
      try {
        return await fn(ctx, object);
      } catch (error) {
        ctx.state.dropOpenSession(sessionOf(object));
        throw error;
      }
    });
  }

  private inSession<T>(handle: unknown, fn: (ctx: EngineContext, s: OpenSession) => T | Promise<T>): Promise<T> {
    return this.tearingDown(
      (ctx) => openSession(ctx, validate.provisioningHandle('provisioningHandle', handle)),
      (s) => s,
      fn,
    );
  }

  private onOpenKey<T>(keyValue: unknown, fn: (ctx: EngineContext, key: OpenKey) => T | Promise<T>): Promise<T> {
    return this.tearingDown(
      (ctx) => openKey(ctx, validate.keyHandle('keyHandle', keyValue)),
      (key) => key.owner,
      fn,
    );
  }

  getDeviceInfo(): Promise<DeviceInfo> {
    return this.run(({ device, profile }) => ({
      apiLevel: Limits.SKS_API_LEVEL,
      deviceType: profile.deviceType,
      updateUrl: profile.updateUrl,
      vendorName: profile.vendorName,
      vendorDescription: profile.vendorDescription,
      certificatePath: device.certificatePath.map((c) => Buffer.from(c)),
      supportedAlgorithms: ALGORITHMS.map((a) => a.uri),
      cryptoDataSize: Limits.MAX_LENGTH_CRYPTO_DATA,
      extensionDataSize: Limits.MAX_LENGTH_EXTENSION_DATA,
      devicePinSupport: profile.devicePinSupport,
      biometricSupport: profile.biometricSupport,
    }));
  }

  createProvisioningSession(args: CreateProvisioningSessionArgs): Promise<ProvisioningSessionResult> {
    return this.run((ctx) => createProvisioningSession(ctx, args));
  }

  closeProvisioningSession(provisioningHandle: ProvisioningHandle, nonce: Uint8Array, mac: Uint8Array): Promise<Uint8Array> {
    return this.inSession(provisioningHandle, (ctx, s) => closeProvisioningSession(ctx, s, nonce, mac));
  }

  abortProvisioningSession(handle: ProvisioningHandle): Promise<void> {
    return this.run((ctx) => {
      ctx.state.dropOpenSession(openSession(ctx, validate.provisioningHandle('provisioningHandle', handle)));
    });
  }

  enumerateProvisioningSessions(handleValue: ProvisioningHandle | 0, provisioningState: boolean): Promise<ProvisioningSessionInfo | undefined> {
    return this.run((ctx) => {
      const after = validate.provisioningHandle('provisioningHandle', handleValue);
      const wantOpen = validate.flag('provisioningState', provisioningState);
      const stateValue = nextAfter(ctx.state.sessions, after, (x) => isOpen(x) === wantOpen)?.[1];
      if (stateValue === undefined) return undefined;
      return {
        provisioningHandle: stateValue.handle,
        sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
        privacyEnabled: stateValue.privacyEnabled,
        keyManagementKey: stateValue.keyManagementKeySpki ? Buffer.from(stateValue.keyManagementKeySpki) : undefined,
        clientTime: stateValue.clientTime,
        sessionLifeTime: stateValue.sessionLifeTime,
        serverSessionId: stateValue.serverSessionId,
        clientSessionId: stateValue.clientSessionId,
        issuerUri: stateValue.issuerUri,
      };
    });
  }

  getKeyHandle(provisioningHandleValue: ProvisioningHandle, id: string): Promise<KeyHandle> {
    return this.run((ctx) => {
      const session = openSession(ctx, validate.provisioningHandle('provisioningHandle', provisioningHandleValue));
      const wanted = validate.text('id', id);
      for (const keyEntry of ctx.state.keys.values()) if (keyEntry.owner === session && keyEntry.id === wanted) return keyEntry.handle;
      throw new SksError('OPTION', `Key ${wanted} missing`, { field: 'id' });
    });
  }

  createPukPolicy(args: CreatePukPolicyArgs): Promise<PukPolicyHandle> {
    return this.inSession(optionalArgs(args)?.provisioningHandle, (ctx, s) => createPukPolicy(ctx, s, args));
  }

  createPinPolicy(args: CreatePinPolicyArgs): Promise<PinPolicyHandle> {
    return this.inSession(optionalArgs(args)?.provisioningHandle, (ctx, s) => createPinPolicy(ctx, s, args));
  }

  createKeyEntry(args: CreateKeyEntryArgs): Promise<KeyEntryResult> {
    return this.inSession(optionalArgs(args)?.provisioningHandle, (ctx, s) => createKeyEntry(ctx, s, args));
  }

  setCertificatePath(handle: KeyHandle, certificatePath: readonly Uint8Array[], mac: Uint8Array): Promise<void> {
    return this.onOpenKey(handle, (_ctx, key) => setCertificatePath(key, certificatePath, mac));
  }

  importSymmetricKey(handle: KeyHandle, encryptedKey: Uint8Array, mac: Uint8Array): Promise<void> {
    return this.onOpenKey(handle, (_ctx, key) => importSymmetricKey(key, encryptedKey, mac));
  }

  importPrivateKey(handle: KeyHandle, encryptedKey: Uint8Array, mac: Uint8Array): Promise<void> {
    return this.onOpenKey(handle, (_ctx, key) => importPrivateKey(key, encryptedKey, mac));
  }

  addExtension(args: AddExtensionArgs): Promise<void> {
    return this.onOpenKey(optionalArgs(args)?.keyHandle, (_ctx, key) => addExtension(key, args));
  }

  postDeleteKey(provisioningHandle: ProvisioningHandle, op: PostOperationArgs): Promise<void> {
    return this.inSession(provisioningHandle, (ctx, s) => postDeleteOrUnlock(ctx, s, 'delete', op));
  }

  postUnlockKey(provisioningHandle: ProvisioningHandle, op: PostOperationArgs): Promise<void> {
    return this.inSession(provisioningHandle, (ctx, s) => postDeleteOrUnlock(ctx, s, 'unlock', op));
  }

  postUpdateKey(handle: KeyHandle, op: PostOperationArgs): Promise<void> {
    return this.onOpenKey(handle, (ctx, key) => postUpdateOrClone(ctx, key, 'update', op));
  }

  postCloneKeyProtection(handle: KeyHandle, op: PostOperationArgs): Promise<void> {
    return this.onOpenKey(handle, (ctx, key) => postUpdateOrClone(ctx, key, 'clone', op));
  }

  updateKeyManagementKey(handle: ProvisioningHandle, keyManagementKey: Uint8Array, authorization: Uint8Array): Promise<void> {
    return this.run((ctx) =>
      updateKeyManagementKey(ctx, closedSession(ctx, validate.provisioningHandle('provisioningHandle', handle)), keyManagementKey, authorization),
    );
  }

  enumerateKeys(key: KeyHandle | 0): Promise<EnumeratedKey | undefined> {
    return this.run((ctx) => manage.enumerateKeys(ctx, key));
  }

  getKeyAttributes(handle: KeyHandle): Promise<KeyAttributes> {
    return this.run((ctx) => manage.getKeyAttributes(ctx, handle));
  }

  getKeyProtectionInfo(handle: KeyHandle): Promise<KeyProtectionInfo> {
    return this.run((ctx) => manage.getKeyProtectionInfo(ctx, handle));
  }

  getExtension(handle: KeyHandle, type: string): Promise<ExtensionValue> {
    return this.run((ctx) => manage.getExtension(ctx, handle, type));
  }

  setProperty(handle: KeyHandle, type: string, name: string, value: string): Promise<void> {
    return this.run((ctx) => manage.setProperty(ctx, handle, type, name, value));
  }

  deleteKey(handle: KeyHandle, authorization?: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.deleteKey(ctx, handle, authorization));
  }

  exportKey(handle: KeyHandle, authorization?: Uint8Array): Promise<Uint8Array> {
    return this.run((ctx) => manage.exportKey(ctx, handle, authorization));
  }

  unlockKey(handle: KeyHandle, authorization: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.unlockKey(ctx, handle, authorization));
  }

  changePin(handle: KeyHandle, authorization: Uint8Array | undefined, newPin: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.changePin(ctx, handle, authorization, newPin));
  }

  setPin(handle: KeyHandle, authorization: Uint8Array, newPin: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.setPin(ctx, handle, authorization, newPin));
  }

  updateFirmware(_chunk: Uint8Array): Promise<string> {
    return this.run(() => {
      throw new SksError('NOT_ALLOWED', 'Updates are not supported');
    });
  }

  signData(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => cryptoOperations.signData(ctx, args));
  }

  performHmac(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => cryptoOperations.performHmac(ctx, args));
  }

  symmetricKeyEncrypt(args: CryptoCallArgs & { readonly mode: boolean; readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => cryptoOperations.symmetricKeyEncrypt(ctx, args));
  }

  asymmetricKeyDecrypt(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => cryptoOperations.asymmetricKeyDecrypt(ctx, args));
  }

  keyAgreement(args: CryptoCallArgs & { readonly publicKey: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => cryptoOperations.keyAgreement(ctx, args));
  }

  close(): Promise<void> {
    return this.run((ctx) => {
      try {
        // The store must end up holding the true PIN/PUK counts, not the attempts paid in advance.
        releaseAttemptReservations(ctx);
        ctx.persist();
      } finally {
        // A failed persist may have reloaded the state: work on the current one.
        const { state } = this.ctx;
        for (const openSession of [...state.openSessions]) state.dropOpenSession(openSession);
        // Only what was decoded holds secrets in memory: closing must not decode the rest.
        for (const keyEntry of state.keys.loaded()) wipeKey(keyEntry);
        for (const pukPolicy of state.pukPolicies.loaded()) pukPolicy.pukValue.fill(0);
        this.closed = true;
        this.store.close();
      }
    });
  }
}

/**
 * Unexpected failures become `ERROR_INTERNAL` with a fixed text: a stray
 * message might carry data. The original is kept as `cause` for diagnosis.
 */
function toSksError(errorValue: unknown): SksError {
  if (errorValue instanceof SksError) return errorValue;
  return new SksError('INTERNAL', 'Internal error', { cause: errorValue });
}
