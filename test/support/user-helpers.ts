/**
 * Helpers for the user-API, PIN/PUK and extension scenarios (spec §8, §10,
 * §11, §15.2): one-key provisioning, raw user-API calls, protection-info
 * probes and an independent model of the grouping rule (spec §8.3 step 5).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { expect } from 'vitest';
import type { KeyHandle, SecureKeyStore } from '../../src/sks/api.js';
import { AppUsage, PinGrouping, ProtectionStatus } from '../../src/sks/constants.js';
import { SksError } from '../../src/sks/errors.js';
import { expectSksError, type StoreContext } from './fixtures.js';
import type { CertificateOptions, IssuerOptions, IssuerSession, KeyEntryOptions, PinBytes, PinPolicyOptions, ProvisionedKey } from './issuer-emulator.js';

/** ASCII (or raw) bytes of a PIN/PUK. */
export const bytes = (v: PinBytes): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

/** The one `ERROR_AUTHORIZATION` message (spec §8.6). */
export const authorizationMessage = (h: KeyHandle): string => `"authorization" error for key #${h}`;

export async function expectAuthorizationError(promise: Promise<unknown>, handle: KeyHandle): Promise<void> {
  await expectSksError(promise, 'AUTHORIZATION', authorizationMessage(handle));
}

export interface PukSpec {
  readonly id?: string;
  readonly value: PinBytes;
  readonly format?: number;
  readonly retryLimit?: number;
}

export interface SingleKeyOptions {
  readonly issuer?: IssuerOptions;
  /** A PUK policy for the PIN policy (requires `pinPolicy`). */
  readonly puk?: PukSpec;
  /** A PIN policy for the key; `key.userPin`/`key.presetPin` carries the PIN. */
  readonly pinPolicy?: PinPolicyOptions;
  readonly key?: KeyEntryOptions;
  readonly certificate?: CertificateOptions;
  /** importSymmetricKey with these bytes after the certificate. */
  readonly symmetricKey?: Uint8Array;
  /** importPrivateKey with this key after the certificate. */
  readonly privateKey?: KeyObject;
  /** Leave the session open (default: close it). */
  readonly keepOpen?: boolean;
}

export interface SingleKey {
  readonly session: IssuerSession;
  readonly key: ProvisionedKey;
  readonly handle: KeyHandle;
}

/**
 * One session holding one key (optionally with PIN/PUK policies, an import),
 * closed unless `keepOpen`.
 */
export async function provisionSingleKey(ctx: StoreContext, options: SingleKeyOptions = {}): Promise<SingleKey> {
  const session = await ctx.issuer(options.issuer ?? {});
  const puk =
    options.puk === undefined
      ? undefined
      : await session.createPukPolicy(options.puk.id ?? 'PUK', options.puk.value, options.puk.format, options.puk.retryLimit);
  const pinPolicy =
    options.pinPolicy === undefined ? undefined : await session.createPinPolicy({ ...(puk === undefined ? {} : { pukPolicy: puk }), ...options.pinPolicy });
  const key = await session.provisionKey({ ...(pinPolicy === undefined ? {} : { pinPolicy }), ...options.key }, options.certificate ?? {});
  if (options.symmetricKey !== undefined) await session.importSymmetricKey(key, options.symmetricKey);
  if (options.privateKey !== undefined) await session.importPrivateKey(key, options.privateKey);
  if (options.keepOpen !== true) await session.closeSession();
  return { session, key, handle: key.keyHandle };
}

/** signData with `pin` (absent when undefined) over `data`. */
export function sign(
  sks: SecureKeyStore,
  handle: KeyHandle,
  algorithm: string,
  pin?: PinBytes,
  data: Uint8Array = Buffer.from('Some data to sign'),
): Promise<Uint8Array> {
  return sks.signData({ keyHandle: handle, algorithm, authorization: pin === undefined ? undefined : bytes(pin), data });
}

export async function protection(
  sks: SecureKeyStore,
  handle: KeyHandle,
): Promise<{ pinErrorCount: number; pukErrorCount: number; pinBlocked: boolean; pukBlocked: boolean }> {
  const info = await sks.getKeyProtectionInfo(handle);
  return {
    pinErrorCount: info.pinErrorCount,
    pukErrorCount: info.pukErrorCount,
    pinBlocked: (info.protectionStatus & ProtectionStatus.PIN_BLOCKED) !== 0,
    pukBlocked: (info.protectionStatus & ProtectionStatus.PUK_BLOCKED) !== 0,
  };
}

/** Checks that a PKCS#8 export is the private half of `publicKey` (the certified key). */
export function expectPrivateKeyOf(pkcs8: Uint8Array, publicKey: KeyObject): void {
  const priv = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  expect(createPublicKey(priv).export({ type: 'spki', format: 'der' })).toEqual(publicKey.export({ type: 'spki', format: 'der' }));
}

