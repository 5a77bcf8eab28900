/**
 * End-entity issuance, the hot path, in two steps shaped for a crash-safe
 * issuer:
 *
 * 1. {@link CertificateIssuer.plan} fixes everything the certificate will say
 *    (serial, validity, subject, key, usages) as a plain JSON value. The
 *    caller records it durably with the session and key it belongs to
 *    *before* anything is signed.
 * 2. {@link CertificateIssuer.sign} turns a plan into a certificate. It reads
 *    no clock and no randomness of its own, so after a crash the recorded plan
 *    re-produces the same TBSCertificate byte for byte: the same serial for
 *    the same key, never a second serial. The signature itself is ECDSA's
 *    randomized one (node exposes no RFC 6979 mode), so two runs give two
 *    different signature values over the same TBS; both are the same
 *    certificate in every field that matters, and the database keeps the
 *    first one it stored.
 *
 * The TBSCertificate is assembled from parts fixed per CA (version, signature
 * AlgorithmIdentifier, issuer Name, AuthorityKeyIdentifier, BasicConstraints)
 * and per usage (KeyUsage, EKU) precomputed here, plus the few per-request
 * fields, so issuing costs little more than the signature
 * (bench/issuer-ca.ts).
 */
import { IssuerError } from '../errors.js';
import { CA_ALGORITHMS, type CaAlgorithm } from './algorithms.js';
import { encodeTbs, readCaCertificate, signTbs, signTbsAsync } from './certificate.js';
import type { CaKeyPair } from './create.js';
import { pem } from './der.js';
import {
  EMAIL,
  KEY_USAGE_BITS,
  authorityKeyIdentifier,
  basicConstraints,
  extendedKeyUsage,
  keyUsage,
  subjectAltNameEmails,
  subjectKeyIdentifier,
  type KeyUsageName,
} from './extensions.js';
import { DN_ATTRIBUTE_TYPES, encodeName, type DnAttribute } from './name.js';
import { checkProfile, deriveUsage, type CertificateProfile, type SubjectUser } from './profile.js';
import { pooledRandomBytes, randomSerial, type RandomSource } from './serial.js';
import { parseSubjectKey, type SubjectKey } from './subject-key.js';

/** What the issuer asks a certificate for. */
export interface IssuanceRequest {
  /** The certificate profile of the key's template. */
  readonly profile: CertificateProfile;
  /** The user-specific part of the subject. */
  readonly user: SubjectUser;
  /** The attested key's SubjectPublicKeyInfo, DER. */
  readonly subjectPublicKey: Uint8Array;
}

/**
 * Everything a certificate will say, fixed before signing: a plain JSON
 * value for the issuer's database (store it as text; read it back with
 * {@link decodeIssuancePlan}).
 */
export interface IssuancePlan {
  readonly version: 1;
  /** Hex SubjectKeyIdentifier of the issuing CA the plan was made under; {@link CertificateIssuer.sign} refuses others. */
  readonly issuerKeyId: string;
  /** The serial number, 32 lowercase hex digits (16 octets, positive, first octet non-zero). */
  readonly serial: string;
  /** RFC 3339 UTC, whole seconds, e.g. `2026-12-01T10:00:00Z`. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** The full subject, most significant attribute first. */
  readonly subject: readonly DnAttribute[];
  /** The SubjectPublicKeyInfo, base64url. */
  readonly subjectPublicKey: string;
  readonly keyUsage: readonly KeyUsageName[];
  /** Extended key usage OIDs; empty means no EKU extension. */
  readonly extendedKeyUsage: readonly string[];
  /** SubjectAltName rfc822Names; empty means no SAN extension. */
  readonly emails: readonly string[];
}

/** A signed certificate. */
export interface IssuedCertificate {
  /** The serial number, as in the plan (hex). */
  readonly serial: string;
  readonly der: Buffer;
  readonly pem: string;
  /** The TBSCertificate that was signed (equal for equal plans). */
  readonly tbs: Buffer;
}

export interface CertificateIssuerOptions {
  /** Default `() => new Date()`. */
  readonly clock?: () => Date;
  /** Default `crypto.randomBytes` (drawn through a pool). */
  readonly random?: RandomSource;
}

const DAY = 86_400_000;
const EE_BASIC_CONSTRAINTS = basicConstraints(false);

/**
 * Issues end-entity certificates under one issuing CA.
 *
 * @example
 * ```ts
 * const issuer = new CertificateIssuer(ca.issuing);
 * const plan = issuer.plan({ profile, user: { commonName: 'Alice', email: 'alice@example.com' }, subjectPublicKey: spki });
 * await db.recordIssuance(sessionId, keyId, plan.serial, JSON.stringify(plan)); // durable first
 * const cert = issuer.sign(plan); // after a crash: issuer.sign(decodeIssuancePlan(JSON.parse(stored)))
 * ```
 */
