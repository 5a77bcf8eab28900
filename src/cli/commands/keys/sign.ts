/**
 * `airtight keys sign ID --alg A FILE`: signData, or performHmac for an HMAC
 * algorithm on a symmetric key (spec §10.1, §10.2). The signature goes to
 * stdout as base64url unless `--out`/`--format` say otherwise.
 */
import { Command, Option } from 'commander';
import { Cap, hasCap } from '../../../sks/algorithms.js';
import type { KeyHandle } from '../../../sks/api.js';
import { dirOption, outOption, pinFileOption } from '../../options.js';
import { BYTE_FORMATS, checkResultTarget, writeResult, type ByteFormat } from '../../output.js';
import { resolveAlgorithm } from './algorithm.js';
import { useKeyOnData } from './authorization.js';
import { readFileOperand } from './input.js';
import { idArgument, storeDir } from './store.js';

interface SignOptions {
  dir?: string;
  alg: string;
  out?: string;
  format?: ByteFormat;
  pinFile?: string;
}

export function signCommand(): Command {
  return new Command('sign')
    .description('sign FILE (or stdin with -) with a key')
    .addArgument(idArgument())
    .argument('<file>', 'data to sign, - for stdin')
    .requiredOption('--alg <algorithm>', 'signature algorithm: URI or short name (ecdsa-sha256, rsa-sha256, ed25519, hmac-sha256, ...)')
    .addOption(outOption('write the signature to this file (raw bytes unless --format)'))
    .addOption(new Option('--format <format>', 'signature encoding (default: base64url on stdout, raw with --out)').choices(BYTE_FORMATS))
    .addOption(pinFileOption())
    .addOption(dirOption())
    .action(async (id: KeyHandle, file: string, opts: SignOptions) => {
      const alg = resolveAlgorithm(opts.alg, 'sign');
      const target = { out: opts.out, format: opts.format ?? (opts.out === undefined ? 'base64url' : 'raw') } as const;
      checkResultTarget(target, 'the signature');
      const fileData = readFileOperand(file);
      await useKeyOnData(storeDir(opts.dir), id, opts.pinFile, fileData, async (sks, data, authorization) => {
        const args = { keyHandle: id, algorithm: alg.uri, data, authorization };
        writeResult(await (hasCap(alg, Cap.HMAC) ? sks.performHmac(args) : sks.signData(args)), target);
      });
    });
}
