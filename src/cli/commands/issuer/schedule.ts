/** `airtight issuer schedule delete|unlock|update <fingerprint>`: runs at the device's next management session. */
import { Command } from 'commander';
import { out, usageError } from '../../output.js';
import { adminOptions, adminRequest, type AdminOptions } from './common.js';

const KINDS = ['delete', 'unlock', 'update'] as const;

export function scheduleCommand(): Command {
  return adminOptions(
    new Command('schedule')
      .description("schedule a remote operation on a credential for its device's next management session")
      .argument('<operation>', 'delete, unlock or update (a new key and certificate in place of the old one)')
      .argument('<fingerprint>', 'SHA-256 of the certificate, hex'),
  ).action(async (kind: string, fingerprint: string, adminOptions: AdminOptions) => {
    if (!(KINDS as readonly string[]).includes(kind)) usageError(`operation must be one of ${KINDS.join(', ')}`);
    const op = await adminRequest<{ id: string; kind: string; status: string; deviceId: string | null }>(
      adminOptions,
      'POST',
      `/credentials/${encodeURIComponent(fingerprint)}/operations`,
      { kind },
    );
    out(
      adminOptions.json === true
        ? JSON.stringify(op, null, 2)
        : `${op.id} ${op.kind} ${op.status} (device ${op.deviceId ?? '?'}; run \`airtight issuer management-url --device ${op.deviceId ?? '<id>'}\`)`,
    );
  });
}