export class CertificateIssuer {
  readonly #ca: CaKeyPair;
  readonly #algorithm: CaAlgorithm;
  readonly #issuerName: Buffer;
  readonly #aki: Buffer;
  readonly #keyId: string;
  readonly #caNotAfter: number;
  readonly #clock: () => Date;
  readonly #random: RandomSource;
  /** KeyUsage / EKU extensions by their plan values: a handful of distinct ones, encoded once each. */
  readonly #extensionCache = new Map<string, Buffer>();
  /**
   * Keys checked by plan(), by their base64url SPKI, so the sign() that
   * follows does not redo the on-curve check and SHA-1. Bounded; a miss just
   * re-parses.
   */
  readonly #keyCache = new Map<string, SubjectKey>();

  constructor(issuing: CaKeyPair, options: CertificateIssuerOptions = {}) {
    const info = readCaCertificate(issuing.certificate, 'issuing CA certificate');
    this.#ca = issuing;
    this.#algorithm = CA_ALGORITHMS[issuing.keyType];
    this.#issuerName = info.subject;
    this.#aki = authorityKeyIdentifier(info.keyIdentifier);
    this.#keyId = info.keyIdentifier.toString('hex');
    this.#caNotAfter = info.notAfter.getTime();
    this.#clock = options.clock ?? (() => new Date());
    this.#random = options.random ?? pooledRandomBytes;
  }

  /** The issuing CA's certificate, DER (clients want it with their own). */
  get caCertificate(): Buffer {
    return this.#ca.certificate;
  }

