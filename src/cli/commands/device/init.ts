/** `airtight device init`: create the device key and have the manufacturer CA certify it (spec §5.1). */
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { initDevice, type DeviceKeyType } from '../../../sks/device/provision-device.js';
import { deviceStoreDir, manufacturerCaDir } from '../../home.js';
import { dirOption } from '../../options.js';
import { out } from '../../output.js';
import { oneLineDn } from './dn.js';

const KEY_TYPES: readonly DeviceKeyType[] = ['ec-p256', 'rsa-2048'];

interface InitOptions {
  dir?: string;
  key: DeviceKeyType;
  caDir?: string;
}

export function deviceInitCommand(): Command {
  return new Command('init')
    .description('create the device key and have the manufacturer CA certify it')
    .addOption(dirOption())
    .addOption(new Option('--key <type>', 'device key type').choices(KEY_TYPES).default('ec-p256'))
    .option('--ca-dir <dir>', 'manufacturer CA directory, created on first use (default: $AIRTIGHT_HOME/manufacturer-ca)')
    .action(async (opts: InitOptions) => {
      const result = await initDevice({ dir: resolve(deviceStoreDir(opts.dir)), caDir: resolve(manufacturerCaDir(opts.caDir)), keyType: opts.key });
      const cert = new X509Certificate(result.certificatePath[0]);
      out(`Device initialized (${opts.key}).`);
      out(`  store:        ${result.databasePath}`);
      out(
        result.storeKeyPath === null
          ? '  store key:    from $AIRTIGHT_STORE_KEY (keep it; without it the store cannot be read)'
          : `  store key:    ${result.storeKeyPath}  (keep it secret; without it the store cannot be read)`,
      );
      out(`  device:       ${oneLineDn(cert.subject)}`);
      out(`  root CA:      ${result.rootCaPemPath}  (${result.created ? 'new manufacturer CA' : 'existing manufacturer CA'})`);
      out(`Give ${result.rootCaPemPath} to issuers that should trust this device's attestations.`);
    });
}
