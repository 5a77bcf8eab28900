/**
 * `airtight device init|info`: create and inspect the software SKS's device
 * identity (spec §5.1). One file per verb; the work is done by `sks/device/provision-device`.
 */
import { Command } from 'commander';
import { deviceInfoCommand } from './info.js';
import { deviceInitCommand } from './init.js';

export function deviceCommand(): Command {
  return new Command('device')
    .description("create and inspect this store's device identity (key + certificate)")
    .addCommand(deviceInitCommand())
    .addCommand(deviceInfoCommand());
}
