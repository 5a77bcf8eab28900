/** Small helpers of the issuer: base64url, errors that name a place. */
import { KeyGen2Error } from '../errors.js';
import type { Base64Url } from './config.js';

const B64U = /^[A-Za-z0-9_-]*$/;

export const b64u = (bytes: Uint8Array): Base64Url => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');

/** Decodes base64url from the configuration or the state; INTERNAL when it is not base64url. */
export function unb64u(text: Base64Url, where: string): Buffer {
  if (!B64U.test(text) || text.length % 4 === 1) throw configError(where, 'not base64url');
  return Buffer.from(text, 'base64url');
}

/** The issuer was configured with something it cannot send (a caller bug, not a peer's fault). */
export const configError = (where: string, what: string): KeyGen2Error =>
  new KeyGen2Error('INTERNAL', `Issuer configuration ${where}: ${what}`, { path: where });

/** A well-formed response in the wrong place (spec §11.1 "issuer-side protocol checks"). */
export const protocolError = (path: string, what: string): KeyGen2Error => new KeyGen2Error('PROTOCOL', what, { path });

/** `YYYY-MM-DDThh:mm:ssZ` of an instant (spec §4.6). */
export const utcText = (epochMs: number): string => `${new Date(Math.floor(epochMs / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/**
 * The session-key uses after a request that adds `more` (spec §5.8); a request that would exhaust
 * `sessionKeyLimit` is never sent (the SKS would abort the session half-way).
 */
export function chargeSessionKey(used: number, more: number, limit: number): number {
  const total = used + more;
  if (total > limit) throw configError('config.sessionKeyLimit', `this session needs at least ${total} session-key uses, the limit is ${limit}`);
  return total;
}

/** Runs an application callback; anything it throws that is not a KeyGen2Error becomes INTERNAL. */
export async function callback<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof KeyGen2Error) throw cause;
    throw new KeyGen2Error('INTERNAL', `${what} failed`, { cause });
  }
}
