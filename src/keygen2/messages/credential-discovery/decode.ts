/** Decoders of CredentialDiscoveryRequest (§6.5) and CredentialDiscoveryResponse (§6.6). */
import { KeyGen2Error, schemaError } from '../../errors.js';
import { readPublicKey } from '../../json/jwk.js';
import type { ObjectReader } from '../../json/reader.js';
import type { JsonObject, JsonValue } from '../../json/value.js';
import { present, readPath } from '../codec.js';
import { APP_USAGES, GROUPINGS } from '../enums.js';
import { javaRegexToRegExp } from './java-regex.js';
import { LOOKUP_SIGNATURE_ALGORITHMS, lookupNonce, lookupSignedData, verifyLookupSignature } from './signature.js';
import type {
  CredentialDiscoveryRequest,
  CredentialDiscoveryResponse,
  JsfSignature,
  LookupResult,
  LookupSpecifier,
  MatchingCredential,
  SearchFilter,
} from './types.js';

/** Key-usage names allowed in `keyUsageRules` (§6.5). */
export const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

// A `0` arc is rejected by the reference (§6.5).
const OID = /^[1-9][0-9]*(\.[1-9][0-9]*)*$/;
const BIG_INTEGER = /^(-?[1-9][0-9]*|0)$/;

/** A rule list (§6.5): non-empty; `X` or `-X`; no X twice (in either form). */
function readRules(reader: ObjectReader, name: string, valid: (s: string) => boolean): string[] | undefined {
  const seen = new Set<string>();
  return reader.optStringArray(name, { nonEmpty: true }, (rule, params) => {
    const bare = rule.startsWith('-') ? rule.slice(1) : rule;
    if (!valid(bare)) throw schemaError(params, 'malformed rule');
    if (seen.has(bare)) throw schemaError(params, 'duplicate rule');
    seen.add(bare);
  });
}

function readRegex(reader: ObjectReader, name: string): string | undefined {
  const pattern = reader.optString(name);
  if (pattern !== undefined) {
    try {
      javaRegexToRegExp(pattern);
    } catch (cause) {
      throw new KeyGen2Error('SCHEMA', `${reader.pathOf(name)}: regular expression does not compile`, { path: reader.pathOf(name), cause });
    }
  }
  return pattern;
}

function decodeSearchFilter(reader: ObjectReader): SearchFilter {
  if (reader.size === 0) throw schemaError(reader.path, 'empty searchFilter not allowed');
  const serialNumber = reader.optString('serialNumber');
  if (serialNumber !== undefined && !BIG_INTEGER.test(serialNumber)) throw schemaError(reader.pathOf('serialNumber'), 'not a decimal integer');
  return present({
    fingerPrint: reader.optBinary('fingerPrint', { min: 32, max: 32 }),
    issuerRegEx: readRegex(reader, 'issuerRegEx'),
    serialNumber,
    subjectRegEx: readRegex(reader, 'subjectRegEx'),
    emailRegEx: readRegex(reader, 'emailRegEx'),
    policyRules: readRules(reader, 'policyRules', (s) => OID.test(s)),
    keyUsageRules: readRules(reader, 'keyUsageRules', (s) => (KEY_USAGE_NAMES as readonly string[]).includes(s)),
    extendedKeyUsageRules: readRules(reader, 'extendedKeyUsageRules', (s) => OID.test(s)),
    issuedBefore: reader.optDateTime('issuedBefore', 'utc'),
    issuedAfter: reader.optDateTime('issuedAfter', 'utc'),
    grouping: reader.optEnumeration('grouping', GROUPINGS),
    appUsage: reader.optEnumeration('appUsage', APP_USAGES),
  });
}

/** The specifier object as signed: `signature` without `value` (§6.5). */
function withoutValue(specifier: JsonObject): JsonObject {
  const members = new Map<string, JsonValue>(specifier.members);
  const sig = members.get('signature');
  if (sig?.kind === 'object') {
    const inner = new Map(sig.members);
    inner.delete('value');
    members.set('signature', { kind: 'object', members: inner });
  }
  return { kind: 'object', members };
}

function decodeSignature(reader: ObjectReader): JsfSignature {
  return {
    algorithm: reader.enumeration('algorithm', LOOKUP_SIGNATURE_ALGORITHMS),
    // JSF keys use JOSE curve names only (§4.7).
    publicKey: readPublicKey(reader.object('publicKey'), { types: ['EC', 'RSA'], joseOnly: true }),
    value: reader.binary('value', { min: 1 }),
  };
}

function decodeLookupSpecifier(reader: ObjectReader, nonce: Uint8Array): LookupSpecifier {
  const id = reader.id('id');
  const received = reader.binary('nonce');
  if (Buffer.compare(Buffer.from(received), Buffer.from(nonce)) !== 0) {
    throw new KeyGen2Error('PROTOCOL', `${reader.pathOf('nonce')}: lookup nonce does not match the session IDs`, { path: reader.pathOf('nonce') });
  }
  const search = reader.optObject('searchFilter');
  const searchFilter = search === undefined ? undefined : decodeSearchFilter(search);
  const sr = reader.object('signature');
  const signature = decodeSignature(sr);
  // After the unread-member walk, so extra members are reported as such, not as a bad signature.
  const signed = lookupSignedData(withoutValue(reader.value));
  reader.ctx.defer(() => verifyLookupSignature(signature.algorithm, signature.publicKey, signed, signature.value, sr.pathOf('value')));
  return present({ id, nonce: received, searchFilter, signature });
}

/** Reads the body of a CredentialDiscoveryRequest (§6.5), verifying nonces and lookup signatures. */
export function decodeCredentialDiscoveryRequest(reader: ObjectReader): CredentialDiscoveryRequest {
  const serverSessionId = reader.id('serverSessionId');
  const clientSessionId = reader.id('clientSessionId');
  const nonce = lookupNonce(clientSessionId, serverSessionId);
  const ids = new Set<string>();
  const lookupSpecifiers = reader.objectArray('lookupSpecifiers', { nonEmpty: true }).map((sr) => {
    const spec = decodeLookupSpecifier(sr, nonce);
    if (ids.has(spec.id)) throw schemaError(sr.pathOf('id'), 'duplicate lookup id');
    ids.add(spec.id);
    return spec;
  });
  return { qualifier: 'CredentialDiscoveryRequest', serverSessionId, clientSessionId, lookupSpecifiers };
}

function decodeMatchingCredential(reader: ObjectReader): MatchingCredential {
  return present({
    serverSessionId: reader.id('serverSessionId'),
    clientSessionId: reader.id('clientSessionId'),
    certificatePath: readPath(reader),
    locked: reader.optBoolean('locked'),
  });
}

function decodeLookupResult(reader: ObjectReader): LookupResult {
  return { id: reader.id('id'), matchingCredentials: reader.objectArray('matchingCredentials').map(decodeMatchingCredential) };
}

/** Reads the body of a CredentialDiscoveryResponse (§6.6). */
export function decodeCredentialDiscoveryResponse(reader: ObjectReader): CredentialDiscoveryResponse {
  return {
    qualifier: 'CredentialDiscoveryResponse',
    serverSessionId: reader.id('serverSessionId'),
    clientSessionId: reader.id('clientSessionId'),
    lookupResults: reader.objectArray('lookupResults', { nonEmpty: true }).map(decodeLookupResult),
  };
}
