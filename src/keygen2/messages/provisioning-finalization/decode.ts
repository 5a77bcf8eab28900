/** Decoders of ProvisioningFinalizationRequest (§6.9) and ProvisioningFinalizationResponse (§6.10). */
import { schemaError } from '../../errors.js';
import { isCaCertificate } from '../../json/certificate-path.js';
import type { ObjectReader } from '../../json/reader.js';
import { opt } from '../../json/value.js';
import { present, readPath, readTargetKeyReference } from '../codec.js';
import type {
  Extension,
  ImportedKey,
  IssuedCredential,
  Logotype,
  PropertyBag,
  ProvisioningFinalizationRequest,
  ProvisioningFinalizationResponse,
} from './types.js';

/** SKS limit of extension `type` URIs (§6.9.1). */
const MAX_TYPE_LENGTH = 1000;

function readType(r: ObjectReader): string {
  const type = r.string('type');
  if (type.length === 0 || type.length > MAX_TYPE_LENGTH) throw schemaError(r.pathOf('type'), `length must be 1..${MAX_TYPE_LENGTH}`);
  return type;
}

const readImport = (r: ObjectReader): ImportedKey => ({ encryptedKey: r.binary('encryptedKey', { min: 1 }), mac: r.mac() });

const readExtension = (r: ObjectReader): Extension => ({ type: readType(r), extensionData: r.binary('extensionData'), mac: r.mac() });

function readPropertyBag(r: ObjectReader): PropertyBag {
  const type = readType(r);
  const names = new Set<string>();
  const properties = r.objectArray('properties', { nonEmpty: true }).map((pr) => {
    const name = pr.string('name');
    // Names are unique within a bag (§6.9.4).
    if (names.has(name)) throw schemaError(pr.pathOf('name'), 'duplicate property name');
    names.add(name);
    return present({ name, value: pr.string('value'), writable: pr.optBoolean('writable') });
  });
  return { type, properties, mac: r.mac() };
}

const readLogotype = (r: ObjectReader): Logotype => ({
  type: readType(r),
  mimeType: r.string('mimeType'),
  extensionData: r.binary('extensionData'),
  mac: r.mac(),
});

/** At most one of two members (§6.9.1); the reference leaves the second unread, i.e. rejects it. */
function exclusive(r: ObjectReader, first: string, second: string): void {
  if (r.has(first) && r.has(second)) throw schemaError(r.pathOf(second), `not allowed together with ${first}`);
}

function decodeIssuedCredential(r: ObjectReader): IssuedCredential {
  const id = r.id('id');
  const certificatePath = readPath(r);
  const mac = r.mac();
  const trustAnchor = r.optBoolean('trustAnchor');
  // The client's check: the last certificate is a CA (§6.9.1).
  if (trustAnchor === true && !isCaCertificate(certificatePath[certificatePath.length - 1] ?? new Uint8Array())) {
    throw schemaError(r.pathOf('trustAnchor'), 'trustAnchor requires a CA certificate last in the path');
  }
  exclusive(r, 'importSymmetricKey', 'importPrivateKey');
  exclusive(r, 'updateKey', 'cloneKeyProtection');
  return present({
    id,
    certificatePath,
    mac,
    trustAnchor,
    importSymmetricKey: opt(r.optObject('importSymmetricKey'), readImport),
    importPrivateKey: opt(r.optObject('importPrivateKey'), readImport),
    extensions: r.optObjectArray('extensions', { nonEmpty: true })?.map(readExtension),
    encryptedExtensions: r.optObjectArray('encryptedExtensions', { nonEmpty: true })?.map(readExtension),
    propertyBags: r.optObjectArray('propertyBags', { nonEmpty: true })?.map(readPropertyBag),
    logotypes: r.optObjectArray('logotypes', { nonEmpty: true })?.map(readLogotype),
    updateKey: opt(r.optObject('updateKey'), readTargetKeyReference),
    cloneKeyProtection: opt(r.optObject('cloneKeyProtection'), readTargetKeyReference),
  });
}

/** Reads the body of a ProvisioningFinalizationRequest (§6.9). */
export function decodeProvisioningFinalizationRequest(r: ObjectReader): ProvisioningFinalizationRequest {
  const serverSessionId = r.id('serverSessionId');
  const clientSessionId = r.id('clientSessionId');
  const issuedCredentials = r.optObjectArray('issuedCredentials', { nonEmpty: true })?.map(decodeIssuedCredential);
  const unlockKeys = r.optObjectArray('unlockKeys', { nonEmpty: true })?.map(readTargetKeyReference);
  const deleteKeys = r.optObjectArray('deleteKeys', { nonEmpty: true })?.map(readTargetKeyReference);
  const close = r.object('sessionCloseData');
  const sessionCloseData = { nonce: close.binary('nonce', { min: 1 }), mac: close.mac() };
  return present({
    qualifier: 'ProvisioningFinalizationRequest' as const,
    serverSessionId,
    clientSessionId,
    issuedCredentials,
    unlockKeys,
    deleteKeys,
    sessionCloseData,
  });
}

/** Reads the body of a ProvisioningFinalizationResponse (§6.10). */
export function decodeProvisioningFinalizationResponse(r: ObjectReader): ProvisioningFinalizationResponse {
  return {
    qualifier: 'ProvisioningFinalizationResponse',
    serverSessionId: r.id('serverSessionId'),
    clientSessionId: r.id('clientSessionId'),
    attestation: r.binary('attestation', { min: 1 }),
  };
}
