/**
 * The SecureKeyStore facade: serializes calls (spec §1.8), tears down a
 * provisioning session on failure (spec §4.2), expires sessions, and writes
 * each call's durable changes before the call returns or throws.
 */
import { ALGORITHM_SESSION_ATTEST_1, ALGORITHMS } from '../algorithms.js';
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
import * as crypto from '../user/crypto-operations.js';
import * as manage from '../user/key-management.js';
import { closedSession, openKey, openSession, type EngineContext, type OpenKey, type OpenSession } from './context.js';
import { isOpen, nextAfter, SksState, wipeKey } from './state.js';
import * as v from './validate.js';

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
  private readonly waiters: (() => void)[] = [];

  constructor(options: SecureKeyStoreOptions) {
    this.store = options.store;
    const snapshot = options.store.load();
    const device = options.device ?? (snapshot.device ? deviceIdentityFromRecord(snapshot.device.read()) : undefined);
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
    } catch (e) {
      return this.finish(() => {
        throw toSksError(e);
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
    } catch (e) {
      return Promise.reject(toSksError(e));
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
    } catch (e) {
      // Memory may now be ahead of the disk: reload the committed truth (open sessions are lost).
      const before = this.ctx.state;
      for (const s of [...before.openSessions]) before.dropOpenSession(s);
      const state = SksState.fromSnapshot(this.store.load());
      carryAttemptReservations(before, state);
      this.ctx = { ...this.ctx, state };
      throw e instanceof SksError ? e : new SksError('STORAGE', 'The key store could not be written', { cause: e });
    }
  }

  /** Open sessions past their lifetime are aborted: they leave no trace (spec §7.3). */
  private expireSessions(): void {
    const open = this.ctx.state.openSessions;
    if (open.size === 0) return;
    const now = this.ctx.clock();
    for (const s of [...open]) if (s.phase.expiresAt <= now) this.ctx.state.dropOpenSession(s);
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
      } catch (e) {
        ctx.state.dropOpenSession(sessionOf(object));
        throw e;
      }
    });
  }

  private inSession<T>(h: unknown, fn: (ctx: EngineContext, s: OpenSession) => T | Promise<T>): Promise<T> {
    return this.tearingDown((ctx) => openSession(ctx, v.provisioningHandle('provisioningHandle', h)), (s) => s, fn);
  }

  private onOpenKey<T>(k: unknown, fn: (ctx: EngineContext, key: OpenKey) => T | Promise<T>): Promise<T> {
    return this.tearingDown((ctx) => openKey(ctx, v.keyHandle('keyHandle', k)), (key) => key.owner, fn);
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

  closeProvisioningSession(h: ProvisioningHandle, nonce: Uint8Array, mac: Uint8Array): Promise<Uint8Array> {
    return this.inSession(h, (ctx, s) => closeProvisioningSession(ctx, s, nonce, mac));
  }

  abortProvisioningSession(h: ProvisioningHandle): Promise<void> {
    return this.run((ctx) => {
      ctx.state.dropOpenSession(openSession(ctx, v.provisioningHandle('provisioningHandle', h)));
    });
  }

  enumerateProvisioningSessions(h: ProvisioningHandle | 0, provisioningState: boolean): Promise<ProvisioningSessionInfo | undefined> {
    return this.run((ctx) => {
      const after = v.provisioningHandle('provisioningHandle', h);
      const wantOpen = v.flag('provisioningState', provisioningState);
      const s = nextAfter(ctx.state.sessions, after, (x) => isOpen(x) === wantOpen);
      if (s === undefined) return undefined;
      return {
        provisioningHandle: s.handle,
        sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
        privacyEnabled: s.privacyEnabled,
        keyManagementKey: s.keyManagementKeySpki ? Buffer.from(s.keyManagementKeySpki) : undefined,
        clientTime: s.clientTime,
        sessionLifeTime: s.sessionLifeTime,
        serverSessionId: s.serverSessionId,
        clientSessionId: s.clientSessionId,
        issuerUri: s.issuerUri,
      };
    });
  }

  getKeyHandle(h: ProvisioningHandle, id: string): Promise<KeyHandle> {
    return this.run((ctx) => {
      const session = openSession(ctx, v.provisioningHandle('provisioningHandle', h));
      const wanted = v.text('id', id);
      for (const k of ctx.state.keys.values()) if (k.owner === session && k.id === wanted) return k.handle;
      throw new SksError('OPTION', `Key ${wanted} missing`, { field: 'id' });
    });
  }

  createPukPolicy(args: CreatePukPolicyArgs): Promise<PukPolicyHandle> {
    return this.inSession(args?.provisioningHandle, (ctx, s) => createPukPolicy(ctx, s, args));
  }

  createPinPolicy(args: CreatePinPolicyArgs): Promise<PinPolicyHandle> {
    return this.inSession(args?.provisioningHandle, (ctx, s) => createPinPolicy(ctx, s, args));
  }

  createKeyEntry(args: CreateKeyEntryArgs): Promise<KeyEntryResult> {
    return this.inSession(args?.provisioningHandle, (ctx, s) => createKeyEntry(ctx, s, args));
  }

  setCertificatePath(k: KeyHandle, certificatePath: readonly Uint8Array[], mac: Uint8Array): Promise<void> {
    return this.onOpenKey(k, (_ctx, key) => setCertificatePath(key, certificatePath, mac));
  }

  importSymmetricKey(k: KeyHandle, encryptedKey: Uint8Array, mac: Uint8Array): Promise<void> {
    return this.onOpenKey(k, (_ctx, key) => importSymmetricKey(key, encryptedKey, mac));
  }

  importPrivateKey(k: KeyHandle, encryptedKey: Uint8Array, mac: Uint8Array): Promise<void> {
    return this.onOpenKey(k, (_ctx, key) => importPrivateKey(key, encryptedKey, mac));
  }

  addExtension(args: AddExtensionArgs): Promise<void> {
    return this.onOpenKey(args?.keyHandle, (_ctx, key) => addExtension(key, args));
  }

  postDeleteKey(h: ProvisioningHandle, op: PostOperationArgs): Promise<void> {
    return this.inSession(h, (ctx, s) => postDeleteOrUnlock(ctx, s, 'delete', op));
  }

  postUnlockKey(h: ProvisioningHandle, op: PostOperationArgs): Promise<void> {
    return this.inSession(h, (ctx, s) => postDeleteOrUnlock(ctx, s, 'unlock', op));
  }

  postUpdateKey(k: KeyHandle, op: PostOperationArgs): Promise<void> {
    return this.onOpenKey(k, (ctx, key) => postUpdateOrClone(ctx, key, 'update', op));
  }

  postCloneKeyProtection(k: KeyHandle, op: PostOperationArgs): Promise<void> {
    return this.onOpenKey(k, (ctx, key) => postUpdateOrClone(ctx, key, 'clone', op));
  }

  updateKeyManagementKey(h: ProvisioningHandle, keyManagementKey: Uint8Array, authorization: Uint8Array): Promise<void> {
    return this.run((ctx) => updateKeyManagementKey(ctx, closedSession(ctx, v.provisioningHandle('provisioningHandle', h)), keyManagementKey, authorization));
  }

  enumerateKeys(k: KeyHandle | 0): Promise<EnumeratedKey | undefined> {
    return this.run((ctx) => manage.enumerateKeys(ctx, k));
  }

  getKeyAttributes(k: KeyHandle): Promise<KeyAttributes> {
    return this.run((ctx) => manage.getKeyAttributes(ctx, k));
  }

  getKeyProtectionInfo(k: KeyHandle): Promise<KeyProtectionInfo> {
    return this.run((ctx) => manage.getKeyProtectionInfo(ctx, k));
  }

  getExtension(k: KeyHandle, type: string): Promise<ExtensionValue> {
    return this.run((ctx) => manage.getExtension(ctx, k, type));
  }

  setProperty(k: KeyHandle, type: string, name: string, value: string): Promise<void> {
    return this.run((ctx) => manage.setProperty(ctx, k, type, name, value));
  }

  deleteKey(k: KeyHandle, authorization?: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.deleteKey(ctx, k, authorization));
  }

  exportKey(k: KeyHandle, authorization?: Uint8Array): Promise<Uint8Array> {
    return this.run((ctx) => manage.exportKey(ctx, k, authorization));
  }

  unlockKey(k: KeyHandle, authorization: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.unlockKey(ctx, k, authorization));
  }

  changePin(k: KeyHandle, authorization: Uint8Array | undefined, newPin: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.changePin(ctx, k, authorization, newPin));
  }

  setPin(k: KeyHandle, authorization: Uint8Array, newPin: Uint8Array): Promise<void> {
    return this.run((ctx) => manage.setPin(ctx, k, authorization, newPin));
  }

  updateFirmware(_chunk: Uint8Array): Promise<string> {
    return this.run(() => {
      throw new SksError('NOT_ALLOWED', 'Updates are not supported');
    });
  }

  signData(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => crypto.signData(ctx, args));
  }

  performHmac(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => crypto.performHmac(ctx, args));
  }

  symmetricKeyEncrypt(args: CryptoCallArgs & { readonly mode: boolean; readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => crypto.symmetricKeyEncrypt(ctx, args));
  }

  asymmetricKeyDecrypt(args: CryptoCallArgs & { readonly data: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => crypto.asymmetricKeyDecrypt(ctx, args));
  }

  keyAgreement(args: CryptoCallArgs & { readonly publicKey: Uint8Array }): Promise<Uint8Array> {
    return this.run((ctx) => crypto.keyAgreement(ctx, args));
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
        for (const s of [...state.openSessions]) state.dropOpenSession(s);
        // Only what was decoded holds secrets in memory: closing must not decode the rest.
        for (const k of state.keys.loaded()) wipeKey(k);
        for (const p of state.pukPolicies.loaded()) p.pukValue.fill(0);
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
function toSksError(e: unknown): SksError {
  if (e instanceof SksError) return e;
  return new SksError('INTERNAL', 'Internal error', { cause: e });
}
