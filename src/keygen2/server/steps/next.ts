/** Which request follows which response (spec §3.2: I P K F, I P C K F, I P C F). */
import { KeyGen2Error } from '../../errors.js';
import type { CredentialDiscoveryRequest } from '../../messages/credential-discovery/types.js';
import type { KeyCreationRequest } from '../../messages/key-creation/types.js';
import type { ProvisioningFinalizationRequest } from '../../messages/provisioning-finalization/types.js';
import type { ResolvedEnvironment } from '../environment.js';
import type { IssuerState, Plan } from '../state.js';
import { buildDiscovery } from './discovery.js';
import { buildKeyCreation } from './key-creation.js';
import { buildFinalization } from './finalization.js';

export type NextRequest = CredentialDiscoveryRequest | KeyCreationRequest | ProvisioningFinalizationRequest;

export const planHasKeys = (plan: Plan): boolean => plan.keys.length > 0 || plan.pinPolicies.length > 0 || plan.pukPolicies.length > 0;

export async function emitAfterInitialization(env: ResolvedEnvironment, state: IssuerState): Promise<{ state: IssuerState; request: NextRequest }> {
  if (state.plan.lookups.length > 0) return buildDiscovery(env, state);
  if (planHasKeys(state.plan)) return buildKeyCreation(env, state);
  throw new KeyGen2Error('INTERNAL', 'Nothing to do after initialization (I P F is not a legal sequence)');
}

export async function emitAfterDiscovery(env: ResolvedEnvironment, state: IssuerState): Promise<{ state: IssuerState; request: NextRequest }> {
  if (planHasKeys(state.plan)) return buildKeyCreation(env, state);
  return buildFinalization(env, state, []);
}
