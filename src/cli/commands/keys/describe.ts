/**
 * What `keys list` and `keys show` print about a key: the values of
 * getKeyAttributes and getKeyProtectionInfo (spec §10.9, §10.10) with every
 * enumeration decoded by its protocol name (spec §2.4, §2.6), and the
 * certificate path read with node's X509Certificate. Presentation only.
 */
import { X509Certificate } from 'node:crypto';
import { EC_CURVES } from '../../../sks/algorithms.js';
import type { KeyAttributes, KeyProtectionInfo } from '../../../sks/api.js';
import { AppUsage, BiometricProtection, ExportDeleteProtection, InputMethod, KeyBackup, ProtectionStatus } from '../../../sks/constants.js';
import { describePinPolicy, formatName, groupingName, nameOf, patternNames } from '../../pin-policy-text.js';

export const APP_USAGE_NAMES: Readonly<Record<number, string>> = {
  [AppUsage.SIGNATURE]: 'signature',
  [AppUsage.AUTHENTICATION]: 'authentication',
  [AppUsage.ENCRYPTION]: 'encryption',
  [AppUsage.UNIVERSAL]: 'universal',
};

const EXPORT_PROTECTION_NAMES: Readonly<Record<number, string>> = {
  [ExportDeleteProtection.NONE]: 'none',
  [ExportDeleteProtection.PIN]: 'pin',
  [ExportDeleteProtection.PUK]: 'puk',
  [ExportDeleteProtection.NOT_ALLOWED]: 'non-exportable',
};

const DELETE_PROTECTION_NAMES: Readonly<Record<number, string>> = {
  ...EXPORT_PROTECTION_NAMES,
  [ExportDeleteProtection.NOT_ALLOWED]: 'non-deletable',
};

const INPUT_METHOD_NAMES: Readonly<Record<number, string>> = {
  [InputMethod.ANY]: 'any',
  [InputMethod.PROGRAMMATIC]: 'programmatic',
  [InputMethod.TRUSTED_GUI]: 'trusted-gui',
};

export const BIOMETRIC_NAMES: Readonly<Partial<Record<number, string>>> = {
  [BiometricProtection.NONE]: 'none',
  [BiometricProtection.ALTERNATIVE]: 'alternative',
  [BiometricProtection.COMBINED]: 'combined',
  [BiometricProtection.EXCLUSIVE]: 'exclusive',
};

const STATUS_NAMES: ReadonlyArray<readonly [number, string]> = [
  [ProtectionStatus.PIN_PROTECTED, 'pin-protected'],
  [ProtectionStatus.PUK_PROTECTED, 'puk-protected'],
  [ProtectionStatus.PIN_BLOCKED, 'pin-blocked'],
  [ProtectionStatus.PUK_BLOCKED, 'puk-blocked'],
  [ProtectionStatus.DEVICE_PIN, 'device-pin'],
];

const BACKUP_NAMES: ReadonlyArray<readonly [number, string]> = [
  [KeyBackup.IMPORTED, 'imported'],
  [KeyBackup.EXPORTED, 'exported'],
];

const flagNames = (bits: number, names: ReadonlyArray<readonly [number, string]>): string[] =>
  names.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);

export const appUsageName = (u: number): string => nameOf(APP_USAGE_NAMES, u);

const has = (info: KeyProtectionInfo, bit: number): boolean => (info.protectionStatus & bit) !== 0;

/** Tries left before the key's PIN blocks (never negative). */
export const pinTriesLeft = (info: KeyProtectionInfo): number => Math.max(0, info.retryLimit - info.pinErrorCount);

/** `PIN (2 of 3 tries left)`, `PIN blocked`, `no PIN`, `device PIN`, with biometrics when set. */
export function protectionSummary(info: KeyProtectionInfo): string {
  let text: string;
  if (has(info, ProtectionStatus.DEVICE_PIN)) text = 'device PIN';
  else if (has(info, ProtectionStatus.PIN_PROTECTED)) {
    if (has(info, ProtectionStatus.PIN_BLOCKED)) {
      text = has(info, ProtectionStatus.PUK_BLOCKED) ? 'PIN blocked, PUK blocked' : 'PIN blocked';
    } else {
      text = `PIN (${pinTriesLeft(info)} of ${info.retryLimit} tries left)`;
    }
  } else text = 'no PIN';
  switch (info.biometricProtection) {
    case BiometricProtection.ALTERNATIVE:
      return `${text} or biometric`;
    case BiometricProtection.COMBINED:
      return `${text} + biometric`;
    case BiometricProtection.EXCLUSIVE:
      return 'biometric only';
    default:
      return text;
  }
}

