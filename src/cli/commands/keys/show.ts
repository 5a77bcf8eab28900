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

function printKey(d: KeyDetails): void {
  const p = d.protection;
  out(`Key #${d.keyHandle}`);
  line('App usage', d.appUsage);
  line('Key type', d.keyType.text);
  line('Friendly name', d.friendlyName === null || d.friendlyName === '' ? '-' : JSON.stringify(d.friendlyName));
  line('Provisioning session', d.provisioningHandle === null ? '-' : `#${d.provisioningHandle}`);
  out('  Endorsed algorithms:');
  (d.endorsedAlgorithms.length === 0 ? ['(any)'] : d.endorsedAlgorithms).forEach((a) => out(`    ${a}`));
  out('  Extensions:');
  (d.extensionTypes.length === 0 ? ['(none)'] : d.extensionTypes).forEach((t) => out(`    ${t}`));
  out('Protection');
  line('Summary', p.summary);
  line('Status', `${hex(p.protectionStatus.value)} ${list(p.protectionStatus.flags, 'no-pin')}`);
  if (p.pin !== null) {
    line('PIN rules', p.pin.rules);
    line('PIN format', `${p.pin.format}, ${p.pin.minLength}..${p.pin.maxLength} bytes`);
    line('PIN patterns', list(p.pin.patternRestrictions, 'none'));
    line('PIN grouping', p.pin.grouping);
    line('PIN input method', p.pin.inputMethod);
    line('PIN user defined', yesNo(p.pin.userDefined));
    line('PIN user modifiable', yesNo(p.pin.userModifiable));
    line('PIN errors', `${p.pin.errorCount} of ${p.pin.retryLimit}${p.pin.blocked ? ' (blocked)' : ` (${p.pin.triesLeft} tries left)`}`);
  }
  if (p.puk !== null) {
    line('PUK format', p.puk.format);
    line('PUK errors', p.puk.retryLimit === 0 ? `${p.puk.errorCount} (no retry limit)` : `${p.puk.errorCount} of ${p.puk.retryLimit}${p.puk.blocked ? ' (blocked)' : ''}`);
  }
  line('Device PIN', yesNo(p.devicePin));
  line('PIN caching', yesNo(p.enablePinCaching));
  line('Biometric', p.biometricProtection);
  line('Export protection', p.exportProtection);
  line('Delete protection', p.deleteProtection);
  line('Key backup', `${hex(p.keyBackup.value)} ${list(p.keyBackup.flags, 'none')}`);
  out('Certificate path');
  if (d.certificatePath.length === 0) out('  (none)');
  d.certificatePath.forEach((c, i) => {
    out(`  [${i}] Subject:  ${c.subject}`);
    out(`      Issuer:   ${c.issuer}`);
    out(`      Serial:   ${c.serialNumber}`);
    out(`      Valid:    ${c.validFrom} to ${c.validTo}`);
    out(`      SHA-256:  ${c.sha256Fingerprint}`);
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
