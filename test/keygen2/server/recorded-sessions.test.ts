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

const BINARY_MEMBERS = new Set(['mac', 'encryptedPuk', 'encryptedPin', 'encryptedKey', 'extensionData', 'authorization', 'nonce', 'fingerPrint', 'value', 'serverSeed', 'certificatePath', 'keyParameters']);

/** `member=base64url` for every binary member, typed (Uint8Array) or wire (string) alike. */
function binaries(v: unknown, member = '', out: string[] = []): string[] {
  if (v instanceof Uint8Array) {
    if (BINARY_MEMBERS.has(member)) out.push(`${member}=${Buffer.from(v).toString('base64url')}`);
  } else if (Array.isArray(v)) {
    for (const x of v) binaries(x, member, out);
  } else if (typeof v === 'string') {
    if (BINARY_MEMBERS.has(member)) out.push(`${member}=${v}`);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) binaries(x, k, out);
  }
  return out;
}

const replays = loadReplays();

describe('issuer reproduces the recorded openkeystore sessions', () => {
  it('finds recordings', () => expect(replays.length).toBeGreaterThan(0));

  for (const r of replays) {
    it(`${r.file.replace(/.*\//, '')} [${r.label}]`, async () => {
      const issuer = createIssuer(r.environment);
      let { state, request }: { state: IssuerState; request: KeyGen2Message | undefined } = await issuer.start(r.config);
      let outcome;
      for (const m of r.messages) {
        if (m.direction === 'server->client') {
          expect(request?.qualifier).toBe(m.qualifier);
          // Byte for byte, as the reference sent it.
          expect(encodeMessage(request as KeyGen2Message)).toBe(m.wire);
          expect(binaries(request).sort()).toEqual(binaries(JSON.parse(m.wire)).sort());
        } else {
          state = JSON.parse(JSON.stringify(state)) as IssuerState;
          const step = await issuer.accept(state, decodeResponse(m.wire));
          state = step.state;
          request = step.request;
          outcome = step.outcome;
        }
      }
      expect(state.phase).toBe('done');
      expect(outcome).toBeDefined();
      expect(outcome?.keys.map((k) => k.id)).toEqual(Object.keys(r.session.issued_certificate_paths));

      // Every HMAC the reference server computed with the session key, and nothing else.
      const recorded = (r.session.server_hmacs as { purpose: string; key_modifier_hex: string; input_hex: string; mac_hex: string }[])
        .filter((h) => h.purpose !== 'encryption-key-derivation')
        .map((h) => `${h.key_modifier_hex}/${h.input_hex}/${h.mac_hex}`);
      const ours = r.log.hmacs.filter((h) => h.modifier !== '').map((h) => `${h.modifier}/${h.input}/${h.mac}`);
      expect(ours.sort()).toEqual(recorded.sort());
      // Every ciphertext, byte for byte.
      expect([...r.log.encryptions].sort()).toEqual((r.session.encryptions as { iv_and_ciphertext_hex: string }[]).map((e) => e.iv_and_ciphertext_hex).sort());
      // The session-key uses the SKS counts (interop README: every MAC, attestation, decryption, keyId).
      expect(state.sessionKeyUses).toBe(recorded.length + (r.session.encryptions as unknown[]).length);
      // Every KMK signature was over exactly the recorded bytes (JCS lookups, keyIds, roll-over).
      expect(r.log.unmatchedSignatures).toEqual([]);
    });
  }

  // Fresh replays: each injects its recorded randomness once.
  for (const r of loadReplays()) {
    it(`${r.file.replace(/.*\//, '')} [${r.label}] over wire text`, async () => {
      const issuer = createIssuer(r.environment);
      let { state, request }: { state: IssuerState; request: string | undefined } = await issuer.startText(r.config);
      for (const m of r.messages) {
        if (m.direction === 'server->client') {
          expect(request).toBe(m.wire);
        } else {
          const step = await issuer.acceptText(JSON.parse(JSON.stringify(state)) as IssuerState, m.wire);
          state = step.state;
          request = step.request;
        }
      }
      expect(state.phase).toBe('done');
    });
  }
});