/** Node prints multi-valued DNs one attribute per line; show them on one. */
export const oneLineDn = (dn: string): string => dn.split('\n').join(', ');

const commonNameOf = (dn: string): string | null => {
  const cn = dn.split('\n').find((a) => a.startsWith('CN='));
  return cn === undefined ? null : cn.slice(3);
};

export interface CertificateView {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly sha256Fingerprint: string;
}

export function describeCertificate(der: Uint8Array): CertificateView {
  const x509Certificate = new X509Certificate(der);
  return {
    subject: oneLineDn(x509Certificate.subject),
    issuer: oneLineDn(x509Certificate.issuer),
    serialNumber: x509Certificate.serialNumber,
    validFrom: new Date(x509Certificate.validFrom).toISOString(),
    validTo: new Date(x509Certificate.validTo).toISOString(),
    sha256Fingerprint: x509Certificate.fingerprint256,
  };
}

export interface KeyTypeView {
  /** `rsa`, `ec`, `ed25519`, `symmetric` or node's name of another type. */
  readonly algorithm: string;
  /** RSA modulus bits or symmetric key bytes. */
  readonly size: number | null;
  readonly curve: string | null;
  /** `EC P-256`, `RSA 2048`, `Ed25519`, `symmetric 32 bytes`. */
  readonly text: string;
}

const CURVE_BY_NODE_NAME: ReadonlyMap<string, string> = new Map(Object.entries(EC_CURVES).map(([name, c]) => [c.nodeName, name]));

/** The key type, from the symmetric key length or the end-entity certificate's public key. */
export function keyTypeOf(attributes: KeyAttributes): KeyTypeView {
  if (attributes.symmetricKeyLength > 0) {
    const count = attributes.symmetricKeyLength;
    return { algorithm: 'symmetric', size: count, curve: null, text: `symmetric ${count} bytes` };
  }
  const ee = attributes.certificatePath.at(0);
  if (ee === undefined) return { algorithm: 'unknown', size: null, curve: null, text: 'unknown' };
  const key = new X509Certificate(ee).publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = details.modulusLength ?? null;
      return { algorithm: 'rsa', size: bits, curve: null, text: `RSA ${bits ?? '?'}` };
    }
    case 'ec': {
      const curve = details.namedCurve === undefined ? null : (CURVE_BY_NODE_NAME.get(details.namedCurve) ?? details.namedCurve);
      return { algorithm: 'ec', size: null, curve, text: `EC ${curve ?? '?'}` };
    }
    case 'ed25519':
      return { algorithm: 'ed25519', size: null, curve: null, text: 'Ed25519' };
    default: {
      const item = key.asymmetricKeyType ?? 'unknown';
      return { algorithm: item, size: null, curve: null, text: item };
    }
  }
}

/** One line of `keys list` (and one element of its JSON array). */
export interface KeySummary {
  readonly keyHandle: number;
  readonly provisioningHandle: number;
  readonly appUsage: string;
  readonly keyType: string;
  readonly friendlyName: string | null;
  /** Subject CN of the end-entity certificate. */
  readonly commonName: string | null;
  readonly subject: string | null;
  readonly protection: string;
  readonly pinBlocked: boolean;
  /** PIN tries left; null without a PIN policy. */
  readonly pinTriesLeft: number | null;
  /** Present (true) when the key's stored record is damaged. */
  readonly damaged?: true;
}

/** A key whose stored record is damaged: usable only by `keys delete`. */
export function damagedKeySummary(keyHandle: number, reason: string): KeySummary {
  return {
    keyHandle,
    provisioningHandle: 0,
    appUsage: '-',
    keyType: '-',
    friendlyName: null,
    commonName: null,
    subject: null,
    protection: `DAMAGED (${reason}); only "keys delete" works`,
    pinBlocked: false,
    pinTriesLeft: null,
    damaged: true,
  };
}

