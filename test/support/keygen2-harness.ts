/**
 * In-process KeyGen2 end to end: our issuer (`keygen2/server`) ↔ our client (`runEnrollment`) ↔
 * our SKS on a chosen store, over an in-memory transport that carries wire text. The issuer's
 * state is persisted as JSON text between steps, as a service would.
 *
 * Shared by the §13 scenarios, the attack tests and every test that just needs keys provisioned
 * the real way. Hooks let a test see and rewrite each message on the wire (`onWire`), revise the
 * issuer's plan once capabilities are known (`revisePlan`), and script the user's PINs.
 *
 * @example
 * const h = await openHarness({ store: 'sqlite' });
 * const { summary } = await h.enroll({ config: { issuerUri: h.issuerUri, keys: [{ keyAlgorithm: Alg.EC_P256, appUsage: 'signature' }] } });
 * await h.close();
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from './keygen.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEnrollment, type EnrollmentSummary } from '../../src/keygen2/client/run-enrollment.js';
import type { ConsentRequest, EnrollmentUi, KeyGen2Transport, PinPrompt } from '../../src/keygen2/client/ports.js';
import type { PlatformCapabilities } from '../../src/keygen2/client/capabilities.js';
import { buildInvocationUrl } from '../../src/keygen2/http/invocation-url.js';
import {
  createIssuer,
  DeviceTrust,
  NodeIssuerCrypto,
  type AttestedKey,
  type IssuedKeyMaterial,
  type IssuerConfig,
  type IssuerEnvironment,
  type IssuerState,
  type ProvisioningOutcome,
  type TargetKeyConfig,
} from '../../src/keygen2/server/index.js';
import type { KeyHandle, SecureKeyStore } from '../../src/sks/api.js';
import type { DeviceIdentity, DeviceProfile } from '../../src/sks/device/identity.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { readAll, type KeyStorePort } from '../../src/sks/store/records.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';
import { TEST_PROFILE, testDevice, testKmks, type StoreKind } from './fixtures.js';
import { getTestCa, type TestCa } from './test-ca.js';

/** The PIN the reference's KeyGen2Test types at every prompt (spec §13.1). */
export const SCENARIO_PIN = '015354';

/** The issuer's KMK names, after spec §13.1: `kmk0` RSA-2048, `kmk1` RSA-2048, `kmk2` EC P-256. */
export type KmkName = 'kmk0' | 'kmk1' | 'kmk2';

/** One message on the in-memory wire. */
export interface WireMessage {
  readonly direction: 'to-client' | 'to-issuer';
  readonly text: string;
}

export interface EnrollOptions {
  readonly config: IssuerConfig;
  /**
   * The user's PIN entries: one string for every prompt (default {@link SCENARIO_PIN}), a list
   * consumed in order (then `undefined` = cancel), or a function of the prompt.
   */
  readonly pins?: string | readonly string[] | ((prompt: PinPrompt) => string | undefined);
  /** Whether the user agrees (default true). */
  readonly consent?: boolean;
  /** The client's platform answers to capability queries (spec §10). */
  readonly platform?: PlatformCapabilities;
  /** Default: a test-CA end-entity certificate `CN=<commonName ?? key id>` for the attested key. */
  readonly certify?: IssuerEnvironment['certify'];
  /** Subject CN of the default certification. */
  readonly commonName?: string;
  readonly planManagement?: IssuerEnvironment['planManagement'];
  /** Further issuer environment (clock, tolerance, privacy policy …). */
  readonly environment?: Partial<IssuerEnvironment>;
  /**
   * Revises the issuer's persisted state once the InvocationResponse was accepted (capabilities
   * known, no key requested yet): how a service picks algorithms or protections from the answers.
   */
  readonly revisePlan?: (state: IssuerState) => IssuerState;
  /** Sees, and may replace, every message on the wire (attack tests). */
  readonly onWire?: (message: WireMessage) => string;
}

