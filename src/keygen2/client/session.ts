/**
 * What the client phases share: the SKS, the open provisioning session and
 * the session ids every request must carry (spec §3.3), plus the walks over
 * the SKS's closed sessions and keys that discovery and post-operations need.
 */
import type { EnumeratedKey, ProvisioningHandle, ProvisioningSessionInfo, SecureKeyStore } from '../../sks/api.js';
import { isSksError } from '../../sks/errors.js';
import { KeyGen2Error, isKeyGen2Error } from '../errors.js';

/** The open SKS provisioning session of this enrollment. */
export interface OpenSession {
  readonly sks: SecureKeyStore;
  readonly provisioningHandle: ProvisioningHandle;
  readonly serverSessionId: string;
  readonly clientSessionId: string;
  readonly privacyEnabled: boolean;
  /** Canonical SPKI of this session's KMK, if updatable. */
  readonly keyManagementKey: Uint8Array | undefined;
}

/** Any failure as a KeyGen2Error: SKS refusals keep the SksError as `cause` and its secret-free message. */
export function asKeyGen2Error(e: unknown): KeyGen2Error {
  if (isKeyGen2Error(e)) return e;
  if (isSksError(e)) return new KeyGen2Error('SKS', `SKS: ${e.message}`, { cause: e });
  return new KeyGen2Error('INTERNAL', 'unexpected failure', { cause: e });
}

/** Both session ids of a request must be this session's (spec §3.3 step 5, §6.6-6.10). */
export function checkSessionIds(s: OpenSession, m: { readonly serverSessionId: string; readonly clientSessionId: string }): void {
  if (m.serverSessionId !== s.serverSessionId) {
    throw new KeyGen2Error('PROTOCOL', 'serverSessionId is not this session\'s', { path: '$.serverSessionId' });
  }
  if (m.clientSessionId !== s.clientSessionId) {
    throw new KeyGen2Error('PROTOCOL', 'clientSessionId is not this session\'s', { path: '$.clientSessionId' });
  }
}

/** Every closed provisioning session of the SKS, in enumeration order. */
export async function closedSessions(sks: SecureKeyStore): Promise<ProvisioningSessionInfo[]> {
  const out: ProvisioningSessionInfo[] = [];
  for (let s = await sks.enumerateProvisioningSessions(0, false); s !== undefined; s = await sks.enumerateProvisioningSessions(s.provisioningHandle, false)) {
    out.push(s);
  }
  return out;
}

/** Every key of the SKS, in enumeration order. */
export async function allKeys(sks: SecureKeyStore): Promise<EnumeratedKey[]> {
  const out: EnumeratedKey[] = [];
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) out.push(k);
  return out;
}

export const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && Buffer.from(a).equals(Buffer.from(b));