export function summarizeKey(keyHandle: number, provisioningHandle: number, keyAttributes: KeyAttributes, info: KeyProtectionInfo): KeySummary {
  const ee = keyAttributes.certificatePath.at(0);
  const cert = ee === undefined ? undefined : new X509Certificate(ee);
  const pin = has(info, ProtectionStatus.PIN_PROTECTED);
  return {
    keyHandle,
    provisioningHandle,
    appUsage: appUsageName(keyAttributes.appUsage),
    keyType: keyTypeOf(keyAttributes).text,
    friendlyName: keyAttributes.friendlyName ?? null,
    commonName: cert === undefined ? null : commonNameOf(cert.subject),
    subject: cert === undefined ? null : oneLineDn(cert.subject),
    protection: protectionSummary(info),
    pinBlocked: has(info, ProtectionStatus.PIN_BLOCKED),
    pinTriesLeft: pin ? pinTriesLeft(info) : null,
  };
}

/** Everything `keys show` prints. */
export interface KeyDetails {
  readonly keyHandle: number;
  readonly provisioningHandle: number | null;
  readonly appUsage: string;
  readonly keyType: KeyTypeView;
  readonly friendlyName: string | null;
  readonly endorsedAlgorithms: readonly string[];
  readonly extensionTypes: readonly string[];
  readonly protection: {
    readonly summary: string;
    readonly protectionStatus: { readonly value: number; readonly flags: readonly string[] };
    readonly devicePin: boolean;
    readonly pin: {
      readonly rules: string;
      readonly format: string;
      readonly minLength: number;
      readonly maxLength: number;
      readonly patternRestrictions: readonly string[];
      readonly grouping: string;
      readonly inputMethod: string;
      readonly userDefined: boolean;
      readonly userModifiable: boolean;
      readonly retryLimit: number;
      readonly errorCount: number;
      readonly triesLeft: number;
      readonly blocked: boolean;
    } | null;
    readonly puk: {
      readonly format: string;
      readonly retryLimit: number;
      readonly errorCount: number;
      readonly blocked: boolean;
    } | null;
    readonly enablePinCaching: boolean;
    readonly biometricProtection: string;
    readonly exportProtection: string;
    readonly deleteProtection: string;
    readonly keyBackup: { readonly value: number; readonly flags: readonly string[] };
  };
  readonly certificatePath: readonly CertificateView[];
}

export function describeKey(keyHandle: number, provisioningHandle: number | null, keyAttributes: KeyAttributes, info: KeyProtectionInfo): KeyDetails {
  const pin = has(info, ProtectionStatus.PIN_PROTECTED);
  const puk = has(info, ProtectionStatus.PUK_PROTECTED);
  return {
    keyHandle,
    provisioningHandle,
    appUsage: appUsageName(keyAttributes.appUsage),
    keyType: keyTypeOf(keyAttributes),
    friendlyName: keyAttributes.friendlyName ?? null,
    endorsedAlgorithms: [...keyAttributes.endorsedAlgorithms],
    extensionTypes: [...keyAttributes.extensionTypes],
    protection: {
      summary: protectionSummary(info),
      protectionStatus: { value: info.protectionStatus, flags: flagNames(info.protectionStatus, STATUS_NAMES) },
      devicePin: has(info, ProtectionStatus.DEVICE_PIN),
      pin: pin
        ? {
            rules: describePinPolicy(info),
            format: formatName(info.format),
            minLength: info.minLength,
            maxLength: info.maxLength,
            patternRestrictions: patternNames(info.patternRestrictions),
            grouping: groupingName(info.grouping),
            inputMethod: nameOf(INPUT_METHOD_NAMES, info.inputMethod),
            userDefined: info.userDefined,
            userModifiable: info.userModifiable,
            retryLimit: info.retryLimit,
            errorCount: info.pinErrorCount,
            triesLeft: pinTriesLeft(info),
            blocked: has(info, ProtectionStatus.PIN_BLOCKED),
          }
        : null,
      puk: puk
        ? {
            format: formatName(info.pukFormat),
            retryLimit: info.pukRetryLimit,
            errorCount: info.pukErrorCount,
            blocked: has(info, ProtectionStatus.PUK_BLOCKED),
          }
        : null,
      enablePinCaching: info.enablePinCaching,
      biometricProtection: nameOf(BIOMETRIC_NAMES, info.biometricProtection),
      exportProtection: nameOf(EXPORT_PROTECTION_NAMES, info.exportProtection),
      deleteProtection: nameOf(DELETE_PROTECTION_NAMES, info.deleteProtection),
      keyBackup: { value: info.keyBackup, flags: flagNames(info.keyBackup, BACKUP_NAMES) },
    },
    certificatePath: keyAttributes.certificatePath.map(describeCertificate),
  };
}
