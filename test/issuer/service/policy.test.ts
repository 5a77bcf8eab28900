/**
 * Attestation policy, templates and configuration defaults: the manufacturer
 * root `airtight device init` writes is trusted out of the box when the
 * issuer runs with the same AIRTIGHT_HOME; bad templates and settings fail
 * the start, not an enrollment.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readConfigFile, resolveServiceConfig } from '../../../src/issuer/config.js';
import { DEFAULT_ALLOWED_ALGORITHMS, loadTrustRoots } from '../../../src/issuer/policy/attestation.js';
import { BUILTIN_TEMPLATES, checkTemplate, templateKeys, templateProfile } from '../../../src/issuer/policy/templates.js';
import { loadOrCreateManufacturerCa } from '../../../src/sks/device/manufacturer-ca.js';

const dir = mkdtempSync(join(tmpdir(), 'airtight-svc-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('attestation policy and templates', () => {
  it('trusts-the-device-init-manufacturer-root-of-the-same-home', async () => {
    const home = join(dir, 'home');
    const ca = await loadOrCreateManufacturerCa(join(home, 'manufacturer-ca'));
    const config = resolveServiceConfig({}, { AIRTIGHT_HOME: home });
    expect(config.trustRootsDirs).toContain(join(home, 'manufacturer-ca'));
    const roots = loadTrustRoots(config.trustRootsDirs);
    expect(roots.map((r) => Buffer.from(r).toString('base64'))).toEqual([Buffer.from(ca.certificate).toString('base64')]);
  });

  it('refuses-unparsable-trust-root', () => {
    const roots = join(dir, 'roots');
    rmSync(roots, { recursive: true, force: true });
    mkdirSync(roots, { recursive: true });
    writeFileSync(join(roots, 'junk.der'), 'not a certificate');
    expect(() => loadTrustRoots([roots])).toThrow(/junk\.der does not parse/);
  });

  it('has-documented-defaults', () => {
    const serviceConfig = resolveServiceConfig({}, { AIRTIGHT_HOME: '/srv/at' });
    expect(serviceConfig).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      database: '/srv/at/issuer/issuer.sqlite',
      caDir: '/srv/at/issuer/ca',
      allowPrivacy: false,
      adminToken: undefined,
      tls: undefined,
    });
    expect(Object.keys(serviceConfig.templates)).toEqual(expect.arrayContaining(['ec-p256-auth-pin', 'rsa2048-sign']));
    const overridden = resolveServiceConfig(
      { port: 1 },
      { AIRTIGHT_HOME: '/srv/at', AIRTIGHT_ISSUER_PORT: '2', AIRTIGHT_ISSUER_ALLOW_PRIVACY: 'true' },
      { port: 3 },
    );
    expect([overridden.port, overridden.allowPrivacy]).toEqual([3, true]);
    expect(() => resolveServiceConfig({ adminToken: 'short' })).toThrow(/at least 16/);
    expect(() => resolveServiceConfig({}, { AIRTIGHT_ISSUER_TLS_CERT: 'a.pem' })).toThrow(/both/);
    expect(() => resolveServiceConfig({ host: '0.0.0.0' })).toThrow(/loopback only/);
    expect(resolveServiceConfig({ host: '0.0.0.0', tls: { certFile: 'c.pem', keyFile: 'k.pem' } }).host).toBe('0.0.0.0');
  });

  it('reads-the-example-configuration', () => {
    const serviceConfig = resolveServiceConfig(readConfigFile(fileURLToPath(new URL('../../../src/issuer/issuer.example.json', import.meta.url))), {});
    expect(serviceConfig).toMatchObject({ port: 8443, publicUrl: 'https://issuer.example.com:8443', trustRootsDirs: ['/etc/airtight-issuer/trust-roots'] });
    for (const [name, enrollmentTemplate] of Object.entries(serviceConfig.templates)) checkTemplate(name, enrollmentTemplate, serviceConfig.allowedAlgorithms);
    expect(templateProfile(serviceConfig.templates['staff-auth']).subject.map((a) => a.type)).toEqual(['C', 'O', 'OU']);
  });

  it('checks-templates-at-start', () => {
    for (const [name, enrollmentTemplate] of Object.entries(BUILTIN_TEMPLATES)) checkTemplate(name, enrollmentTemplate, DEFAULT_ALLOWED_ALGORITHMS);
    expect(() => checkTemplate('x', { ...BUILTIN_TEMPLATES['rsa2048-sign'], keyAlgorithm: 'rsa1024' }, DEFAULT_ALLOWED_ALGORITHMS)).toThrow(
      /unknown key algorithm/,
    );
    expect(() => checkTemplate('x', BUILTIN_TEMPLATES['rsa2048-sign'], [DEFAULT_ALLOWED_ALGORITHMS[0]])).toThrow(/not in allowedAlgorithms/);
    expect(templateKeys(BUILTIN_TEMPLATES['ec-p256-auth-pin']).pinPolicies?.[0]?.keys[0]?.appUsage).toBe('authentication');
    expect(templateProfile(BUILTIN_TEMPLATES['rsa2048-sign']).subject).toEqual([
      { type: 'O', value: 'Airtight' },
      { type: 'OU', value: 'Signature' },
    ]);
  });
});
