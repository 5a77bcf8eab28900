/**
 * `airtight keys change-pin ID`: changePin (spec §10.8, §8.7). The new PIN is
 * checked against the key's PIN policy first (pin-policy-text.ts) so a PIN
 * the policy forbids costs nothing and is refused in words; the SKS then
 * applies every rule again, grouping included. Either refusal is `OPTION`
 * (exit status 7) with a line naming the rule.
 */
import { Command } from 'commander';
import type { KeyHandle } from '../../../sks/api.js';
import { PinGrouping, ProtectionStatus } from '../../../sks/constants.js';
import { SksError, isSksError } from '../../../sks/errors.js';
import { dirOption, newPinFileOption, pinFileOption } from '../../options.js';
import { note, out } from '../../output.js';
import { checkNewPin, describePinPolicy, explainPinRuleError, groupingName } from '../../pin-policy-text.js';
import { processSecretSources, readSecret, willPrompt } from '../../secrets.js';
import { acquireSecret, protectionOf, withSecret } from './authorization.js';
import { idArgument, storeDir } from './store.js';

interface ChangePinOptions {
  dir?: string;
  pinFile?: string;
  newPinFile?: string;
}

export function changePinCommand(): Command {
  return new Command('change-pin')
    .description("change a key's PIN (asks the current PIN, then the new one twice)")
    .addArgument(idArgument())
    .addOption(pinFileOption('read the current PIN from the first line of this file (mode 0600)'))
    .addOption(newPinFileOption())
    .addOption(dirOption())
    .action(async (id: KeyHandle, opts: ChangePinOptions) => {
      const dir = storeDir(opts.dir);
      const info = await protectionOf(dir, id);
      // The SKS checks these only after the current PIN: say it before asking for one.
      if ((info.protectionStatus & ProtectionStatus.PIN_PROTECTED) === 0) {
        throw new SksError('OPTION', `Key #${id} has no PIN policy`, { field: 'authorization' });
      }
      if (!info.userModifiable) throw new SksError('NOT_ALLOWED', `PIN for key #${id} is not user modifiable`);

      // Both PINs are read with the store closed.
      const sources = processSecretSources({ pin: opts.pinFile, 'new-pin': opts.newPinFile });
      const blocked = (info.protectionStatus & ProtectionStatus.PIN_BLOCKED) !== 0;
      const oldPin = await acquireSecret(sources, id, info, 'pin');
      let newPin: Buffer;
      if (blocked) {
        // The SKS refuses any PIN of a blocked key; asking for a new one would be pointless.
        newPin = Buffer.alloc(0);
      } else {
        if (willPrompt(sources, 'new-pin')) note(`The new PIN: ${describePinPolicy(info)}.`);
        const check = (pin: Buffer): void => {
          const broken = checkNewPin(pin, info);
          if (broken !== undefined) throw new SksError('OPTION', broken, { field: 'pinValue' });
        };
        try {
          newPin = await readSecret(sources, { kind: 'new-pin', label: `new PIN for key #${id}`, format: info.format, confirm: true, check });
        } catch (error) {
          oldPin?.fill(0);
          throw error;
        }
      }
      const shared = info.grouping === PinGrouping.NONE ? '' : ` (with the keys it shares the PIN with: grouping "${groupingName(info.grouping)}")`;
      try {
        await withSecret(dir, id, 'pin', oldPin, async (sks, authorization) => {
          await sks.changePin(id, authorization, newPin);
          out(`PIN of key #${id} changed${shared}.`);
        });
      } catch (error) {
        const friendly = isSksError(error) && error.code === 'OPTION' ? explainPinRuleError(error.message, info) : undefined;
        if (friendly !== undefined) throw new SksError('OPTION', friendly, { field: 'pinValue' });
        throw error;
      } finally {
        newPin.fill(0);
      }
    });
}
