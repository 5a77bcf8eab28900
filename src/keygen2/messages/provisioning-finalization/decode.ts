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

function readLogotype(r: ObjectReader): Logotype {
  const type = readType(r);
  const mimeType = r.string('mimeType');
  if (Buffer.byteLength(mimeType, 'utf8') > MAX_MIME_TYPE_BYTES) throw schemaError(r.pathOf('mimeType'), `longer than ${MAX_MIME_TYPE_BYTES} bytes`);
  return { type, mimeType, extensionData: r.binary('extensionData'), mac: r.mac() };
}

/** An extension `type` may occur once per key across all four lists (§6.9.1, SKS rule). */
function checkUniqueTypes(r: ObjectReader, lists: ReadonlyArray<ReadonlyArray<{ readonly type: string }> | undefined>): void {
  const seen = new Set<string>();
  lists.forEach((items, l) =>
    items?.forEach((item, i) => {
      if (seen.has(item.type)) throw schemaError(`${r.pathOf(EXTENSION_LISTS[l] ?? '')}[${i}].type`, 'duplicate extension type for this key');
      seen.add(item.type);
    }),
  );
}

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
  const importSymmetricKey = opt(r.optObject('importSymmetricKey'), readImport);
  const importPrivateKey = opt(r.optObject('importPrivateKey'), readImport);
  const extensions = r.optObjectArray('extensions', { nonEmpty: true })?.map(readExtension);
  const encryptedExtensions = r.optObjectArray('encryptedExtensions', { nonEmpty: true })?.map(readExtension);
  const propertyBags = r.optObjectArray('propertyBags', { nonEmpty: true })?.map(readPropertyBag);
  const logotypes = r.optObjectArray('logotypes', { nonEmpty: true })?.map(readLogotype);
  checkUniqueTypes(r, [extensions, encryptedExtensions, propertyBags, logotypes]);
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
    // ATTEST(arr(nonce)): an HMAC-SHA256 (§6.10).
    attestation: r.binary('attestation', { min: 32, max: 32 }),
  };
}
