/**
 * The one error type of the KeyGen2 layer (spec §11).
 *
 * Every failure carries a stable `code` from a closed set and, where the error
 * is about a place in a message, the JSON `path` of that place (for example
 * `$.issuedCredentials[0].mac`). Messages never contain PINs, PUKs, keys, MACs,
 * session keys or plaintext: a MAC or attestation failure always says the same.
 */

/** Closed set of KeyGen2 error codes. */
export const KEYGEN2_ERROR_CODES = [
  /** Not JSON, or JSON that RFC 8259/§4.2 forbids: duplicate members, lone surrogates, `-0`, control characters. */
  'SYNTAX',
  /** Valid JSON that does not match the message: unknown, missing or duplicated member, wrong type, value out of range or of the wrong form. */
  'SCHEMA',
  /** A well-formed message in the wrong place: wrong order, wrong qualifier, session-id or serverTime mismatch, wrong count of keys. */
  'PROTOCOL',
  /** A MAC, attestation or signature that does not verify; always the same message. */
  'VERIFICATION',
  /** Refused by policy: untrusted device, privacy mode not accepted, algorithm not allowed. */
  'POLICY',
  /** The session is over: expired, already finished, or aborted. */
  'SESSION',
  /** The transport failed: HTTP status, redirect where a message was expected, size or time limit. */
  'TRANSPORT',
  /** The user declined or cancelled. */
  'USER_ABORT',
  /** The device's SKS refused a call; `cause` is the SksError. */
  'SKS',
  /** A bug or an impossible state; `cause` says more (never printed unless debugging). */
  'INTERNAL',
] as const;

export type KeyGen2ErrorCode = (typeof KEYGEN2_ERROR_CODES)[number];

export interface KeyGen2ErrorDetails {
  /** JSON path of the offending member, `$` for the message itself. */
  readonly path?: string;
  /** The underlying error, for diagnosis only: never serialized, never in `message`. */
  readonly cause?: unknown;
}

export class KeyGen2Error extends Error {
  override readonly name = 'KeyGen2Error';
  readonly code: KeyGen2ErrorCode;
  readonly path: string | undefined;

  constructor(code: KeyGen2ErrorCode, message: string, details: KeyGen2ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.path = details.path;
  }

  /** JSON form for logs and HTTP bodies: code, message and path only (no cause). */
  toJSON(): { code: KeyGen2ErrorCode; message: string; path?: string } {
    return this.path === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, path: this.path };
  }
}

export const isKeyGen2Error = (e: unknown): e is KeyGen2Error => e instanceof KeyGen2Error;

/** A schema error at `path`. */
export const schemaError = (path: string, message: string): KeyGen2Error => new KeyGen2Error('SCHEMA', `${path}: ${message}`, { path });

/** The one message every failed MAC, attestation or signature check gets. */
export const verificationError = (path?: string): KeyGen2Error => new KeyGen2Error('VERIFICATION', 'Verification failed', path === undefined ? {} : { path });
