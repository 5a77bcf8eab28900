/**
 * `airtight keys ...`: the key holder's commands over the user and
 * management API (spec §10). One small file per verb; each opens the device
 * store, asks for a PIN or PUK only when the key needs one, calls the SKS and
 * always closes the store again.
 */
import { Command } from 'commander';
import { changePinCommand } from './change-pin.js';
import { decryptCommand } from './decrypt.js';
import { deleteCommand } from './delete.js';
import { exportCommand } from './export.js';
import { listCommand } from './list.js';
import { showCommand } from './show.js';
import { signCommand } from './sign.js';
import { unlockCommand } from './unlock.js';

export function keysCommand(): Command {
  return new Command('keys')
    .description('list, inspect and use the keys in the device store')
    .addHelpText(
      'after',
      '\nPINs and PUKs are asked on the terminal, or read from --pin-file/--puk-file/--new-pin-file\n' +
        '(first line; mode 0600) or from AIRTIGHT_PIN, AIRTIGHT_PUK, AIRTIGHT_NEW_PIN.',
    )
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(signCommand())
    .addCommand(decryptCommand())
    .addCommand(exportCommand())
    .addCommand(deleteCommand())
    .addCommand(unlockCommand())
    .addCommand(changePinCommand());
}
