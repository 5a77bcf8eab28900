/**
 * `airtight demo`: an issuer, a device, an enrollment over HTTP, a signature
 * verified against the issued chain, and a remote delete, all in a temporary
 * directory (run-demo.ts). One line per step on stdout; a failed step prints
 * `✗ step: ...` and the command exits non-zero with the status of what failed.
 */
import { Command } from 'commander';
import { out } from '../../output.js';
import { DemoCheckFailed, DemoStepFailure, runDemo, type DemoStep } from './run-demo.js';

interface DemoCommandOptions {
  keep?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the whole job once in a temporary directory: issuer, device, enroll, sign, verify, remote delete')
    .option('--keep', 'keep the temporary directory (issuer data, device store) and print where it is')
    .option('--json', 'print the steps as JSON at the end instead of one line each')
    .option('--verbose', "also show the issuer's warnings and the enrollment progress (stderr)")
    .action(async (opts: DemoCommandOptions) => {
      const json = opts.json === true;
      const line = (s: DemoStep): void => out(`✓ ${s.step}: ${s.detail}`);
      const started = Date.now();
      try {
        const demoResult = await runDemo({
          keep: opts.keep === true,
          ...(json ? {} : { onStep: line }),
          ...(opts.verbose === true ? { log: (l: string) => void process.stderr.write(`${l}\n`) } : {}),
        });
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (json)
          out(JSON.stringify({ ok: true, steps: demoResult.steps, seconds: Number(seconds), ...(opts.keep === true ? { dir: demoResult.dir } : {}) }, null, 2));
        else out(`All ${demoResult.steps.length} steps passed in ${seconds} s.${opts.keep === true ? ` Kept ${demoResult.dir}` : ''}`);
      } catch (error) {
        if (!(error instanceof DemoStepFailure)) throw error;
        const check = error.cause instanceof DemoCheckFailed ? error.cause.message : undefined;
        if (json) out(JSON.stringify({ ok: false, steps: error.steps, failedStep: error.step, ...(check === undefined ? {} : { reason: check }) }, null, 2));
        else out(`✗ ${error.step}: ${check ?? 'failed (the reason follows on stderr)'}`);
        if (check !== undefined) {
          process.exitCode = 1;
          return;
        }
        // SKS, KeyGen2 and issuer errors: main.ts prints the code and maps the exit status.
        throw error.cause;
      }
    });
}
