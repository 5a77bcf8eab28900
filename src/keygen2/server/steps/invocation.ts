/**
 * InvocationResponse (spec §6.2) → ProvisioningInitializationRequest (spec §6.3).
 */
import { parseSpki, rollOverSignedData, verifyKmkSignature } from '../../../sks/session-crypto.js';
import { ALGORITHM_SESSION_ATTEST_1 } from '../../../sks/algorithms.js';
import { verificationError } from '../../errors.js';
import type { InvocationResponse } from '../../messages/invocation/types.js';
import type { ProvisioningInitializationRequest, UpdatableKeyManagementKey } from '../../messages/provisioning-initialization/types.js';
import type { UpdatableKmkConfig } from '../config.js';
import type { IssuerCryptoPort } from '../crypto-port.js';
import type { ResolvedEnvironment } from '../environment.js';
import type { CapabilityAnswer, IssuerState } from '../state.js';
import { b64u, protocolError, unb64u } from '../util.js';

/** Checks the capability answers against the queries (spec §6.2 "Issuer processing"). */
function checkCapabilities(state: IssuerState, response: InvocationResponse): CapabilityAnswer[] {
  const answers = response.clientCapabilities;
  if (state.capabilityQueries.length === 0) {
    if (answers !== undefined) throw protocolError('$.clientCapabilities', 'Capabilities answered but not queried');
    return [];
  }
  if (answers?.length !== state.capabilityQueries.length) {
    throw protocolError('$.clientCapabilities', 'Every queried capability must be answered once');
  }
  const kinds = new Map(state.capabilityQueries.map((q) => [q.type, q.kind]));
  const seen = new Set<string>();
  return answers.map((clientCapability, index) => {
    const path = `$.clientCapabilities[${index}]`;
    const kind = kinds.get(clientCapability.type);
    if (kind === undefined || seen.has(clientCapability.type)) throw protocolError(`${path}.type`, 'Capability not queried or answered twice');
    seen.add(clientCapability.type);
    switch (clientCapability.kind) {
      case 'supported':
        if (clientCapability.supported && kind !== 'feature') throw protocolError(path, 'Capability answered with the wrong kind');
        return { type: clientCapability.type, supported: clientCapability.supported };
      case 'values':
        if (kind !== 'values') throw protocolError(path, 'Capability answered with the wrong kind');
        return { type: clientCapability.type, values: [...clientCapability.values] };
      case 'imageAttributes':
        if (kind !== 'image') throw protocolError(path, 'Capability answered with the wrong kind');
        return { type: clientCapability.type, imageAttributes: { ...clientCapability.imageAttributes } };
    }
  });
}

/** The `updatableKeyManagementKeys` tree (spec §9.4): parents first, each child signing its parent. */
async function rollOverTree(
  port: IssuerCryptoPort,
  parentSpki: Uint8Array,
  nodes: readonly UpdatableKmkConfig[],
  where: string,
): Promise<UpdatableKeyManagementKey[]> {
  const out: UpdatableKeyManagementKey[] = [];
  for (const [index, node] of nodes.entries()) {
    const at = `${where}[${index}]`;
    const signedData = rollOverSignedData(parentSpki);
    let publicKey: Uint8Array;
    let authorization: Uint8Array;
    if ('kmk' in node) {
      publicKey = await port.keyManagementKey(node.kmk);
      authorization = await port.sign(node.kmk, signedData);
    } else {
      publicKey = unb64u(node.publicKey, `${at}.publicKey`);
      authorization = unb64u(node.authorization, `${at}.authorization`);
      // The SKS's own KMK check (spec §5.9), so the issuer never sends what the SKS refuses.
      let ok: boolean;
      try {
        ok = verifyKmkSignature(parseSpki(publicKey), signedData, authorization);
      } catch {
        ok = false;
      }
      if (!ok) throw verificationError(`${at}.authorization`);
    }
    const children = node.updatableKeyManagementKeys;
    out.push({
      publicKey,
      authorization,
      ...(children === undefined || children.length === 0
        ? {}
        : { updatableKeyManagementKeys: await rollOverTree(port, publicKey, children, `${at}.updatableKeyManagementKeys`) }),
    });
  }
  return out;
}

export async function acceptInvocation(
  env: ResolvedEnvironment,
  state: IssuerState,
  response: InvocationResponse,
): Promise<{ state: IssuerState; request: ProvisioningInitializationRequest }> {
  if (response.serverSessionId !== state.serverSessionId) throw protocolError('$.serverSessionId', 'Session ID mismatch');
  const capabilities = checkCapabilities(state, response);
  const ephemeral = await env.crypto.generateEphemeralKey(state.ephemeralCurve);
  const kmkName = state.plan.keyManagementKey;
  const kmk = kmkName === undefined ? undefined : await env.crypto.keyManagementKey(kmkName);
  const tree =
    kmk === undefined || state.plan.updatableKeyManagementKeys === undefined
      ? undefined
      : await rollOverTree(env.crypto, kmk, state.plan.updatableKeyManagementKeys, 'config.updatableKeyManagementKeys');
  const next: IssuerState = {
    ...state,
    phase: 'initialization',
    capabilities,
    ephemeral: { publicKey: b64u(ephemeral.publicKey), handle: ephemeral.handle },
    ...(kmk === undefined ? {} : { keyManagementKey: b64u(kmk) }),
  };
  const request: ProvisioningInitializationRequest = {
    qualifier: 'ProvisioningInitializationRequest',
    serverSessionId: state.serverSessionId,
    serverTime: { epochMs: Date.parse(state.serverTime), offsetMinutes: 0, text: state.serverTime },
    sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
    sessionKeyLimit: state.sessionKeyLimit,
    sessionLifeTime: state.sessionLifeTime,
    serverEphemeralKey: ephemeral.publicKey,
    ...(kmk === undefined ? {} : { keyManagementKey: kmk }),
    ...(tree === undefined ? {} : { updatableKeyManagementKeys: tree }),
  };
  return { state: next, request };
}
