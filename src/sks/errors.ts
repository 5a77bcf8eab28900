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

export type SksErrorCode = keyof typeof SKS_ERROR_STATUS;

export interface SksErrorDetails {
  /** The parameter or attribute the error is about, when there is one (spec §2.7 names). */
  readonly field?: string;
}

export class SksError extends Error {
  override readonly name = 'SksError';
  readonly code: SksErrorCode;
  readonly status: number;
  readonly field: string | undefined;

  constructor(code: SksErrorCode, message: string, details: SksErrorDetails = {}) {
    super(message);
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

export const isSksError = (e: unknown): e is SksError => e instanceof SksError;

/** Shorthand for the default validation failure (`ERROR_OPTION`). */
export const optionError = (message: string, field?: string): SksError =>
  new SksError('OPTION', message, field === undefined ? {} : { field });

/** The one message every MAC failure gets, whatever went wrong (spec §5.5). */
export const macError = (): SksError => new SksError('MAC', 'MAC error');

/**
 * Runs a crypto-layer operation and maps any failure to `ERROR_CRYPTO` with a
 * fixed message naming the operation: OpenSSL's own text is dropped because it
 * may describe the data that failed.
 */
export function cryptoOp<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SksError) throw e;
    throw new SksError('CRYPTO', `Crypto failure: ${operation}`);
  }
}

export async function cryptoOpAsync<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof SksError) throw e;
    throw new SksError('CRYPTO', `Crypto failure: ${operation}`);
  }
}
