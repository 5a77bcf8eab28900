/**
 * The one home of every `airtight` command (and of `npm run interop`, scripts/interop.sh):
 * `$AIRTIGHT_HOME`, else `~/.airtight`. Read per command, not at import.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function airtightHome(): string {
  const home = process.env['AIRTIGHT_HOME'];
  return home !== undefined && home !== '' ? home : join(homedir(), '.airtight');
}

/** The device store of `device`, `keys` and `enroll`: `--dir`, else `$AIRTIGHT_HOME/device`, else `~/.airtight/device`. */
export const deviceStoreDir = (dir?: string): string => (dir !== undefined ? resolve(dir) : join(airtightHome(), 'device'));

/** The manufacturer CA: `--ca-dir`, else `$AIRTIGHT_HOME/manufacturer-ca`. */
export const manufacturerCaDir = (dir?: string): string => (dir !== undefined ? resolve(dir) : join(airtightHome(), 'manufacturer-ca'));
