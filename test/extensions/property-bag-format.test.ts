/**
 * The property-bag primitives of src/sks/extensions/property-bag.ts alone
 * (spec §11.2-§11.5): the format check run at addExtension, parsing, and the
 * in-place value replacement behind setProperty. Bags are built with the
 * encoder of test/support.
 */
import { describe, expect, it } from 'vitest';
import { isValidPropertyBag, parsePropertyBag, setPropertyValue, type Property } from '../../src/sks/extensions/property-bag.js';
import { SksError, type SksErrorCode } from '../../src/sks/errors.js';
import { encodePropertyBag } from '../../src/sks/extensions/property-bag.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const codeOf = (fn: () => unknown): SksErrorCode | 'no error' | 'not an SksError' => {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return error instanceof SksError ? error.code : 'not an SksError';
  }
};

/** The example bag of spec §11.2. */
const SPEC_BAG = hex('0007 436f756e746572 01 0001 30   0006 446967697473 00 0001 38');
const SPEC_ENTRIES: readonly Property[] = [
  { name: 'Counter', writable: true, value: '0' },
  { name: 'Digits', writable: false, value: '8' },
];

/** Raw bag bytes without the encoder's checks, for bags the encoder refuses to build (repeated names). */
function rawBag(entries: readonly Property[]): Buffer {
  const str = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    return Buffer.concat([len, bytes]);
  };
  return Buffer.concat(entries.flatMap((e) => [str(e.name), Buffer.of(e.writable ? 1 : 0), str(e.value)]));
}

describe('valid bags', () => {
  const bags: ReadonlyArray<{ name: string; entries: readonly Property[] }> = [
    { name: 'the example of spec §11.2', entries: SPEC_ENTRIES },
    { name: 'one read-only entry with an empty value (the smallest bag)', entries: [{ name: 'a', writable: false, value: '' }] },
    { name: 'non-ASCII names and values', entries: [{ name: 'Åäö', writable: true, value: '€ 😀' }] },
    { name: 'a 65535-byte value', entries: [{ name: 'Big', writable: true, value: 'x'.repeat(65535) }] },
    { name: 'a 255-byte name', entries: [{ name: 'n'.repeat(255), writable: false, value: 'v' }] },
    { name: 'many entries', entries: Array.from({ length: 50 }, (_, i) => ({ name: `P${i}`, writable: i % 2 === 0, value: String(i * i) })) },
  ];
  for (const buf of bags) {
    it(`${buf.name}: passes the format check and parses back`, () => {
      const data = encodePropertyBag(buf.entries);
      expect(isValidPropertyBag(data)).toBe(true);
      expect(parsePropertyBag(data)).toEqual(buf.entries);
    });
  }

  it('the test-support encoder writes the bytes of spec §11.2', () => {
    expect(encodePropertyBag(SPEC_ENTRIES).equals(SPEC_BAG)).toBe(true);
  });

  it('parses a bag that is a view into a larger buffer', () => {
    const outer = Buffer.concat([Buffer.from('garbage'), SPEC_BAG, Buffer.from('more')]);
    const view = outer.subarray(7, 7 + SPEC_BAG.length);
    expect(parsePropertyBag(view)).toEqual(SPEC_ENTRIES);
  });
});

