/**
 * Every recorded openkeystore message decodes and re-encodes byte for byte, and mechanical
 * mutations of each recorded message fail with the right code at the right JSON path:
 * an unknown member injected into every object, every member dropped, every value given the
 * wrong JSON type, the first member of every object duplicated, every binary value padded.
 */
import { describe, expect, it } from 'vitest';
import { isKeyGen2Error, type KeyGen2ErrorCode } from '../../../src/keygen2/errors.js';
import { decodeMessage, encodeMessage, QUALIFIERS } from '../../../src/keygen2/messages/index.js';
import { jsonPath, label, mutate, places, recordedMessages, sampleMessages, withDuplicateMember, wrongType, type Json, type Place } from './recordings.js';

const all = recordedMessages();
const samples = sampleMessages();

/** Decodes and returns the KeyGen2Error (or undefined on success); anything else fails the test. */
function failure(text: string): { code: KeyGen2ErrorCode; path: string | undefined } | undefined {
  try {
    decodeMessage(text);
    return undefined;
  } catch (e) {
    if (!isKeyGen2Error(e)) throw new Error(`not a KeyGen2Error: ${String(e)}`);
    return { code: e.code, path: e.path };
  }
}

const objects = (root: Json): Place[] => places(root).filter((p) => p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value));
const members = (root: Json): Place[] => places(root).filter((p) => typeof p.steps[p.steps.length - 1] === 'string');
const elements = (root: Json): Place[] => places(root).filter((p) => typeof p.steps[p.steps.length - 1] === 'number');

/** Members that are required wherever they appear (§6 tables, §4.7 JWKs, §6.5 JSF). */
const ALWAYS_REQUIRED = new Set([
  '@context', '@qualifier', 'serverSessionId', 'clientSessionId', 'action', 'serverTime', 'sessionKeyAlgorithm',
  'sessionKeyLimit', 'sessionLifeTime', 'serverEphemeralKey', 'clientTime', 'clientEphemeralKey', 'attestation',
  'kty', 'crv', 'x', 'y', 'n', 'e', 'type', 'mimeType', 'width', 'height', 'publicKey', 'authorization',
  'lookupSpecifiers', 'nonce', 'signature', 'algorithm', 'value', 'lookupResults', 'matchingCredentials',
  'certificatePath', 'keyEntryAlgorithm', 'encryptedPuk', 'retryLimit', 'format', 'mac', 'minLength', 'maxLength',
  'appUsage', 'keyAlgorithm', 'generatedKeys', 'fingerPrint', 'encryptedKey', 'extensionData', 'properties', 'name',
  'sessionCloseData', 'id',
]);

/** Members whose string value is base64url (§4.5); `value` only inside a JSF signature. */
const BINARY = new Set([
  'mac', 'attestation', 'nonce', 'encryptedPuk', 'encryptedPin', 'serverSeed', 'x', 'y', 'n', 'e', 'authorization',
  'fingerPrint', 'encryptedKey', 'extensionData', 'keyParameters',
]);
const isBinary = (p: Place): boolean => {
  const name = p.steps[p.steps.length - 1];
  const parent = p.steps[p.steps.length - 2];
  if (typeof name === 'number') return parent === 'certificatePath';
  return typeof p.value === 'string' && (BINARY.has(name as string) || (name === 'value' && parent === 'signature'));
};

describe('recorded openkeystore messages', () => {
  it('finds recordings of every qualifier', () => {
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((m) => m.qualifier))).toEqual(new Set(QUALIFIERS));
  });

  it.each(all.map((m) => [label(m), m] as const))('decodes and round-trips byte for byte: %s', (_, m) => {
    const message = decodeMessage(m.wire);
    expect(message.qualifier).toBe(m.qualifier);
    expect(encodeMessage(message)).toBe(m.wire);
  });

  it.each(all.map((m) => [label(m), m] as const))('accepts-the-expected-qualifier-only: %s', (_, m) => {
    const other = QUALIFIERS.find((q) => q !== m.qualifier) ?? 'InvocationRequest';
    expect(failure(m.wire)).toBeUndefined();
    expect(() => decodeMessage(m.wire, [other])).toThrowError(expect.objectContaining({ code: 'PROTOCOL', path: "$['@qualifier']" }));
  });
});

describe.each(samples.map((m) => [label(m), m] as const))('mechanical negative tests: %s', (_, m) => {
  const root = JSON.parse(m.wire) as Json;

  it('rejects-unknown-member at every depth', () => {
    for (const o of objects(root)) {
      const text = JSON.stringify(mutate(root, o.steps, (v) => ({ ...(v as Record<string, Json>), xUnknown: 1 })));
      expect(failure(text), jsonPath(o.steps)).toEqual({ code: 'SCHEMA', path: jsonPath([...o.steps, 'xUnknown']) });
    }
  });

  it('rejects-missing-required-member (each member dropped)', () => {
    for (const p of members(root)) {
      const name = p.steps[p.steps.length - 1] as string;
      // Inside a search filter every member is optional (§6.5).
      const required = ALWAYS_REQUIRED.has(name) && p.steps[p.steps.length - 2] !== 'searchFilter';
      const f = failure(JSON.stringify(mutate(root, p.steps, () => undefined)));
      const where = jsonPath(p.steps);
      if (required) expect(f, where).toEqual({ code: 'SCHEMA', path: where });
      // Dropping an optional member is fine, or breaks a cross-member rule or the lookup signature.
      else if (f !== undefined) expect(['SCHEMA', 'VERIFICATION'], where).toContain(f.code);
    }
  });

  it('rejects-wrong-json-type of every member and array element', () => {
    for (const p of [...members(root), ...elements(root)]) {
      const text = JSON.stringify(mutate(root, p.steps, wrongType));
      expect(failure(text), jsonPath(p.steps)).toEqual({ code: 'SCHEMA', path: jsonPath(p.steps) });
    }
  });

  it('rejects-duplicate-member at top level and nested', () => {
    for (const o of objects(root)) {
      const first = Object.keys(o.value as Record<string, Json>)[0];
      if (first === undefined) continue;
      expect(failure(withDuplicateMember(root, o.steps)), jsonPath(o.steps)).toEqual({ code: 'SYNTAX', path: jsonPath([...o.steps, first]) });
    }
  });

  it('rejects-bad-base64url (padding, non-canonical final character, foreign character)', () => {
    for (const p of places(root).filter(isBinary)) {
      const where = jsonPath(p.steps);
      const s = p.value as string;
      for (const bad of [`${s}=`, `${s.slice(0, -1)}+`]) {
        expect(failure(JSON.stringify(mutate(root, p.steps, () => bad))), where).toEqual({ code: 'SCHEMA', path: where });
      }
      if (s.length % 4 !== 0) {
        // Flip the lowest bit of the final character: same bytes, unused bits set.
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const last = alphabet.indexOf(s[s.length - 1] ?? 'A');
        const noncanonical = s.slice(0, -1) + alphabet[last ^ 1];
        expect(failure(JSON.stringify(mutate(root, p.steps, () => noncanonical))), where).toEqual({ code: 'SCHEMA', path: where });
      }
    }
  });

  it('rejects-lone-surrogate in a string value (escaped and raw)', () => {
    const text = m.wire.replace(/"serverSessionId":"/, '"serverSessionId":"\\ud800');
    expect(failure(text)).toEqual({ code: 'SYNTAX', path: '$.serverSessionId' });
    expect(failure(m.wire.replace(/"serverSessionId":"/, '"serverSessionId":"\udc00'))).toEqual({ code: 'SYNTAX', path: '$.serverSessionId' });
  });
});
