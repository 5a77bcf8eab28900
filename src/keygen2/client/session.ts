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
export function asKeyGen2Error(error: unknown): KeyGen2Error {
  if (isKeyGen2Error(error)) return error;
  if (isSksError(error)) return new KeyGen2Error('SKS', `SKS: ${error.message}`, { cause: error });
  return new KeyGen2Error('INTERNAL', 'unexpected failure', { cause: error });
}

/** Both session ids of a request must be this session's (spec §3.3 step 5, §6.6-6.10). */
export function checkSessionIds(openSession: OpenSession, message: { readonly serverSessionId: string; readonly clientSessionId: string }): void {
  if (message.serverSessionId !== openSession.serverSessionId) {
    throw new KeyGen2Error('PROTOCOL', "serverSessionId is not this session's", { path: '$.serverSessionId' });
  }
  if (message.clientSessionId !== openSession.clientSessionId) {
    throw new KeyGen2Error('PROTOCOL', "clientSessionId is not this session's", { path: '$.clientSessionId' });
  }
}

/** Every closed provisioning session of the SKS, in enumeration order. */
export async function closedSessions(sks: SecureKeyStore): Promise<ProvisioningSessionInfo[]> {
  const out: ProvisioningSessionInfo[] = [];
  for (
    let state = await sks.enumerateProvisioningSessions(0, false);
    state !== undefined;
    state = await sks.enumerateProvisioningSessions(state.provisioningHandle, false)
  ) {
    out.push(state);
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