export interface EnrollResult {
  readonly summary: EnrollmentSummary;
  readonly outcome: ProvisioningOutcome;
  readonly wire: readonly WireMessage[];
  readonly prompts: readonly PinPrompt[];
  /** What the user was asked to agree to. */
  readonly consents: readonly ConsentRequest[];
  /** The issuer's last state (capability answers, discovered credentials …). */
  readonly state: IssuerState;
}

/** What a failed enrollment left behind, for asserting the error and that nothing was committed. */
export interface FailedEnrollment {
  readonly error: unknown;
  readonly wire: readonly WireMessage[];
  readonly prompts: readonly PinPrompt[];
  /** The issuer's last persisted state (undefined before the InvocationRequest). */
  readonly state: IssuerState | undefined;
}

/** Our issuer and our client over an SKS that already exists (any store, any device). */
export interface Enroller {
  /** `http://issuer.example.com/invocation` (spec §13.1). */
  readonly issuerUri: string;
  /** The issuer's KMK private keys by name (spec §13.1). */
  readonly kmks: Readonly<Record<KmkName, KeyObject>>;
  readonly ca: TestCa;
  /** One whole session; rejects with the client's error (the SKS session aborted). */
  readonly enroll: (options: EnrollOptions) => Promise<EnrollResult>;
  /** One session expected to fail: resolves with the error and what the wire carried. */
  readonly enrollFailing: (options: EnrollOptions) => Promise<FailedEnrollment>;
}

export interface EnrollerOptions {
  /** The SKS to enroll into (a function when the test reopens it). */
  readonly sks: SecureKeyStore | (() => SecureKeyStore);
  /** Device roots the issuer trusts; default the last certificate of the SKS's device path. */
  readonly deviceRoots?: readonly Uint8Array[];
  /** Default the worker's test CA. */
  readonly ca?: TestCa;
  /** KMKs to use instead of the worker's test KMKs (e.g. one shared with a child process). */
  readonly kmks?: Partial<Record<KmkName, KeyObject>>;
}

export interface Harness extends Enroller {
  readonly kind: StoreKind;
  readonly sks: SecureKeyStore;
  readonly device: DeviceIdentity;
  /** Closes the store and opens it again over the same committed state (SQLite and memory). */
  reopen(): Promise<SecureKeyStore>;
  close(): Promise<void>;
}

/** A key an enrollment installed, as the target of a later session's post-operation (spec §9.2). */
export function targetOf(result: EnrollResult, keyId: string, kmk: KmkName): TargetKeyConfig {
  const key = result.summary.keys.find((k) => k.id === keyId);
  const ee = key?.certificatePath[0];
  if (ee === undefined) throw new Error(`harness: no key ${keyId}`);
  return {
    certificate: Buffer.from(ee).toString('base64url'),
    clientSessionId: result.summary.clientSessionId,
    serverSessionId: result.summary.serverSessionId,
    kmk,
  };
}

/**
 * A certification for configurations that import keys: key `Imported` gets a fresh P-256 private
 * key to import, key `Aes` a random 256-bit symmetric key; every key a test-CA certificate
 * `CN=<key id>` (of the imported key for `Imported`).
 */
export const certifyWithImports =
  (ca: TestCa) =>
  async (attestedKey: AttestedKey): Promise<IssuedKeyMaterial> => {
    if (attestedKey.id === 'Imported') {
      const imported = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return {
        certificatePath: [await ca.issue(imported.publicKey, { commonName: 'Imported' })],
        importPrivateKey: imported.privateKey.export({ format: 'der', type: 'pkcs8' }),
      };
    }
    if (attestedKey.id === 'Aes')
      return { certificatePath: [await ca.issue(attestedKey.publicKey, { commonName: 'Aes' })], importSymmetricKey: randomBytes(32) };
    return { certificatePath: [await ca.issue(attestedKey.publicKey, { commonName: attestedKey.id })] };
  };

export interface HarnessOptions {
  /** Default `sqlite` (in a fresh temporary directory). */
  readonly store?: StoreKind;
  /** Default {@link TEST_PROFILE} (device PIN "1234", biometric support). */
  readonly profile?: Partial<DeviceProfile>;
}

