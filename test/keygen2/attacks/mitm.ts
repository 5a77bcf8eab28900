/**
 * A man in the middle between our issuer and our client (with our SKS), in one process over wire
 * text: every message of a session passes through `tamper`, which may rewrite it, drop it, or
 * send something else. Each run records the messages, which side refused what with which code,
 * and whether the issuer produced an outcome, so an attack test can assert "refused with a coded
 * error, nothing committed, no outcome".
 *
 * Two scenarios give every message type many fields:
 * - `rich`: PUK policies with PIN policies (preset and user PINs), plain/encrypted extensions,
 *   property bag, logotype, imported private and symmetric keys, capability queries, a KMK.
 * - `manage`: over a device already holding keys of two earlier sessions (KMKs `old` and `new`),
 *   a KMK roll-over, two credential-discovery lookups, and update/clone/unlock/delete.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { generateKeyPairSync } from '../../support/keygen.js';
import { readFileSync } from 'node:fs';
import { KeyGen2Error, isKeyGen2Error } from '../../../src/keygen2/errors.js';
import { runEnrollment, type EnrollmentSummary } from '../../../src/keygen2/client/run-enrollment.js';
import type { ClientClock, KeyGen2Transport } from '../../../src/keygen2/client/ports.js';
import { buildInvocationUrl } from '../../../src/keygen2/http/invocation-url.js';
import {
  createIssuer,
  DeviceTrust,
  NodeIssuerCrypto,
  type IssuerConfig,
  type IssuerEnvironment,
  type IssuerState,
  type KeyGen2Issuer,
  type ManagementPlan,
  type ProvisioningOutcome,
} from '../../../src/keygen2/server/index.js';
import {
  createMemoryKeyStore,
  openSecureKeyStore,
  SksError,
  type KeyStorePort,
  type SecureKeyStore,
  readAll,
  type StoreContents,
} from '../../../src/sks/index.js';
import { certifyWithImports } from '../../support/keygen2-harness.js';
import { getTestCa } from '../../support/test-ca.js';
import { recordingFiles } from '../server/recording.js';

const doc = JSON.parse(readFileSync(recordingFiles()[0], 'utf8')) as {
  test_keys: { device_attestation: { pkcs8_hex: string; certificate_der_hex: string; issuer_ca_certificate_der_hex: string } };
};
const da = doc.test_keys.device_attestation;
const deviceKey = createPrivateKey({ key: Buffer.from(da.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' });
const deviceCert = Buffer.from(da.certificate_der_hex, 'hex');
const deviceRoot = Buffer.from(da.issuer_ca_certificate_der_hex, 'hex');

export const ORIGIN = 'http://issuer.test';
export const ISSUER_URI = `${ORIGIN}/kg2`;
const P256 = 'https://webpki.github.io/sks/algorithm#ec.nist.p256';
const P384 = 'https://webpki.github.io/sks/algorithm#ec.nist.p384';

const kmkOld = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const kmkNew = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const sealingKey = randomBytes(32);

/**
 * The PIN the user types: 4 digits, the least PIN.2 admits, so a PIN policy whose lengths were
 * altered in transit would refuse it in the UI's pre-check — unless (as it must) the SKS refuses
 * the altered policy before the user is asked.
 */
export const USER_PIN = '1357';

export type Direction = 'request' | 'response';
export type Side = 'client' | 'issuer';

/** One message as it crossed the wire (after tampering). */
export interface WireMessage {
  readonly index: number;
  readonly direction: Direction;
  readonly qualifier: string;
  readonly text: string;
}

/**
 * Rewrites message `index` (0 = InvocationRequest, then alternating responses and requests).
 * `original` is the text the sender produced; the return value is delivered instead.
 */
export type Tamper = (index: number, original: string, direction: Direction) => string;

/** What a delivery yields: the issuer's next message, or the literal 'outcome' when the issuer has finished. */
export type Delivered = string;

export interface RunOptions {
  readonly tamper?: Tamper;
  /** Invocation URL's transaction URL (default the issuer's URI). */
  readonly transactionUrl?: string;
  /** Issuer clock (default Date.now). */
  readonly issuerClock?: () => number;
  readonly clientClock?: ClientClock;
  /** What the user types at every PIN prompt (default USER_PIN); null cancels. */
  readonly pin?: string | null;
  /** SKS clock (session expiry), default Date.now. */
  readonly sksClock?: () => number;
  /** An SKS other than a fresh one over the scenario's initial store. */
  readonly store?: KeyStorePort;
  /** Replaces the issuer's `acceptText` call (replays, out-of-order delivery). */
  readonly deliver?: (ctx: DeliveryContext) => Promise<Delivered>;
}

