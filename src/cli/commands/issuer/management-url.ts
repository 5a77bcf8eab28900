/** `airtight issuer management-url --device D`: an invocation URL that applies the device's pending operations. */
import { Command } from 'commander';
import { out } from '../../output.js';
import { adminOptions, adminRequest, time, type AdminOptions } from './common.js';

interface Created {
  sessionId: string;
  deviceId: string;
  pendingOperations: number;
  invocationUrl: string;
  command: string;
  expiresAt: number;
}

export function managementUrlCommand(): Command {
  return adminOptions(
    new Command('management-url')
      .description('create a management session for a device (runs its pending delete/unlock/update operations)')
      .requiredOption('--device <id>', 'device id (see `airtight issuer devices`)'),
  ).action(async (options: AdminOptions & { device: string }) => {
    const created = await adminRequest<Created>(options, 'POST', '/management-sessions', { deviceId: options.device });
    if (options.json === true) {
      out(JSON.stringify(created, null, 2));
      return;
    }
    out(created.invocationUrl);
    out(`# ${created.pendingOperations} pending operation(s); expires ${time(created.expiresAt)}; on the device run:`);
    out(created.command);
  });
}