describe('format check rules (spec §11.3)', () => {
  const valid = encodePropertyBag([{ name: 'Name', writable: true, value: 'Value' }]);
  const rules: ReadonlyArray<{ rule: string; data: Buffer }> = [
    { rule: 'rejects-the-spec-example-04-06-02-09-04', data: hex('04 06 02 09 04') },
    { rule: 'rejects-an-empty-bag', data: Buffer.alloc(0) },
    { rule: 'rejects-a-zero-length-name', data: hex('0000 01 0001 41') },
    { rule: 'rejects-writable-byte-02', data: hex('0001 41 02 0001 42') },
    { rule: 'rejects-writable-byte-ff', data: hex('0001 41 ff 0001 42') },
    { rule: 'rejects-a-missing-writable-byte', data: hex('0001 41 0001 42') },
    { rule: 'rejects-one-trailing-byte', data: Buffer.concat([valid, Buffer.of(0)]) },
    { rule: 'rejects-a-trailing-partial-entry', data: Buffer.concat([valid, hex('0001 41')]) },
    { rule: 'rejects-a-value-longer-than-the-data', data: hex('0001 41 01 0005 4242') },
    { rule: 'rejects-a-name-longer-than-the-data', data: hex('0009 4141 01 0000') },
    { rule: 'rejects-a-missing-value-length', data: hex('0002 4141 01 00') },
    { rule: 'rejects-fewer-than-five-bytes', data: hex('0001 41 01') },
  ];
  for (const result of rules) {
    it(result.rule, () => {
      expect(isValidPropertyBag(result.data)).toBe(false);
      expect(codeOf(() => parsePropertyBag(result.data))).toBe('OPTION');
    });
  }

  it('rejects-a-duplicate-name-when-parsing (the format check lets it pass, spec §11.2)', () => {
    const data = rawBag([
      { name: 'Dup', writable: true, value: '1' },
      { name: 'Dup', writable: false, value: '2' },
    ]);
    expect(isValidPropertyBag(data)).toBe(true);
    expect(codeOf(() => parsePropertyBag(data))).toBe('OPTION');
  });
});

describe('setPropertyValue (spec §11.4)', () => {
  it('sets Counter to 17 in the example bag, giving the bytes of spec §11.4', () => {
    const outcome = setPropertyValue(SPEC_BAG, 'Counter', Buffer.from('17'));
    expect(outcome.kind).toBe('updated');
    if (outcome.kind === 'updated') expect(outcome.data.equals(hex('0007436f756e74657201 0002 3137 0006446967697473 00 0001 38'))).toBe(true);
  });

  const cases: ReadonlyArray<{ name: string; set: string; value: string }> = [
    { name: 'the first entry to a longer value', set: 'P0', value: 'a much longer value than before' },
    { name: 'the last entry to an empty value', set: 'P2', value: '' },
    { name: 'a middle entry to a non-ASCII value', set: 'P1', value: 'Åäö' },
  ];
  for (const item of cases) {
    it(`sets ${item.name}; the others stay as they were`, () => {
      const entries: Property[] = [0, 1, 2].map((i) => ({ name: `P${i}`, writable: true, value: `v${i}` }));
      const outcome = setPropertyValue(encodePropertyBag(entries), item.set, Buffer.from(item.value, 'utf8'));
      expect(outcome.kind).toBe('updated');
      if (outcome.kind !== 'updated') return;
      expect(isValidPropertyBag(outcome.data)).toBe(true);
      expect(parsePropertyBag(outcome.data)).toEqual(entries.map((e) => (e.name === item.set ? { ...e, value: item.value } : e)));
    });
  }

  it('changes only the first of two entries with the same name', () => {
    const data = rawBag([
      { name: 'Dup', writable: true, value: '1' },
      { name: 'Dup', writable: true, value: '2' },
    ]);
    const outcome = setPropertyValue(data, 'Dup', Buffer.from('x'));
    expect(outcome).toEqual({
      kind: 'updated',
      data: rawBag([
        { name: 'Dup', writable: true, value: 'x' },
        { name: 'Dup', writable: true, value: '2' },
      ]),
    });
  });

  it('refuses-a-read-only-entry', () => {
    expect(setPropertyValue(SPEC_BAG, 'Digits', Buffer.from('6'))).toEqual({ kind: 'not-writable' });
  });

  it('refuses-an-unknown-name', () => {
    expect(setPropertyValue(SPEC_BAG, 'Count', Buffer.from('6'))).toEqual({ kind: 'not-found' });
  });

  it('refuses-a-name-that-differs-only-in-case', () => {
    expect(setPropertyValue(SPEC_BAG, 'counter', Buffer.from('6'))).toEqual({ kind: 'not-found' });
  });
});
