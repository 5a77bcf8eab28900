/** Decoders of KeyCreationRequest (§6.7) and KeyCreationResponse (§6.8). */
import { schemaError } from '../../errors.js';
import { checkUri } from '../../json/id.js';
import { readPublicKey } from '../../json/jwk.js';
import { indexPath } from '../../json/path.js';
import type { ObjectReader } from '../../json/reader.js';
import { present } from '../codec.js';
import {
  APP_USAGES,
  BIOMETRIC_PROTECTIONS,
  DELETE_PROTECTIONS,
  EXPORT_PROTECTIONS,
  GROUPINGS,
  INPUT_METHODS,
  PASSPHRASE_FORMATS,
  PATTERN_RESTRICTIONS,
} from '../enums.js';
import { ENDORSED_NONE, KEY_ALGORITHMS, takesKeyParameters } from './algorithms.js';
import type { GeneratedKey, KeyCreationRequest, KeyCreationResponse, KeyEntrySpecifier, PinPolicySpecifier, PukPolicySpecifier } from './types.js';

/** SKS limits (§6.7.1, sks.md). */
const MAX_PIN_LENGTH = 128;
const MAX_RETRY_LIMIT = 10000;
const MAX_SERVER_SEED = 64;
/** IV + 1…128 bytes padded to 16 (§4.5). */
const ENCRYPTED_PIN = { min: 32, max: 160 } as const;

/** Where a key entry sits, which decides the members it may have (§6.7.1). */
type Placement = { readonly kind: 'top' } | { readonly kind: 'pin'; readonly inputMethod: string };

/** State across one request: the shared ID namespace (§4.3). */
class Ids {
  private readonly seen = new Set<string>();
  take(reader: ObjectReader): string {
    const id = reader.id('id');
    if (this.seen.has(id)) throw schemaError(reader.pathOf('id'), 'duplicate ID (PUK, PIN and key IDs share one namespace)');
    this.seen.add(id);
    return id;
  }
}

function readEndorsed(reader: ObjectReader): string[] | undefined {
  let previous: string | undefined;
  return reader.optStringArray('endorsedAlgorithms', { nonEmpty: true }, (uri, params) => {
    checkUri(uri, params);
    // Strictly ascending by code point (§6.7.1) also excludes duplicates.
    if (previous !== undefined && !(previous < uri)) throw schemaError(params, 'endorsedAlgorithms must be strictly ascending');
    if (uri === ENDORSED_NONE && previous !== undefined) throw schemaError(params, `${ENDORSED_NONE} must be alone`);
    if (previous === ENDORSED_NONE) throw schemaError(params, `${ENDORSED_NONE} must be alone`);
    previous = uri;
  });
}

function decodeKeyEntry(reader: ObjectReader, placement: Placement, ids: Ids): KeyEntrySpecifier {
  const id = ids.take(reader);
  const serverSeed = reader.optBinary('serverSeed', { max: MAX_SERVER_SEED });
  // devicePinProtection only at top level, encryptedPin only inside a PIN policy: elsewhere the
  // reference leaves them unread, i.e. rejects them (§6.7.1).
  const devicePinProtection = placement.kind === 'top' ? reader.optBoolean('devicePinProtection') : undefined;
  const encryptedPin = placement.kind === 'pin' ? reader.optBinary('encryptedPin', ENCRYPTED_PIN) : undefined;
  if (encryptedPin !== undefined) {
    // Legacy member the reference client tolerates next to a preset PIN (§6.7.1); not kept.
    reader.optBoolean('userModifiable');
  }
  const enablePinCaching = reader.optBoolean('enablePinCaching');
  if (enablePinCaching === true && !(placement.kind === 'pin' && placement.inputMethod === 'trusted-gui')) {
    throw schemaError(reader.pathOf('enablePinCaching'), 'enablePinCaching requires a PIN policy with inputMethod trusted-gui');
  }
  const biometricProtection = reader.optEnumeration('biometricProtection', BIOMETRIC_PROTECTIONS);
  const exportProtection = reader.optEnumeration('exportProtection', EXPORT_PROTECTIONS);
  const deleteProtection = reader.optEnumeration('deleteProtection', DELETE_PROTECTIONS);
  const friendlyName = reader.optString('friendlyName');
  const appUsage = reader.enumeration('appUsage', APP_USAGES);
  const keyAlgorithm = reader.enumeration('keyAlgorithm', KEY_ALGORITHMS);
  const keyParameters = reader.optBinary('keyParameters', { min: 1, max: 8 });
  if (keyParameters === undefined && takesKeyParameters(keyAlgorithm))
    throw schemaError(reader.pathOf('keyParameters'), 'missing member (required by the .exp algorithms)');
  if (keyParameters !== undefined && !takesKeyParameters(keyAlgorithm))
    throw schemaError(reader.pathOf('keyParameters'), 'only allowed with the RSA .exp algorithms');
  const endorsedAlgorithms = readEndorsed(reader);
  const mac = reader.mac();
  return present({
    id,
    serverSeed,
    devicePinProtection,
    encryptedPin,
    enablePinCaching,
    biometricProtection,
    exportProtection,
    deleteProtection,
    friendlyName,
    appUsage,
    keyAlgorithm,
    keyParameters,
    endorsedAlgorithms,
    mac,
  });
}