// ------------------------------------------------------------- grouping model

/** A key already holding a PIN under the policy being checked. */
export interface GroupMember {
  readonly appUsage: number;
  readonly pin: string;
}

/**
 * Independent model of spec §8.3 step 5 (non-forced mode, at createKeyEntry):
 * the message the new key's PIN is rejected with, or undefined.
 */
export function groupingViolation(grouping: number, existing: readonly GroupMember[], appUsage: number, pin: string): string | undefined {
  const sig = (u: number): boolean => u === AppUsage.SIGNATURE;
  for (const groupMember of existing) {
    const equal = groupMember.pin === pin;
    switch (grouping) {
      case PinGrouping.SHARED:
        if (!equal) return 'Grouping = "shared" requires identical PINs';
        break;
      case PinGrouping.UNIQUE:
        if (equal !== (appUsage === groupMember.appUsage)) return 'Grouping = "unique" PIN error';
        break;
      case PinGrouping.SIGN_PLUS_STD:
        if (equal !== (sig(appUsage) === sig(groupMember.appUsage))) return 'Grouping = "signature+standard" PIN error';
        break;
      default:
        break;
    }
  }
  return undefined;
}

/** Keys of a §8.5 synchronized group: which of `keys` share `keys[index]`'s PIN updates. */
export function groupMembers(grouping: number, usages: readonly number[], index: number): number[] {
  const me = usages[index];
  const sig = (u: number | undefined): boolean => u === AppUsage.SIGNATURE;
  return usages.flatMap((value, indexValue) => {
    switch (grouping) {
      case PinGrouping.SHARED:
        return [indexValue];
      case PinGrouping.SIGN_PLUS_STD:
        return sig(value) === sig(me) ? [indexValue] : [];
      case PinGrouping.UNIQUE:
        return value === me ? [indexValue] : [];
      default:
        return indexValue === index ? [indexValue] : [];
    }
  });
}

// ------------------------------------------------------------ algorithm URIs

const XMLENC = 'http://www.w3.org/2001/04/xmlenc#';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const DSIG_MORE = 'http://www.w3.org/2001/04/xmldsig-more#';
const SKS = 'https://webpki.github.io/sks/algorithm#';

/** URIs of spec §9.2 beyond fixtures' `Alg`, plus ones the reference does not support. */
export const Uri = {
  AES128_CBC: `${XMLENC}aes128-cbc`,
  AES192_CBC: `${XMLENC}aes192-cbc`,
  AES256_CBC: `${XMLENC}aes256-cbc`,
  AES_ECB_NOPAD: `${SKS}aes.ecb.nopad`,
  AES_CBC: `${SKS}aes.cbc`,
  HMAC_SHA1: `${DSIG}hmac-sha1`,
  HMAC_SHA256: `${DSIG_MORE}hmac-sha256`,
  HMAC_SHA384: `${DSIG_MORE}hmac-sha384`,
  HMAC_SHA512: `${DSIG_MORE}hmac-sha512`,
  RSA_ES_PKCS1_5: `${SKS}rsa.es.pkcs1_5`,
  RSA_OAEP_SHA1: `${SKS}rsa.oaep.sha1`,
  RSA_OAEP_SHA256: `${SKS}rsa.oaep.sha256`,
  ECDH_RAW: `${SKS}ecdh.raw`,
  RSA_SHA256: `${DSIG_MORE}rsa-sha256`,
  RSA_SHA384: `${DSIG_MORE}rsa-sha384`,
  RSA_SHA512: `${DSIG_MORE}rsa-sha512`,
  ECDSA_SHA256: `${DSIG_MORE}ecdsa-sha256`,
  ECDSA_SHA384: `${DSIG_MORE}ecdsa-sha384`,
  ECDSA_SHA512: `${DSIG_MORE}ecdsa-sha512`,
  ED25519: `${SKS}ed25519`,
  NONE: `${SKS}none`,
  // Not supported by the reference (spec §9.2 notes): `Unsupported algorithm: <uri>`.
  RSA_SHA1: `${DSIG}rsa-sha1`,
  RSA_PSS_SHA256: 'http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1',
  RSA_PSS_SHA384: 'http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1',
  RSA_PSS_SHA512: 'http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1',
  ED448: `${SKS}ed448`,
  KW_AES128: `${XMLENC}kw-aes128`,
  KW_AES256: `${XMLENC}kw-aes256`,
  AES_ECB_PADDED: `${SKS}aes.ecb`,
  AES_CBC_NOPAD: `${SKS}aes.cbc.nopad`,
} as const;

/** Awaits `promise`, which must reject with an `SksError`, and returns that error. */
export async function catchSksError(promise: Promise<unknown>): Promise<SksError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SksError);
    return error as SksError;
  }
  throw new Error('expected an SksError, the call succeeded');
}
