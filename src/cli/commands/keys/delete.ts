/** `airtight keys delete ID`: deleteKey with the key's delete protection (spec §10.7, §8.10). */
import { confirmOnTerminal } from '../../confirm.js';
import { Command } from 'commander';
import type { KeyHandle, KeyProtectionInfo } from '../../../sks/api.js';
import { ExportDeleteProtection } from '../../../sks/constants.js';
import { SksError } from '../../../sks/errors.js';
import { dirOption, pinFileOption, pukFileOption, yesOption } from '../../options.js';
import { out, usageError } from '../../output.js';
import { processSecretSources } from '../../secrets.js';
import { acquireSecret, needForProtection, withSecret } from './authorization.js';
import { summarizeKey } from './describe.js';
import { idArgument, peekKeyStore, storeDir, withKeyStore } from './store.js';

interface DeleteOptions {
  dir?: string;
  yes?: boolean;
  pinFile?: string;
  pukFile?: string;
}

export function deleteCommand(): Command {
  return new Command('delete')
    .description('delete a key (asks for confirmation unless --yes)')
    .addArgument(idArgument())
    .addOption(yesOption('do not ask for confirmation (required when stdin is not a terminal)'))
    .addOption(pinFileOption())
    .addOption(pukFileOption())
    .addOption(dirOption())
    .action(async (id: KeyHandle, opts: DeleteOptions) => {
      const interactive = process.stdin.isTTY;
      if (opts.yes !== true && !interactive) usageError('stdin is not a terminal: add --yes to delete without confirmation');
      const dir = storeDir(opts.dir);
      // A non-deletable key is refused by the SKS at once: no question, no PIN.
      const ask = opts.yes !== true;
      const peeked = await peekKeyStore(dir, async (sks) => {
        let info: KeyProtectionInfo;
        try {
          info = await sks.getKeyProtectionInfo(id);
        } catch (error) {
          // A damaged key (its stored record failed its integrity check) is deleted without authorization.
          if (!(error instanceof SksError) || error.code !== 'STORAGE') throw error;
          return { damaged: error } as const;
        }
        const attributes = ask && info.deleteProtection !== ExportDeleteProtection.NOT_ALLOWED ? await sks.getKeyAttributes(id) : undefined;
        return { info, attributes };
      });
      // The question and the PIN/PUK are asked with the store closed.
      if ('damaged' in peeked) {
        if (ask && !(await confirmOnTerminal(`${peeked.damaged.message}. Delete key #${id}? This cannot be undone.`))) {
          throw new SksError('USER_ABORT', `Key #${id} was not deleted`);
        }
        await withKeyStore(dir, async (sks) => {
          await sks.deleteKey(id);
          out(`Deleted damaged key #${id}.`);
        });
        return;
      }
      const { info, attributes } = peeked;
      if (attributes !== undefined) {
        const keySummary = summarizeKey(id, 0, attributes, info);
        const what = [keySummary.appUsage, keySummary.keyType, keySummary.commonName === null ? undefined : `CN=${keySummary.commonName}`].filter(
          (s) => s !== undefined,
        );
        if (!(await confirmOnTerminal(`Delete key #${id} (${what.join(', ')})? This cannot be undone.`))) {
          throw new SksError('USER_ABORT', `Key #${id} was not deleted`);
        }
      }
      const need = needForProtection(info.deleteProtection);
      const secret = await acquireSecret(processSecretSources({ pin: opts.pinFile, puk: opts.pukFile }), id, info, need);
      await withSecret(dir, id, need, secret, async (sks, authorization) => {
        await sks.deleteKey(id, authorization);
        out(`Deleted key #${id}.`);
      });
    });
}