function decodePinPolicy(reader: ObjectReader, ids: Ids): PinPolicySpecifier {
  const id = ids.take(reader);
  const minLength = reader.integer('minLength', 0, MAX_PIN_LENGTH);
  const maxLength = reader.integer('maxLength', 0, MAX_PIN_LENGTH);
  if (minLength > maxLength) throw schemaError(reader.pathOf('maxLength'), 'maxLength is less than minLength');
  const retryLimit = reader.integer('retryLimit', 1, MAX_RETRY_LIMIT);
  const format = reader.enumeration('format', PASSPHRASE_FORMATS);
  const userModifiable = reader.optBoolean('userModifiable');
  const grouping = reader.optEnumeration('grouping', GROUPINGS);
  const inputMethod = reader.optEnumeration('inputMethod', INPUT_METHODS);
  const patternRestrictions = reader.optEnumerationArray('patternRestrictions', PATTERN_RESTRICTIONS, { nonEmpty: true });
  const mac = reader.mac();
  const placement: Placement = { kind: 'pin', inputMethod: inputMethod ?? 'any' };
  const keyReaders = reader.objectArray('keyEntrySpecifiers', { nonEmpty: true });
  const keyEntrySpecifiers = keyReaders.map((kr) => decodeKeyEntry(kr, placement, ids));
  // All keys of a policy carry a preset PIN or none does (§6.7.2).
  const preset = keyEntrySpecifiers[0]?.encryptedPin !== undefined;
  keyEntrySpecifiers.forEach((keyEntrySpecifier, index) => {
    if ((keyEntrySpecifier.encryptedPin !== undefined) !== preset) {
      throw schemaError(indexPath(reader.pathOf('keyEntrySpecifiers'), index), 'mixed preset and user-defined PINs in one PIN policy');
    }
  });
  return present({
    id,
    minLength,
    maxLength,
    retryLimit,
    format,
    userModifiable,
    grouping,
    inputMethod,
    patternRestrictions,
    mac,
    keyEntrySpecifiers,
  });
}

function decodePukPolicy(reader: ObjectReader, ids: Ids): PukPolicySpecifier {
  const id = ids.take(reader);
  const encryptedPuk = reader.binary('encryptedPuk', ENCRYPTED_PIN);
  const retryLimit = reader.integer('retryLimit', 0, MAX_RETRY_LIMIT);
  const format = reader.enumeration('format', PASSPHRASE_FORMATS);
  const mac = reader.mac();
  const pinPolicySpecifiers = reader.objectArray('pinPolicySpecifiers', { nonEmpty: true }).map((pr) => decodePinPolicy(pr, ids));
  return { id, encryptedPuk, retryLimit, format, mac, pinPolicySpecifiers };
}

/** Reads the body of a KeyCreationRequest (§6.7). */
export function decodeKeyCreationRequest(reader: ObjectReader): KeyCreationRequest {
  const serverSessionId = reader.id('serverSessionId');
  const clientSessionId = reader.id('clientSessionId');
  const keyEntryAlgorithm = reader.uri('keyEntryAlgorithm');
  const deferredIssuance = reader.optBoolean('deferredIssuance');
  const ids = new Ids();
  const pukPolicySpecifiers = reader.optObjectArray('pukPolicySpecifiers', { nonEmpty: true })?.map((pr) => decodePukPolicy(pr, ids));
  const pinPolicySpecifiers = reader.optObjectArray('pinPolicySpecifiers', { nonEmpty: true })?.map((pr) => decodePinPolicy(pr, ids));
  const keyEntrySpecifiers = reader.optObjectArray('keyEntrySpecifiers', { nonEmpty: true })?.map((kr) => decodeKeyEntry(kr, { kind: 'top' }, ids));
  // Every present list is non-empty and every policy holds keys, so "at least one key" (§6.7)
  // reduces to "at least one list".
  if (pukPolicySpecifiers === undefined && pinPolicySpecifiers === undefined && keyEntrySpecifiers === undefined) {
    throw schemaError(reader.pathOf('keyEntrySpecifiers'), 'missing member (a KeyCreationRequest must request at least one key)');
  }
  return present({
    qualifier: 'KeyCreationRequest' as const,
    serverSessionId,
    clientSessionId,
    keyEntryAlgorithm,
    deferredIssuance,
    pukPolicySpecifiers,
    pinPolicySpecifiers,
    keyEntrySpecifiers,
  });
}

function decodeGeneratedKey(reader: ObjectReader): GeneratedKey {
  return {
    id: reader.id('id'),
    publicKey: readPublicKey(reader.object('publicKey')),
    attestation: reader.binary('attestation', { min: 1 }),
  };
}

/** Reads the body of a KeyCreationResponse (§6.8). */
export function decodeKeyCreationResponse(reader: ObjectReader): KeyCreationResponse {
  const serverSessionId = reader.id('serverSessionId');
  const clientSessionId = reader.id('clientSessionId');
  const seen = new Set<string>();
  const generatedKeys = reader.objectArray('generatedKeys', { nonEmpty: true }).map((kr) => {
    const generatedKey = decodeGeneratedKey(kr);
    if (seen.has(generatedKey.id)) throw schemaError(kr.pathOf('id'), 'duplicate key id');
    seen.add(generatedKey.id);
    return generatedKey;
  });
  return { qualifier: 'KeyCreationResponse', serverSessionId, clientSessionId, generatedKeys };
}
