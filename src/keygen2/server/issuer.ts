/**
 * The KeyGen2 issuer as pure steps over a plain state value (spec §3.2, §7).
 *
 * @example
 * const issuer = createIssuer({ crypto: new NodeIssuerCrypto({ sealingKey }), deviceTrust: new DeviceTrust([vendorRoot]), certify });
 * let { state, request } = await issuer.start(config);          // InvocationRequest
 * // … send `encodeMessage(request)`, persist `state`, receive the client's response …
 * const step = await issuer.accept(state, decodeMessage(body)); // next request, or the outcome
 * if (step.outcome !== undefined) record(step.outcome);
 */
import { KeyGen2Error } from '../errors.js';
import { decodeMessage, encodeMessage, type KeyGen2Message, type MessageOf } from '../messages/index.js';
import type { InvocationRequest } from '../messages/invocation/types.js';
import type { ProvisioningInitializationRequest } from '../messages/provisioning-initialization/types.js';
import type { IssuerConfig } from './config.js';
import { resolveEnvironment, type IssuerEnvironment, type ResolvedEnvironment } from './environment.js';
import type { IssuerPhase, IssuerState } from './state.js';
import { acceptDiscovery } from './steps/discovery.js';
import { acceptFinalization, type ProvisioningOutcome } from './steps/finalization.js';
import { acceptInitialization } from './steps/initialization.js';
import { acceptInvocation } from './steps/invocation.js';
import { acceptKeyCreation } from './steps/key-creation.js';
import type { NextRequest } from './steps/next.js';
import { start } from './steps/start.js';

/** A request the issuer emits. */
export type IssuerRequest = InvocationRequest | ProvisioningInitializationRequest | NextRequest;

/** A response the issuer accepts. */
export type IssuerResponse = MessageOf<
  'InvocationResponse' | 'ProvisioningInitializationResponse' | 'CredentialDiscoveryResponse' | 'KeyCreationResponse' | 'ProvisioningFinalizationResponse'
>;

/** The result of one step: the next state, and the next request or (after the last response) the outcome. */
export type IssuerStep =
  | { readonly state: IssuerState; readonly request: IssuerRequest; readonly outcome?: undefined }
  | { readonly state: IssuerState; readonly request?: undefined; readonly outcome: ProvisioningOutcome };

export interface KeyGen2Issuer {
  /** Opens a session: the state to persist and the InvocationRequest to send. */
  start(config: IssuerConfig): Promise<{ readonly state: IssuerState; readonly request: InvocationRequest }>;
  /**
   * Accepts the client's response to the last request. Any failure is a KeyGen2Error and the
   * caller must drop the session (spec §11.2); the state passed in is never modified.
   */
  accept(state: IssuerState, response: KeyGen2Message): Promise<IssuerStep>;
  /** {@link start} with the request encoded as wire text (spec §4). */
  startText(config: IssuerConfig): Promise<{ readonly state: IssuerState; readonly request: string }>;
  /**
   * {@link accept} from wire text: decoded strictly (§4.2, §11.1) as the one response the state
   * waits for, the next request encoded.
   */
  acceptText(state: IssuerState, body: string): Promise<IssuerTextStep>;
  /** Marks a session as aborted: it accepts nothing more. */
  abort(state: IssuerState): IssuerState;
}

/** {@link IssuerStep} with the request as wire text. */
export type IssuerTextStep =
  | { readonly state: IssuerState; readonly request: string; readonly outcome?: undefined }
  | { readonly state: IssuerState; readonly request?: undefined; readonly outcome: ProvisioningOutcome };

const EXPECTED: Readonly<Record<IssuerPhase, IssuerResponse['qualifier'] | undefined>> = {
  invocation: 'InvocationResponse',
  initialization: 'ProvisioningInitializationResponse',
  discovery: 'CredentialDiscoveryResponse',
  'key-creation': 'KeyCreationResponse',
  finalization: 'ProvisioningFinalizationResponse',
  done: undefined,
  aborted: undefined,
};

async function accept(env: ResolvedEnvironment, state: IssuerState, response: KeyGen2Message): Promise<IssuerStep> {
  const step = await dispatch(env, state, response);
  const next = { ...step.state, revision: state.revision + 1 };
  return step.outcome === undefined ? { state: next, request: step.request } : { state: next, outcome: step.outcome };
}

async function dispatch(env: ResolvedEnvironment, state: IssuerState, response: KeyGen2Message): Promise<IssuerStep> {
  // Stored state is typed as the current version; an older or newer one read back still gets here.
  if ((state.version as number) !== 1) throw new KeyGen2Error('SESSION', 'Unknown issuer state version');
  const expected = EXPECTED[state.phase];
  if (expected === undefined) throw new KeyGen2Error('SESSION', `Session is ${state.phase}`);
  if (env.enforceSessionLifeTime && env.clock() > Date.parse(state.serverTime) + state.sessionLifeTime * 1000) {
    throw new KeyGen2Error('SESSION', 'Session expired');
  }
  if (response.qualifier !== expected) {
    throw new KeyGen2Error('PROTOCOL', `Wrong order of request versus response: expected ${expected}, got ${response.qualifier}`, { path: '$' });
  }
  switch (response.qualifier) {
    case 'InvocationResponse':
      return acceptInvocation(env, state, response);
    case 'ProvisioningInitializationResponse':
      return acceptInitialization(env, state, response);
    case 'CredentialDiscoveryResponse':
      return acceptDiscovery(env, state, response);
    case 'KeyCreationResponse':
      return acceptKeyCreation(env, state, response);
    case 'ProvisioningFinalizationResponse':
      return acceptFinalization(env, state, response);
    default:
      throw new KeyGen2Error('PROTOCOL', 'An issuer accepts responses only', { path: '$' });
  }
}

/** Builds an issuer over its environment (crypto port, trusted device roots, certification). */
export function createIssuer(environment: IssuerEnvironment): KeyGen2Issuer {
  const env = resolveEnvironment(environment);
  return {
    start: (config) => start(env, config),
    accept: (state, response) => accept(env, state, response),
    startText: async (config) => {
      const { state, request } = await start(env, config);
      return { state, request: encodeMessage(request, { check: env.checkOutgoing }) };
    },
    acceptText: async (state, body) => {
      const expected = EXPECTED[state.phase];
      if (expected === undefined) throw new KeyGen2Error('SESSION', `Session is ${state.phase}`);
      const step = await accept(env, state, decodeMessage(body, [expected]));
      return step.outcome === undefined ? { state: step.state, request: encodeMessage(step.request, { check: env.checkOutgoing }) } : step;
    },
    abort: (state) => ({ ...state, phase: 'aborted', revision: state.revision + 1 }),
  };
}
