/**
 * `airtight keys decrypt ID --alg A FILE`: asymmetricKeyDecrypt, or
 * symmetricKeyEncrypt in decrypt mode for an AES algorithm (spec §10.3,
 * §10.4). The plaintext goes to stdout (raw) or to a new 0600 file.
 */
import { Command, Option } from 'commander';
import { Cap, hasCap } from '../../../sks/algorithms.js';
import type { KeyHandle } from '../../../sks/api.js';
import { dirOption, forceOption, outOption, pinFileOption } from '../../options.js';
import { BYTE_FORMATS, checkResultTarget, usageError, writeResult, type ByteFormat } from '../../output.js';
import { resolveAlgorithm } from './algorithm.js';
import { useKeyOnData } from './authorization.js';
import { readFileOperand } from './input.js';
import { idArgument, storeDir } from './store.js';

interface DecryptOptions {
  dir?: string;
  alg: string;
  iv?: string;
  out?: string;
  force?: boolean;
  format: ByteFormat;
  pinFile?: string;
}

export function decryptCommand(): Command {
  return new Command('decrypt')
    .description('decrypt FILE (or stdin with -) with a key')
    .addArgument(idArgument())
    .argument('<file>', 'ciphertext, - for stdin')
    .requiredOption('--alg <algorithm>', 'algorithm: URI or short name (rsa.oaep.sha256, rsa.oaep.sha1, rsa.es.pkcs1_5, aes256-cbc, ...)')
    .option('--iv <hex>', 'the 16-byte IV, for aes.cbc (the *-cbc algorithms take it from the data)')
    .addOption(outOption('write the plaintext to this new file (mode 0600)'))
    .addOption(forceOption())
    .addOption(new Option('--format <format>', 'plaintext encoding').choices(BYTE_FORMATS).default('raw'))
    .addOption(pinFileOption())
    .addOption(dirOption())
    .action(async (id: KeyHandle, file: string, opts: DecryptOptions) => {
      const alg = resolveAlgorithm(opts.alg, 'decrypt');
      if (opts.iv !== undefined && !/^[0-9a-fA-F]{32}$/.test(opts.iv)) usageError('--iv must be 16 bytes in hex (32 hex digits)');
      const parameters = opts.iv === undefined ? undefined : Buffer.from(opts.iv, 'hex');
      const target = { out: opts.out, format: opts.format, secret: true, force: opts.force === true } as const;
      checkResultTarget(target, 'the plaintext');
      const fileData = readFileOperand(file);
      await useKeyOnData(storeDir(opts.dir), id, opts.pinFile, fileData, async (sks, data, authorization) => {
        const args = { keyHandle: id, algorithm: alg.uri, data, parameters, authorization };
        const plaintext = await (hasCap(alg, Cap.SYM_ENC) ? sks.symmetricKeyEncrypt({ ...args, mode: false }) : sks.asymmetricKeyDecrypt(args));
        try {
          writeResult(plaintext, target);
        } finally {
          plaintext.fill(0);
        }
      });
    });
}
