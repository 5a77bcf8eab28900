import { describe, expect, it } from 'vitest';
import { ISSUER_ERROR_HTTP_STATUS, IssuerError, isIssuerError, type IssuerErrorCode } from '../../../src/issuer/errors.js';

describe('IssuerError', () => {
  it('keeps its cause out of the message and of toJSON', () => {
    const cause = new Error('secret-bearing OpenSSL text');
    const issuerError = new IssuerError('CA', 'signing a certificate failed', { cause, field: 'issuingKey' });
    expect(issuerError.cause).toBe(cause);
    expect(JSON.stringify(issuerError)).toBe('{"code":"CA","message":"signing a certificate failed","field":"issuingKey"}');
    expect(issuerError.message).not.toContain('secret');
    expect(Object.hasOwn(new IssuerError('CONFIG', 'x'), 'cause')).toBe(false);
    expect(isIssuerError(issuerError)).toBe(true);
    expect(issuerError.name).toBe('IssuerError');
  });

  it('maps every code to an HTTP status', () => {
    const expected: Record<IssuerErrorCode, number> = {
      CONFIG: 500,
      CA: 500,
      STORAGE: 503,
      NOT_FOUND: 404,
      CONFLICT: 409,
      POLICY: 403,
      UNAUTHORIZED: 401,
      BAD_REQUEST: 400,
      INTERNAL: 500,
    };
    expect(ISSUER_ERROR_HTTP_STATUS).toEqual(expected);
    expect(new IssuerError('NOT_FOUND', 'no such session').httpStatus).toBe(404);
  });
});
