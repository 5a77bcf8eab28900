/**
 * Session start (spec §3.2, §6.1): fixes the session's identity and plan, seals the configured
 * secrets, and emits the InvocationRequest.
 */
import { EC_CURVES } from '../../../sks/algorithms.js';
import type { InvocationRequest } from '../../messages/invocation/types.js';
import type { IssuerConfig, KeyConfig, PinPolicyConfig } from '../config.js';
import type { ResolvedEnvironment } from '../environment.js';
import { keyMatcherOf, takesKeyParameters } from '../keys.js';
import { checkPostOperations } from '../post-operations.js';
import type { IssuerState, Plan, PlannedKey, PlannedPinPolicy, PlannedPukPolicy } from '../state.js';
import { b64u, configError, unb64u, utcText } from '../util.js';

const ID = /^[!-~]{1,32}$/;
const DEVICE_SPECIFIC = /\/keygen2\/clientattr#(imei-number|mac-address|ip-address)$/;
const B64U_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Reference-style server session id: hex milliseconds, then base64url characters, 32 in all (§3.2). */
function newServerSessionId(env: ResolvedEnvironment): string {
  const head = env.clock().toString(16);
  const tail = env.randomBytes(32 - head.length);
  return head + Array.from(tail, (b) => B64U_ALPHABET[b & 63]).join('');
}

