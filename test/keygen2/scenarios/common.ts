/**
 * The defaults of spec §13.1 for the scenario suites: the test PIN policy, the four lookups of
 * every discovery round, and small checks through the SKS user API.
 */
import { X509Certificate } from 'node:crypto';
import { expect } from 'vitest';
import type { LookupConfig, PinPolicyConfig, KeyConfig } from '../../../src/keygen2/server/index.js';
import type { KeyHandle, SecureKeyStore } from '../../../src/sks/api.js';
import { verifySignature } from '../../support/fixtures.js';
import type { EnrollResult } from '../../support/keygen2-harness.js';

const SKS = 'https://webpki.github.io/sks/algorithm#';
export const ALG = {
  RSA2048: `${SKS}rsa2048`,
  RSA2048_EXP: `${SKS}rsa2048.exp`,
  RSA4096: `${SKS}rsa4096`,
  P256: `${SKS}ec.nist.p256`,
  ECDH_RAW: `${SKS}ecdh.raw`,
  RSA_SHA256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  ECDSA_SHA256: 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
  HMAC_SHA1: 'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
  AES256_CBC: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
} as const;
export const FEATURE = 'https://webpki.github.io/keygen2/feature#';
export const CLIENT_ATTRIBUTE = 'https://webpki.github.io/keygen2/clientattr#';
export const LOGOTYPE = 'https://webpki.github.io/keygen2/logotype#';

/** §13.1 defaults of every session. */
export const SESSION = { sessionLifeTime: 10000, sessionKeyLimit: 50 } as const;

/** §13.1 "PIN": numeric, 4…8, retry limit 3. */
export const pinPolicy = (keys: readonly KeyConfig[], extra: Partial<PinPolicyConfig> = {}): PinPolicyConfig => ({
  minLength: 4,
  maxLength: 8,
  retryLimit: 3,
  format: 'numeric',
  keys,
  ...extra,
});

/** §13.1 default key: RSA-2048 authentication. */
export const rsaKey = (extra: Partial<KeyConfig> = {}): KeyConfig => ({ keyAlgorithm: ALG.RSA2048, appUsage: 'authentication', ...extra });

const utc = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The four lookups of every discovery round (§13.1); the last is unsatisfiable. */
export function scenarioLookups(): LookupConfig[] {
  const now = Date.now();
  return [
    { kmk: 'kmk0' },
    { kmk: 'kmk2', searchFilter: { emailRegEx: 'john\\.doe@example\\.com' } },
    { kmk: 'kmk2', searchFilter: { emailRegEx: 'jane\\.doe@example\\.com' } },
    {
      kmk: 'kmk1',
      searchFilter: {
        issuedBefore: utc(now - 100_000),
        issuedAfter: utc(now),
        grouping: 'shared',
        appUsage: 'universal',
        fingerPrint: Buffer.alloc(32, 7).toString('base64url'),
        issuerRegEx: 'CN=Root CA',
        serialNumber: '123',
        subjectRegEx: 'CN=John,serialNumber=123',
        emailRegEx: 'john\\.doe@example\\.com',
        policyRules: ['5.4.8', '-5.4.9'],
        keyUsageRules: ['-keyCertSign'],
        extendedKeyUsageRules: ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.4'],
      },
    },
  ];
}

/** The handle of an installed key by id. */
export function handleOf(result: EnrollResult, id: string): KeyHandle {
  const keyValue = result.summary.keys.find((x) => x.id === id);
  if (keyValue === undefined) throw new Error(`no installed key ${id}`);
  return keyValue.keyHandle;
}

/** The wire message of a qualifier, parsed. */
export function wireMessage(result: { readonly wire: ReadonlyArray<{ readonly text: string }> }, qualifier: string): Record<string, unknown> {
  const messageValue = result.wire.map((w) => JSON.parse(w.text) as Record<string, unknown>).find((j) => j['@qualifier'] === qualifier);
  if (messageValue === undefined) throw new Error(`no ${qualifier} on the wire`);
  return messageValue;
}

/** Signs with the SKS and verifies with the key's certificate; returns the signature. */
export async function signsWith(sks: SecureKeyStore, handle: KeyHandle, algorithm: string, pin?: string): Promise<Uint8Array> {
  const data = Buffer.from('Some data to sign');
  const signature = await sks.signData({ keyHandle: handle, algorithm, authorization: pin === undefined ? undefined : Buffer.from(pin), data });
  const ee = (await sks.getKeyAttributes(handle)).certificatePath.at(0);
  if (ee === undefined) throw new Error('no certificate');
  expect(verifySignature(new X509Certificate(ee).publicKey, algorithm, data, signature), 'the signature verifies with the certificate').toBe(true);
  return signature;
}

/** Every key handle in the SKS with its provisioning handle. */
export async function allKeys(sks: SecureKeyStore): Promise<Array<{ keyHandle: KeyHandle; provisioningHandle: number }>> {
  const out: Array<{ keyHandle: KeyHandle; provisioningHandle: number }> = [];
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) out.push(k);
  return out;
}

/** Nothing is left open and nothing half-provisioned (spec §11.2). */
export async function expectNoOpenSession(sks: SecureKeyStore): Promise<void> {
  expect(await sks.enumerateProvisioningSessions(0, true), 'no provisioning session is left open').toBeUndefined();
}
