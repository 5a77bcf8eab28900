/** base64url (§4.5), date-times (§4.6), IDs (§4.3) and URIs (§4.4). */
import { describe, expect, it } from 'vitest';
import { decodeBase64Url, encodeBase64Url } from '../../../src/keygen2/json/base64url.js';
import { epochSeconds, offsetDateTime, parseDateTime, utcDateTime } from '../../../src/keygen2/json/date-time.js';
import { isAbsoluteUri, isId } from '../../../src/keygen2/json/id.js';

const schemaAt = (path: string): unknown => expect.objectContaining({ code: 'SCHEMA', path });

describe('base64url', () => {
  it('round-trips every length 0..40', () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
      expect(decodeBase64Url(encodeBase64Url(bytes), '$.x')).toEqual(bytes);
    }
  });
  it.each([
    ['rejects-padding', 'AQI='],
    ['rejects-non-canonical-final-character', 'AQJ'],
    ['rejects-non-canonical-final-character (2 bytes)', 'AQID_x'],
    ['rejects-standard-alphabet', 'ab+/'],
    ['rejects-length-1-mod-4', 'AQIDB'],
    ['rejects-whitespace', 'AQ ID'],
    ['rejects-line-break', 'AQID\nAQID'],
  ])('%s', (_, text) => {
    expect(() => decodeBase64Url(text, '$.x')).toThrow(schemaAt('$.x'));
  });
  it('accepts a final character exactly when re-encoding gives the same text, for every final character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const head of ['A', '_', 'AQ', 'z9', 'AQIDz', 'AQID-_']) {
      for (const last of alphabet) {
        const text = head + last;
        const canonical = Buffer.from(text, 'base64url').toString('base64url') === text;
        if (canonical) expect(encodeBase64Url(decodeBase64Url(text, '$.x'))).toBe(text);
        else expect(() => decodeBase64Url(text, '$.x'), text).toThrow(schemaAt('$.x'));
      }
    }
  });
});

describe('date-time', () => {
  it('keeps the text and the instant of a UTC date-time', () => {
    const dateTime = parseDateTime('2026-11-27T16:57:55Z', 'utc', '$.t');
    expect(dateTime).toEqual({ epochMs: Date.parse('2026-11-27T16:57:55Z'), offsetMinutes: 0, text: '2026-11-27T16:57:55Z' });
    expect(utcDateTime(dateTime.epochMs + 999).text).toBe('2026-11-27T16:57:55Z');
  });
  it('keeps the offset of clientTime and gives the attested seconds (§14: 1795798675)', () => {
    const dateTime = parseDateTime('2026-11-27T17:57:55+01:00', 'offset', '$.t');
    expect(dateTime.offsetMinutes).toBe(60);
    expect(epochSeconds(dateTime)).toBe(1795798675);
    expect(offsetDateTime(dateTime.epochMs, 60).text).toBe('2026-11-27T17:57:55+01:00');
    expect(offsetDateTime(dateTime.epochMs, 0).text).toBe('2026-11-27T16:57:55+00:00');
    expect(offsetDateTime(dateTime.epochMs, -330).text).toBe('2026-11-27T11:27:55-05:30');
  });
  it.each([
    ['rejects-offset-in-utc-form', '2026-11-27T16:57:55+00:00', 'utc'],
    ['rejects-fraction-in-utc-form', '2026-11-27T16:57:55.1Z', 'utc'],
    ['rejects-Z-in-clientTime (quirk 7)', '2026-11-27T16:57:55Z', 'offset'],
    ['rejects-fraction-in-clientTime', '2026-11-27T16:57:55.000+01:00', 'offset'],
    ['rejects-month-13', '2026-13-27T16:57:55Z', 'utc'],
    ['rejects-february-30', '2026-02-30T16:57:55Z', 'utc'],
    ['rejects-hour-24', '2026-11-27T24:00:00Z', 'utc'],
    ['rejects-second-60', '2026-11-27T16:57:60Z', 'utc'],
    ['rejects-offset-minutes-60', '2026-11-27T16:57:55+01:60', 'offset'],
    ['rejects-lower-case-t', '2026-11-27t16:57:55Z', 'utc'],
    ['rejects-date-only', '2026-11-27', 'utc'],
  ] as const)('%s', (_, text, form) => {
    expect(() => parseDateTime(text, form, '$.t')).toThrow(schemaAt('$.t'));
  });
  it('accepts 29 February in a leap year', () => {
    expect(parseDateTime('2028-02-29T00:00:00Z', 'utc', '$').epochMs).toBe(Date.parse('2028-02-29T00:00:00Z'));
  });
});

describe('IDs and URIs', () => {
  it('ID: 1-32 characters from ! to ~', () => {
    expect(isId('1a21df068afJTEWS06vlfT6hg6l4cnD8')).toBe(true);
    expect(isId('!~')).toBe(true);
    expect(isId('')).toBe(false);
    expect(isId('x'.repeat(33))).toBe(false);
    expect(isId('a b')).toBe(false);
    expect(isId('é')).toBe(false);
  });
  it('URI: absolute only', () => {
    expect(isAbsoluteUri('https://webpki.github.io/sks/algorithm#rsa2048')).toBe(true);
    expect(isAbsoluteUri('urn:x')).toBe(true);
    expect(isAbsoluteUri('/relative')).toBe(false);
    expect(isAbsoluteUri('noscheme')).toBe(false);
    expect(isAbsoluteUri('http:')).toBe(false);
    expect(isAbsoluteUri('http://a b')).toBe(false);
    expect(isAbsoluteUri('http://a#b#c')).toBe(false);
    expect(isAbsoluteUri('http://a/%zz')).toBe(false);
  });
});