/** Builds the plan: ids in processing order, secrets sealed, rules of §6.7.1 checked. */
async function planOf(env: ResolvedEnvironment, config: IssuerConfig): Promise<{ plan: Plan; keyCount: number; extensionCount: number; postOps: number }> {
  const ids = new Set<string>();
  const counters = { puk: 0, pin: 0, key: 0 };
  let extensionCount = 0;
  let postOps = (config.unlockKeys?.length ?? 0) + (config.deleteKeys?.length ?? 0);
  const takeId = (given: string | undefined, prefix: 'PUK' | 'PIN' | 'Key', where: string): string => {
    const n = ++counters[prefix === 'PUK' ? 'puk' : prefix === 'PIN' ? 'pin' : 'key'];
    const id = given ?? `${prefix}.${n}`;
    if (!ID.test(id)) throw configError(`${where}.id`, 'not a KeyGen2 ID (1-32 of ! to ~)');
    if (ids.has(id)) throw configError(`${where}.id`, `duplicate id "${id}" (PUK, PIN and key ids share one namespace)`);
    ids.add(id);
    return id;
  };
  const planKey = async (k: KeyConfig, where: string, pin: PinPolicyConfig | undefined): Promise<PlannedKey> => {
    const id = takeId(k.id, 'Key', where);
    if (keyMatcherOf(k.keyAlgorithm) === undefined) throw configError(`${where}.keyAlgorithm`, 'not a key-generation algorithm (§4.11)');
    if ((k.keyParameters !== undefined) !== takesKeyParameters(k.keyAlgorithm)) {
      throw configError(`${where}.keyParameters`, 'only and always with the .exp RSA algorithms');
    }
    if (k.keyParameters !== undefined) unb64u(k.keyParameters, `${where}.keyParameters`);
    if (k.serverSeed !== undefined && unb64u(k.serverSeed, `${where}.serverSeed`).length > 64) throw configError(`${where}.serverSeed`, 'longer than 64 bytes');
    if (k.presetPin !== undefined && pin === undefined) throw configError(`${where}.presetPin`, 'a preset PIN needs a PIN policy');
    if (k.devicePinProtection === true && pin !== undefined) throw configError(`${where}.devicePinProtection`, 'not inside a PIN policy');
    if (k.enablePinCaching === true && pin?.inputMethod !== 'trusted-gui') throw configError(`${where}.enablePinCaching`, 'needs a PIN policy with inputMethod trusted-gui');
    if (k.updateKey !== undefined && k.cloneKeyProtection !== undefined) throw configError(where, 'both updateKey and cloneKeyProtection');
    if ((k.updateKey !== undefined || k.cloneKeyProtection !== undefined) && (pin !== undefined || k.devicePinProtection === true)) {
      throw configError(where, 'update and clone targets need a key without PIN protection of its own');
    }
    if (k.updateKey !== undefined || k.cloneKeyProtection !== undefined) postOps++;
    // §6.9.1: extension types are unique per key across the four categories; bags are non-empty
    // with unique property names.
    const types = [...(k.extensions ?? []), ...(k.encryptedExtensions ?? []), ...(k.propertyBags ?? []), ...(k.logotypes ?? [])].map((x) => x.type);
    const duplicate = types.find((t, i) => types.indexOf(t) !== i);
    if (duplicate !== undefined) throw configError(where, `duplicate extension type "${duplicate}"`);
    for (const [j, b] of (k.propertyBags ?? []).entries()) {
      const names = b.properties.map((p) => p.name);
      if (names.length === 0 || new Set(names).size !== names.length) throw configError(`${where}.propertyBags[${j}]`, 'a property bag needs properties with unique names');
    }
    const endorsed = k.endorsedAlgorithms === undefined ? undefined : [...new Set(k.endorsedAlgorithms)].sort();
    const { presetPin, encryptedExtensions, id: _id, endorsedAlgorithms: _e, ...rest } = k;
    extensionCount += (k.extensions?.length ?? 0) + 2 * (encryptedExtensions?.length ?? 0) + (k.propertyBags?.length ?? 0) + (k.logotypes?.length ?? 0);
    return {
      ...rest,
      id,
      ...(endorsed === undefined || endorsed.length === 0 ? {} : { endorsedAlgorithms: endorsed }),
      ...(presetPin === undefined ? {} : { presetPin: await env.crypto.seal(Buffer.from(presetPin, 'utf8')) }),
      ...(encryptedExtensions === undefined
        ? {}
        : {
            encryptedExtensions: await Promise.all(
              encryptedExtensions.map(async (e, i) => ({ type: e.type, data: await env.crypto.seal(unb64u(e.data, `${where}.encryptedExtensions[${i}].data`)) })),
            ),
          }),
    };
  };
  const planPin = async (p: PinPolicyConfig, where: string, hasPuk: boolean): Promise<PlannedPinPolicy> => {
    const id = takeId(p.id, 'PIN', where);
    const int = (v: number, lo: number, hi: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;
    if (!int(p.minLength, 1, 128) || !int(p.maxLength, p.minLength, 128)) throw configError(`${where}.minLength`, '1 <= minLength <= maxLength <= 128');
    if (!int(p.retryLimit, 1, 10000)) throw configError(`${where}.retryLimit`, '1 to 10000');
    if (p.keys.length === 0) throw configError(`${where}.keys`, 'a PIN policy needs at least one key');
    const preset = p.keys.filter((k) => k.presetPin !== undefined).length;
    if (preset !== 0 && preset !== p.keys.length) throw configError(`${where}.keys`, 'either every key of a PIN policy has a preset PIN or none has (§6.7.2)');
    for (const [i, k] of p.keys.entries()) {
      if (!hasPuk && (k.exportProtection === 'puk' || k.deleteProtection === 'puk')) throw configError(`${where}.keys[${i}]`, 'puk protection needs a PUK policy');
    }
    const keys: PlannedKey[] = [];
    for (const [i, k] of p.keys.entries()) keys.push(await planKey(k, `${where}.keys[${i}]`, p));
    const { keys: _k, id: _i, ...rest } = p;
    return { ...rest, id, keys };
  };
  const pukPolicies: PlannedPukPolicy[] = [];
  for (const [i, u] of (config.pukPolicies ?? []).entries()) {
    const where = `config.pukPolicies[${i}]`;
    const id = takeId(u.id, 'PUK', where);
    if (!Number.isInteger(u.retryLimit) || u.retryLimit < 0 || u.retryLimit > 10000) throw configError(`${where}.retryLimit`, '0 to 10000');
    if (u.puk.length === 0 || Buffer.byteLength(u.puk) > 128) throw configError(`${where}.puk`, '1 to 128 bytes');
    if (u.pinPolicies.length === 0) throw configError(`${where}.pinPolicies`, 'a PUK policy needs at least one PIN policy');
    const pins: PlannedPinPolicy[] = [];
    for (const [j, p] of u.pinPolicies.entries()) pins.push(await planPin(p, `${where}.pinPolicies[${j}]`, true));
    pukPolicies.push({ id, format: u.format, retryLimit: u.retryLimit, puk: await env.crypto.seal(Buffer.from(u.puk, 'utf8')), pinPolicies: pins });
  }
  const pinPolicies: PlannedPinPolicy[] = [];
  for (const [i, p] of (config.pinPolicies ?? []).entries()) pinPolicies.push(await planPin(p, `config.pinPolicies[${i}]`, false));
  const keys: PlannedKey[] = [];
  for (const [i, k] of (config.keys ?? []).entries()) {
    if (k.exportProtection === 'pin' || k.exportProtection === 'puk' || k.deleteProtection === 'pin' || k.deleteProtection === 'puk') {
      if (k.devicePinProtection !== true || k.exportProtection === 'puk' || k.deleteProtection === 'puk') {
        throw configError(`config.keys[${i}]`, 'PIN/PUK export or delete protection needs PIN protection');
      }
    }
    keys.push(await planKey(k, `config.keys[${i}]`, undefined));
  }
  const lookupIds = new Set<string>();
  const lookups = (config.lookups ?? []).map((l, i) => {
    const id = l.id ?? `Lookup.${i + 1}`;
    if (!ID.test(id) || lookupIds.has(id)) throw configError(`config.lookups[${i}].id`, 'not a unique KeyGen2 ID');
    if (l.searchFilter !== undefined && Object.keys(l.searchFilter).length === 0) throw configError(`config.lookups[${i}].searchFilter`, 'empty search filter');
    lookupIds.add(id);
    return { ...l, id };
  });
  if (config.updatableKeyManagementKeys !== undefined && config.keyManagementKey === undefined) {
    throw configError('config.updatableKeyManagementKeys', 'only together with keyManagementKey');
  }
  const plan: Plan = {
    pukPolicies,
    pinPolicies,
    keys,
    lookups,
    unlockKeys: config.unlockKeys ?? [],
    deleteKeys: config.deleteKeys ?? [],
    deferredIssuance: config.deferredIssuance ?? false,
    ...(config.keyManagementKey === undefined ? {} : { keyManagementKey: config.keyManagementKey }),
    ...(config.updatableKeyManagementKeys === undefined || config.updatableKeyManagementKeys.length === 0
      ? {}
      : { updatableKeyManagementKeys: config.updatableKeyManagementKeys }),
  };
  return { plan, keyCount: counters.key, extensionCount, postOps };
}

export async function start(env: ResolvedEnvironment, config: IssuerConfig): Promise<{ state: IssuerState; request: InvocationRequest }> {
  const serverSessionId = config.serverSessionId ?? newServerSessionId(env);
  if (!ID.test(serverSessionId)) throw configError('config.serverSessionId', 'not a KeyGen2 ID');
  if (config.issuerUri.length === 0 || config.issuerUri.length > 1000) throw configError('config.issuerUri', '1 to 1000 characters');
  const curve = config.ephemeralCurve ?? 'P-256';
  if (!(curve in EC_CURVES)) throw configError('config.ephemeralCurve', 'unsupported curve');
  if (config.privacyEnabled === true && !env.allowPrivacyMode) throw configError('config.privacyEnabled', 'privacy mode is not allowed by this issuer');
  const { plan, keyCount, extensionCount, postOps } = await planOf(env, config);
  const action = config.action ?? 'manage';
  if (action === 'unlock' && keyCount > 0) throw configError('config.action', 'an unlock session creates no keys (§3.1)');
  // §3.2: I P K F, I P C K F or I P C F; never I P F.
  if (keyCount === 0 && plan.lookups.length === 0) throw configError('config', 'a session needs keys to create or a credential discovery (I P F is not a legal sequence)');
  checkPostOperations(plan);
  const sessionKeyLimit = config.sessionKeyLimit ?? Math.min(32767, 20 + 12 * keyCount + extensionCount + 4 * postOps);
  const sessionLifeTime = config.sessionLifeTime ?? 3600;
  if (!Number.isInteger(sessionKeyLimit) || sessionKeyLimit < 1 || sessionKeyLimit > 32767) throw configError('config.sessionKeyLimit', '1 to 32767');
  if (!Number.isInteger(sessionLifeTime) || sessionLifeTime < 1 || sessionLifeTime > 32767) throw configError('config.sessionLifeTime', '1 to 32767');
  const capabilityQueries = config.capabilityQueries ?? [];
  if (new Set(capabilityQueries.map((q) => q.type)).size !== capabilityQueries.length) throw configError('config.capabilityQueries', 'duplicate query');
  // §6.1, §10.2: no device-specific values in privacy mode.
  if (config.privacyEnabled === true && capabilityQueries.some((q) => DEVICE_SPECIFIC.test(q.type))) {
    throw configError('config.capabilityQueries', 'device-specific attributes must not be queried in privacy mode');
  }
  const state: IssuerState = {
    version: 1,
    revision: 0,
    phase: 'invocation',
    serverSessionId,
    serverTime: utcText(env.clock()),
    issuerUri: config.issuerUri,
    serverCertificate: config.serverCertificate === undefined ? '' : b64u(unb64u(config.serverCertificate, 'config.serverCertificate')),
    action,
    ...(config.privacyEnabled === undefined ? {} : { privacyEnabled: config.privacyEnabled }),
    ...(config.preferredLanguages === undefined ? {} : { preferredLanguages: config.preferredLanguages }),
    ...(config.targetKeyContainers === undefined ? {} : { targetKeyContainers: config.targetKeyContainers }),
    capabilityQueries,
    ephemeralCurve: curve,
    sessionKeyLimit,
    sessionLifeTime,
    plan,
    counter: 0,
    sessionKeyUses: 0,
    keys: [],
  };
  const request: InvocationRequest = {
    qualifier: 'InvocationRequest',
    serverSessionId,
    action,
    ...(state.privacyEnabled === undefined ? {} : { privacyEnabled: state.privacyEnabled }),
    ...(state.preferredLanguages === undefined ? {} : { preferredLanguages: state.preferredLanguages }),
    ...(state.targetKeyContainers === undefined ? {} : { targetKeyContainers: state.targetKeyContainers }),
    ...(capabilityQueries.length === 0 ? {} : { clientCapabilityQuery: capabilityQueries.map((q) => q.type) }),
  };
  return { state, request };
}
