/** addExtension (spec §6.12, §11). */
import type { AddExtensionArgs } from '../api.js';
import { ExtensionSubType, Limits, MacMethod } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { optionError } from '../errors.js';
import { beginMac, decryptIssuerData, type OpenKey } from '../engine/context.js';
import * as checked from '../engine/validate.js';
import { isValidPropertyBag } from '../extensions/property-bag.js';
import { endEntityCertificate } from './key-material.js';

export function addExtension(key: OpenKey, addExtensionArgs: AddExtensionArgs): void {
  const writer = key.owner.phase;
  const type = checked.text('type', addExtensionArgs.type);
  const subType = checked.byteValue('subType', addExtensionArgs.subType);
  const qualifier = checked.text('qualifier', addExtensionArgs.qualifier);
  const extensionData = checked.bytes('extensionData', addExtensionArgs.extensionData);
  const mac = checked.bytes('mac', addExtensionArgs.mac);

  if (subType < 0 || subType > 3) throw optionError(`Invalid "subType" value=${subType}`, 'subType');
  if (type.length === 0 || type.length > Limits.MAX_LENGTH_URI) throw optionError(`URI length error: ${type.length}`, 'type');
  if (key.extensions.has(type)) throw optionError(`Duplicate "type" : ${type}`, 'type');
  if (key.extensions.size >= Limits.MAX_EXTENSIONS_PER_KEY) throw optionError(`More than ${Limits.MAX_EXTENSIONS_PER_KEY} extensions for: ${key.id}`, 'type');
  const encrypted = subType === ExtensionSubType.ENCRYPTED_EXTENSION;
  const limit = Limits.MAX_LENGTH_EXTENSION_DATA + (encrypted ? Limits.AES_CBC_PKCS5_PADDING : 0);
  if (extensionData.length > limit) throw optionError(`Extension data exceeds ${Limits.MAX_LENGTH_EXTENSION_DATA} bytes`, 'extensionData');
  const qualifierBytes = Buffer.byteLength(qualifier, 'utf8');
  if ((qualifierBytes === 0) === (subType === ExtensionSubType.LOGOTYPE) || qualifierBytes > Limits.MAX_LENGTH_QUALIFIER) {
    throw optionError('"qualifier" length error', 'qualifier');
  }
  if (subType === ExtensionSubType.PROPERTY_BAG && !isValidPropertyBag(extensionData)) {
    throw optionError(`"propertyBag" format error: ${type}`, 'extensionData');
  }
  const ee = endEntityCertificate(key);
  beginMac(writer, MacMethod.ADD_EXTENSION).verify(MacData.addExtension(ee, type, subType, qualifier, extensionData), mac);
  const data = encrypted ? decryptIssuerData(writer, extensionData) : Buffer.from(extensionData);
  key.extensions.set(type, { subType, qualifier, data });
}
