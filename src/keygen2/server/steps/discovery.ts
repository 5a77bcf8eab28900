/**
 * CredentialDiscoveryRequest (spec §6.5): lookups signed with key-management keys (JSF over JCS);
 * CredentialDiscoveryResponse (spec §6.6): results kept in the state, post-operations planned.
 */
import { KeyGen2Error } from '../../errors.js';
import { parseDateTime, type DateTime } from '../../json/date-time.js';
import { describePublicKey, lookupNonce, lookupSpecifierSignedData } from '../../messages/index.js';
import type {
  CredentialDiscoveryRequest,
  CredentialDiscoveryResponse,
  LookupSignatureAlgorithm,
  LookupSpecifier,
  SearchFilter,
} from '../../messages/credential-discovery/types.js';
import type { SearchFilterConfig, TargetKeyConfig } from '../config.js';
import type { ManagementPlan, ResolvedEnvironment } from '../environment.js';
import { checkPostOperations } from '../post-operations.js';
import type { DiscoveredCredential, IssuerState, Plan, PlannedKey, PlannedPinPolicy } from '../state.js';
import { b64u, callback, configError, protocolError, unb64u } from '../util.js';
import { emitAfterDiscovery, type NextRequest } from './next.js';

/** A configured `YYYY-MM-DDThh:mm:ssZ` (§4.6) by the message layer's parser; a bad one is the caller's bug (INTERNAL). */
function dateTime(text: string, where: string): DateTime {
  try {
    return parseDateTime(text, 'utc', where);
  } catch (cause) {
    throw new KeyGen2Error('INTERNAL', `Issuer configuration ${where}: not YYYY-MM-DDThh:mm:ssZ`, { path: where, cause });
  }
}

function typedFilter(searchFilterConfig: SearchFilterConfig, where: string): SearchFilter {
  const { fingerPrint, issuedBefore, issuedAfter, ...rest } = searchFilterConfig;
  return {
    ...rest,
    ...(fingerPrint === undefined ? {} : { fingerPrint: unb64u(fingerPrint, `${where}.fingerPrint`) }),
    ...(issuedBefore === undefined ? {} : { issuedBefore: dateTime(issuedBefore, `${where}.issuedBefore`) }),
    ...(issuedAfter === undefined ? {} : { issuedAfter: dateTime(issuedAfter, `${where}.issuedAfter`) }),
  };
}

export async function buildDiscovery(env: ResolvedEnvironment, state: IssuerState): Promise<{ state: IssuerState; request: CredentialDiscoveryRequest }> {
  const session = state.session;
  if (session === undefined) throw new KeyGen2Error('INTERNAL', 'No session in the state');
  const nonce = lookupNonce(session.clientSessionId, state.serverSessionId);
  const lookupSpecifiers: LookupSpecifier[] = [];
  for (const [index, list] of state.plan.lookups.entries()) {
    const where = `config.lookups[${index}]`;
    const publicKey = await env.crypto.keyManagementKey(list.kmk);
    const key = describePublicKey(publicKey);
    let algorithm: LookupSignatureAlgorithm;
    if (key.kty === 'RSA') algorithm = 'RS256';
    else if (key.kty === 'EC' && key.crv === 'P-256') algorithm = 'ES256';
    else throw configError(`${where}.kmk`, 'lookup signatures need an RSA or P-256 key management key (§5.7)');
    const unsigned = {
      id: list.id,
      nonce,
      ...(list.searchFilter === undefined ? {} : { searchFilter: typedFilter(list.searchFilter, `${where}.searchFilter`) }),
      signature: { algorithm, publicKey },
    };
    // JSF: the JCS form of the specifier as the encoder writes it, signature.value left out (§6.5).
    const value = await env.crypto.sign(list.kmk, lookupSpecifierSignedData(unsigned));
    lookupSpecifiers.push({ ...unsigned, signature: { algorithm, publicKey, value } });
  }
  return {
    state: { ...state, phase: 'discovery' },
    request: { qualifier: 'CredentialDiscoveryRequest', serverSessionId: state.serverSessionId, clientSessionId: session.clientSessionId, lookupSpecifiers },
  };
}

