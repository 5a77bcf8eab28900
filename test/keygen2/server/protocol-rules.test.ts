/**
 * One negative test per issuer rule (spec §3.2, §5.3, §6.4–§6.10, §11): each ends in a coded
 * KeyGen2Error, and nothing is treated as provisioned — no outcome, no certification after a
 * failed key attestation. Driven by the recorded sessions, chosen by what they contain.
 */
import { describe, expect, it } from 'vitest';
import { KeyGen2Error, type KeyGen2ErrorCode } from '../../../src/keygen2/errors.js';
import type { KeyGen2Message, MessageOf } from '../../../src/keygen2/messages/index.js';
import type { IssuerState } from '../../../src/keygen2/server/index.js';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeResponse, driveUntil, loadReplays, type Replay } from './recording.js';

const has = (r: Replay, q: string): boolean => r.messages.some((m) => m.qualifier === q);
const pick = (fn: (r: Replay) => boolean, options: Parameters<typeof loadReplays>[0] = {}): Replay => {
  const result = loadReplays(options).find(fn);
  if (result === undefined) throw new Error('no recording fits');
  return result;
};
const e2es = (r: Replay): boolean => !r.session.privacy_enabled && has(r, 'KeyCreationRequest');
const privacy = (r: Replay): boolean => r.session.privacy_enabled;
const multiKey = (r: Replay): boolean => e2es(r) && Object.keys(r.session.issued_certificate_paths).length > 1;
const discovery = (r: Replay): boolean => has(r, 'CredentialDiscoveryResponse');

// Recordings are chosen by what they contain; a rule no recording can exercise is skipped, not failed.
const available = loadReplays();
const itWith = (...needs: Array<(r: Replay) => boolean>) => it.skipIf(!needs.every((f) => available.some(f)));

async function rejects(promise: Promise<unknown>, code: KeyGen2ErrorCode, path?: string): Promise<KeyGen2Error> {
  const error = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(error).toBeInstanceOf(KeyGen2Error);
  const err = error as KeyGen2Error;
  expect(err.code).toBe(code);
  if (path !== undefined) expect(err.path).toBe(path);
  return err;
}

const flip = (bytes: Uint8Array): Uint8Array => {
  const item = Uint8Array.from(bytes);
  item[item.length - 1] = item[item.length - 1] ^ 1;
  return item;
};

