/** Admin operations over the issuer database: devices, revocation, the admin token check (the CRL is crl.ts). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Credential, Device, IssuerDatabase } from '../db/port.js';

/** Devices that hold credentials of this issuer (by device certificate). */
export async function listDevices(db: IssuerDatabase): Promise<readonly Device[]> {
  const ids = [...new Set((await db.listCredentials()).map((c) => c.deviceId).filter((d): d is string => d !== null))];
  return Promise.all(ids.map((id) => db.getDevice(id)));
}

/** Revokes a credential (idempotent) and records why in the audit log, in the same transaction. */
export async function revokeCredential(db: IssuerDatabase, fingerprint: string, reason?: string): Promise<Credential> {
  const credential = await db.getCredential(fingerprint);
  if (credential.status === 'revoked') return credential;
  return db.setCredentialStatus(fingerprint, 'revoked', {
    audit: {
      kind: 'credential-revoked',
      detail: JSON.stringify({ fingerprint, serial: credential.serial, ...(reason === undefined ? {} : { reason }) }),
    },
  });
}

/** Constant-time comparison of a presented admin token with the configured one (both hashed first, so lengths leak nothing). */
export function adminTokenMatches(expected: string, presented: string): boolean {
  const expectedDigest = createHash('sha256').update(expected).digest();
  const presentedDigest = createHash('sha256').update(presented).digest();
  return timingSafeEqual(expectedDigest, presentedDigest);
}
