/** Placeholder: the `interop` command is being written by another engineer (this file will be replaced). */
import { Command } from 'commander';

export function interopCommand(): Command {
  return new Command('interop')
    .description('replay openkeystore interop vectors (not implemented yet)')
    .argument('<files...>', 'vector files')
    .action(() => {
      process.stderr.write('airtight: interop: not implemented\n');
      process.exitCode = 1;
    });
}
