/**
 * The exit statuses of `airtight` (stable: scripts may test for them; the
 * table in main.ts and the README say the same). Every command takes them
 * from here, so an SKS code maps to one status wherever it surfaces.
 */
import type { SksErrorCode } from '../sks/errors.js';

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
