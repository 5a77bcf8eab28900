/** `airtight keys list`: one line per key (spec §10.12, §10.9, §10.10). */
import { Command } from 'commander';
import type { SecureKeyStore } from '../../../sks/api.js';
import { dirOption, jsonOption } from '../../options.js';
import { out } from '../../output.js';
import { damagedKeySummary, summarizeKey, type KeySummary } from './describe.js';
import { storeDir, withKeyStore } from './store.js';

/** Every key the user API can see, in store order. */
export async function listKeys(sks: SecureKeyStore): Promise<KeySummary[]> {
  const keys: KeySummary[] = [];
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) {
    if (k.damaged !== undefined) {
      keys.push(damagedKeySummary(k.keyHandle, k.damaged));
      continue;
    }
    const [attributes, info] = [await sks.getKeyAttributes(k.keyHandle), await sks.getKeyProtectionInfo(k.keyHandle)];
    keys.push(summarizeKey(k.keyHandle, k.provisioningHandle, attributes, info));
  }
  return keys;
}

/** Left-aligned columns separated by two spaces. */
function table(rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

export function listCommand(): Command {
  return new Command('list')
    .description('list the keys in the store')
    .addOption(dirOption())
    .addOption(jsonOption('print a JSON array'))
    .action(async (opts: { dir?: string; json?: boolean }) => {
      await withKeyStore(storeDir(opts.dir), async (sks) => {
        const keys = await listKeys(sks);
        if (opts.json === true) {
          out(JSON.stringify(keys, null, 2));
          return;
        }
        if (keys.length === 0) {
          out('No keys.');
          return;
        }
        const rows = keys.map((k) => [
          `#${k.keyHandle}`,
          k.appUsage,
          k.keyType,
          k.friendlyName === null || k.friendlyName === '' ? '-' : JSON.stringify(k.friendlyName),
          k.commonName === null ? '-' : `CN=${k.commonName}`,
          k.protection,
        ]);
        table([['KEY', 'USAGE', 'TYPE', 'NAME', 'SUBJECT', 'PROTECTION'], ...rows]).forEach(out);
      });
    });
}
