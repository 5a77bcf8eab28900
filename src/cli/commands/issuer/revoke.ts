/** `airtight issuer revoke <fingerprint>`: revokes a credential (it appears on the CRL at /crl). */
import { Command } from 'commander';
import { out } from '../../output.js';
import { adminOptions, adminRequest, type AdminOptions } from './common.js';

export function revokeCommand(): Command {
  return adminOptions(
    new Command('revoke')
      .description('revoke a credential')
      .argument('<fingerprint>', 'SHA-256 of the certificate, hex')
      .option('--reason <text>', 'recorded in the audit log'),
  ).action(async (fingerprint: string, options: AdminOptions & { reason?: string }) => {
    const item = await adminRequest<{ fingerprint: string; serial: string; status: string }>(
      options,
      'POST',
      `/credentials/${encodeURIComponent(fingerprint)}/revoke`,
      options.reason === undefined ? {} : { reason: options.reason },
    );
    out(options.json === true ? JSON.stringify(item, null, 2) : `${item.fingerprint} ${item.status} (serial ${item.serial})`);
  });
}
