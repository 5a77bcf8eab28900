/** `airtight keys unlock ID`: unlockKey with the PUK (spec §10.8, §8.7). */
import { Command } from 'commander';
import type { KeyHandle } from '../../../sks/api.js';
import { dirOption, pukFileOption } from '../../options.js';
import { out } from '../../output.js';
import { processSecretSources } from '../../secrets.js';
import { acquireSecret, protectionOf, withSecret } from './authorization.js';
import { protectionSummary } from './describe.js';
import { idArgument, storeDir } from './store.js';

export function unlockCommand(): Command {
  return new Command('unlock')
    .description("reset a key's PIN error counter with the PUK (unblocks a blocked PIN)")
    .addArgument(idArgument())
    .addOption(pukFileOption())
    .addOption(dirOption())
    .action(async (id: KeyHandle, opts: { dir?: string; pukFile?: string }) => {
      const dir = storeDir(opts.dir);
      const info = await protectionOf(dir, id);
      // Without a (usable) PUK nothing is asked; the SKS says why it refuses.
      const puk = await acquireSecret(processSecretSources({ puk: opts.pukFile }), id, info, 'puk');
      await withSecret(dir, id, 'puk', puk, async (sks, authorization) => {
        await sks.unlockKey(id, authorization ?? new Uint8Array(0));
        out(`Key #${id} unlocked: ${protectionSummary(await sks.getKeyProtectionInfo(id))}.`);
      });
    });
}
