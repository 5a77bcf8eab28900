/** Admin operations over the issuer database and CA: devices, revocation, CRL, the admin token check. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { signCrl, type CaKeyPair } from '../ca/index.js';
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

/** The issuing CA's CRL of every revoked credential; CRL number = seconds since the epoch (increasing across processes). */
export async function issueCrl(db: IssuerDatabase, issuing: CaKeyPair, now: number): Promise<{ readonly der: Buffer; readonly pem: string }> {
  const revoked = (await db.listCredentials()).filter((c) => c.status === 'revoked');
  return signCrl(issuing, {
    crlNumber: BigInt(Math.floor(now / 1000)),
    thisUpdate: new Date(now),
    nextUpdate: new Date(now + 7 * 86_400_000),
    revoked: revoked.map((c) => ({ serial: c.serial.length % 2 === 0 ? c.serial : `0${c.serial}`, revokedAt: new Date(c.updatedAt) })),
  });
}

/** Constant-time comparison of a presented admin token with the configured one (both hashed first, so lengths leak nothing). */
export function adminTokenMatches(expected: string, presented: string): boolean {
  const expectedDigest = createHash('sha256').update(expected).digest();
  const presentedDigest = createHash('sha256').update(presented).digest();
  return timingSafeEqual(expectedDigest, presentedDigest);
}
