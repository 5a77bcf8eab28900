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
  } catch (error) {
    if (!isKeyGen2Error(error)) throw new Error(`not a KeyGen2Error: ${String(error)}`, { cause: error });
    return { code: error.code, path: error.path };
  }
}

const objects = (root: Json): Place[] => places(root).filter((p) => p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value));
const members = (root: Json): Place[] => places(root).filter((p) => typeof p.steps[p.steps.length - 1] === 'string');
const elements = (root: Json): Place[] => places(root).filter((p) => typeof p.steps[p.steps.length - 1] === 'number');

/** Members that are required wherever they appear (§6 tables, §4.7 JWKs, §6.5 JSF). */
const ALWAYS_REQUIRED = new Set([
  '@context',
  '@qualifier',
  'serverSessionId',
  'clientSessionId',
  'action',
  'serverTime',
  'sessionKeyAlgorithm',
  'sessionKeyLimit',
  'sessionLifeTime',
  'serverEphemeralKey',
  'clientTime',
  'clientEphemeralKey',
  'attestation',
  'kty',
  'crv',
  'x',
  'y',
  'n',
  'e',
  'type',
  'mimeType',
  'width',
  'height',
  'publicKey',
  'authorization',
  'lookupSpecifiers',
  'nonce',
  'signature',
  'algorithm',
  'value',
  'lookupResults',
  'matchingCredentials',
  'certificatePath',
  'keyEntryAlgorithm',
  'encryptedPuk',
  'retryLimit',
  'format',
  'mac',
  'minLength',
  'maxLength',
  'appUsage',
  'keyAlgorithm',
  'generatedKeys',
  'fingerPrint',
  'encryptedKey',
  'extensionData',
  'properties',
  'name',
  'sessionCloseData',
  'id',
]);

/** Members whose string value is base64url (§4.5); `value` only inside a JSF signature. */
const BINARY = new Set([
  'mac',
  'attestation',
  'nonce',
  'encryptedPuk',
  'encryptedPin',
  'serverSeed',
  'x',
  'y',
  'n',
  'e',
  'authorization',
  'fingerPrint',
  'encryptedKey',
  'extensionData',
  'keyParameters',
]);
const isBinary = (place: Place): boolean => {
  const name = place.steps[place.steps.length - 1];
  const parent = place.steps[place.steps.length - 2];
  if (typeof name === 'number') return parent === 'certificatePath';
  return typeof place.value === 'string' && (BINARY.has(name) || (name === 'value' && parent === 'signature'));
};

describe('recorded openkeystore messages', () => {
  it('finds recordings of every qualifier', () => {
    expect(all.length).toBeGreaterThan(0);
    expect(new Set(all.map((m) => m.qualifier))).toEqual(new Set(QUALIFIERS));
  });

  it.each(all.map((m) => [label(m), m] as const))('decodes and round-trips byte for byte: %s', (_, recordedMessage) => {
    const message = decodeMessage(recordedMessage.wire);
    expect(message.qualifier).toBe(recordedMessage.qualifier);
    expect(encodeMessage(message)).toBe(recordedMessage.wire);
  });

  it.each(all.map((m) => [label(m), m] as const))('accepts-the-expected-qualifier-only: %s', (_, recordedMessage) => {
    const other = QUALIFIERS.find((q) => q !== recordedMessage.qualifier) ?? 'InvocationRequest';
    expect(failure(recordedMessage.wire)).toBeUndefined();
    expect(() => decodeMessage(recordedMessage.wire, [other])).toThrow(expect.objectContaining({ code: 'PROTOCOL', path: "$['@qualifier']" }));
  });
});

describe.each(samples.map((m) => [label(m), m] as const))('mechanical negative tests: %s', (_, recordedMessage) => {
  const root = JSON.parse(recordedMessage.wire) as Json;

  it('rejects-unknown-member at every depth', () => {
    for (const place of objects(root)) {
      const text = JSON.stringify(mutate(root, place.steps, (v) => ({ ...(v as Record<string, Json>), xUnknown: 1 })));
      expect(failure(text), jsonPath(place.steps)).toEqual({ code: 'SCHEMA', path: jsonPath([...place.steps, 'xUnknown']) });
    }
  });

  it('rejects-missing-required-member (each member dropped)', () => {
    for (const place of members(root)) {
      const name = place.steps[place.steps.length - 1] as string;
      // Inside a search filter every member is optional (§6.5).
      const required = ALWAYS_REQUIRED.has(name) && place.steps[place.steps.length - 2] !== 'searchFilter';
      const fn = failure(JSON.stringify(mutate(root, place.steps, () => undefined)));
      const where = jsonPath(place.steps);
      if (required) expect(fn, where).toEqual({ code: 'SCHEMA', path: where });
      // Dropping an optional member is fine, or breaks a cross-member rule or the lookup signature.
      else if (fn !== undefined) expect(['SCHEMA', 'VERIFICATION'], where).toContain(fn.code);
    }
  });

  it('rejects-wrong-json-type of every member and array element', () => {
    for (const place of [...members(root), ...elements(root)]) {
      const text = JSON.stringify(mutate(root, place.steps, wrongType));
      expect(failure(text), jsonPath(place.steps)).toEqual({ code: 'SCHEMA', path: jsonPath(place.steps) });
    }
  });

  it('rejects-duplicate-member at top level and nested', () => {
    for (const place of objects(root)) {
      const first = Object.keys(place.value as Record<string, Json>).at(0);
      if (first === undefined) continue;
      expect(failure(withDuplicateMember(root, place.steps)), jsonPath(place.steps)).toEqual({ code: 'SYNTAX', path: jsonPath([...place.steps, first]) });
    }
  });

  it('rejects-bad-base64url (padding, non-canonical final character, foreign character)', () => {
    for (const place of places(root).filter(isBinary)) {
      const where = jsonPath(place.steps);
      const text = place.value as string;
      for (const bad of [`${text}=`, `${text.slice(0, -1)}+`]) {
        expect(failure(JSON.stringify(mutate(root, place.steps, () => bad))), where).toEqual({ code: 'SCHEMA', path: where });
      }
      if (text.length % 4 !== 0) {
        // Flip the lowest bit of the final character: same bytes, unused bits set.
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const last = alphabet.indexOf(text[text.length - 1] ?? 'A');
        const noncanonical = text.slice(0, -1) + alphabet[last ^ 1];
        expect(failure(JSON.stringify(mutate(root, place.steps, () => noncanonical))), where).toEqual({ code: 'SCHEMA', path: where });
      }
    }
  });

  it('rejects-lone-surrogate in a string value (escaped and raw)', () => {
    const text = recordedMessage.wire.replace(/"serverSessionId":"/, '"serverSessionId":"\\ud800');
    expect(failure(text)).toEqual({ code: 'SYNTAX', path: '$.serverSessionId' });
    expect(failure(recordedMessage.wire.replace(/"serverSessionId":"/, '"serverSessionId":"\udc00'))).toEqual({ code: 'SYNTAX', path: '$.serverSessionId' });
  });
});
