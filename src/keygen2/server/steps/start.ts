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
    const count = ++counters[prefix === 'PUK' ? 'puk' : prefix === 'PIN' ? 'pin' : 'key'];
    const id = given ?? `${prefix}.${count}`;
    if (!ID.test(id)) throw configError(`${where}.id`, 'not a KeyGen2 ID (1-32 of ! to ~)');
    if (ids.has(id)) throw configError(`${where}.id`, `duplicate id "${id}" (PUK, PIN and key ids share one namespace)`);
    ids.add(id);
    return id;
  };
  const planKey = async (keyConfig: KeyConfig, where: string, pin: PinPolicyConfig | undefined): Promise<PlannedKey> => {
    const id = takeId(keyConfig.id, 'Key', where);
    if (keyMatcherOf(keyConfig.keyAlgorithm) === undefined) throw configError(`${where}.keyAlgorithm`, 'not a key-generation algorithm (§4.11)');
    if ((keyConfig.keyParameters !== undefined) !== takesKeyParameters(keyConfig.keyAlgorithm)) {
      throw configError(`${where}.keyParameters`, 'only and always with the .exp RSA algorithms');
    }
    if (keyConfig.keyParameters !== undefined) unb64u(keyConfig.keyParameters, `${where}.keyParameters`);
    if (keyConfig.serverSeed !== undefined && unb64u(keyConfig.serverSeed, `${where}.serverSeed`).length > 64)
      throw configError(`${where}.serverSeed`, 'longer than 64 bytes');
    if (keyConfig.presetPin !== undefined && pin === undefined) throw configError(`${where}.presetPin`, 'a preset PIN needs a PIN policy');
    if (keyConfig.devicePinProtection === true && pin !== undefined) throw configError(`${where}.devicePinProtection`, 'not inside a PIN policy');
    if (keyConfig.enablePinCaching === true && pin?.inputMethod !== 'trusted-gui')
      throw configError(`${where}.enablePinCaching`, 'needs a PIN policy with inputMethod trusted-gui');
    if (keyConfig.updateKey !== undefined && keyConfig.cloneKeyProtection !== undefined) throw configError(where, 'both updateKey and cloneKeyProtection');
    if ((keyConfig.updateKey !== undefined || keyConfig.cloneKeyProtection !== undefined) && (pin !== undefined || keyConfig.devicePinProtection === true)) {
      throw configError(where, 'update and clone targets need a key without PIN protection of its own');
    }
    if (keyConfig.updateKey !== undefined || keyConfig.cloneKeyProtection !== undefined) postOps++;
    // §6.9.1: extension types are unique per key across the four categories; bags are non-empty
    // with unique property names.
    const types = [
      ...(keyConfig.extensions ?? []),
      ...(keyConfig.encryptedExtensions ?? []),
      ...(keyConfig.propertyBags ?? []),
      ...(keyConfig.logotypes ?? []),
    ].map((x) => x.type);
    const duplicate = types.find((t, i) => types.indexOf(t) !== i);
    if (duplicate !== undefined) throw configError(where, `duplicate extension type "${duplicate}"`);
    for (const [index2, propertyBagConfig] of (keyConfig.propertyBags ?? []).entries()) {
      const names = propertyBagConfig.properties.map((p) => p.name);
      if (names.length === 0 || names.includes('') || new Set(names).size !== names.length)
        throw configError(`${where}.propertyBags[${index2}]`, 'a property bag needs properties with unique, non-empty names');
    }
    const endorsed = keyConfig.endorsedAlgorithms === undefined ? undefined : [...new Set(keyConfig.endorsedAlgorithms)].sort();
    const { presetPin, encryptedExtensions, id: _id, endorsedAlgorithms: _e, ...rest } = keyConfig;
    extensionCount +=
      (keyConfig.extensions?.length ?? 0) + 2 * (encryptedExtensions?.length ?? 0) + (keyConfig.propertyBags?.length ?? 0) + (keyConfig.logotypes?.length ?? 0);
    return {
      ...rest,
      id,
      ...(endorsed === undefined || endorsed.length === 0 ? {} : { endorsedAlgorithms: endorsed }),
      ...(presetPin === undefined ? {} : { presetPin: await env.crypto.seal(Buffer.from(presetPin, 'utf8')) }),
      ...(encryptedExtensions === undefined
        ? {}
        : {
            encryptedExtensions: await Promise.all(
              encryptedExtensions.map(async (e, i) => ({
                type: e.type,
                data: await env.crypto.seal(unb64u(e.data, `${where}.encryptedExtensions[${i}].data`)),
              })),
            ),
          }),
    };
  };
  const planPin = async (pinPolicyConfig: PinPolicyConfig, where: string, hasPuk: boolean): Promise<PlannedPinPolicy> => {
    const id = takeId(pinPolicyConfig.id, 'PIN', where);
    const int = (v: number, lo: number, hi: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;
    if (!int(pinPolicyConfig.minLength, 1, 128) || !int(pinPolicyConfig.maxLength, pinPolicyConfig.minLength, 128))
      throw configError(`${where}.minLength`, '1 <= minLength <= maxLength <= 128');
    if (!int(pinPolicyConfig.retryLimit, 1, 10000)) throw configError(`${where}.retryLimit`, '1 to 10000');
    if (pinPolicyConfig.keys.length === 0) throw configError(`${where}.keys`, 'a PIN policy needs at least one key');
    const preset = pinPolicyConfig.keys.filter((k) => k.presetPin !== undefined).length;
    if (preset !== 0 && preset !== pinPolicyConfig.keys.length)
      throw configError(`${where}.keys`, 'either every key of a PIN policy has a preset PIN or none has (§6.7.2)');
    for (const [index, keyConfig] of pinPolicyConfig.keys.entries()) {
      if (!hasPuk && (keyConfig.exportProtection === 'puk' || keyConfig.deleteProtection === 'puk'))
        throw configError(`${where}.keys[${index}]`, 'puk protection needs a PUK policy');
    }
    const keys: PlannedKey[] = [];
    for (const [keyIndex, keyConfigEntry] of pinPolicyConfig.keys.entries())
      keys.push(await planKey(keyConfigEntry, `${where}.keys[${keyIndex}]`, pinPolicyConfig));
    const { keys: _k, id: _i, ...rest } = pinPolicyConfig;
    return { ...rest, id, keys };
  };
  const pukPolicies: PlannedPukPolicy[] = [];
  for (const [theIndex, pukPolicyConfig] of (config.pukPolicies ?? []).entries()) {
    const where = `config.pukPolicies[${theIndex}]`;
    const id = takeId(pukPolicyConfig.id, 'PUK', where);
    if (!Number.isInteger(pukPolicyConfig.retryLimit) || pukPolicyConfig.retryLimit < 0 || pukPolicyConfig.retryLimit > 10000)
      throw configError(`${where}.retryLimit`, '0 to 10000');
    if (pukPolicyConfig.puk.length === 0 || Buffer.byteLength(pukPolicyConfig.puk) > 128) throw configError(`${where}.puk`, '1 to 128 bytes');
    if (pukPolicyConfig.pinPolicies.length === 0) throw configError(`${where}.pinPolicies`, 'a PUK policy needs at least one PIN policy');
    const pins: PlannedPinPolicy[] = [];
    for (const [pinIndex, nestedPinConfig] of pukPolicyConfig.pinPolicies.entries())
      pins.push(await planPin(nestedPinConfig, `${where}.pinPolicies[${pinIndex}]`, true));
    pukPolicies.push({
      id,
      format: pukPolicyConfig.format,
      retryLimit: pukPolicyConfig.retryLimit,
      puk: await env.crypto.seal(Buffer.from(pukPolicyConfig.puk, 'utf8')),
      pinPolicies: pins,
    });
  }
  const pinPolicies: PlannedPinPolicy[] = [];
  for (const [pinIndex, pinConfigEntry] of (config.pinPolicies ?? []).entries())
    pinPolicies.push(await planPin(pinConfigEntry, `config.pinPolicies[${pinIndex}]`, false));
  const keys: PlannedKey[] = [];
  for (const [keyIndex, keyConfigEntry] of (config.keys ?? []).entries()) {
    if (
      keyConfigEntry.exportProtection === 'pin' ||
      keyConfigEntry.exportProtection === 'puk' ||
      keyConfigEntry.deleteProtection === 'pin' ||
      keyConfigEntry.deleteProtection === 'puk'
    ) {
      if (keyConfigEntry.devicePinProtection !== true || keyConfigEntry.exportProtection === 'puk' || keyConfigEntry.deleteProtection === 'puk') {
        throw configError(`config.keys[${keyIndex}]`, 'PIN/PUK export or delete protection needs PIN protection');
      }
    }
    keys.push(await planKey(keyConfigEntry, `config.keys[${keyIndex}]`, undefined));
  }
  const lookupIds = new Set<string>();
  const lookups = (config.lookups ?? []).map((lookupConfig, index) => {
    const id = lookupConfig.id ?? `Lookup.${index + 1}`;
    if (!ID.test(id) || lookupIds.has(id)) throw configError(`config.lookups[${index}].id`, 'not a unique KeyGen2 ID');
    if (lookupConfig.searchFilter !== undefined && Object.keys(lookupConfig.searchFilter).length === 0)
      throw configError(`config.lookups[${index}].searchFilter`, 'empty search filter');
    lookupIds.add(id);
    return { ...lookupConfig, id };
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
  if (keyCount === 0 && plan.lookups.length === 0)
    throw configError('config', 'a session needs keys to create or a credential discovery (I P F is not a legal sequence)');
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
