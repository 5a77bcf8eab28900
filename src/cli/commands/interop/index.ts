/**
 * `airtight interop FILE...`: runs the interop checks of each vector file
 * (../shared/interop layout) and prints one line per check, then the totals.
 * A session file is checked on three layers: the recorded secrets and
 * computations (static), the recorded SKS calls replayed against our store,
 * and the protocol layer (`wire:` checks: each message strictly decoded, our
 * issuer and our client each reproducing their side of the session).
 *
 * Output (stable, for scripts):
 *
 *     ok   <file>: <check>
 *     FAIL <file>: <check>: <detail>
 *     N passed, M failed
 *
 * Exit status 1 when any check failed, 0 otherwise.
 */
import { basename } from 'node:path';
import { Command } from 'commander';
import type { CheckResult } from '../../../interop/check.js';
import { runInteropFile } from '../../../interop/run.js';
import { EXIT_GENERIC } from '../../exit-status.js';

/**
 * The checks of one file; whatever goes wrong with it is that file's failed
 * check, so the files after it are still checked and the summary is printed.
 * Only the error's name is shown: its text may come from deep inside a dependency.
 */
async function checksOf(file: string): Promise<CheckResult[]> {
  try {
    return await runInteropFile(file);
  } catch (error) {
    return [{ name: 'run', ok: false, detail: `unexpected error${error instanceof Error ? ` (${error.name})` : ''}` }];
  }
}

export function interopCommand(): Command {
  return new Command('interop')
    .description('check this implementation against openkeystore interop vectors (sks-primitives and keygen2-session files)')
    .argument('<files...>', 'vector files, e.g. ../shared/interop/*.json')
    .action(async (files: string[]) => {
      let passed = 0;
      let failed = 0;
      for (const file of files) {
        const label = basename(file);
        for (const checkResult of await checksOf(file)) {
          if (checkResult.ok) {
            passed++;
            process.stdout.write(`ok   ${label}: ${checkResult.name}\n`);
          } else {
            failed++;
            process.stdout.write(`FAIL ${label}: ${checkResult.name}: ${checkResult.detail ?? 'failed'}\n`);
          }
        }
      }
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
      // main.ts keeps a failing process.exitCode set by a command.
      if (failed > 0) process.exitCode = EXIT_GENERIC;
    });
}
