/**
 * Answers to `clientCapabilityQuery` (spec §10): features and algorithms from
 * the SKS's `getDeviceInfo`, client attributes and image preferences from the
 * platform description the caller passes in; everything else, and every
 * device-specific attribute in privacy mode (§10.2), is `supported: false`.
 */
import type { DeviceInfo } from '../../sks/api.js';
import type { ClientCapability, ImageAttributes } from '../messages/index.js';

const FEATURE = 'https://webpki.github.io/keygen2/feature#';
const CLIENT_ATTRIBUTE = 'https://webpki.github.io/keygen2/clientattr#';
const LOGOTYPE = 'https://webpki.github.io/keygen2/logotype#';

/** Client attributes that identify the device; never disclosed in privacy mode (spec §10.2). */
const DEVICE_SPECIFIC = new Set([`${CLIENT_ATTRIBUTE}imei-number`, `${CLIENT_ATTRIBUTE}mac-address`, `${CLIENT_ATTRIBUTE}ip-address`]);

/** What the platform (not the SKS) knows about itself (spec §10.1 "values" and "image preference"). */
export interface PlatformCapabilities {
  /** Client attribute URI → non-empty values (e.g. `…clientattr#os-vendor` → ['Linux']). */
  readonly clientAttributes?: Readonly<Record<string, readonly string[]>>;
  /** Logotype URI → preferred image (e.g. `…logotype#list` → PNG 94×74). */
  readonly imagePreferences?: Readonly<Record<string, ImageAttributes>>;
  /** Extra feature URIs agreed out of band that this client supports. */
  readonly features?: readonly string[];
}

const no = (type: string): ClientCapability => ({ type, kind: 'supported', supported: false });

/** One answer per query, in query order (spec §6.2). */
export function answerCapabilities(
  queries: readonly string[],
  device: DeviceInfo,
  platform: PlatformCapabilities,
  privacyEnabled: boolean,
): ClientCapability[] {
  return queries.map((type): ClientCapability => {
    if (type === `${FEATURE}device-pin-support`) return { type, kind: 'supported', supported: device.devicePinSupport };
    if (type === `${FEATURE}biometric-support`) return { type, kind: 'supported', supported: device.biometricSupport };
    if (type.startsWith(CLIENT_ATTRIBUTE)) {
      const values = platform.clientAttributes?.[type];
      if (values === undefined || values.length === 0 || (privacyEnabled && DEVICE_SPECIFIC.has(type))) return no(type);
      return { type, kind: 'values', values: [...values] };
    }
    if (type.startsWith(LOGOTYPE)) {
      const image = platform.imagePreferences?.[type];
      return image === undefined ? no(type) : { type, kind: 'imageAttributes', imageAttributes: { ...image } };
    }
    if (device.supportedAlgorithms.includes(type) || platform.features?.includes(type) === true) {
      return { type, kind: 'supported', supported: true };
    }
    return no(type);
  });
}
