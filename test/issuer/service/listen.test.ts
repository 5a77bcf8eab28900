/**
 * The service for real: configuration from a file and the environment,
 * trust roots from a folder, HTTPS on 127.0.0.1 with the session attestation
 * covering the TLS leaf certificate (spec §2.2), our client over
 * createHttpTransport, and a graceful close.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import { DEFAULT_LIMITS, loadOrCreateSecret, readConfigFile, resolveServiceConfig } from '../../../src/issuer/config.js';
import { openIssuerService, startIssuerService } from '../../../src/issuer/service/app.js';
import { selfSignedCertificate } from '../../support/self-signed.js';
import { ADMIN_TOKEN, DEVICE_ROOT, device, ui } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'airtight-svc-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('issuer service over HTTPS on 127.0.0.1', () => {
  it('reads-config-file: unknown members are refused', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ prot: 1 }));
    expect(() => readConfigFile(join(dir, 'bad.json'))).toThrow(/unknown member "prot"/);
    writeFileSync(join(dir, 'bad-type.json'), JSON.stringify({ adminToken: 1234567890123456 }));
    expect(() => readConfigFile(join(dir, 'bad-type.json'))).toThrow(/"adminToken" must be a JSON string/);
  });

  it('refuses-shared-secret-file: a sealing key file group or others can read is a CONFIG error', () => {
    const file = join(dir, 'sealing.key');
    const created = loadOrCreateSecret({}, 'AIRTIGHT_ISSUER_SEALING_KEY', file);
    expect(loadOrCreateSecret({}, 'AIRTIGHT_ISSUER_SEALING_KEY', file).equals(created)).toBe(true);
    chmodSync(file, 0o644);
    expect(() => loadOrCreateSecret({}, 'AIRTIGHT_ISSUER_SEALING_KEY', file)).toThrow(expect.objectContaining({ code: 'CONFIG' }));
  });

  it('opens-with-raw-issuer-key-file: 32 raw octets in the issuer key file, as loadIssuerKey documents', async () => {
    const dataDir = join(dir, 'raw-key');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const rawKey = randomBytes(32);
    writeFileSync(join(dataDir, 'issuer.key'), rawKey, { mode: 0o600 });
    const config = resolveServiceConfig({ dataDir, trustRootsDir: join(dataDir, 'roots'), trustManufacturerCa: false }, {});
    const service = await openIssuerService(config, {});
    await service.db.close();
    expect(readFileSync(join(dataDir, 'issuer.key')).equals(rawKey), 'the raw key was used as it is, not replaced').toBe(true);
    const reopened = await openIssuerService(config, {});
    await reopened.db.close();
  });

  it('caps-open-connections: limits.maxConnections (default 10000) closes connections beyond it at accept', async () => {
    expect(DEFAULT_LIMITS.maxConnections).toBe(10_000);
    const dataDir = join(dir, 'capped');
    const config = resolveServiceConfig({ port: 0, dataDir, trustManufacturerCa: false, limits: { maxConnections: 1 } }, {});
    expect(config.limits.maxConnections).toBe(1);
    const running = await startIssuerService(config, { env: {}, logStream: { write: () => undefined } });
    const sockets: Socket[] = [];
    /** Opens a connection, sends GET /healthz (keep-alive) and resolves with what came back before `until` or the close. */
    const get = (until: RegExp) =>
      new Promise<string>((resolve, reject) => {
        const { port } = new URL(running.url);
        const socket = connect(Number(port), '127.0.0.1');
        sockets.push(socket);
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (until.test(text)) resolve(text);
        });
        socket.on('close', () => resolve(text));
        socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(text) : reject(error)));
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      });
    try {
      // The first connection is answered and stays open (keep-alive): it holds the one slot.
      expect(await get(/"status":"ok"/)).toMatch(/^HTTP\/1\.1 200/);
      expect(await get(/"status":"ok"/)).toBe('');
    } finally {
      for (const socket of sockets) socket.destroy();
      await running.close();
    }
  });

  it('enrolls-over-https: the attestation covers the served TLS certificate; close is graceful', async () => {
    selfSignedCertificate(dir);
    mkdirSync(join(dir, 'roots'));
    writeFileSync(join(dir, 'roots', 'vendor.pem'), new X509Certificate(DEVICE_ROOT).toString());
    writeFileSync(
      join(dir, 'issuer.json'),
      JSON.stringify({
        port: 0,
        dataDir: join(dir, 'data'),
        trustRootsDir: join(dir, 'roots'),
        trustManufacturerCa: false,
        tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
      }),
    );
    const env = { AIRTIGHT_HOME: join(dir, 'home'), AIRTIGHT_ISSUER_ADMIN_TOKEN: ADMIN_TOKEN, AIRTIGHT_ISSUER_LOG_LEVEL: 'warn' };
    const config = resolveServiceConfig(readConfigFile(join(dir, 'issuer.json')), env);
    expect(config.database).toBe(join(dir, 'data', 'issuer.sqlite'));
    const logs: string[] = [];
    const running = await startIssuerService(config, { env, logStream: { write: (l) => void logs.push(l) } });
    try {
      expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const tls = { ca: readFileSync(join(dir, 'cert.pem')), rejectUnauthorized: false };
      const created = await fetchJson(running.url, '/admin/enrollments', { template: 'ec-p256-auth-pin', userName: 'Carol' });
      const sks = device();
      const summary = await runEnrollment({ sks, ui: ui('2468'), transport: createHttpTransport({ tls }), invocationUrl: created.invocationUrl });
      expect(summary.redirectUrl).toBe(`${running.url}/keygen2/done`);
      expect(summary.keys[0].certificateSubject).toMatch(/CN=Carol/);
    } finally {
      await running.close();
    }
    // Closed: the port no longer answers.
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });
});

/** POSTs to the admin API, accepting the self-signed test certificate for this one call. */
async function fetchJson(base: string, path: string, body: unknown): Promise<{ invocationUrl: string }> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${base}${path}`,
      { method: 'POST', rejectUnauthorized: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () =>
          res.statusCode === 201 ? resolve(JSON.parse(text) as { invocationUrl: string }) : reject(new Error(`HTTP ${res.statusCode}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
