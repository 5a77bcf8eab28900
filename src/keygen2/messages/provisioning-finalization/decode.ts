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
/** SKS limit of a logotype's MIME type, in UTF-8 bytes (§6.9.1). */
const MAX_MIME_TYPE_BYTES = 128;
/** The four extension lists, in the order the client adds them (§6.9.3). */
const EXTENSION_LISTS = ['extensions', 'encryptedExtensions', 'propertyBags', 'logotypes'] as const;

function readType(reader: ObjectReader): string {
  const type = reader.string('type');
  if (type.length === 0 || type.length > MAX_TYPE_LENGTH) throw schemaError(reader.pathOf('type'), `length must be 1..${MAX_TYPE_LENGTH}`);
  return type;
}

const readImport = (r: ObjectReader): ImportedKey => ({ encryptedKey: r.binary('encryptedKey', { min: 1 }), mac: r.mac() });

const readExtension = (r: ObjectReader): Extension => ({ type: readType(r), extensionData: r.binary('extensionData'), mac: r.mac() });

function readPropertyBag(reader: ObjectReader): PropertyBag {
  const type = readType(reader);
  const names = new Set<string>();
  const properties = reader.objectArray('properties', { nonEmpty: true }).map((pr) => {
    const name = pr.string('name');
    // Names are unique within a bag (§6.9.4).
    if (names.has(name)) throw schemaError(pr.pathOf('name'), 'duplicate property name');
    names.add(name);
    return present({ name, value: pr.string('value'), writable: pr.optBoolean('writable') });
  });
  return { type, properties, mac: reader.mac() };
}

function readLogotype(reader: ObjectReader): Logotype {
  const type = readType(reader);
  const mimeType = reader.string('mimeType');
  if (Buffer.byteLength(mimeType, 'utf8') > MAX_MIME_TYPE_BYTES) throw schemaError(reader.pathOf('mimeType'), `longer than ${MAX_MIME_TYPE_BYTES} bytes`);
  return { type, mimeType, extensionData: reader.binary('extensionData'), mac: reader.mac() };
}

/** An extension `type` may occur once per key across all four lists (§6.9.1, SKS rule). */
function checkUniqueTypes(reader: ObjectReader, lists: ReadonlyArray<ReadonlyArray<{ readonly type: string }> | undefined>): void {
  const seen = new Set<string>();
  lists.forEach((items, l) =>
    items?.forEach((item, index) => {
      if (seen.has(item.type)) throw schemaError(`${reader.pathOf(EXTENSION_LISTS[l] ?? '')}[${index}].type`, 'duplicate extension type for this key');
      seen.add(item.type);
    }),
  );
}

/** At most one of two members (§6.9.1); the reference leaves the second unread, i.e. rejects it. */
function exclusive(reader: ObjectReader, first: string, second: string): void {
  if (reader.has(first) && reader.has(second)) throw schemaError(reader.pathOf(second), `not allowed together with ${first}`);
}

function decodeIssuedCredential(reader: ObjectReader): IssuedCredential {
  const id = reader.id('id');
  const certificatePath = readPath(reader);
  const mac = reader.mac();
  const trustAnchor = reader.optBoolean('trustAnchor');
  // The client's check: the last certificate is a CA (§6.9.1).
  if (trustAnchor === true && !isCaCertificate(certificatePath[certificatePath.length - 1] ?? new Uint8Array())) {
    throw schemaError(reader.pathOf('trustAnchor'), 'trustAnchor requires a CA certificate last in the path');
  }
  exclusive(reader, 'importSymmetricKey', 'importPrivateKey');
  exclusive(reader, 'updateKey', 'cloneKeyProtection');
  const importSymmetricKey = opt(reader.optObject('importSymmetricKey'), readImport);
  const importPrivateKey = opt(reader.optObject('importPrivateKey'), readImport);
  const extensions = reader.optObjectArray('extensions', { nonEmpty: true })?.map(readExtension);
  const encryptedExtensions = reader.optObjectArray('encryptedExtensions', { nonEmpty: true })?.map(readExtension);
  const propertyBags = reader.optObjectArray('propertyBags', { nonEmpty: true })?.map(readPropertyBag);
  const logotypes = reader.optObjectArray('logotypes', { nonEmpty: true })?.map(readLogotype);
  checkUniqueTypes(reader, [extensions, encryptedExtensions, propertyBags, logotypes]);
  return present({
    id,
    certificatePath,
    mac,
    trustAnchor,
    importSymmetricKey,
    importPrivateKey,
    extensions,
    encryptedExtensions,
    propertyBags,
    logotypes,
    updateKey: opt(reader.optObject('updateKey'), readTargetKeyReference),
    cloneKeyProtection: opt(reader.optObject('cloneKeyProtection'), readTargetKeyReference),
  });
}

/** Reads the body of a ProvisioningFinalizationRequest (§6.9). */
export function decodeProvisioningFinalizationRequest(reader: ObjectReader): ProvisioningFinalizationRequest {
  const serverSessionId = reader.id('serverSessionId');
  const clientSessionId = reader.id('clientSessionId');
  const issuedCredentials = reader.optObjectArray('issuedCredentials', { nonEmpty: true })?.map(decodeIssuedCredential);
  const unlockKeys = reader.optObjectArray('unlockKeys', { nonEmpty: true })?.map(readTargetKeyReference);
  const deleteKeys = reader.optObjectArray('deleteKeys', { nonEmpty: true })?.map(readTargetKeyReference);
  const close = reader.object('sessionCloseData');
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
export function decodeProvisioningFinalizationResponse(reader: ObjectReader): ProvisioningFinalizationResponse {
  return {
    qualifier: 'ProvisioningFinalizationResponse',
    serverSessionId: reader.id('serverSessionId'),
    clientSessionId: reader.id('clientSessionId'),
    // ATTEST(arr(nonce)): an HMAC-SHA256 (§6.10).
    attestation: reader.binary('attestation', { min: 32, max: 32 }),
  };
}
