/** `airtight device info`: show the device identity of a store (spec §5.1). */
import { X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { DEFAULT_PROFILE } from '../../../sks/device/identity.js';
import { inspectDevice } from '../../../sks/device/provision-device.js';
import { deviceStoreDir } from '../../home.js';
import { dirOption, jsonOption } from '../../options.js';
import { out } from '../../output.js';
import { oneLineDn } from './dn.js';

interface InfoOptions {
  dir?: string;
  json?: boolean;
}

export function deviceInfoCommand(): Command {
  return new Command('info')
    .description('show the device identity of a store')
    .addOption(dirOption())
    .addOption(jsonOption())
    .action((opts: InfoOptions) => {
      const summary = inspectDevice(resolve(deviceStoreDir(opts.dir)));
      const path = summary.identity.certificatePath;
      const cert = new X509Certificate(path[0]);
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
}