/** What a `deliver` hook sees: the issuer, its persisted state, and the response text. */
export interface DeliveryContext {
  readonly issuer: KeyGen2Issuer;
  readonly state: IssuerState;
  readonly text: string;
  readonly index: number;
  /** Runs the normal step; returns the next request text, or 'outcome'. */
  readonly step: (state: IssuerState, text: string) => Promise<Delivered>;
}

export interface RunResult {
  readonly messages: WireMessage[];
  /** Issuer states after each accepted response, starting with the state of `start`. */
  readonly states: IssuerState[];
  readonly outcome: ProvisioningOutcome | undefined;
  readonly summary: EnrollmentSummary | undefined;
  /** What the client's runEnrollment threw (every failure ends there). */
  readonly error: unknown;
  /** How many times the user was asked for a PIN. */
  readonly pinPrompts: number;
  /** Which side raised the error first: the issuer (in acceptText) or the client. */
  readonly side: Side | undefined;
  readonly sks: SecureKeyStore;
  readonly store: KeyStorePort;
}

export interface Scenario {
  readonly name: string;
  readonly config: IssuerConfig;
  readonly planManagement?: IssuerEnvironment['planManagement'];
  /** Committed store the session starts from. */
  readonly initial: StoreContents | undefined;
}

function environment(extra: Partial<IssuerEnvironment>): IssuerEnvironment {
  return {
    crypto: new NodeIssuerCrypto({ sealingKey, keyManagementKeys: { old: kmkOld, new: kmkNew } }),
    deviceTrust: new DeviceTrust([deviceRoot]),
    certify: async (attestedKey) => certifyWithImports(await getTestCa())(attestedKey),
    ...extra,
  };
}

/** An issuer over the shared test environment (its states resume in any other such issuer). */
export function makeIssuer(extra: Partial<IssuerEnvironment> = {}): KeyGen2Issuer {
  return createIssuer(environment(extra));
}

export function openDevice(store: KeyStorePort, clock?: () => number): SecureKeyStore {
  return openSecureKeyStore({ store, device: { privateKey: deviceKey, certificatePath: [deviceCert] }, ...(clock === undefined ? {} : { clock }) });
}

const qualifierOf = (text: string): string => {
  try {
    const query = (JSON.parse(text) as Record<string, unknown>)['@qualifier'];
    return typeof query === 'string' ? query : '?';
  } catch {
    return '?';
  }
};

/** One session through the man in the middle. Never throws: failures are in the result. */
export async function runSession(scenario: Scenario, options: RunOptions = {}): Promise<RunResult> {
  const issuer = makeIssuer({
    ...(scenario.planManagement === undefined ? {} : { planManagement: scenario.planManagement }),
    ...(options.issuerClock === undefined ? {} : { clock: options.issuerClock }),
  });
  const store = options.store ?? createMemoryKeyStore(scenario.initial);
  const sks = openDevice(store, options.sksClock);
  const messages: WireMessage[] = [];
  const states: IssuerState[] = [];
  let persisted = '';
  let outcome: ProvisioningOutcome | undefined;
  let side: Side | undefined;
  const tamper = options.tamper ?? ((_i, t) => t);
  const pass = (direction: Direction, original: string): string => {
    const index = messages.length;
    const text = tamper(index, original, direction);
    messages.push({ index, direction, qualifier: qualifierOf(text), text });
    return text;
  };
  const step = async (state: IssuerState, text: string): Promise<Delivered> => {
    const issuerTextStep = await issuer.acceptText(state, text);
    persisted = JSON.stringify(issuerTextStep.state);
    states.push(issuerTextStep.state);
    if (issuerTextStep.outcome !== undefined) {
      outcome = issuerTextStep.outcome;
      return 'outcome';
    }
    return issuerTextStep.request;
  };
  const transport: KeyGen2Transport = {
    async fetchInvocation() {
      const { state, request } = await issuer.startText(scenario.config);
      persisted = JSON.stringify(state);
      states.push(state);
      return { kind: 'message', text: pass('request', request) };
    },
    async postResponse(_inv, original) {
      const index = messages.length;
      const text = pass('response', original);
      let next: Delivered;
      try {
        const state = JSON.parse(persisted) as IssuerState;
        next = options.deliver === undefined ? await step(state, text) : await options.deliver({ issuer, state, text, index, step });
      } catch (error) {
        side ??= 'issuer';
        throw error;
      }
      if (next === 'outcome') return { kind: 'redirect', location: `${ORIGIN}/done` };
      return { kind: 'message', text: pass('request', next) };
    },
  };
  let summary: EnrollmentSummary | undefined;
  let error: unknown;
  let pinPrompts = 0;
  try {
    summary = await runEnrollment({
      sks,
      transport,
      ui: {
        consent: async () => true,
        enterPin: async () => {
          pinPrompts++;
          return options.pin === null ? undefined : (options.pin ?? USER_PIN);
        },
      },
      invocationUrl: buildInvocationUrl({ initUrl: `${ISSUER_URI}?init=true`, transactionUrl: options.transactionUrl ?? ISSUER_URI, cookie: 'JSESSIONID=x' }),
      ...(options.clientClock === undefined ? {} : { clock: options.clientClock }),
    });
  } catch (errorValue) {
    error = errorValue;
    side ??= 'client';
  }
  return { messages, states, outcome, summary, error, side, pinPrompts, sks, store };
}

