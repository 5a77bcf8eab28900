/**
 * The dual-use device ID: a device key that signs session attestations and a
 * certificate path that identifies the device (spec §5.1, §5.3).
 */
import type { KeyObject } from 'node:crypto';
import { parsePkcs8, pkcs8Of } from '../crypto/keys.js';
import { wipe } from '../crypto/primitives.js';
import type { DeviceRecord } from '../store/records.js';

export interface DeviceIdentity {
  /** RSA or EC (P-256/384/521) private key; its type selects the attestation signature. */
  readonly privateKey: KeyObject;
  /** Device certificate first, then its issuers. */
  readonly certificatePath: readonly Buffer[];
}

/** What `getDeviceInfo` reports beyond the certificate path, and the device-PIN hook. */
export interface DeviceProfile {
  readonly vendorName: string;
  readonly vendorDescription: string;
  /** bits 0-1 location, bits 2-3 type (spec §2.6). */
  readonly deviceType: number;
  readonly updateUrl: string | undefined;
  readonly devicePinSupport: boolean;
  readonly biometricSupport: boolean;
  /**
   * Verifies the platform's device PIN for keys with `devicePinProtection`.
   * Device PINs live outside the SKS; without a verifier every attempt fails.
   */
  readonly verifyDevicePin: ((pin: Uint8Array | undefined) => boolean) | undefined;
  /** Delay before comparing a PUK whose retry limit is 0, i.e. never blocks (spec §8.6). */
  readonly unlimitedPukDelayMs: number;
}

export const DEFAULT_PROFILE: DeviceProfile = {
  vendorName: 'Airtight',
  vendorDescription: 'Airtight software SKS (TypeScript)',
  deviceType: 0x01, // embedded, software
  updateUrl: undefined,
  devicePinSupport: false,
  biometricSupport: true,
  verifyDevicePin: undefined,
  unlimitedPukDelayMs: 1000,
};

/** The live identity of a device record just read from a store; the record's plaintext PKCS#8 is wiped once parsed. */
export function deviceIdentityFromRecord(deviceRecord: DeviceRecord): DeviceIdentity {
  try {
    return { privateKey: parsePkcs8(deviceRecord.privateKey), certificatePath: deviceRecord.certificatePath.map((c) => Buffer.from(c)) };
  } finally {
    wipe(deviceRecord.privateKey);
  }
}

export const deviceRecordOf = (d: DeviceIdentity): DeviceRecord => ({
  privateKey: pkcs8Of(d.privateKey),
  certificatePath: d.certificatePath.map((c) => Buffer.from(c)),
});
