/**
 * Why a KeyGen2 session was refused, as a closed set of slugs: the error
 * page's `reason` parameter and the session's recorded failure reason. The
 * page shows the fixed text of the slug (never text from the request, and
 * never secret material).
 */
import { isKeyGen2Error } from '../../keygen2/errors.js';
import { isIssuerError } from '../errors.js';

export const REFUSAL_TEXT = {
  'invalid-invocation': 'This enrollment link is not valid.',
  'invocation-used': 'This enrollment link has already been used. Ask for a new one.',
  'invocation-expired': 'This enrollment link has expired. Ask for a new one.',
  'untrusted-device': 'Your device was not accepted: its device certificate does not chain to a manufacturer this issuer trusts.',
  'privacy-not-allowed': 'This issuer does not accept privacy-enabled (anonymous) devices.',
  'algorithm-not-allowed': 'The key your device generated uses an algorithm this issuer does not certify.',
  'session-expired': 'The enrollment session expired. Start again with a new link.',
  'session-ended': 'This enrollment session has already ended.',
  'out-of-order': 'The device sent a message out of order.',
  'verification-failed': 'A signature or MAC from your device did not verify.',
  'protocol-error': 'Your device sent a message this issuer could not accept.',
  'bad-request': 'The request was malformed.',
  'internal-error': 'The issuer failed to complete the enrollment. Nothing was issued.',
} as const;

export type RefusalReason = keyof typeof REFUSAL_TEXT;

export const isRefusalReason = (s: string): s is RefusalReason => Object.hasOwn(REFUSAL_TEXT, s);

/**
 * The issuer-layer error behind a failed step: the state machine wraps what its callbacks
 * (certify, planManagement) throw in an INTERNAL KeyGen2Error and keeps it as the cause.
 */
export function issuerCause(error: unknown): unknown {
  return isKeyGen2Error(error) && error.code === 'INTERNAL' && isIssuerError(error.cause) ? error.cause : error;
}

/** The refusal reason of a failed step. */
export function reasonOf(failure: unknown): RefusalReason {
  const cause = issuerCause(failure);
  if (isIssuerError(cause)) {
    if (cause.code === 'POLICY' && cause.field === 'keyAlgorithm') return 'algorithm-not-allowed';
    if (cause.code === 'POLICY') return 'untrusted-device';
    return 'internal-error';
  }
  if (isKeyGen2Error(cause)) {
    if (cause.message.includes('privacy mode is not allowed')) return 'privacy-not-allowed';
    switch (cause.code) {
      case 'POLICY':
        return /privacy/i.test(cause.message) ? 'privacy-not-allowed' : 'untrusted-device';
      case 'SESSION':
        return /expired/i.test(cause.message) ? 'session-expired' : 'session-ended';
      case 'VERIFICATION':
        return 'verification-failed';
      case 'SYNTAX':
      case 'SCHEMA':
      case 'PROTOCOL':
        return 'protocol-error';
      default:
        return 'internal-error';
    }
  }
  return 'internal-error';
}
