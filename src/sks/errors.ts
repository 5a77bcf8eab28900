/**
 * The one error type of the SKS layer (spec §4.1).
 *
 * Every failure carries a stable `code` from a closed set and the numeric
 * status byte of the SKS byte-stream mapping. Messages follow the reference's
 * templates (spec §13) so that a caller comparing them with openkeystore's
 * gets the same text; they never contain PINs, PUKs, keys, MACs or plaintext.
 */

/** Closed set of SKS error codes with their spec status bytes. */
export const SKS_ERROR_STATUS = {
  AUTHORIZATION: 0x01,
  NOT_ALLOWED: 0x02,
  STORAGE: 0x03,
  MAC: 0x04,
  CRYPTO: 0x05,
  NO_SESSION: 0x06,
  NO_KEY: 0x07,
  ALGORITHM: 0x08,
  OPTION: 0x09,
  INTERNAL: 0x0a,
  EXTERNAL: 0x0b,
  USER_ABORT: 0x0c,
  NOT_AVAILABLE: 0x0d,
} as const;

/** The stable code of an {@link SksError}: `switch (e.code)` narrows over exactly these. */
export type SksErrorCode = keyof typeof SKS_ERROR_STATUS;

export interface SksErrorDetails {
  /** The parameter or attribute the error is about, when there is one (spec §2.7 names). */
  readonly field?: string;
  /**
   * The failure this error stands for (an OpenSSL error, a store exception),
   * kept as the standard `Error.cause` so an `INTERNAL` or `CRYPTO` can be
   * diagnosed. It may describe the data that failed, so it is never part of
   * the message or of {@link SksError.toJSON}; the CLI prints it only under
   * `AIRTIGHT_DEBUG=1`.
   */
  readonly cause?: unknown;
}

/**
 * Every failure of the SKS layer.
 *
 * @example
 * ```ts
 * try {
 *   await sks.signData({ keyHandle, algorithm, data, authorization: pin });
 * } catch (e) {
 *   if (isSksError(e) && e.code === 'AUTHORIZATION') promptAgain();
 *   else throw e;
 * }
 * ```
 */
export class SksError extends Error {
  override readonly name = 'SksError';
  readonly code: SksErrorCode;
  readonly status: number;
  readonly field: string | undefined;

  constructor(code: SksErrorCode, message: string, details: SksErrorDetails = {}) {
    // Only a present cause becomes an own `cause` property (ES2022 semantics).
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.code = code;
    this.status = SKS_ERROR_STATUS[code];
    this.field = details.field;
  }

  /** JSON form for logs and wire mapping; contains only the code and the (secret-free) message. */
  toJSON(): { code: SksErrorCode; status: number; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, status: this.status, message: this.message }
      : { code: this.code, status: this.status, message: this.message, field: this.field };
  }
}

/** Narrows a caught value to an {@link SksError}. */
export const isSksError = (e: unknown): e is SksError => e instanceof SksError;

/** Shorthand for the default validation failure (`ERROR_OPTION`). */
export const optionError = (message: string, field?: string): SksError => new SksError('OPTION', message, field === undefined ? {} : { field });

/** The one message every MAC failure gets, whatever went wrong (spec §5.5). */
export const macError = (): SksError => new SksError('MAC', 'MAC error');

/**
 * The one `ERROR_CRYPTO` of a failed operation: a fixed message naming the
 * operation; what went wrong underneath, if known, only as the `cause`.
 */
export const cryptoFailure = (operation: string, cause?: unknown): SksError =>
  new SksError('CRYPTO', `Crypto failure: ${operation}`, cause === undefined ? {} : { cause });

/**
 * Runs a crypto-layer operation and maps any failure to `ERROR_CRYPTO` with a
 * fixed message naming the operation: OpenSSL's own text is dropped from the
 * message because it may describe the data that failed, and kept as `cause`.
 */
export function cryptoOp<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SksError) throw error;
    throw cryptoFailure(operation, error);
  }
}

/** {@link cryptoOp} for asynchronous operations (RSA key generation runs on the thread pool). */
export async function cryptoOpAsync<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof SksError) throw error;
    throw cryptoFailure(operation, error);
  }
}
