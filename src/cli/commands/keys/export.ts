/**
 * `airtight keys export ID`: exportKey with the key's export protection
 * (spec §10.6, §8.10). Writes PKCS#8 DER (or the raw symmetric key) to a new
 * 0600 file or to a stdout that is not a terminal.
 */
import { Command, Option } from 'commander';
import type { KeyHandle } from '../../../sks/api.js';
import { dirOption, forceOption, outOption, pinFileOption, pukFileOption } from '../../options.js';
import { BYTE_FORMATS, checkResultTarget, note, writeResult, type ByteFormat } from '../../output.js';
import { processSecretSources } from '../../secrets.js';
import { acquireSecret, needForProtection, withSecret } from './authorization.js';
import { idArgument, peekKeyStore, storeDir } from './store.js';

interface ExportOptions {
  dir?: string;
  out?: string;
  force?: boolean;
  format: ByteFormat;
  pinFile?: string;
  pukFile?: string;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a key: PKCS#8 DER for a private key, the raw bytes of a symmetric key')
    .addArgument(idArgument())
    .addOption(outOption('write the key to this new file (mode 0600); default stdout, never a terminal'))
    .addOption(forceOption())
    .addOption(new Option('--format <format>', 'encoding of the key bytes').choices(BYTE_FORMATS).default('raw'))
    .addOption(pinFileOption())
    .addOption(pukFileOption())
    .addOption(dirOption())
    .action(async (id: KeyHandle, opts: ExportOptions) => {
      const target = { out: opts.out, format: opts.format, secret: true, refuseTerminal: true, force: opts.force === true } as const;
      checkResultTarget(target, 'key material');
      const dir = storeDir(opts.dir);
      const { info, symmetric } = await peekKeyStore(dir, async (sks) => ({
        info: await sks.getKeyProtectionInfo(id),
        symmetric: (await sks.getKeyAttributes(id)).symmetricKeyLength > 0,
      }));
      const need = needForProtection(info.exportProtection);
      const secret = await acquireSecret(processSecretSources({ pin: opts.pinFile, puk: opts.pukFile }), id, info, need);
      await withSecret(dir, id, need, secret, async (sks, authorization) => {
        const key = await sks.exportKey(id, authorization);
        try {
          writeResult(key, target);
          const what = symmetric ? `symmetric key, ${key.length} bytes` : `PKCS#8 DER, ${key.length} bytes`;
          note(`Exported key #${id} (${what})${opts.out === undefined ? '' : ` to ${opts.out}`}; the store now marks it as exported.`);
        } finally {
          key.fill(0);
        }
      });
    });
}
