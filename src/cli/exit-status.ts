/**
 * The exit statuses of `airtight` (stable: scripts may test for them; the
 * table in main.ts and the README say the same). Every command takes them
 * from here, so an SKS code maps to one status wherever it surfaces.
 */
import type { IssuerErrorCode } from '../issuer/errors.js';
import type { KeyGen2Error, KeyGen2ErrorCode } from '../keygen2/errors.js';
import { isSksError, type SksErrorCode } from '../sks/errors.js';

export const EXIT_SUCCESS = 0;
/** Unexpected error, file-system error, or (interop) a failed check. */
export const EXIT_GENERIC = 1;
/** Unknown command or option, missing or invalid argument. */
export const EXIT_USAGE = 2;

/**
 * The exit status of each SKS error code: 3 wrong PIN/PUK, 4 not allowed,
 * 5 no such key/session, 6 storage/not available, 7 any other SKS error.
 * A `Record` over the closed code set, so a new code cannot go unmapped.
 */
export const SKS_EXIT_STATUS: Readonly<Record<SksErrorCode, number>> = {
  AUTHORIZATION: 3,
  NOT_ALLOWED: 4,
  NO_KEY: 5,
  NO_SESSION: 5,
  STORAGE: 6,
  NOT_AVAILABLE: 6,
  MAC: 7,
  CRYPTO: 7,
  ALGORITHM: 7,
  OPTION: 7,
  INTERNAL: 7,
  EXTERNAL: 7,
  USER_ABORT: 7,
};

/**
 * `enroll`: the issuer could not be reached or ended the session early
 * (connection failure, HTTP error status, a redirect to its error page where
 * a KeyGen2 message was expected, e.g. because it does not trust this device).
 */
export const EXIT_ISSUER_TRANSPORT = 8;
/**
 * `enroll`: the issuer's messages were refused (malformed, out of order,
 * failed verification, expired session, refused by policy).
 */
export const EXIT_ISSUER_PROTOCOL = 9;

/**
 * The exit status of each KeyGen2 error code (`enroll`). `SKS` stands for the
 * SksError underneath and takes that code's status (see {@link keygen2ExitStatus});
 * a user abort has the status of the SKS's USER_ABORT, as in `keys delete`.
 */
export const KEYGEN2_EXIT_STATUS: Readonly<Record<KeyGen2ErrorCode, number>> = {
  TRANSPORT: EXIT_ISSUER_TRANSPORT,
  SYNTAX: EXIT_ISSUER_PROTOCOL,
  SCHEMA: EXIT_ISSUER_PROTOCOL,
  PROTOCOL: EXIT_ISSUER_PROTOCOL,
  VERIFICATION: EXIT_ISSUER_PROTOCOL,
  POLICY: EXIT_ISSUER_PROTOCOL,
  SESSION: EXIT_ISSUER_PROTOCOL,
  USER_ABORT: SKS_EXIT_STATUS.USER_ABORT,
  SKS: SKS_EXIT_STATUS.INTERNAL,
  INTERNAL: EXIT_GENERIC,
};

/** The status of a KeyGen2 failure: an SKS refusal has the status of its SksError's code. */
export const keygen2ExitStatus = (e: KeyGen2Error): number =>
  e.code === 'SKS' && isSksError(e.cause) ? SKS_EXIT_STATUS[e.cause.code] : KEYGEN2_EXIT_STATUS[e.code];

/**
 * The exit status of each issuer error code (`issuer` verbs, `demo`): a
 * request the issuer refused as malformed is a usage error, anything else
 * the generic failure.
 */
export const ISSUER_EXIT_STATUS: Readonly<Record<IssuerErrorCode, number>> = {
  BAD_REQUEST: EXIT_USAGE,
  CONFIG: EXIT_GENERIC,
  CA: EXIT_GENERIC,
  STORAGE: EXIT_GENERIC,
  NOT_FOUND: EXIT_GENERIC,
  CONFLICT: EXIT_GENERIC,
  POLICY: EXIT_GENERIC,
  UNAUTHORIZED: EXIT_GENERIC,
  INTERNAL: EXIT_GENERIC,
};
