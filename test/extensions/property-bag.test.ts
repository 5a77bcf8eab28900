/**
 * The one property-bag encoder and parser (spec §11.2-§11.5, KeyGen2 §6.9.4),
 * as exported to issuers through `airtight/sks/session-crypto`.
 */
import { describe, expect, it } from 'vitest';
import { SksError } from '../../src/sks/errors.js';
import { encodePropertyBag, isValidPropertyBag, parsePropertyBag, type Property } from '../../src/sks/extensions/property-bag.js';
import * as sessionCrypto from '../../src/sks/session-crypto.js';

/** The example of spec §11.2. */
const SPEC_BAG_HEX = '0007436f756e74657201000130' + '0006446967697473000001' + '38';
const SPEC_PROPERTIES: readonly Property[] = [
  { name: 'Counter', writable: true, value: '0' },
  { name: 'Digits', writable: false, value: '8' },
];

function optionErrorOf(fn: () => unknown): SksError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SksError) return error;
    throw error;
  }
  throw new TypeError('expected an SksError');
}

describe('property bags', () => {
  it('encodes-the-example-of-spec-11.2-byte-exactly', () => {
    expect(encodePropertyBag(SPEC_PROPERTIES).toString('hex')).toBe(SPEC_BAG_HEX);
  });

  it('parses-the-example-of-spec-11.2', () => {
    expect(parsePropertyBag(Buffer.from(SPEC_BAG_HEX, 'hex'))).toEqual(SPEC_PROPERTIES);
  });

  it('round-trips-utf8-names-and-values-and-empty-values', () => {
    const properties: Property[] = [
      { name: 'Grüße', writable: true, value: '' },
      { name: 'x', writable: false, value: '€'.repeat(100) },
    ];
    const bag = encodePropertyBag(properties);
    expect(isValidPropertyBag(bag)).toBe(true);
    expect(parsePropertyBag(bag)).toEqual(properties);
  });

  it('is-the-same-encoder-the-issuer-imports-from-session-crypto', () => {
    expect(sessionCrypto.encodePropertyBag).toBe(encodePropertyBag);
    expect(sessionCrypto.parsePropertyBag).toBe(parsePropertyBag);
  });

  it('refuses-to-encode-an-empty-bag (spec §11.3: the loop body runs at least once)', () => {
    expect(optionErrorOf(() => encodePropertyBag([])).code).toBe('OPTION');
  });

  it('refuses-to-encode-an-empty-name (spec §11.3 step 2)', () => {
    expect(optionErrorOf(() => encodePropertyBag([{ name: '', writable: false, value: 'v' }])).field).toBe('name');
  });

  it('refuses-to-encode-a-repeated-name (KeyGen2 §6.9.4)', () => {
    const error = optionErrorOf(() =>
      encodePropertyBag([
        { name: 'Dup', writable: true, value: 'a' },
        { name: 'Dup', writable: false, value: 'b' },
      ]),
    );
    expect([error.code, error.message]).toEqual(['OPTION', 'Duplicate property: Dup']);
  });

  it('refuses-to-encode-a-value-over-65535-bytes (a 16-bit length would wrap)', () => {
    expect(encodePropertyBag([{ name: 'v', writable: true, value: 'x'.repeat(0xffff) }]).length).toBe(2 + 1 + 1 + 2 + 0xffff);
    expect(optionErrorOf(() => encodePropertyBag([{ name: 'v', writable: true, value: 'x'.repeat(0x10000) }])).field).toBe('value');
    expect(optionErrorOf(() => encodePropertyBag([{ name: 'n'.repeat(0x10000), writable: true, value: '' }])).field).toBe('name');
  });

  it('rejects-parsing-a-malformed-bag-with-error-option (spec §11.3)', () => {
    for (const hex of ['', '0406020904', '0000000001', '0001610200', `${SPEC_BAG_HEX}00`]) {
      const err = optionErrorOf(() => parsePropertyBag(Buffer.from(hex, 'hex')));
      expect([err.code, err.message]).toEqual(['OPTION', '"propertyBag" format error']);
    }
  });

  it('rejects-parsing-a-repeated-name (spec §11.5)', () => {
    const bag = Buffer.concat([
      encodePropertyBag([{ name: 'Dup', writable: true, value: 'a' }]),
      encodePropertyBag([{ name: 'Dup', writable: false, value: 'b' }]),
    ]);
    const error = optionErrorOf(() => parsePropertyBag(bag));
    expect([error.code, error.message]).toEqual(['OPTION', 'Duplicate property: Dup']);
  });

  it('parses-a-bag-that-is-a-view-into-a-larger-buffer', () => {
    const backing = Buffer.from(`ffff${SPEC_BAG_HEX}ffff`, 'hex');
    expect(parsePropertyBag(backing.subarray(2, backing.length - 2))).toEqual(SPEC_PROPERTIES);
  });
});
