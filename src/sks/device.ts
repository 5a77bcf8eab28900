/**
 * Device identity for a software SKS (`airtight/sks/device`, spec §5.1): the
 * manufacturer CA that certifies device keys, and `initDevice`, which gives a
 * store directory its device key and certificate path.
 *
 * It loads @peculiar/x509 (with reflect-metadata, which installs
 * `Reflect.getMetadata` globally) to build certificates, and better-sqlite3
 * because `initDevice` and `loadDeviceIdentity` work on a store directory.
 * Neither is reachable from `airtight/sks`.
 *
 * @example
 * ```ts
 * import { initDevice } from 'airtight/sks/device';
 * const { certificatePath, rootCaPemPath } = await initDevice({
 *   dir: '/var/lib/airtight/device',
 *   caDir: '/var/lib/airtight/manufacturer-ca',
 *   keyType: 'ec-p256',
 * });
 * ```
 */
export type { DeviceIdentity, DeviceProfile } from './device/identity.js';
export {
  initDevice,
  inspectDevice,
  loadDeviceIdentity,
  deviceSerialNumberOf,
  type DeviceKeyType,
  type DeviceSummary,
  type InitDeviceOptions,
  type InitDeviceResult,
} from './device/provision-device.js';
export {
  createManufacturerCa,
  issueDeviceCertificate,
  loadOrCreateManufacturerCa,
  certificatePem,
  CA_KEY_FILE,
  ROOT_CA_FILE,
  type CaKeyType,
  type CreateManufacturerCaOptions,
  type IssueDeviceCertificateOptions,
  type LoadedManufacturerCa,
  type ManufacturerCa,
} from './device/manufacturer-ca.js';