/** Where a refusal came from, for the report. */
export type CatchKind = 'decoder' | 'mac' | 'protocol';

/** Classifies a coded refusal; undefined when the error is not a coded KeyGen2Error. */
export function catchKind(errorValue: unknown): CatchKind | undefined {
  if (!isKeyGen2Error(errorValue)) return undefined;
  switch (errorValue.code) {
    case 'SYNTAX':
    case 'SCHEMA':
      return 'decoder';
    case 'VERIFICATION':
      return 'mac';
    case 'SKS': {
      const cause = errorValue.cause;
      return cause instanceof SksError && (cause.code === 'MAC' || cause.code === 'AUTHORIZATION') ? 'mac' : 'protocol';
    }
    case 'PROTOCOL':
    case 'POLICY':
    case 'SESSION':
      return 'protocol';
    default:
      return undefined;
  }
}

/** The committed part of a store, as comparable text (handle counters excluded). */
export function committed(store: KeyStorePort): string {
  // Read every row: a listing alone holds no values, and comparing it would prove nothing.
  const storeContents = readAll(store.load());
  return JSON.stringify(
    { sessions: storeContents.sessions, keys: storeContents.keys, pinPolicies: storeContents.pinPolicies, pukPolicies: storeContents.pukPolicies },
    (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v),
  );
}

/**
 * The committed states a refused session may leave: the one before it, or (spec §9.4) that one
 * plus the KMK roll-overs, which the client applies on their own signed authorization *before*
 * createProvisioningSession and which so outlive a session refused later.
 */
export async function cleanStates(scenario: Scenario): Promise<Set<string>> {
  const garble = (at: number) => (i: number, t: string) => (i === at ? '{' : t);
  return new Set([committed((await runSession(scenario, { tamper: garble(1) })).store), committed((await runSession(scenario, { tamper: garble(3) })).store)]);
}

/** No open provisioning session is left in the SKS. */
export async function noOpenSession(sks: SecureKeyStore): Promise<boolean> {
  return (await sks.enumerateProvisioningSessions(0, true)) === undefined;
}

// ---------------------------------------------------------------------------
// Scenarios

