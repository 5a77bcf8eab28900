/**
 * CredentialDiscoveryRequest → CredentialDiscoveryResponse (spec §6.5, §6.6,
 * §9.3): verify every lookup specifier (nonce and KMK signature), then report
 * the keys of closed sessions governed by that KMK that match its filter.
 */
import { ProtectionStatus } from '../../sks/constants.js';
import { KeyGen2Error } from '../errors.js';
import {
  appUsageFromByte,
  groupingFromByte,
  lookupNonce,
  type CredentialDiscoveryRequest,
  type CredentialDiscoveryResponse,
  type LookupResult,
  type MatchingCredential,
} from '../messages/index.js';
import { verifyLookupSpecifier } from './lookup-signature.js';
import { compileSearchFilter } from './search-filter.js';
import { allKeys, checkSessionIds, closedSessions, sameBytes, type OpenSession } from './session.js';

/**
 * Answers one CredentialDiscoveryRequest. Only closed sessions with the same privacy mode as this one are searched
 * (as the Android client does; post-operations require it anyway, §9.2).
 */
export async function discoverCredentials(openSession: OpenSession, req: CredentialDiscoveryRequest): Promise<CredentialDiscoveryResponse> {
  checkSessionIds(openSession, req);
  const nonce = lookupNonce(openSession.clientSessionId, openSession.serverSessionId);
  const ids = new Set<string>();
  req.lookupSpecifiers.forEach((spec, index) => {
    const path = `$.lookupSpecifiers[${index}]`;
    if (ids.has(spec.id)) throw new KeyGen2Error('SCHEMA', `${path}.id: duplicate lookup id`, { path: `${path}.id` });
    ids.add(spec.id);
    verifyLookupSpecifier(spec, nonce, path);
  });
  const sessions = (await closedSessions(openSession.sks)).filter((c) => c.privacyEnabled === openSession.privacyEnabled && c.keyManagementKey !== undefined);
  const keys = await allKeys(openSession.sks);
  const lookupResults: LookupResult[] = [];
  for (const [indexValue, spec] of req.lookupSpecifiers.entries()) {
    const matches = compileSearchFilter(spec.searchFilter, `$.lookupSpecifiers[${indexValue}].searchFilter`);
    const found: MatchingCredential[] = [];
    for (const session of sessions) {
      if (!sameBytes(session.keyManagementKey, spec.signature.publicKey)) continue;
      for (const enumeratedKey of keys) {
        if (enumeratedKey.provisioningHandle !== session.provisioningHandle) continue;
        const attributes = await openSession.sks.getKeyAttributes(enumeratedKey.keyHandle);
        if (attributes.certificatePath.length === 0) continue;
        const protection = await openSession.sks.getKeyProtectionInfo(enumeratedKey.keyHandle);
        const pinProtected = (protection.protectionStatus & ProtectionStatus.PIN_PROTECTED) !== 0;
        const hit = matches({
          certificatePath: attributes.certificatePath,
          appUsage: appUsageFromByte(attributes.appUsage),
          grouping: pinProtected ? groupingFromByte(protection.grouping) : undefined,
        });
        if (!hit) continue;
        const locked = (protection.protectionStatus & ProtectionStatus.PIN_BLOCKED) !== 0;
        const base = {
          serverSessionId: session.serverSessionId,
          clientSessionId: session.clientSessionId,
          certificatePath: attributes.certificatePath,
        };
        found.push(locked ? { ...base, locked: true } : base);
      }
    }
    lookupResults.push({ id: spec.id, matchingCredentials: found });
  }
  return {
    qualifier: 'CredentialDiscoveryResponse',
    serverSessionId: openSession.serverSessionId,
    clientSessionId: openSession.clientSessionId,
    lookupResults,
  };
}
