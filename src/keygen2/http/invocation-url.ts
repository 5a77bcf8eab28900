/**
 * The invocation URL of spec §2.2: `webpkiproxy://keygen2?init=…&url=…&cookie=…`
 * (or the same query on an `http(s)://` URL) that an issuer page hands to the
 * device's KeyGen2 client.
 */
import { validateHeaderValue } from 'node:http';
import { KeyGen2Error } from '../errors.js';

/** What an invocation URL tells the client (spec §2.2 table). */
export interface Invocation {
  /** URL the client GETs to obtain the InvocationRequest. */
  readonly initUrl: string;
  /** Transaction URL every response is POSTed to; byte for byte also the `issuerUri` (spec §2.3). */
  readonly transactionUrl: string;
  /** Sent verbatim as the `Cookie` header on the GET and every POST. */
  readonly cookie: string | undefined;
  /** Opened in the browser if the user cancels (`cncl`). */
  readonly cancelUrl: string | undefined;
  /** Accepted client version span `min-max` (`ver`), informational. */
  readonly versionSpan: string | undefined;
}

const INVOCATION_SCHEMES = new Set(['webpkiproxy:', 'http:', 'https:']);

/** The parsed http(s) URL of a parameter, or SCHEMA naming it; the caller keeps the text as given. */
function httpUrl(value: string, parameter: string): URL {
  let link: URL;
  try {
    link = new URL(value);
  } catch {
    throw new KeyGen2Error('SCHEMA', `invocation URL: "${parameter}" is not an absolute URL`, { path: parameter });
  }
  if (link.protocol !== 'http:' && link.protocol !== 'https:') {
    throw new KeyGen2Error('SCHEMA', `invocation URL: "${parameter}" must be an http or https URL`, { path: parameter });
  }
  return link;
}

/** The cookie is sent as a header as it is: anything a header cannot carry is refused here, as a usage error. */
function checkCookie(cookie: string): void {
  if (/[\r\n]/.test(cookie)) throw new KeyGen2Error('SCHEMA', 'invocation URL: "cookie" contains a line break', { path: 'cookie' });
  try {
    validateHeaderValue('Cookie', cookie);
  } catch {
    throw new KeyGen2Error('SCHEMA', 'invocation URL: "cookie" contains a character an HTTP header cannot carry', { path: 'cookie' });
  }
}

/**
 * Parses an invocation URL. `init` and `url` are required (both http or
 * https, of one origin), `cookie`, `cncl` and `ver` optional; each parameter at most once.
 * Values are returned decoded and otherwise untouched (never normalized).
 *
 * @example
 * ```ts
 * const inv = parseInvocationUrl('webpkiproxy://keygen2?init=https%3A%2F%2Fi.example%2Fkg2%3Finit%3Dtrue&url=https%3A%2F%2Fi.example%2Fkg2&cookie=JSESSIONID%3D1');
 * inv.transactionUrl; // 'https://i.example/kg2'
 * ```
 */
export function parseInvocationUrl(text: string): Invocation {
  let link: URL;
  try {
    link = new URL(text);
  } catch {
    throw new KeyGen2Error('SCHEMA', 'invocation URL: not a URL', { path: '$' });
  }
  if (!INVOCATION_SCHEMES.has(link.protocol)) {
    throw new KeyGen2Error('SCHEMA', `invocation URL: unsupported scheme "${link.protocol}"`, { path: '$' });
  }
  if (link.protocol === 'webpkiproxy:' && link.host !== 'keygen2') {
    throw new KeyGen2Error('SCHEMA', 'invocation URL: the webpkiproxy host must be "keygen2"', { path: '$' });
  }
  const one = (name: string): string | undefined => {
    const all = link.searchParams.getAll(name);
    if (all.length > 1) throw new KeyGen2Error('SCHEMA', `invocation URL: "${name}" given more than once`, { path: name });
    return all[0];
  };
  const init = one('init');
  const url = one('url');
  if (init === undefined || init === '') throw new KeyGen2Error('SCHEMA', 'invocation URL: "init" is missing', { path: 'init' });
  if (url === undefined || url === '') throw new KeyGen2Error('SCHEMA', 'invocation URL: "url" is missing', { path: 'url' });
  const cookie = one('cookie');
  if (cookie !== undefined) checkCookie(cookie);
  const cncl = one('cncl');
  // The user consents to the init URL's host (spec §2.2 step 2) and the session attestation covers
  // that connection's TLS certificate, while every response, PIN-protected key and the cookie go to
  // `url`: two origins would let a page name one issuer and enroll the device with another.
  if (httpUrl(init, 'init').origin !== httpUrl(url, 'url').origin) {
    throw new KeyGen2Error('SCHEMA', 'invocation URL: "init" and "url" must have the same origin (scheme, host and port)', { path: 'url' });
  }
  if (cncl !== undefined) httpUrl(cncl, 'cncl');
  return {
    initUrl: init,
    transactionUrl: url,
    cookie: cookie === '' ? undefined : cookie,
    cancelUrl: cncl,
    versionSpan: one('ver'),
  };
}

/** Builds an invocation URL (for issuers and tests); values are percent-encoded. */
export function buildInvocationUrl(
  invocation: { readonly initUrl: string; readonly transactionUrl: string; readonly cookie?: string | undefined; readonly cancelUrl?: string | undefined },
  scheme = 'webpkiproxy://keygen2',
): string {
  const uRLSearchParams = new URLSearchParams();
  uRLSearchParams.set('init', invocation.initUrl);
  uRLSearchParams.set('url', invocation.transactionUrl);
  if (invocation.cookie !== undefined) uRLSearchParams.set('cookie', invocation.cookie);
  if (invocation.cancelUrl !== undefined) uRLSearchParams.set('cncl', invocation.cancelUrl);
  return `${scheme}?${uRLSearchParams.toString()}`;
}