export const richConfig: IssuerConfig = {
  issuerUri: ISSUER_URI,
  privacyEnabled: false,
  preferredLanguages: ['en', 'sv'],
  targetKeyContainers: ['software', 'embedded'],
  capabilityQueries: [
    { type: 'https://webpki.github.io/sks/algorithm#ec.nist.p256', kind: 'feature' },
    { type: 'https://webpki.github.io/keygen2/feature#java', kind: 'feature' },
  ],
  keyManagementKey: 'new',
  pukPolicies: [
    {
      puk: '01234567',
      format: 'numeric',
      retryLimit: 3,
      pinPolicies: [
        {
          minLength: 4,
          maxLength: 8,
          retryLimit: 3,
          format: 'numeric',
          grouping: 'shared',
          patternRestrictions: ['three-in-a-row', 'sequence'],
          keys: [
            { keyAlgorithm: P256, appUsage: 'signature', presetPin: '2468', friendlyName: 'Preset 1' },
            { keyAlgorithm: P384, appUsage: 'authentication', presetPin: '2468' },
          ],
        },
      ],
    },
    {
      puk: '76543210',
      format: 'numeric',
      retryLimit: 5,
      pinPolicies: [
        {
          minLength: 4,
          maxLength: 8,
          retryLimit: 3,
          format: 'numeric',
          userModifiable: true,
          inputMethod: 'trusted-gui',
          keys: [{ keyAlgorithm: P256, appUsage: 'signature', exportProtection: 'puk', deleteProtection: 'puk', enablePinCaching: true }],
        },
      ],
    },
  ],
  keys: [
    {
      id: 'Extended',
      keyAlgorithm: P256,
      appUsage: 'authentication',
      friendlyName: 'Extended key',
      serverSeed: Buffer.alloc(32, 7).toString('base64url'),
      extensions: [{ type: 'urn:x:plain', data: Buffer.from('plain').toString('base64url') }],
      encryptedExtensions: [{ type: 'urn:x:secret', data: Buffer.from('secret').toString('base64url') }],
      propertyBags: [
        {
          type: 'urn:x:bag',
          properties: [
            { name: 'a', value: '1', writable: true },
            { name: 'b', value: '2' },
          ],
        },
      ],
      logotypes: [{ type: 'https://webpki.github.io/keygen2/logotype#list', mimeType: 'image/png', data: Buffer.from('png').toString('base64url') }],
    },
    { id: 'Imported', keyAlgorithm: P256, appUsage: 'signature' },
    {
      id: 'Aes',
      keyAlgorithm: P256,
      appUsage: 'encryption',
      endorsedAlgorithms: ['http://www.w3.org/2001/04/xmlenc#aes256-cbc', 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256'],
    },
  ],
};

export const richScenario: Scenario = { name: 'rich', config: richConfig, initial: undefined };

const manageConfig: IssuerConfig = {
  issuerUri: ISSUER_URI,
  keyManagementKey: 'new',
  updatableKeyManagementKeys: [{ kmk: 'old' }],
  lookups: [
    { kmk: 'new' },
    { kmk: 'new', searchFilter: { appUsage: 'authentication', issuedAfter: '2000-01-01T00:00:00Z', subjectRegEx: 'CN=.*', grouping: 'shared' } },
  ],
  keys: [
    { id: 'Clone', keyAlgorithm: P256, appUsage: 'authentication' },
    { id: 'New', keyAlgorithm: P256, appUsage: 'signature' },
  ],
};

const managementPlan = (found: Parameters<NonNullable<IssuerEnvironment['planManagement']>>[0]): ManagementPlan => {
  const byCn = (cn: string) => {
    const item = found.find((f) => Buffer.from(f.certificatePath[0], 'base64url').includes(Buffer.from(cn)));
    if (item === undefined) throw new KeyGen2Error('PROTOCOL', `discovery did not find ${cn}`);
    return { certificate: item.certificatePath[0], clientSessionId: item.clientSessionId, serverSessionId: item.serverSessionId, kmk: 'new' };
  };
  return {
    cloneKeyProtection: { Clone: byCn('Pinned') },
    updateKey: { New: byCn('OldKey') },
    unlockKeys: [byCn('Pinned')],
    deleteKeys: [byCn('Doomed')],
  };
};

/** The management scenario over a device prepared by two earlier sessions (KMK `old`, KMK `new`). */
export async function manageScenario(): Promise<Scenario> {
  const store = createMemoryKeyStore();
  const prepare = async (config: IssuerConfig) => {
    const runResult = await runSession({ name: 'prepare', config, initial: undefined }, { store });
    if (runResult.outcome === undefined) throw new Error(`preparing the management scenario failed: ${String(runResult.error)}`);
  };
  await prepare({ issuerUri: ISSUER_URI, keyManagementKey: 'old', keys: [{ id: 'Rolled', keyAlgorithm: P256, appUsage: 'signature' }] });
  await prepare({
    issuerUri: ISSUER_URI,
    keyManagementKey: 'new',
    pinPolicies: [
      {
        minLength: 4,
        maxLength: 8,
        retryLimit: 3,
        format: 'numeric',
        grouping: 'shared',
        keys: [{ id: 'Pinned', keyAlgorithm: P256, appUsage: 'authentication' }],
      },
    ],
    keys: [
      { id: 'OldKey', keyAlgorithm: P256, appUsage: 'signature' },
      { id: 'Doomed', keyAlgorithm: P256, appUsage: 'signature' },
    ],
  });
  return { name: 'manage', config: manageConfig, planManagement: managementPlan, initial: readAll(store.load()) };
}
