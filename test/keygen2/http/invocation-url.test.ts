/** Invocation URL parsing (spec §2.2 step 1, §2.3). */
import { describe, expect, it } from 'vitest';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import { buildInvocationUrl, parseInvocationUrl } from '../../../src/keygen2/http/invocation-url.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyGen2Error);
    return (error as KeyGen2Error).code;
  }
  throw new Error('no error');
};

describe('parseInvocationUrl', () => {
  it('reads init, url, cookie, cncl and ver from a webpkiproxy URL', () => {
    const inv = parseInvocationUrl(
      'webpkiproxy://keygen2?init=https%3A%2F%2Fissuer.example%2Fkg2%3Finit%3Dtrue&url=https%3A%2F%2Fissuer.example%2Fkg2&cookie=JSESSIONID%3D1A2B&cncl=https%3A%2F%2Fissuer.example%2Fkg2%3Fabort%3Dtrue&ver=1.40-1.99',
    );
    expect(inv).toEqual({
      initUrl: 'https://issuer.example/kg2?init=true',
      transactionUrl: 'https://issuer.example/kg2',
      cookie: 'JSESSIONID=1A2B',
      cancelUrl: 'https://issuer.example/kg2?abort=true',
      versionSpan: '1.40-1.99',
    });
  });

  it('accepts the same query on an http(s) URL', () => {
    const inv = parseInvocationUrl(
      'http://127.0.0.1:8080/start?init=http%3A%2F%2F127.0.0.1%3A8080%2Fkg2%3Finit%3Dtrue&url=http%3A%2F%2F127.0.0.1%3A8080%2Fkg2',
    );
    expect(inv.initUrl).toBe('http://127.0.0.1:8080/kg2?init=true');
    expect(inv.transactionUrl).toBe('http://127.0.0.1:8080/kg2');
    expect(inv.cookie).toBeUndefined();
  });

  it('keeps the transaction URL byte for byte (it is the issuerUri, spec §2.3)', () => {
    const url = 'HTTPS://Issuer.Example:443/KG2/';
    const inv = parseInvocationUrl(buildInvocationUrl({ initUrl: 'https://issuer.example/kg2?init=true', transactionUrl: url }));
    expect(inv.transactionUrl).toBe(url);
  });

  it('round-trips through buildInvocationUrl', () => {
    const value = { initUrl: 'http://a.example/x?init=true&y=1', transactionUrl: 'http://a.example/x', cookie: 'S=1; T=2' };
    const inv = parseInvocationUrl(buildInvocationUrl(value));
    expect([inv.initUrl, inv.transactionUrl, inv.cookie]).toEqual([value.initUrl, value.transactionUrl, value.cookie]);
  });

  it('rejects-missing-init', () => expect(code(() => parseInvocationUrl('webpkiproxy://keygen2?url=http%3A%2F%2Fa%2Fb'))).toBe('SCHEMA'));
  it('rejects-missing-url', () => expect(code(() => parseInvocationUrl('webpkiproxy://keygen2?init=http%3A%2F%2Fa%2Fb'))).toBe('SCHEMA'));
  it('rejects-wrong-host', () => expect(code(() => parseInvocationUrl('webpkiproxy://other?init=http%3A%2F%2Fa&url=http%3A%2F%2Fa'))).toBe('SCHEMA'));
  it('rejects-unknown-scheme', () => expect(code(() => parseInvocationUrl('ftp://keygen2?init=http%3A%2F%2Fa&url=http%3A%2F%2Fa'))).toBe('SCHEMA'));
  it('rejects-non-http-targets', () =>
    expect(code(() => parseInvocationUrl('webpkiproxy://keygen2?init=file%3A%2F%2F%2Fetc&url=http%3A%2F%2Fa'))).toBe('SCHEMA'));
  it('rejects-repeated-parameter', () =>
    expect(code(() => parseInvocationUrl('webpkiproxy://keygen2?init=http%3A%2F%2Fa&url=http%3A%2F%2Fa&url=http%3A%2F%2Fb'))).toBe('SCHEMA'));
  it('rejects-cookie-with-line-break', () =>
    expect(code(() => parseInvocationUrl('webpkiproxy://keygen2?init=http%3A%2F%2Fa&url=http%3A%2F%2Fa&cookie=a%0D%0AX-Evil%3A1'))).toBe('SCHEMA'));
  it('rejects-cookie-with-a-character-no-header-carries', () => {
    for (const cookie of ['%01', '%CE%A9', 'a%7Fb'])
      expect(code(() => parseInvocationUrl(`webpkiproxy://keygen2?init=http%3A%2F%2Fa&url=http%3A%2F%2Fa&cookie=${cookie}`))).toBe('SCHEMA');
    expect(parseInvocationUrl('webpkiproxy://keygen2?init=http%3A%2F%2Fa&url=http%3A%2F%2Fa&cookie=S%3D1%09%C3%A9').cookie).toBe('S=1\té');
  });
  // Consent names the init host; everything after goes to url: they must be one site.
  it('rejects-init-and-url-of-different-origins', () => {
    for (const [init, url] of [
      ['https://bank.example/kg2?init=true', 'https://evil.example/kg2'],
      ['https://bank.example/kg2?init=true', 'http://bank.example/kg2'],
      ['http://127.0.0.1:8080/kg2?init=true', 'http://127.0.0.1:8081/kg2'],
      ['http://localhost:8080/kg2?init=true', 'http://127.0.0.1:8080/kg2'],
    ]) {
      expect(code(() => parseInvocationUrl(buildInvocationUrl({ initUrl: init, transactionUrl: url })))).toBe('SCHEMA');
    }
    const inv = parseInvocationUrl(buildInvocationUrl({ initUrl: 'https://bank.example/a?init=true', transactionUrl: 'https://BANK.example:443/b' }));
    expect(inv.transactionUrl).toBe('https://BANK.example:443/b');
  });
  it('rejects-garbage', () => expect(code(() => parseInvocationUrl('not a url'))).toBe('SCHEMA'));
});
