/**
 * `airtight interop FILE...`: runs the interop checks of each vector file
 * (../shared/interop layout) and prints one line per check, then the totals.
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
import { runInteropFile } from '../../interop/run.js';

const EXIT_FAILED = 1;

/** Makes the process end with `status` even if the caller later sets `process.exitCode = 0`. */
function failProcess(status: number): void {
  process.exitCode = status;
  // main.ts assigns the exit status its run() returns after the command; a
  // failed check is not an error it knows, so keep the status at the very end.
  process.once('exit', () => {
    process.exitCode = status;
  });
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
        for (const r of await runInteropFile(file)) {
          if (r.ok) {
            passed++;
            process.stdout.write(`ok   ${label}: ${r.name}\n`);
          } else {
            failed++;
            process.stdout.write(`FAIL ${label}: ${r.name}: ${r.detail ?? 'failed'}\n`);
          }
        }
      }
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
      if (failed > 0) failProcess(EXIT_FAILED);
    });
}
