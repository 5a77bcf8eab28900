/** `airtight issuer roll-kmk`: a new key-management key; keys under older ones are taken over at their next management session. */
import { Command } from 'commander';
import { out } from '../../output.js';
import { adminOptions, adminRequest, type AdminOptions } from './common.js';

export function rollKmkCommand(): Command {
  return adminOptions(new Command('roll-kmk').description('roll the key-management key over (spec §9.4)')).action(async (o: AdminOptions) => {
    const r = await adminRequest<{ id: string; previousId: string | null }>(o, 'POST', '/kmk/roll');
    out(o.json === true ? JSON.stringify(r, null, 2) : `${r.id} (previous ${r.previousId ?? 'none'})`);
  });
}
