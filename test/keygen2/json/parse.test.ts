/** The strict JSON parser (spec §4.2): one test per rule, asserting code and path. */
import { describe, expect, it } from 'vitest';
import { isKeyGen2Error } from '../../../src/keygen2/errors.js';
import { decodeUtf8, MAX_DEPTH, parseJson } from '../../../src/keygen2/json/parse.js';
import { canonicalizeJson, serializeJson } from '../../../src/keygen2/json/serialize.js';

function syntaxPath(text: string): string | undefined {
  try {
    parseJson(text);
  } catch (error) {
    if (isKeyGen2Error(error) && error.code === 'SYNTAX') return error.path;
    throw error;
  }
  throw new Error('accepted');
}

describe('parseJson', () => {
  it('parses and re-serializes compact JSON exactly', () => {
    const text = '{"a":[1,-2,"x\\u0001\\"\\\\",true,false,null,{}],"b":{"c":[]},"é":"😀"}';
    expect(serializeJson(parseJson(text))).toBe(text);
  });

  it.each([
    ['rejects-duplicate-member at top level', '{"a":1,"b":2,"a":3}', '$.a'],
    ['rejects-duplicate-member nested', '{"a":{"b":[{"c":1,"c":1}]}}', '$.a.b[0].c'],
    ['rejects-duplicate-member with escaped spelling', '{"a":1,"\\u0061":2}', '$.a'],
    ['rejects-escaped-lone-high-surrogate', '{"a":"\\ud800"}', '$.a'],
    ['rejects-escaped-lone-low-surrogate', '{"a":"x\\udc00"}', '$.a'],
    ['rejects-reversed-surrogate-pair', '{"a":"\\udc00\\ud800"}', '$.a'],
    ['rejects-raw-lone-surrogate', '{"a":"\ud800"}', '$.a'],
    ['rejects-lone-surrogate-in-member-name', '{"\\ud800":1}', '$'],
    ['rejects-unescaped-control-character', '{"a":"x\ny"}', '$.a'],
    ['rejects-unescaped-tab', '{"a":"\t"}', '$.a'],
    ['rejects-minus-zero', '{"a":-0}', '$.a'],
    ['rejects-minus-zero-fraction', '{"a":[-0.0]}', '$.a[0]'],
    ['rejects-minus-zero-exponent', '{"a":-0e3}', '$.a'],
    ['rejects-leading-zero', '{"a":01}', '$'],
    ['rejects-plus-sign', '{"a":+1}', '$.a'],
    ['rejects-bare-fraction', '{"a":.5}', '$.a'],
    ['rejects-trailing-comma-object', '{"a":1,}', '$'],
    ['rejects-trailing-comma-array', '{"a":[1,]}', '$.a[1]'],
    ['rejects-single-quotes', "{'a':1}", '$'],
    ['rejects-bad-escape', '{"a":"\\x"}', '$.a'],
    ['rejects-short-unicode-escape', '{"a":"\\u12"}', '$.a'],
    ['rejects-unterminated-string', '{"a":"abc', '$.a'],
    ['rejects-trailing-data', '{"a":1} x', '$'],
    ['rejects-two-documents', '{}{}', '$'],
    ['rejects-empty-input', '', '$'],
    ['rejects-bad-literal', '{"a":tru}', '$.a'],
    ['rejects-NaN', '{"a":NaN}', '$.a'],
    ['rejects-comment', '{"a":1 /* c */}', '$'],
  ])('%s', (_, text, path) => {
    expect(syntaxPath(text)).toBe(path);
  });

  it('accepts an escaped surrogate pair and an escaped solidus', () => {
    const jsonValue = parseJson('{"a":"\\ud83d\\ude00\\/"}');
    expect(jsonValue.kind === 'object' && jsonValue.members.get('a')).toEqual({ kind: 'string', value: '😀/' });
  });

  it('keeps numbers as text (1.0, 1e0 are not the integer 1)', () => {
    const jsonValue = parseJson('[1.0,1e0,10]');
    expect(jsonValue).toEqual({ kind: 'array', items: ['1.0', '1e0', '10'].map((text) => ({ kind: 'number', text })) });
  });

  it('rejects-deep-nesting without exhausting the stack', () => {
    expect(syntaxPath('['.repeat(MAX_DEPTH + 2) + ']'.repeat(MAX_DEPTH + 2))).toMatch(/^\$/);
    expect(syntaxPath('['.repeat(100000))).toMatch(/^\$/);
  });

  it('never throws anything but KeyGen2Error on random input', () => {
    const alphabet = '{}[]",:\\u0123456789abcdeftrnlsE.-+ \n\ud800\udc00';
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 3000; i++) {
      const len = rnd(40);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[rnd(alphabet.length)];
      try {
        parseJson(text);
      } catch (error) {
        expect(isKeyGen2Error(error)).toBe(true);
      }
    }
  });

  it('decodeUtf8 rejects-invalid-utf8 and a byte-order mark', () => {
    expect(decodeUtf8(new Uint8Array([0x7b, 0x7d]))).toBe('{}');
    expect(() => decodeUtf8(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))).toThrow(expect.objectContaining({ code: 'SYNTAX' }));
    expect(() => decodeUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toThrow(expect.objectContaining({ code: 'SYNTAX' }));
    expect(() => decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).toThrow(expect.objectContaining({ code: 'SYNTAX' }));
  });
});

describe('canonicalizeJson (RFC 8785)', () => {
  it('sorts members by UTF-16 code units and writes numbers in ECMAScript form', () => {
    // RFC 8785 §3.2.3 ordering example (subset) and number forms.
    const text = '{"\\u20ac":"Euro","\\r":"cr","1":"one","\\ud83d\\ude00":"smiley","\\u00f6":"o","b":[1e2,10,0.5]}';
    expect(canonicalizeJson(parseJson(text))).toBe('{"\\r":"cr","1":"one","b":[100,10,0.5],"ö":"o","€":"Euro","😀":"smiley"}');
  });
});
