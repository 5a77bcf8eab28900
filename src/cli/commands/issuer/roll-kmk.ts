/** `airtight issuer roll-kmk`: a new key-management key; keys under older ones are taken over at their next management session. */
import { Command } from 'commander';
import { out } from '../../output.js';
import { adminOptions, adminRequest, type AdminOptions } from './common.js';

export function rollKmkCommand(): Command {
  return adminOptions(new Command('roll-kmk').description('roll the key-management key over (spec §9.4)')).action(async (adminOptions: AdminOptions) => {
    const result = await adminRequest<{ id: string; previousId: string | null }>(adminOptions, 'POST', '/kmk/roll');
    out(adminOptions.json === true ? JSON.stringify(result, null, 2) : `${result.id} (previous ${result.previousId ?? 'none'})`);
  });
}
