/** `airtight issuer enroll-url --template T --user U`: a one-time invocation URL and the `airtight enroll` command for it. */
import { Command } from 'commander';
import { out } from '../../output.js';
import { adminOptions, adminRequest, time, type AdminOptions } from './common.js';

interface Created {
  enrollmentId: string;
  template: string;
  userName: string;
  invocationUrl: string;
  command: string;
  expiresAt: number;
}

export function enrollUrlCommand(): Command {
  return adminOptions(
    new Command('enroll-url')
      .description('create a one-time enrollment for a user and print its invocation URL')
      .requiredOption('--template <name>', 'enrollment template (e.g. ec-p256-auth-pin, rsa2048-sign)')
      .requiredOption('--user <name>', "the user's name (certificate CN)")
      .option('--email <address>', "the user's e-mail address")
      .option('--ttl <seconds>', 'lifetime of the URL in seconds'),
  ).action(async (options: AdminOptions & { template: string; user: string; email?: string; ttl?: string }) => {
    const created = await adminRequest<Created>(options, 'POST', '/enrollments', {
      template: options.template,
      userName: options.user,
      ...(options.email === undefined ? {} : { userEmail: options.email }),
      ...(options.ttl === undefined ? {} : { ttlSeconds: Number(options.ttl) }),
    });
    if (options.json === true) {
      out(JSON.stringify(created, null, 2));
      return;
    }
    out(created.invocationUrl);
    out(`# expires ${time(created.expiresAt)}; on the device run:`);
    out(created.command);
  });
}
