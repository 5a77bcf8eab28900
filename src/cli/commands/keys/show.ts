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
  const protection = keyDetails.protection;
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
  line('Summary', protection.summary);
  line('Status', `${hex(protection.protectionStatus.value)} ${list(protection.protectionStatus.flags, 'no-pin')}`);
  if (protection.pin !== null) {
    line('PIN rules', protection.pin.rules);
    line('PIN format', `${protection.pin.format}, ${protection.pin.minLength}..${protection.pin.maxLength} bytes`);
    line('PIN patterns', list(protection.pin.patternRestrictions, 'none'));
    line('PIN grouping', protection.pin.grouping);
    line('PIN input method', protection.pin.inputMethod);
    line('PIN user defined', yesNo(protection.pin.userDefined));
    line('PIN user modifiable', yesNo(protection.pin.userModifiable));
    line(
      'PIN errors',
      `${protection.pin.errorCount} of ${protection.pin.retryLimit}${protection.pin.blocked ? ' (blocked)' : ` (${protection.pin.triesLeft} tries left)`}`,
    );
  }
  if (protection.puk !== null) {
    line('PUK format', protection.puk.format);
    line(
      'PUK errors',
      protection.puk.retryLimit === 0
        ? `${protection.puk.errorCount} (no retry limit)`
        : `${protection.puk.errorCount} of ${protection.puk.retryLimit}${protection.puk.blocked ? ' (blocked)' : ''}`,
    );
  }
  line('Device PIN', yesNo(protection.devicePin));
  line('PIN caching', yesNo(protection.enablePinCaching));
  line('Biometric', protection.biometricProtection);
  line('Export protection', protection.exportProtection);
  line('Delete protection', protection.deleteProtection);
  line('Key backup', `${hex(protection.keyBackup.value)} ${list(protection.keyBackup.flags, 'none')}`);
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
