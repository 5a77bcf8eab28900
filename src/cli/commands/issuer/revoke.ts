/** `airtight issuer revoke <fingerprint>`: revokes a credential (it appears on the CRL at /crl). */
import { Command } from 'commander';
import { out } from '../../output.js';
import { adminOptions, adminRequest, type AdminOptions } from './common.js';

export function revokeCommand(): Command {
  return adminOptions(
    new Command('revoke').description('revoke a credential').argument('<fingerprint>', 'SHA-256 of the certificate, hex').option('--reason <text>', 'recorded in the audit log'),
  ).action(async (fingerprint: string, o: AdminOptions & { reason?: string }) => {
    const c = await adminRequest<{ fingerprint: string; serial: string; status: string }>(o, 'POST', `/credentials/${encodeURIComponent(fingerprint)}/revoke`, o.reason === undefined ? {} : { reason: o.reason });
    out(o.json === true ? JSON.stringify(c, null, 2) : `${c.fingerprint} ${c.status} (serial ${c.serial})`);
  });
}