/** Adds post-operations decided after discovery to the plan (spec §9.2 preconditions checked). */
function mergeManagement(plan: Plan, managementPlan: ManagementPlan): Plan {
  const attach = (plannedKey: PlannedKey, underPin: boolean): PlannedKey => {
    const update = managementPlan.updateKey?.[plannedKey.id];
    const clone = managementPlan.cloneKeyProtection?.[plannedKey.id];
    if (update === undefined && clone === undefined) return plannedKey;
    const where = `planManagement(${plannedKey.id})`;
    if ((update ?? plannedKey.updateKey) !== undefined && (clone ?? plannedKey.cloneKeyProtection) !== undefined)
      throw configError(where, 'both updateKey and cloneKeyProtection');
    if (underPin || plannedKey.devicePinProtection === true) throw configError(where, 'update and clone targets need a key without PIN protection of its own');
    return { ...plannedKey, ...(update === undefined ? {} : { updateKey: update }), ...(clone === undefined ? {} : { cloneKeyProtection: clone }) };
  };
  const pins = (ps: readonly PlannedPinPolicy[]): PlannedPinPolicy[] => ps.map((p) => ({ ...p, keys: p.keys.map((k) => attach(k, true)) }));
  const known = new Set<string>();
  const collect = (k: PlannedKey): void => void known.add(k.id);
  plan.keys.forEach(collect);
  plan.pinPolicies.forEach((p) => p.keys.forEach(collect));
  plan.pukPolicies.forEach((u) => u.pinPolicies.forEach((p) => p.keys.forEach(collect)));
  for (const id of [...Object.keys(managementPlan.updateKey ?? {}), ...Object.keys(managementPlan.cloneKeyProtection ?? {})]) {
    if (!known.has(id)) throw configError(`planManagement(${id})`, 'no such key in this session');
  }
  const extra = (list: readonly TargetKeyConfig[] | undefined): readonly TargetKeyConfig[] => list ?? [];
  return {
    ...plan,
    keys: plan.keys.map((k) => attach(k, false)),
    pinPolicies: pins(plan.pinPolicies),
    pukPolicies: plan.pukPolicies.map((u) => ({ ...u, pinPolicies: pins(u.pinPolicies) })),
    unlockKeys: [...plan.unlockKeys, ...extra(managementPlan.unlockKeys)],
    deleteKeys: [...plan.deleteKeys, ...extra(managementPlan.deleteKeys)],
  };
}

export async function acceptDiscovery(
  env: ResolvedEnvironment,
  state: IssuerState,
  response: CredentialDiscoveryResponse,
): Promise<{ state: IssuerState; request: NextRequest }> {
  const session = state.session;
  if (session === undefined) throw new KeyGen2Error('INTERNAL', 'No session in the state');
  if (response.serverSessionId !== state.serverSessionId) throw protocolError('$.serverSessionId', 'Session ID mismatch');
  if (response.clientSessionId !== session.clientSessionId) throw protocolError('$.clientSessionId', 'Session ID mismatch');
  // Quirk 12: the reference does not match result ids to its lookups; we require one result per lookup.
  const wanted = new Set(state.plan.lookups.map((l) => l.id));
  if (response.lookupResults.length !== wanted.size) throw protocolError('$.lookupResults', 'One lookup result per lookup specifier');
  const discovered: DiscoveredCredential[] = [];
  for (const [index, lookupResult] of response.lookupResults.entries()) {
    if (!wanted.delete(lookupResult.id)) throw protocolError(`$.lookupResults[${index}].id`, 'Lookup result for an unknown or already answered lookup');
    for (const matchingCredential of lookupResult.matchingCredentials) {
      discovered.push({
        lookupId: lookupResult.id,
        serverSessionId: matchingCredential.serverSessionId,
        clientSessionId: matchingCredential.clientSessionId,
        certificatePath: matchingCredential.certificatePath.map(b64u),
        locked: matchingCredential.locked === true,
      });
    }
  }
  const plan0 = env.planManagement;
  const decided = plan0 === undefined ? undefined : await callback('planManagement', () => plan0(discovered));
  const plan = decided === undefined ? state.plan : mergeManagement(state.plan, decided);
  if (decided !== undefined) checkPostOperations(plan);
  return emitAfterDiscovery(env, { ...state, plan, discovered });
}
