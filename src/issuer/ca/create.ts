/**
 * Creates the issuer's two-level CA: a self-signed root and an issuing CA
 * certified by it (pathLen 0: it signs end-entity certificates only).
 *
 * Built with the same DER code as end-entity certificates rather than with
 * @peculiar/x509: one certificate encoder to review, and the issuer's
 * production code needs no reflect-metadata polyfill.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { curveOfNodeName } from '../../sks/algorithms.js';
import { generateEcKeyPair, generateRsaKeyPair } from '../../sks/crypto/keygen.js';
import { IssuerError } from '../errors.js';
import { CA_ALGORITHMS, CA_KEY_TYPES, type CaKeyType } from './algorithms.js';
import { encodeTbs, signTbs } from './certificate.js';
import { authorityKeyIdentifier, basicConstraints, keyUsage, subjectKeyIdentifier } from './extensions.js';
import { encodeName, type DnAttribute } from './name.js';
import { randomSerial } from './serial.js';
import { parseSubjectKey } from './subject-key.js';

/** A CA certificate with its private key. */
export interface CaKeyPair {
  /** DER of the certificate. */
  readonly certificate: Buffer;
  readonly privateKey: KeyObject;
  readonly keyType: CaKeyType;
}

/** The two CAs the issuer runs with. */
export interface CaHierarchy {
  readonly root: CaKeyPair;
  readonly issuing: CaKeyPair;
}

export const DEFAULT_ROOT_SUBJECT: readonly DnAttribute[] = [
  { type: 'O', value: 'Airtight' },
  { type: 'CN', value: 'Airtight Issuer Root CA' },
];
export const DEFAULT_ISSUING_SUBJECT: readonly DnAttribute[] = [
  { type: 'O', value: 'Airtight' },
  { type: 'CN', value: 'Airtight Issuing CA' },
];

export interface CreateCaOptions {
  /** Default `ec-p256`; applies to both CAs unless {@link issuingKeyType} is set. */
  readonly keyType?: CaKeyType;
  /** The issuing CA's key type, when it differs from the root's. */
  readonly issuingKeyType?: CaKeyType;
  /** Default {@link DEFAULT_ROOT_SUBJECT}. */
  readonly rootSubject?: readonly DnAttribute[];
  /** Default {@link DEFAULT_ISSUING_SUBJECT}. */
  readonly issuingSubject?: readonly DnAttribute[];
  /** Default 20 years (7305 days). */
  readonly rootValidityDays?: number;
  /** Default 10 years (3653 days); clamped to the root's end. */
  readonly issuingValidityDays?: number;
  /** Start of validity; default now. */
  readonly now?: Date;
}

const DAY = 86_400_000;

/**
 * Generates both CA keys and certificates in memory. Root: self-signed,
 * BasicConstraints CA:true (critical), KeyUsage keyCertSign+cRLSign
 * (critical), SKI and AKI. Issuing CA: the same with pathLen 0, its AKI the
 * root's SKI.
 *
 * @example
 * ```ts
 * const { root, issuing } = await createCaHierarchy({
 *   rootSubject: parseDn('CN=Example Root CA, O=Example, C=SE'),
 *   issuingSubject: parseDn('CN=Example Issuing CA, O=Example, C=SE'),
 * });
 * ```
 */
export async function createCaHierarchy(options: CreateCaOptions = {}): Promise<CaHierarchy> {
  const rootType = options.keyType ?? 'ec-p256';
  const issuingType = options.issuingKeyType ?? rootType;
  for (const caKeyType of [rootType, issuingType]) {
    if (!CA_KEY_TYPES.includes(caKeyType)) throw new IssuerError('CONFIG', `CA key type must be one of ${CA_KEY_TYPES.join(', ')}`, { field: 'keyType' });
  }
  const rootDays = options.rootValidityDays ?? 7305;
  const issuingDays = options.issuingValidityDays ?? 3653;
  for (const [field, value] of [
    ['rootValidityDays', rootDays],
    ['issuingValidityDays', issuingDays],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 36_525) throw new IssuerError('CONFIG', `${field} must be 1 to 36525 days`, { field });
  }
  const rootName = encodeName(options.rootSubject ?? DEFAULT_ROOT_SUBJECT, 'rootSubject');
  const issuingName = encodeName(options.issuingSubject ?? DEFAULT_ISSUING_SUBJECT, 'issuingSubject');
  if (rootName.equals(issuingName)) {
    throw new IssuerError('CONFIG', 'the root and issuing CA subjects must differ', { field: 'issuingSubject' });
  }
  const notBefore = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000);
  const rootEnd = new Date(notBefore.getTime() + rootDays * DAY);
  const issuingEnd = new Date(Math.min(rootEnd.getTime(), notBefore.getTime() + issuingDays * DAY));

  const [rootKey, issuingKey] = await Promise.all([generate(rootType), generate(issuingType)]);
  const rootId = keyIdOf(rootKey);
  const issuingSpki = spkiOf(issuingKey);
  const rootAlgorithm = CA_ALGORITHMS[rootType];
  const caUsage = keyUsage(['keyCertSign', 'cRLSign']);

  const rootCert = signTbs(
    encodeTbs({
      serial: randomSerial(randomBytes),
      signatureAlgorithm: rootAlgorithm.signatureAlgorithm,
      issuer: rootName,
      notBefore,
      notAfter: rootEnd,
      subject: rootName,
      spki: spkiOf(rootKey),
      extensions: [basicConstraints(true), caUsage, subjectKeyIdentifier(rootId), authorityKeyIdentifier(rootId)],
    }),
    rootAlgorithm,
    rootKey,
  );
  const issuingCert = signTbs(
    encodeTbs({
      serial: randomSerial(randomBytes),
      signatureAlgorithm: rootAlgorithm.signatureAlgorithm,
      issuer: rootName,
      notBefore,
      notAfter: issuingEnd,
      subject: issuingName,
      spki: issuingSpki,
      extensions: [basicConstraints(true, 0), caUsage, subjectKeyIdentifier(keyIdOf(issuingKey)), authorityKeyIdentifier(rootId)],
    }),
    rootAlgorithm,
    rootKey,
  );
  return {
    root: { certificate: rootCert, privateKey: rootKey, keyType: rootType },
    issuing: { certificate: issuingCert, privateKey: issuingKey, keyType: issuingType },
  };
}

async function generate(keyType: CaKeyType): Promise<KeyObject> {
  const group = CA_ALGORITHMS[keyType].generate;
  try {
    if (group.type === 'rsa') return (await generateRsaKeyPair(group.options.modulusLength, group.options.publicExponent)).privateKey;
    const curve = curveOfNodeName(group.options.namedCurve);
    if (curve === undefined) throw new TypeError(`no such curve: ${group.options.namedCurve}`);
    return generateEcKeyPair(curve).privateKey;
  } catch (error) {
    throw new IssuerError('CA', `generating a ${keyType} CA key failed`, { cause: error });
  }
}

const spkiOf = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });
const keyIdOf = (key: KeyObject): Buffer => parseSubjectKey(spkiOf(key)).keyIdentifier;