interface Sink {
  wire: WireMessage[];
  prompts: PinPrompt[];
  consents: ConsentRequest[];
  state: IssuerState | undefined;
}
const newSink = (): Sink => ({ wire: [], prompts: [], consents: [], state: undefined });

const ISSUER_URI = 'http://issuer.example.com/invocation';
const sealingKey = randomBytes(32);

/**
 * Our issuer and client over an existing SKS (a device from `initDevice`, a store a CLI test
 * opened): provisions keys the real way.
 *
 * @example
 * const { enroll } = await createEnroller({ sks });
 * const { summary } = await enroll({ config: { issuerUri: 'http://issuer.example.com/invocation', keys: [...] } });
 */
export async function createEnroller(options: EnrollerOptions): Promise<Enroller> {
  const ca = options.ca ?? (await getTestCa());
  const current = (): SecureKeyStore => (typeof options.sks === 'function' ? options.sks() : options.sks);
  const [k0, k1, k2] = testKmks();
  const kmks: Record<KmkName, KeyObject> = { kmk0: k0.privateKey, kmk1: k1.privateKey, kmk2: k2.privateKey, ...options.kmks };
  const crypto = new NodeIssuerCrypto({ sealingKey, keyManagementKeys: kmks });
  let deviceTrust: DeviceTrust | undefined = options.deviceRoots === undefined ? undefined : new DeviceTrust(options.deviceRoots);
  const trust = async (): Promise<DeviceTrust> => {
    if (deviceTrust === undefined) {
      const path = (await current().getDeviceInfo()).certificatePath;
      const root = path.at(-1);
      deviceTrust = new DeviceTrust(root === undefined ? [] : [root]);
    }
    return deviceTrust;
  };

  const run = async (enrollOptions: EnrollOptions, sink: Sink): Promise<EnrollResult> => {
    const certify =
      enrollOptions.certify ??
      (async (k: AttestedKey): Promise<IssuedKeyMaterial> => ({
        certificatePath: [await ca.issue(k.publicKey, { commonName: enrollOptions.commonName ?? k.id })],
      }));
    const issuer = createIssuer({
      crypto,
      deviceTrust: await trust(),
      certify,
      // Tests keep the self-check: every request is decoded strictly right where it is encoded.
      checkOutgoing: true,
      ...(enrollOptions.planManagement === undefined ? {} : { planManagement: enrollOptions.planManagement }),
      ...enrollOptions.environment,
    });
    const send = (direction: WireMessage['direction'], text: string): string => {
      const out = enrollOptions.onWire === undefined ? text : enrollOptions.onWire({ direction, text });
      sink.wire.push({ direction, text: out });
      return out;
    };
    let persisted = '';
    let outcome: ProvisioningOutcome | undefined;
    const transport: KeyGen2Transport = {
      async fetchInvocation() {
        const { state, request } = await issuer.startText(enrollOptions.config);
        persisted = JSON.stringify(state);
        sink.state = state;
        return { kind: 'message', text: send('to-client', request) };
      },
      async postResponse(_inv, text) {
        const before = JSON.parse(persisted) as IssuerState;
        const step = await issuer.acceptText(before, send('to-issuer', text));
        const state = before.phase === 'invocation' && enrollOptions.revisePlan !== undefined ? enrollOptions.revisePlan(step.state) : step.state;
        persisted = JSON.stringify(state);
        sink.state = state;
        if (step.outcome !== undefined) {
          outcome = step.outcome;
          return { kind: 'redirect', location: 'http://issuer.example.com/done' };
        }
        return { kind: 'message', text: send('to-client', step.request) };
      },
    };
    const pins = enrollOptions.pins ?? SCENARIO_PIN;
    const queue = Array.isArray(pins) ? [...(pins as readonly string[])] : undefined;
    const ui: EnrollmentUi = {
      consent: async (request) => {
        sink.consents.push(request);
        return enrollOptions.consent ?? true;
      },
      enterPin: async (prompt) => {
        sink.prompts.push(prompt);
        if (typeof pins === 'function') return pins(prompt);
        if (queue !== undefined) return queue.shift();
        return pins as string;
      },
    };
    const summary = await runEnrollment({
      sks: current(),
      transport,
      ui,
      checkOutgoing: true,
      ...(enrollOptions.platform === undefined ? {} : { platform: enrollOptions.platform }),
      invocationUrl: buildInvocationUrl({ initUrl: `${ISSUER_URI}?init=true`, transactionUrl: ISSUER_URI, cookie: 'JSESSIONID=harness' }),
    });
    if (outcome === undefined || sink.state === undefined) throw new Error('harness: the enrollment ended without an issuer outcome');
    return { summary, outcome, wire: sink.wire, prompts: sink.prompts, consents: sink.consents, state: sink.state };
  };

  return {
    issuerUri: ISSUER_URI,
    kmks,
    ca,
    enroll: (o) => run(o, newSink()),
    async enrollFailing(enrollOptions) {
      const sink = newSink();
      try {
        await run(enrollOptions, sink);
      } catch (error) {
        return { error, wire: sink.wire, prompts: sink.prompts, state: sink.state };
      }
      throw new Error('harness: the enrollment was expected to fail but succeeded');
    },
  };
}

