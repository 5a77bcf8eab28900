/** `airtight issuer sessions | devices | credentials | operations`: what the issuer has recorded. */
import { Command } from 'commander';
import { adminOptions, adminRequest, print, time, type AdminOptions } from './common.js';

interface SessionRow {
  id: string;
  kind: string;
  status: string;
  step: number;
  failureReason: string | null;
  updatedAt: number;
  expiresAt: number;
  enrollmentId?: string;
  deviceId?: string;
}
interface DeviceRow {
  id: string;
  kind: string;
  subject?: string;
  certificateSha256?: string;
  lastSeen: number;
}
interface CredentialRow {
  fingerprint: string;
  serial: string;
  subject: string;
  status: string;
  deviceId: string | null;
  issuedAt: number;
  notAfter: string;
}
interface OperationRow {
  id: string;
  kind: string;
  status: string;
  credentialFingerprint: string;
  deviceId: string | null;
  outcome: string | null;
}

export function sessionsCommand(): Command {
  return adminOptions(
    new Command('sessions').description('list KeyGen2 sessions, most recent first').option('--status <status>', 'active, done or failed'),
  ).action(async (options: AdminOptions & { status?: string }) => {
    const result = await adminRequest<{ sessions: SessionRow[] }>(
      options,
      'GET',
      `/sessions${options.status === undefined ? '' : `?status=${encodeURIComponent(options.status)}`}`,
    );
    print(options, result.sessions, () => [
      ['SESSION', 'KIND', 'STATUS', 'STEP', 'UPDATED', 'EXPIRES', 'REASON'],
      ...result.sessions.map((s) => [
        s.id,
        s.kind,
        s.status,
        String(s.step),
        time(s.updatedAt),
        s.status === 'active' ? time(s.expiresAt) : '',
        s.failureReason ?? '',
      ]),
    ]);
  });
}

export function devicesCommand(): Command {
  return adminOptions(new Command('devices').description('list devices holding credentials (by device certificate)')).action(
    async (adminOptions: AdminOptions) => {
      const result = await adminRequest<{ devices: DeviceRow[] }>(adminOptions, 'GET', '/devices');
      print(adminOptions, result.devices, () => [
        ['DEVICE', 'LAST SEEN', 'SUBJECT'],
        ...result.devices.map((d) => [d.id, time(d.lastSeen), d.subject ?? '(privacy)']),
      ]);
    },
  );
}

export function credentialsCommand(): Command {
  return adminOptions(
    new Command('credentials')
      .description('list issued credentials with their status')
      .option('--device <id>', 'only this device')
      .option('--status <status>', 'issued, revoked or deleted'),
  ).action(async (options: AdminOptions & { device?: string; status?: string }) => {
    const searchParams = new URLSearchParams();
    if (options.device !== undefined) searchParams.set('deviceId', options.device);
    if (options.status !== undefined) searchParams.set('status', options.status);
    const result = await adminRequest<{ credentials: CredentialRow[] }>(
      options,
      'GET',
      `/credentials${searchParams.size > 0 ? `?${searchParams.toString()}` : ''}`,
    );
    print(options, result.credentials, () => [
      ['FINGERPRINT', 'STATUS', 'ISSUED', 'NOT AFTER', 'SUBJECT'],
      ...result.credentials.map((c) => [c.fingerprint, c.status, time(c.issuedAt), c.notAfter, c.subject]),
    ]);
  });
}

export function operationsCommand(): Command {
  return adminOptions(new Command('operations').description('list scheduled remote operations').option('--device <id>', 'only this device')).action(
    async (options: AdminOptions & { device?: string }) => {
      const result = await adminRequest<{ operations: OperationRow[] }>(
        options,
        'GET',
        `/operations${options.device === undefined ? '' : `?deviceId=${encodeURIComponent(options.device)}`}`,
      );
      print(options, result.operations, () => [
        ['OPERATION', 'KIND', 'STATUS', 'CREDENTIAL', 'OUTCOME'],
        ...result.operations.map((x) => [x.id, x.kind, x.status, x.credentialFingerprint, x.outcome ?? '']),
      ]);
    },
  );
}
