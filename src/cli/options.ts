/**
 * The options more than one command takes, each spelled once. A command adds
 * the ones it needs (`.addOption(dirOption())`); a factory per option, because
 * commander keeps parse state on an `Option` and a command owns the ones it holds.
 * A verb whose meaning differs (which PIN a `--pin-file` holds, what `--json` prints)
 * passes its own description; the flags never differ.
 */
import { Option } from 'commander';
import { SECRET_FILE_OPTION } from './secrets.js';

/** `--dir <dir>`: the device store (see home.ts `deviceStoreDir`). */
export const dirOption = (): Option => new Option('--dir <dir>', 'store directory (default: $AIRTIGHT_HOME/device, else ~/.airtight/device)');

/** `--json`: print machine-readable JSON on stdout instead of text. */
export const jsonOption = (description = 'print JSON'): Option => new Option('--json', description);

/** `--pin-file <file>`: the PIN from the first line of a file (mode 0600); secrets.ts reads it. */
export const pinFileOption = (description = 'read the PIN from the first line of this file (mode 0600)'): Option =>
  new Option(`${SECRET_FILE_OPTION.pin} <file>`, description);

/** `--puk-file <file>`: the PUK from the first line of a file (mode 0600). */
export const pukFileOption = (): Option => new Option(`${SECRET_FILE_OPTION.puk} <file>`, 'read the PUK from the first line of this file (mode 0600)');

/** `--new-pin-file <file>`: the new PIN for `keys change-pin`. */
export const newPinFileOption = (): Option =>
  new Option(`${SECRET_FILE_OPTION['new-pin']} <file>`, 'read the new PIN from the first line of this file (mode 0600)');

/** `--yes`: do not ask; required when stdin is not a terminal. */
export const yesOption = (description: string): Option => new Option('--yes', description);

/** `--out <file>`: write the result to a file instead of stdout. */
export const outOption = (description: string): Option => new Option('--out <file>', description);

/** `--force`: replace an existing `--out` file. */
export const forceOption = (): Option => new Option('--force', 'replace an existing --out file');
