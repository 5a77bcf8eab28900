/** `airtight issuer sessions | devices | credentials | operations`: what the issuer has recorded. */
import { Command } from 'commander';
import { adminOptions, adminRequest, print, time, type AdminOptions } from './common.js';

interface SessionRow { id: string; kind: string; status: string; step: number; failureReason: string | null; updatedAt: number; enrollmentId?: string; deviceId?: string }
interface DeviceRow { id: string; kind: string; subject?: string; certificateSha256?: string; lastSeen: number }
interface CredentialRow { fingerprint: string; serial: string; subject: string; status: string; deviceId: string | null; issuedAt: number; notAfter: string }
interface OperationRow { id: string; kind: string; status: string; credentialFingerprint: string; deviceId: string | null; outcome: string | null }

export function sessionsCommand(): Command {
  return adminOptions(new Command('sessions').description('list KeyGen2 sessions, most recent first').option('--status <status>', 'active, done or failed')).action(
    async (o: AdminOptions & { status?: string }) => {
      const r = await adminRequest<{ sessions: SessionRow[] }>(o, 'GET', `/sessions${o.status === undefined ? '' : `?status=${encodeURIComponent(o.status)}`}`);
      print(o, r.sessions, () => [
        ['SESSION', 'KIND', 'STATUS', 'STEP', 'UPDATED', 'REASON'],
        ...r.sessions.map((s) => [s.id, s.kind, s.status, String(s.step), time(s.updatedAt), s.failureReason ?? '']),
      ]);
    },
  );
}

export function devicesCommand(): Command {
  return adminOptions(new Command('devices').description('list devices holding credentials (by device certificate)')).action(async (o: AdminOptions) => {
    const r = await adminRequest<{ devices: DeviceRow[] }>(o, 'GET', '/devices');
    print(o, r.devices, () => [['DEVICE', 'LAST SEEN', 'SUBJECT'], ...r.devices.map((d) => [d.id, time(d.lastSeen), d.subject ?? '(privacy)'])]);
  });
}

export function credentialsCommand(): Command {
  return adminOptions(
    new Command('credentials')
      .description('list issued credentials with their status')
      .option('--device <id>', 'only this device')
      .option('--status <status>', 'issued, revoked or deleted'),
  ).action(async (o: AdminOptions & { device?: string; status?: string }) => {
    const q = new URLSearchParams();
    if (o.device !== undefined) q.set('deviceId', o.device);
    if (o.status !== undefined) q.set('status', o.status);
    const r = await adminRequest<{ credentials: CredentialRow[] }>(o, 'GET', `/credentials${q.size > 0 ? `?${q}` : ''}`);
    print(o, r.credentials, () => [
      ['FINGERPRINT', 'STATUS', 'ISSUED', 'NOT AFTER', 'SUBJECT'],
      ...r.credentials.map((c) => [c.fingerprint, c.status, time(c.issuedAt), c.notAfter, c.subject]),
    ]);
  });
}

export function operationsCommand(): Command {
  return adminOptions(new Command('operations').description('list scheduled remote operations').option('--device <id>', 'only this device')).action(
    async (o: AdminOptions & { device?: string }) => {
      const r = await adminRequest<{ operations: OperationRow[] }>(o, 'GET', `/operations${o.device === undefined ? '' : `?deviceId=${encodeURIComponent(o.device)}`}`);
      print(o, r.operations, () => [
        ['OPERATION', 'KIND', 'STATUS', 'CREDENTIAL', 'OUTCOME'],
        ...r.operations.map((x) => [x.id, x.kind, x.status, x.credentialFingerprint, x.outcome ?? '']),
      ]);
    },
  );
}