  /**
   * Fixes a certificate's contents: draws a fresh serial, reads the clock,
   * derives usages from the profile and the key. Validates the key and the
   * subject (`BAD_REQUEST`), the profile (`CONFIG`), the usage for the key
   * (`POLICY`), and refuses when the issuing CA has expired (`CA`).
   */
  plan(request: IssuanceRequest): IssuancePlan {
    const { profile, user } = request;
    checkProfile(profile);
    const key = parseSubjectKey(request.subjectPublicKey);
    this.#rememberKey(key);
    const usage = deriveUsage(profile.appUsage, key.kind);
    const email = user.email;
    if (email !== undefined && !EMAIL.test(email)) {
      throw new IssuerError('BAD_REQUEST', 'user.email is not an ASCII e-mail address', { field: 'user.email' });
    }
    const placement = profile.email ?? 'san';
    const subject: DnAttribute[] = [...profile.subject];
    if (user.commonName !== undefined) subject.push({ type: 'CN', value: user.commonName });
    if (email !== undefined && (placement === 'subject' || placement === 'both')) subject.push({ type: 'E', value: email });
    subject.push(...(user.attributes ?? []));
    if (subject.length === 0) throw new IssuerError('BAD_REQUEST', 'the subject is empty', { field: 'subject' });
    encodeName(subject); // validates now, so a plan on record always signs

    const now = Math.floor(this.#clock().getTime() / 1000) * 1000;
    if (now >= this.#caNotAfter) throw new IssuerError('CA', 'the issuing CA has expired');
    const notBefore = now - (profile.backdateSeconds ?? 0) * 1000;
    // Never beyond the issuing CA: a certificate outliving its issuer fails path validation.
    const notAfter = Math.min(now + profile.validityDays * DAY, this.#caNotAfter);
    return {
      version: 1,
      issuerKeyId: this.#keyId,
      serial: randomSerial(this.#random).toString('hex'),
      notBefore: rfc3339(notBefore),
      notAfter: rfc3339(notAfter),
      subject,
      subjectPublicKey: key.spki.toString('base64url'),
      keyUsage: usage.keyUsage,
      extendedKeyUsage: [...usage.extendedKeyUsage, ...(profile.extraExtendedKeyUsage ?? [])],
      emails: email !== undefined && (placement === 'san' || placement === 'both') ? [email] : [],
    };
  }

  /** The TBSCertificate of a plan: a pure function of the plan and the issuing CA. */
  tbs(plan: IssuancePlan): Buffer {
    if (plan.issuerKeyId !== this.#keyId) {
      throw new IssuerError('CONFLICT', 'the issuance plan was made under another issuing CA', { field: 'issuerKeyId' });
    }
    const key = this.#keyCache.get(plan.subjectPublicKey) ?? parseSubjectKey(Buffer.from(plan.subjectPublicKey, 'base64url'));
    const extensions = [
      EE_BASIC_CONSTRAINTS,
      this.#cached(`ku:${plan.keyUsage.join(',')}`, () => keyUsage(plan.keyUsage)),
      subjectKeyIdentifier(key.keyIdentifier),
      this.#aki,
    ];
    if (plan.extendedKeyUsage.length > 0) {
      extensions.push(this.#cached(`eku:${plan.extendedKeyUsage.join(',')}`, () => extendedKeyUsage(plan.extendedKeyUsage)));
    }
    if (plan.emails.length > 0) extensions.push(subjectAltNameEmails(plan.emails));
    return encodeTbs({
      serial: Buffer.from(plan.serial, 'hex'),
      signatureAlgorithm: this.#algorithm.signatureAlgorithm,
      issuer: this.#issuerName,
      notBefore: new Date(plan.notBefore),
      notAfter: new Date(plan.notAfter),
      subject: encodeName(plan.subject),
      spki: key.spki,
      extensions,
    });
  }

  /** Signs the certificate a plan describes (see the module comment on what a re-run reproduces). */
  sign(plan: IssuancePlan): IssuedCertificate {
    const tbs = this.tbs(plan);
    const der = signTbs(tbs, this.#algorithm, this.#ca.privateKey);
    return { serial: plan.serial, der, pem: pem('CERTIFICATE', der), tbs };
  }

  /**
   * {@link sign} with the signature computed on the thread pool: for a
   * server, so RSA signatures do not stall the event loop and concurrent
   * issuances use all cores.
   */
  async signAsync(plan: IssuancePlan): Promise<IssuedCertificate> {
    const tbs = this.tbs(plan);
    const der = await signTbsAsync(tbs, this.#algorithm, this.#ca.privateKey);
    return { serial: plan.serial, der, pem: pem('CERTIFICATE', der), tbs };
  }

  /** {@link plan} then {@link sign}, for callers with nothing to record in between (tests, tools). */
  issue(request: IssuanceRequest): IssuedCertificate {
    return this.sign(this.plan(request));
  }

  #rememberKey(key: SubjectKey): void {
    if (this.#keyCache.size >= 1024) this.#keyCache.delete(this.#keyCache.keys().next().value!);
    this.#keyCache.set(key.spki.toString('base64url'), key);
  }

  #cached(key: string, make: () => Buffer): Buffer {
    let value = this.#extensionCache.get(key);
    if (value === undefined) {
      value = make();
      if (this.#extensionCache.size < 256) this.#extensionCache.set(key, value);
    }
    return value;
  }
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

const HEX_SERIAL = /^(?:[1-7][0-9a-f]|0[1-9a-f])[0-9a-f]{30}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const OID_TEXT = /^[0-2](\.(0|[1-9][0-9]*))+$/;

/**
 * Reads a plan back from its stored JSON (already `JSON.parse`d), strictly:
 * unknown members, wrong types or malformed values are `BAD_REQUEST` naming
 * the member. Subject and key are re-validated when the plan is signed.
 */
export function decodeIssuancePlan(value: unknown): IssuancePlan {
  const fail = (field: string): never => {
    throw new IssuerError('BAD_REQUEST', `issuance plan: bad or missing ${field}`, { field });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('plan');
  const record = value as Record<string, unknown>;
  const members = ['version', 'issuerKeyId', 'serial', 'notBefore', 'notAfter', 'subject', 'subjectPublicKey', 'keyUsage', 'extendedKeyUsage', 'emails'];
  for (const keyValue of Object.keys(record)) if (!members.includes(keyValue)) fail(keyValue);
  const str = (key: string, re: RegExp): string => {
    const value = record[key];
    return typeof value === 'string' && re.test(value) ? value : fail(key);
  };
  const strings = (key: string, ok: (s: string) => boolean): string[] => {
    const value = record[key];
    if (!Array.isArray(value) || !value.every((s): s is string => typeof s === 'string' && ok(s))) return fail(key);
    return [...value];
  };
  if (record['version'] !== 1) fail('version');
  const subjectValue = record['subject'];
  if (!Array.isArray(subjectValue)) fail('subject');
  const subject = (subjectValue as unknown[]).map((args): DnAttribute => {
    if (typeof args !== 'object' || args === null) return fail('subject');
    const { type, value: twoDigits, ...rest } = args as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof twoDigits !== 'string' || !(DN_ATTRIBUTE_TYPES as readonly unknown[]).includes(type)) return fail('subject');
    return { type: type as DnAttribute['type'], value: twoDigits };
  });
  const plan: IssuancePlan = {
    version: 1,
    issuerKeyId: str('issuerKeyId', /^[0-9a-f]{2,128}$/),
    serial: str('serial', HEX_SERIAL),
    notBefore: str('notBefore', RFC3339_UTC),
    notAfter: str('notAfter', RFC3339_UTC),
    subject,
    subjectPublicKey: str('subjectPublicKey', /^[A-Za-z0-9_-]+$/),
    keyUsage: strings('keyUsage', (s) => Object.hasOwn(KEY_USAGE_BITS, s)) as KeyUsageName[],
    extendedKeyUsage: strings('extendedKeyUsage', (s) => OID_TEXT.test(s)),
    emails: strings('emails', (s) => EMAIL.test(s)),
  };
  if (plan.keyUsage.length === 0) fail('keyUsage');
  if (!(Date.parse(plan.notBefore) < Date.parse(plan.notAfter))) fail('notAfter');
  return plan;
}
