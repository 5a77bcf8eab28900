/**
 * The issuer against every recorded openkeystore session (interop README §6 "Server-side
 * implementation"): with the recorded randomness injected, every request must come out as
 * recorded — every MAC, ciphertext, keyId and KMK authorization — and every recorded response
 * must be accepted, decoded from the recorded wire text, (session attestation against the trusted device root, key attestations,
 * close attestation). The state is JSON round-tripped between steps, as a service would persist it.
 */
import { describe, expect, it } from 'vitest';
import { createIssuer, type IssuerState } from '../../../src/keygen2/server/index.js';
import type { KeyGen2Message } from '../../../src/keygen2/messages/index.js';
import { encodeMessage } from '../../../src/keygen2/messages/index.js';
import { decodeResponse, loadReplays } from './recording.js';

const BINARY_MEMBERS = new Set([
  'mac',
  'encryptedPuk',
  'encryptedPin',
  'encryptedKey',
  'extensionData',
  'authorization',
  'nonce',
  'fingerPrint',
  'value',
  'serverSeed',
  'certificatePath',
  'keyParameters',
]);

/** `member=base64url` for every binary member, typed (Uint8Array) or wire (string) alike. */
function binaries(value: unknown, member = '', out: string[] = []): string[] {
  if (value instanceof Uint8Array) {
    if (BINARY_MEMBERS.has(member)) out.push(`${member}=${Buffer.from(value).toString('base64url')}`);
  } else if (Array.isArray(value)) {
    for (const input of value) binaries(input, member, out);
  } else if (typeof value === 'string') {
    if (BINARY_MEMBERS.has(member)) out.push(`${member}=${value}`);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inputValue] of Object.entries(value)) binaries(inputValue, key, out);
  }
  return out;
}

const replays = loadReplays();

describe('issuer reproduces the recorded openkeystore sessions', () => {
  it('finds recordings', () => expect(replays.length).toBeGreaterThan(0));

  for (const replay of replays) {
    it(`${replay.file.replace(/.*\//, '')} [${replay.label}]`, async () => {
      const issuer = createIssuer(replay.environment);
      let { state, request }: { state: IssuerState; request: KeyGen2Message | undefined } = await issuer.start(replay.config);
      let outcome;
      for (const recordedMessage of replay.messages) {
        if (recordedMessage.direction === 'server->client') {
          expect(request?.qualifier).toBe(recordedMessage.qualifier);
          // Byte for byte, as the reference sent it.
          expect(encodeMessage(request as KeyGen2Message)).toBe(recordedMessage.wire);
          expect(binaries(request).sort()).toEqual(binaries(JSON.parse(recordedMessage.wire)).sort());
        } else {
          state = JSON.parse(JSON.stringify(state)) as IssuerState;
          const step = await issuer.accept(state, decodeResponse(recordedMessage.wire));
          state = step.state;
          request = step.request;
          outcome = step.outcome;
        }
      }
      expect(state.phase).toBe('done');
      expect(outcome).toBeDefined();
      expect(outcome?.keys.map((k) => k.id)).toEqual(Object.keys(replay.session.issued_certificate_paths));

      // Every HMAC the reference server computed with the session key, and nothing else.
      const recorded = replay.session.server_hmacs
        .filter((h) => h.purpose !== 'encryption-key-derivation')
        .map((h) => `${h.key_modifier_hex}/${h.input_hex}/${h.mac_hex}`);
      const ours = replay.log.hmacs.filter((h) => h.modifier !== '').map((h) => `${h.modifier}/${h.input}/${h.mac}`);
      expect(ours.sort()).toEqual(recorded.sort());
      // Every ciphertext, byte for byte.
      expect([...replay.log.encryptions].sort()).toEqual(replay.session.encryptions.map((e) => e.iv_and_ciphertext_hex).sort());
      // The session-key uses the SKS counts (interop README: every MAC, attestation, decryption, keyId).
      expect(state.sessionKeyUses).toBe(recorded.length + replay.session.encryptions.length);
      // Every KMK signature was over exactly the recorded bytes (JCS lookups, keyIds, roll-over).
      expect(replay.log.unmatchedSignatures).toEqual([]);
    });
  }

  // Fresh replays: each injects its recorded randomness once.
  for (const result of loadReplays()) {
    it(`${result.file.replace(/.*\//, '')} [${result.label}] over wire text`, async () => {
      const issuer = createIssuer(result.environment);
      let { state, request }: { state: IssuerState; request: string | undefined } = await issuer.startText(result.config);
      for (const recordedMessage of result.messages) {
        if (recordedMessage.direction === 'server->client') {
          expect(request).toBe(recordedMessage.wire);
        } else {
          const step = await issuer.acceptText(JSON.parse(JSON.stringify(state)) as IssuerState, recordedMessage.wire);
          state = step.state;
          request = step.request;
        }
      }
      expect(state.phase).toBe('done');
    });
  }
});
