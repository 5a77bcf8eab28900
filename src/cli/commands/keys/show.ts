/** `airtight keys show ID`: everything the SKS tells about one key (spec §10.9-§10.12). */
import { Command } from 'commander';
import type { KeyHandle, SecureKeyStore } from '../../../sks/api.js';
import { dirOption, jsonOption } from '../../options.js';
import { out } from '../../output.js';
import { describeKey, type KeyDetails } from './describe.js';
import { idArgument, storeDir, withKeyStore } from './store.js';

export async function showKey(sks: SecureKeyStore, handle: KeyHandle): Promise<KeyDetails> {
  const attributes = await sks.getKeyAttributes(handle);
  const info = await sks.getKeyProtectionInfo(handle);
  let provisioningHandle: number | null = null;
  for (let k = await sks.enumerateKeys(0); k !== undefined; k = await sks.enumerateKeys(k.keyHandle)) {
    if (k.keyHandle === handle) {
      provisioningHandle = k.provisioningHandle;
      break;
    }
  }
  return describeKey(handle, provisioningHandle, attributes, info);
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
const line = (label: string, value: string): void => out(`  ${`${label}:`.padEnd(22)}${value}`);
const list = (values: readonly string[], empty: string): string => (values.length === 0 ? empty : values.join(', '));

function printKey(keyDetails: KeyDetails): void {
  const params = keyDetails.protection;
  out(`Key #${keyDetails.keyHandle}`);
  line('App usage', keyDetails.appUsage);
  line('Key type', keyDetails.keyType.text);
  line('Friendly name', keyDetails.friendlyName === null || keyDetails.friendlyName === '' ? '-' : JSON.stringify(keyDetails.friendlyName));
  line('Provisioning session', keyDetails.provisioningHandle === null ? '-' : `#${keyDetails.provisioningHandle}`);
  out('  Endorsed algorithms:');
  (keyDetails.endorsedAlgorithms.length === 0 ? ['(any)'] : keyDetails.endorsedAlgorithms).forEach((a) => out(`    ${a}`));
  out('  Extensions:');
  (keyDetails.extensionTypes.length === 0 ? ['(none)'] : keyDetails.extensionTypes).forEach((t) => out(`    ${t}`));
  out('Protection');
  line('Summary', params.summary);
  line('Status', `${hex(params.protectionStatus.value)} ${list(params.protectionStatus.flags, 'no-pin')}`);
  if (params.pin !== null) {
    line('PIN rules', params.pin.rules);
    line('PIN format', `${params.pin.format}, ${params.pin.minLength}..${params.pin.maxLength} bytes`);
    line('PIN patterns', list(params.pin.patternRestrictions, 'none'));
    line('PIN grouping', params.pin.grouping);
    line('PIN input method', params.pin.inputMethod);
    line('PIN user defined', yesNo(params.pin.userDefined));
    line('PIN user modifiable', yesNo(params.pin.userModifiable));
    line('PIN errors', `${params.pin.errorCount} of ${params.pin.retryLimit}${params.pin.blocked ? ' (blocked)' : ` (${params.pin.triesLeft} tries left)`}`);
  }
  if (params.puk !== null) {
    line('PUK format', params.puk.format);
    line('PUK errors', params.puk.retryLimit === 0 ? `${params.puk.errorCount} (no retry limit)` : `${params.puk.errorCount} of ${params.puk.retryLimit}${params.puk.blocked ? ' (blocked)' : ''}`);
  }
  line('Device PIN', yesNo(params.devicePin));
  line('PIN caching', yesNo(params.enablePinCaching));
  line('Biometric', params.biometricProtection);
  line('Export protection', params.exportProtection);
  line('Delete protection', params.deleteProtection);
  line('Key backup', `${hex(params.keyBackup.value)} ${list(params.keyBackup.flags, 'none')}`);
  out('Certificate path');
  if (keyDetails.certificatePath.length === 0) out('  (none)');
  keyDetails.certificatePath.forEach((certificateView, index) => {
    out(`  [${index}] Subject:  ${certificateView.subject}`);
    out(`      Issuer:   ${certificateView.issuer}`);
    out(`      Serial:   ${certificateView.serialNumber}`);
    out(`      Valid:    ${certificateView.validFrom} to ${certificateView.validTo}`);
    out(`      SHA-256:  ${certificateView.sha256Fingerprint}`);
  });
}

export function showCommand(): Command {
  return new Command('show')
    .description("show a key's attributes, protection and certificate path")
    .addArgument(idArgument())
    .addOption(dirOption())
    .addOption(jsonOption())
    .action(async (id: KeyHandle, opts: { dir?: string; json?: boolean }) => {
      await withKeyStore(storeDir(opts.dir), async (sks) => {
        const details = await showKey(sks, id);
        if (opts.json === true) out(JSON.stringify(details, null, 2));
        else printKey(details);
      });
    });
}
