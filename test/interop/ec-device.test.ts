/**
 * A recording of the session layout that the checker has never seen, with an
 * EC P-256 device key: its session attestation is a randomized ECDSA signature,
 * so the checks must verify it with the device certificate's key and never
 * compare it byte for byte (neither the recorded value nor our SKS's own in the
 * replays). The recording is produced at run time by our issuer, client and SKS
 * (./support/ec-device-recording.ts); nothing Java-looking is committed.
 */
import { createHash, createPrivateKey, createSign } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runInteropDocument } from '../../src/interop/index.js';
import { JsonNode } from '../../src/interop/json.js';
import { names, requiredSubjects } from './coverage.js';
import { recordWithEcDevice } from './support/ec-device-recording.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VECTORS = path.resolve(REPO_ROOT, '..', 'shared', 'interop');

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- recorded JSON */
type Json = any;

/** Base recordings: single-session, privacy disabled (the recorder's limits). */
const BASES = ['keygen2-session-01-ec-p256.json', 'keygen2-session-05-puk-preset-pin.json'];

const clone = (v: Json): Json => JSON.parse(JSON.stringify(v));
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The ProvisioningInitializationResponse of the (only) session. */
const initResponse = (doc: Json): Json => doc.sessions[0].messages.find((m: Json) => m.qualifier === 'ProvisioningInitializationResponse');

/** Sets the attestation carried everywhere in the file: wire text (digest recomputed), session_attestation, SKS call result. */
function setAttestation(doc: Json, value: Buffer): void {
  const state = doc.sessions[0];
  const message = initResponse(doc);
  const wire = JSON.parse(message.wire);
  wire.attestation = value.toString('base64url');
  message.wire = JSON.stringify(wire);
  message.sha256_hex = sha256(message.wire);
  state.session_attestation.value_hex = value.toString('hex');
  state.sks_calls[0].result.attestation_hex = value.toString('hex');
}

const failures = (results: Array<{ name: string; ok: boolean; detail?: string }>): string[] =>
  results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail ?? ''}`);

describe.each(BASES)('EC P-256 device recording made from %s', (base) => {
  const recording = recordWithEcDevice(JSON.parse(readFileSync(path.join(VECTORS, base), 'utf8')));

  it('is a recording of the layout with an ECDSA session attestation', async () => {
    const { doc } = await recording;
    expect(doc.test_keys.device_attestation.type).toBe('EC P-256');
    expect(doc.sessions[0].session_attestation.mode).toBe('device-signature');
    // Raw r‖s of P-256.
    expect(doc.sessions[0].session_attestation.value_hex).toHaveLength(128);
    expect(doc.generator).not.toMatch(/openkeystore Java/);
  });

  it('passes every check, and every message, server HMAC and SKS call is checked', async () => {
    const { doc } = await recording;
    const results = await runInteropDocument(clone(doc));
    expect(failures(results)).toEqual([]);
    const subjects = requiredSubjects('keygen2-session', JsonNode.root(doc));
    expect(subjects.filter((sub) => !results.some((c) => names(c.name, sub)))).toEqual([]);
    // The protocol-layer families ran on it.
    expect(results.some((r) => / wire: client reproduces #\d+ ProvisioningInitializationResponse$/.test(r.name))).toBe(true);
  });

  it('passes with another valid ECDSA signature in place of the attestation (verified, never compared)', async () => {
    const { doc } = await recording;
    const other = clone(doc);
    const state = other.sessions[0];
    const key = createPrivateKey({ key: Buffer.from(other.test_keys.device_attestation.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' });
    const resigned = createSign('sha256').update(Buffer.from(state.session_attestation.input_hex, 'hex')).sign({ key, dsaEncoding: 'ieee-p1363' });
    expect(resigned.toString('hex')).not.toBe(state.session_attestation.value_hex);
    setAttestation(other, resigned);
    expect(failures(await runInteropDocument(other))).toEqual([]);
  });

  it('passes with a different valid ECDSA signature in each place the attestation is recorded', async () => {
    const { doc } = await recording;
    const other = clone(doc);
    const state = other.sessions[0];
    const key = createPrivateKey({ key: Buffer.from(other.test_keys.device_attestation.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' });
    const sign = (): Buffer => createSign('sha256').update(Buffer.from(state.session_attestation.input_hex, 'hex')).sign({ key, dsaEncoding: 'ieee-p1363' });
    setAttestation(other, sign());
    state.session_attestation.value_hex = sign().toString('hex');
    state.sks_calls[0].result.attestation_hex = sign().toString('hex');
    expect(
      new Set([
        Buffer.from(JSON.parse(initResponse(other).wire).attestation, 'base64url').toString('hex'),
        state.session_attestation.value_hex,
        state.sks_calls[0].result.attestation_hex,
      ]).size,
    ).toBe(3);
    expect(failures(await runInteropDocument(other))).toEqual([]);
  });

  it.each([
    ['one flipped bit', (v: Buffer): Buffer => Buffer.concat([v.subarray(0, 10), Buffer.from([v.readUInt8(10) ^ 1]), v.subarray(11)])],
    ['r and s swapped', (v: Buffer): Buffer => Buffer.concat([v.subarray(32), v.subarray(0, 32)])],
  ])('fails with an altered attestation (%s) everywhere in the file', async (_name, alter) => {
    const { doc } = await recording;
    const altered = clone(doc);
    setAttestation(altered, alter(Buffer.from(altered.sessions[0].session_attestation.value_hex, 'hex')));
    const failed = failures(await runInteropDocument(altered));
    expect(failed.some((f) => f.startsWith("session 'main' session attestation: "))).toBe(true);
    expect(failed.some((f) => f.startsWith("session 'main' wire: issuer reproduces #3 ProvisioningInitializationResponse: rejected"))).toBe(true);
  });

  it('fails when only the wire text carries the altered attestation (digest recomputed)', async () => {
    const { doc } = await recording;
    const altered = clone(doc);
    const message = initResponse(altered);
    const wire = JSON.parse(message.wire);
    const value = Buffer.from(wire.attestation, 'base64url');
    value.writeUInt8(value.readUInt8(5) ^ 0x80, 5);
    wire.attestation = value.toString('base64url');
    message.wire = JSON.stringify(wire);
    message.sha256_hex = sha256(message.wire);
    const failed = failures(await runInteropDocument(altered));
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((f) => f.includes(' wire: '))).toBe(true);
  });
});

describe('airtight interop on an EC P-256 device recording', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'airtight-ec-device-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('prints "N passed, 0 failed" and exits 0', async () => {
    const { doc } = await recordWithEcDevice(JSON.parse(readFileSync(path.join(VECTORS, BASES[0] ?? ''), 'utf8')));
    const file = path.join(tmp, 'keygen2-session-ec-device.json');
    writeFileSync(file, JSON.stringify(doc));
    const child = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'interop', file], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).toBe('');
    const lines = child.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(lines.filter((l) => l.includes(' wire: ')).length).toBeGreaterThan(0);
    expect(child.status).toBe(0);
  });
});