describe('issuer protocol rules', () => {
  itWith(e2es)('rejects-response-in-wrong-order', async () => {
    const replay = pick(e2es);
    const { issuer, state } = await driveUntil(replay, 'InvocationResponse');
    const pir = decodeResponse(replay.messages.find((m) => m.qualifier === 'ProvisioningInitializationResponse')?.wire ?? '');
    await rejects(issuer.accept(state, pir), 'PROTOCOL', '$');
    const kcr = decodeResponse(replay.messages.find((m) => m.qualifier === 'KeyCreationResponse')?.wire ?? '');
    await rejects(issuer.accept(state, kcr), 'PROTOCOL', '$');
  });

  itWith(e2es)('rejects-request-as-response', async () => {
    const replay = pick(e2es);
    const { issuer, state } = await driveUntil(replay, 'InvocationResponse');
    const request: KeyGen2Message = { qualifier: 'InvocationRequest', serverSessionId: state.serverSessionId, action: 'manage' };
    await rejects(issuer.accept(state, request), 'PROTOCOL', '$');
  });

  itWith(e2es)('rejects-invocation-response-with-other-session-id', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'InvocationResponse');
    await rejects(issuer.accept(state, { ...(response as MessageOf<'InvocationResponse'>), serverSessionId: 'other' }), 'PROTOCOL', '$.serverSessionId');
  });

  itWith(e2es)('rejects-initialization-response-with-other-server-session-id', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'ProvisioningInitializationResponse');
    const pir = response as MessageOf<'ProvisioningInitializationResponse'>;
    await rejects(issuer.accept(state, { ...pir, serverSessionId: `${pir.serverSessionId.slice(0, -1)}x` }), 'PROTOCOL', '$.serverSessionId');
  });

  itWith(e2es)('rejects-altered-server-time-echo', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'ProvisioningInitializationResponse');
    const pir = response as MessageOf<'ProvisioningInitializationResponse'>;
    // The same instant written differently is still not the echo (compared as text, §6.4).
    const altered = { ...pir.serverTime, text: pir.serverTime.text.replace('Z', '+00:00') };
    await rejects(issuer.accept(state, { ...pir, serverTime: altered }), 'PROTOCOL', '$.serverTime');
  });

  itWith(e2es)('rejects-bad-session-attestation', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'ProvisioningInitializationResponse');
    const pir = response as MessageOf<'ProvisioningInitializationResponse'>;
    await rejects(issuer.accept(state, { ...pir, attestation: flip(pir.attestation) }), 'VERIFICATION', '$.attestation');
  });

  itWith(privacy)('rejects-bad-session-attestation-in-privacy-mode', async () => {
    const { issuer, state, response } = await driveUntil(pick(privacy), 'ProvisioningInitializationResponse');
    const pir = response as MessageOf<'ProvisioningInitializationResponse'>;
    await rejects(issuer.accept(state, { ...pir, attestation: flip(pir.attestation) }), 'VERIFICATION', '$.attestation');
  });

  itWith(e2es)('rejects-attestation-over-other-client-time', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'ProvisioningInitializationResponse');
    const pir = response as MessageOf<'ProvisioningInitializationResponse'>;
    const clientTime = { ...pir.clientTime, epochMs: pir.clientTime.epochMs + 1000 };
    await rejects(issuer.accept(state, { ...pir, clientTime }), 'VERIFICATION', '$.attestation');
  });

  itWith(e2es)('rejects-untrusted-device-root', async () => {
    // A root that did not issue the device certificate: the recording's certificate-issuing CA.
    const probe = pick(e2es);
    const doc = JSON.parse(readFileSync(probe.file, 'utf8')) as {
      test_keys: { certificate_issuer_ca: { certificate_path_der_hex: string[] } };
    };
    const roots = doc.test_keys.certificate_issuer_ca.certificate_path_der_hex.map((h) => Buffer.from(h, 'hex'));
    const replay = pick(e2es, { deviceRoots: roots });
    const { issuer, state, response } = await driveUntil(replay, 'ProvisioningInitializationResponse');
    await rejects(issuer.accept(state, response), 'POLICY', '$.deviceId.certificatePath');
  });

  itWith(e2es, privacy)('rejects-device-id-in-privacy-mode-and-its-absence-otherwise', async () => {
    const privacyRun = await driveUntil(pick(privacy), 'ProvisioningInitializationResponse');
    const e2esRun = await driveUntil(pick(e2es), 'ProvisioningInitializationResponse');
    const withDevice = {
      ...(privacyRun.response as MessageOf<'ProvisioningInitializationResponse'>),
      deviceId: (e2esRun.response as MessageOf<'ProvisioningInitializationResponse'>).deviceId ?? { certificatePath: [] },
    };
    await rejects(privacyRun.issuer.accept(privacyRun.state, withDevice), 'PROTOCOL', '$.deviceId');
    const { deviceId: _d, ...withoutDevice } = e2esRun.response as MessageOf<'ProvisioningInitializationResponse'>;
    await rejects(e2esRun.issuer.accept(e2esRun.state, withoutDevice), 'PROTOCOL', '$.deviceId');
  });

  itWith(e2es)('rejects-key-creation-response-with-other-client-session-id', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'KeyCreationResponse');
    await rejects(issuer.accept(state, { ...(response as MessageOf<'KeyCreationResponse'>), clientSessionId: 'other' }), 'PROTOCOL', '$.clientSessionId');
  });

  itWith(e2es)('rejects-bad-key-attestation-and-certifies-nothing', async () => {
    const certified: string[] = [];
    const { issuer, state, response } = await driveUntil(pick(e2es, { onCertify: (id) => certified.push(id) }), 'KeyCreationResponse');
    const kcr = response as MessageOf<'KeyCreationResponse'>;
    const last = kcr.generatedKeys.length - 1;
    const generatedKeys = kcr.generatedKeys.map((g, i) => (i === last ? { ...g, attestation: flip(g.attestation) } : g));
    await rejects(issuer.accept(state, { ...kcr, generatedKeys }), 'VERIFICATION', `$.generatedKeys[${last}].attestation`);
    expect(certified).toEqual([]);
  });

  itWith(e2es)('rejects-substituted-generated-key', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'KeyCreationResponse');
    const kcr = response as MessageOf<'KeyCreationResponse'>;
    const generatedKey = kcr.generatedKeys.at(0);
    if (generatedKey === undefined) throw new Error('no key');
    const other = Uint8Array.from(generatedKey.publicKey);
    // Same kind of key, other bytes: flip a bit of the last coordinate byte (RSA: modulus).
    other[other.length - 1] = other[other.length - 1] ^ 2;
    const err = await issuer
      .accept(state, { ...kcr, generatedKeys: [{ ...generatedKey, publicKey: other }, ...kcr.generatedKeys.slice(1)] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyGen2Error);
    expect(['VERIFICATION', 'PROTOCOL']).toContain((err as KeyGen2Error).code);
  });

  itWith(multiKey)('rejects-wrong-number-or-order-of-generated-keys', async () => {
    const replay = pick(multiKey);
    const { issuer, state, response } = await driveUntil(replay, 'KeyCreationResponse');
    const kcr = response as MessageOf<'KeyCreationResponse'>;
    await rejects(issuer.accept(state, { ...kcr, generatedKeys: kcr.generatedKeys.slice(1) }), 'PROTOCOL', '$.generatedKeys');
    await rejects(issuer.accept(state, { ...kcr, generatedKeys: [...kcr.generatedKeys].reverse() }), 'PROTOCOL', '$.generatedKeys[0].id');
  });

  itWith(e2es)('rejects-bad-close-attestation-with-no-outcome', async () => {
    const { issuer, state, response } = await driveUntil(pick(e2es), 'ProvisioningFinalizationResponse');
    const pfr = response as MessageOf<'ProvisioningFinalizationResponse'>;
    await rejects(issuer.accept(state, { ...pfr, attestation: flip(pfr.attestation) }), 'VERIFICATION', '$.attestation');
    await rejects(issuer.accept(state, { ...pfr, serverSessionId: 'other' }), 'PROTOCOL', '$.serverSessionId');
    // The good response still completes the (unchanged) state: the failure changed nothing.
    const done = await issuer.accept(state, pfr);
    expect(done.outcome).toBeDefined();
    expect(done.state.revision).toBe(state.revision + 1);
    // And after done, nothing more is accepted.
    await rejects(issuer.accept(done.state, pfr), 'SESSION');
    await rejects(issuer.accept(issuer.abort(state), pfr), 'SESSION');
  });

  itWith(discovery)('rejects-discovery-results-for-unknown-lookups', async () => {
    const replay = pick(discovery);
    const { issuer, state, response } = await driveUntil(replay, 'CredentialDiscoveryResponse');
    const cdr = response as MessageOf<'CredentialDiscoveryResponse'>;
    const renamed = cdr.lookupResults.map((l, i) => (i === 0 ? { ...l, id: 'Lookup.99' } : l));
    await rejects(issuer.accept(state, { ...cdr, lookupResults: renamed }), 'PROTOCOL', '$.lookupResults[0].id');
    await rejects(issuer.accept(state, { ...cdr, clientSessionId: 'other' }), 'PROTOCOL', '$.clientSessionId');
  });

  itWith(e2es)('resumes-a-persisted-state-in-another-process-with-the-same-sealing-key', async () => {
    const sealingKey = randomBytes(32);
    const replay = pick(e2es, { sealingKey });
    const { state, response } = await driveUntil(replay, 'KeyCreationResponse');
    // "Another process": fresh port and issuer objects, the state only as JSON text.
    const fresh = pick(e2es, { sealingKey });
    const { issuer } = await driveUntil(fresh, 'InvocationResponse');
    const resumed = await issuer.accept(JSON.parse(JSON.stringify(state)) as IssuerState, response);
    expect(resumed.request?.qualifier).toBe('ProvisioningFinalizationRequest');
    // Also before the session key exists: the sealed ephemeral key opens in the other process.
    const early = await driveUntil(pick(e2es, { sealingKey }), 'ProvisioningInitializationResponse');
    const resumedEarly = await issuer.accept(JSON.parse(JSON.stringify(early.state)) as IssuerState, early.response);
    expect(resumedEarly.request?.qualifier).toBe('KeyCreationRequest');
    // With another sealing key the sealed session key does not open.
    const foreign = pick(e2es, { sealingKey: randomBytes(32) });
    const other = await driveUntil(foreign, 'InvocationResponse');
    await rejects(other.issuer.accept(JSON.parse(JSON.stringify(state)) as IssuerState, response), 'VERIFICATION');
  });

  itWith(e2es)('rejects-wire-text-of-the-wrong-message-or-not-json', async () => {
    const replay = pick(e2es);
    const { issuer, state } = await driveUntil(replay, 'InvocationResponse');
    const pirWire = replay.messages.find((m) => m.qualifier === 'ProvisioningInitializationResponse')?.wire ?? '';
    await rejects(issuer.acceptText(state, pirWire), 'PROTOCOL');
    await rejects(issuer.acceptText(state, '{"@context":'), 'SYNTAX');
    const done = await issuer.acceptText(issuer.abort(state), pirWire).catch((e: unknown) => e);
    expect((done as KeyGen2Error).code).toBe('SESSION');
  });
});
