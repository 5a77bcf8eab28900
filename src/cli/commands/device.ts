/**
 * `airtight device init|info`: create and inspect the software SKS's device
 * identity (spec §5.1). The work is done by `sks/device/provision-device`.
 */
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_PROFILE } from '../../sks/device/identity.js';
import { initDevice, inspectDevice, type DeviceKeyType } from '../../sks/device/provision-device.js';
import { deviceStoreDir, manufacturerCaDir } from '../home.js';

const KEY_TYPES: readonly DeviceKeyType[] = ['ec-p256', 'rsa-2048'];

const defaultDeviceDir = (): string => deviceStoreDir();
const defaultCaDir = (): string => manufacturerCaDir();

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Node prints multi-valued DNs one attribute per line; show them on one. */
const oneLineDn = (dn: string): string => dn.split('\n').join(', ');

export function deviceCommand(): Command {
  const device = new Command('device').description("create and inspect this store's device identity (key + certificate)");

  device
    .command('init')
    .description('create the device key and have the manufacturer CA certify it')
    .option('--dir <dir>', 'store directory (default: $AIRTIGHT_HOME/device, else ~/.airtight/device)')
    .addOption(new Option('--key <type>', 'device key type').choices(KEY_TYPES).default('ec-p256'))
    .option('--ca-dir <dir>', 'manufacturer CA directory, created on first use (default: $AIRTIGHT_HOME/manufacturer-ca)')
    .action(async (opts: { dir?: string; key: DeviceKeyType; caDir?: string }) => {
      const dir = resolve(opts.dir ?? defaultDeviceDir());
      const caDir = resolve(opts.caDir ?? defaultCaDir());
      const r = await initDevice({ dir, caDir, keyType: opts.key });
      const cert = new X509Certificate(r.certificatePath[0]!);
      out(`Device initialized (${opts.key}).`);
      out(`  store:        ${r.databasePath}`);
      out(
        r.storeKeyPath === null
          ? '  store key:    from $AIRTIGHT_STORE_KEY (keep it; without it the store cannot be read)'
          : `  store key:    ${r.storeKeyPath}  (keep it secret; without it the store cannot be read)`,
      );
      out(`  device:       ${oneLineDn(cert.subject)}`);
      out(`  root CA:      ${r.rootCaPemPath}  (${r.created ? 'new manufacturer CA' : 'existing manufacturer CA'})`);
      out(`Give ${r.rootCaPemPath} to issuers that should trust this device's attestations.`);
    });

  device
    .command('info')
    .description("show the device identity of a store")
    .option('--dir <dir>', 'store directory (default: $AIRTIGHT_HOME/device, else ~/.airtight/device)')
    .option('--json', 'print JSON')
    .action((opts: { dir?: string; json?: boolean }) => {
      const dir = resolve(opts.dir ?? defaultDeviceDir());
      const summary = inspectDevice(dir);
      const path = summary.identity.certificatePath;
      const cert = new X509Certificate(path[0]!);
      const info = {
        store: summary.databasePath,
        storeKey: summary.storeKeyPath,
        vendorName: DEFAULT_PROFILE.vendorName,
        vendorDescription: DEFAULT_PROFILE.vendorDescription,
        subject: oneLineDn(cert.subject),
        issuer: oneLineDn(cert.issuer),
        serialNumber: cert.serialNumber,
        sha256Fingerprint: cert.fingerprint256,
        validFrom: new Date(cert.validFrom).toISOString(),
        validTo: new Date(cert.validTo).toISOString(),
        keyType: summary.keyType,
        certificatePathLength: path.length,
        keyCount: summary.keyCount,
      };
      if (opts.json === true) {
        out(JSON.stringify(info, null, 2));
        return;
      }
      out(`Vendor:       ${info.vendorName} (${info.vendorDescription})`);
      out(`Subject:      ${info.subject}`);
      out(`Issuer:       ${info.issuer}`);
      out(`Serial:       ${info.serialNumber}`);
      out(`SHA-256:      ${info.sha256Fingerprint}`);
      out(`Valid:        ${info.validFrom} to ${info.validTo}`);
      out(`Key type:     ${info.keyType}`);
      out(`Path length:  ${info.certificatePathLength}`);
      out(`Keys:         ${info.keyCount}`);
      out(`Store:        ${info.store}`);
      out(`Store key:    ${info.storeKey ?? 'from $AIRTIGHT_STORE_KEY'}`);
    });

  return device;
}