/** Opens an SKS with the test device on a fresh store, and an issuer that trusts that device. */
export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const kind = options.store ?? 'sqlite';
  const device = await testDevice();
  const ca = await getTestCa();
  const dir = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'airtight-kg2-')) : undefined;
  const storeKey = randomBytes(32);
  const openPort = (): KeyStorePort => (dir === undefined ? createMemoryKeyStore() : openSqliteKeyStore({ path: join(dir, 'sks.db'), storeKey }));
  const engine = (port: KeyStorePort): SecureKeyStore => openSecureKeyStore({ store: port, device, profile: options.profile ?? TEST_PROFILE });
  let port = openPort();
  let sks = engine(port);
  const enroller = await createEnroller({ sks: () => sks, deviceRoots: [ca.certificate], ca });
  return {
    ...enroller,
    kind,
    get sks() {
      return sks;
    },
    device,
    async reopen() {
      if (dir === undefined) {
        const snapshot = readAll(port.load());
        port.close();
        port = createMemoryKeyStore(snapshot);
      } else {
        port.close();
        port = openPort();
      }
      sks = engine(port);
      return sks;
    },
    async close() {
      port.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A key already in the SKS as the target of a post-operation (spec §9.2), read through the user
 * API: its end-entity certificate and the ids of the session that owns it.
 */
export async function targetInSks(sks: SecureKeyStore, handle: KeyHandle, kmk: KmkName): Promise<TargetKeyConfig> {
  let owner: number | undefined;
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) {
    if (k.keyHandle === handle) owner = k.provisioningHandle;
  }
  if (owner === undefined) throw new Error(`harness: no key #${handle}`);
  for (
    let state = await sks.enumerateProvisioningSessions(0, false);
    state !== undefined;
    state = await sks.enumerateProvisioningSessions(state.provisioningHandle, false)
  ) {
    if (state.provisioningHandle === owner) {
      const ee = (await sks.getKeyAttributes(handle)).certificatePath.at(0);
      if (ee === undefined) throw new Error(`harness: key #${handle} has no certificate`);
      return { certificate: Buffer.from(ee).toString('base64url'), clientSessionId: state.clientSessionId, serverSessionId: state.serverSessionId, kmk };
    }
  }
  throw new Error(`harness: no closed session owns key #${handle}`);
}

/**
 * The SKS with callbacks just before and just after `closeProvisioningSession` (the commit): crash
 * tests report these points to a parent that kills the process around them.
 */
export function aroundClose(sks: SecureKeyStore, hooks: { readonly before?: () => void; readonly after?: () => void }): SecureKeyStore {
  return new Proxy(sks, {
    get(target, property) {
      if (property === 'closeProvisioningSession') {
        return async (...args: Parameters<SecureKeyStore['closeProvisioningSession']>) => {
          hooks.before?.();
          const attestation = await target.closeProvisioningSession(...args);
          hooks.after?.();
          return attestation;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
