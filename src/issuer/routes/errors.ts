/**
 * The one table from error codes to HTTP status for the JSON routes (admin
 * API): IssuerError codes through ISSUER_ERROR_HTTP_STATUS, KeyGen2Error
 * codes below, fastify's own errors by their status. The body is
 * `{ error: { code, message, field? } }`; messages are secret-free by the
 * error classes' contract, and anything unexpected says only `INTERNAL`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isKeyGen2Error, type KeyGen2ErrorCode } from '../../keygen2/errors.js';
import { ISSUER_ERROR_HTTP_STATUS, isIssuerError } from '../errors.js';

export const KEYGEN2_ERROR_HTTP_STATUS: Readonly<Record<KeyGen2ErrorCode, number>> = {
  SYNTAX: 400,
  SCHEMA: 400,
  PROTOCOL: 400,
  VERIFICATION: 400,
  POLICY: 403,
  SESSION: 409,
  TRANSPORT: 502,
  USER_ABORT: 409,
  SKS: 500,
  INTERNAL: 500,
};

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

export function httpError(error: unknown): { status: number; body: ErrorBody } {
  if (isIssuerError(error)) return { status: ISSUER_ERROR_HTTP_STATUS[error.code], body: { error: error.toJSON() } };
  if (isKeyGen2Error(error)) return { status: KEYGEN2_ERROR_HTTP_STATUS[error.code], body: { error: { code: error.code, message: error.message } } };
  const fe = error as Partial<FastifyError>;
  if (fe.validation !== undefined) return { status: 400, body: { error: { code: 'BAD_REQUEST', message: fe.message ?? 'invalid request' } } };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { error: { code: fe.statusCode === 413 ? 'TOO_LARGE' : 'BAD_REQUEST', message: fe.code ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

/** fastify error handler for JSON routes. */
export function jsonErrorHandler(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = httpError(error);
  if (status >= 500)
    req.log.error(
      { code: body.error.code, err: isIssuerError(error) || isKeyGen2Error(error) ? body.error : { name: (error as Error).name } },
      'request failed',
    );
  else req.log.info({ code: body.error.code }, 'request refused');
  void reply.code(status).send(body);
}
