/**
 * The one error type of the issuer layer (database, CA, policy, routes).
 *
 * Every failure carries a stable `code` from a closed set; the HTTP layer maps
 * codes to statuses in one table ({@link ISSUER_ERROR_HTTP_STATUS}). Messages
 * name what failed (a file path, a field, a table) and never contain keys,
 * passwords, tokens or database URLs with credentials.
 */

/** Closed set of issuer error codes, each with the HTTP status the routes answer with. */
export const ISSUER_ERROR_HTTP_STATUS = {
  /** Configuration is missing or invalid (startup). */
  CONFIG: 500,
  /** The certificate authority cannot act: bad or missing CA material, wrong CA key, signing failed. */
  CA: 500,
  /** The database or file storage failed. */
  STORAGE: 503,
  /** The requested record does not exist. */
  NOT_FOUND: 404,
  /** The request conflicts with recorded state (duplicate, wrong state, already issued). */
  CONFLICT: 409,
  /** The request is well formed but policy refuses it (template, attestation, device root). */
  POLICY: 403,
  /** Missing or wrong credentials. */
  UNAUTHORIZED: 401,
  /** The request is malformed. */
  BAD_REQUEST: 400,
  /** A bug or an unexpected state. */
  INTERNAL: 500,
} as const;

/** The stable code of an {@link IssuerError}: `switch (e.code)` narrows over exactly these. */
export type IssuerErrorCode = keyof typeof ISSUER_ERROR_HTTP_STATUS;

export interface IssuerErrorDetails {
  /** The field, parameter, file or table the error is about, when there is one. */
  readonly field?: string;
  /**
   * The failure this error stands for (an OpenSSL or driver error). It may
   * describe the data that failed, so it is kept as the standard `Error.cause`
   * and never becomes part of the message or of {@link IssuerError.toJSON}.
   */
  readonly cause?: unknown;
}

/**
 * Every failure of the issuer layer.
 *
 * @example
 * ```ts
 * try {
 *   await ca.load();
 * } catch (e) {
 *   if (isIssuerError(e) && e.code === 'CA') console.error(e.message); // e.g. wrong issuer key
 *   throw e;
 * }
 * ```
 */
export class IssuerError extends Error {
  override readonly name = 'IssuerError';
  readonly code: IssuerErrorCode;
  readonly field: string | undefined;

  constructor(code: IssuerErrorCode, message: string, details: IssuerErrorDetails = {}) {
    // Only a present cause becomes an own `cause` property (ES2022 semantics).
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.code = code;
    this.field = details.field;
  }

  /** The HTTP status the routes answer this error with. */
  get httpStatus(): number {
    return ISSUER_ERROR_HTTP_STATUS[this.code];
  }

  /** JSON form for logs and HTTP bodies: code, secret-free message and field; never the cause. */
  toJSON(): { code: IssuerErrorCode; message: string; field?: string } {
    return this.field === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, field: this.field };
  }
}

/** Narrows a caught value to an {@link IssuerError}. */
export const isIssuerError = (e: unknown): e is IssuerError => e instanceof IssuerError;
