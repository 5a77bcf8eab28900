/**
 * `airtight issuer ...`: run an issuer, and administer a running one over
 * its admin API (see common.ts for how the URL and token are found).
 */
import { Command } from 'commander';
import { enrollUrlCommand } from './enroll-url.js';
import { credentialsCommand, devicesCommand, operationsCommand, sessionsCommand } from './lists.js';
import { managementUrlCommand } from './management-url.js';
import { revokeCommand } from './revoke.js';
import { rollKmkCommand } from './roll-kmk.js';
import { scheduleCommand } from './schedule.js';
import { startCommand } from './start.js';

export function issuerCommand(): Command {
  return new Command('issuer')
    .description('run a KeyGen2 issuer and administer it')
    .addCommand(startCommand())
    .addCommand(enrollUrlCommand())
    .addCommand(sessionsCommand())
    .addCommand(devicesCommand())
    .addCommand(credentialsCommand())
    .addCommand(operationsCommand())
    .addCommand(revokeCommand())
    .addCommand(scheduleCommand())
    .addCommand(managementUrlCommand())
    .addCommand(rollKmkCommand());
}
