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
function readRules(r: ObjectReader, name: string, valid: (s: string) => boolean): string[] | undefined {
  const seen = new Set<string>();
  return r.optStringArray(name, { nonEmpty: true }, (rule, p) => {
    const bare = rule.startsWith('-') ? rule.slice(1) : rule;
    if (!valid(bare)) throw schemaError(p, 'malformed rule');
    if (seen.has(bare)) throw schemaError(p, 'duplicate rule');
    seen.add(bare);
  });
}

function readRegex(r: ObjectReader, name: string): string | undefined {
  const pattern = r.optString(name);
  if (pattern !== undefined) {
    try {
      javaRegexToRegExp(pattern);
    } catch (cause) {
      throw new KeyGen2Error('SCHEMA', `${r.pathOf(name)}: regular expression does not compile`, { path: r.pathOf(name), cause });
    }
  }
  return pattern;
}

function decodeSearchFilter(r: ObjectReader): SearchFilter {
  if (r.size === 0) throw schemaError(r.path, 'empty searchFilter not allowed');
  const serialNumber = r.optString('serialNumber');
  if (serialNumber !== undefined && !BIG_INTEGER.test(serialNumber)) throw schemaError(r.pathOf('serialNumber'), 'not a decimal integer');
  return present({
    fingerPrint: r.optBinary('fingerPrint', { min: 32, max: 32 }),
    issuerRegEx: readRegex(r, 'issuerRegEx'),
    serialNumber,
    subjectRegEx: readRegex(r, 'subjectRegEx'),
    emailRegEx: readRegex(r, 'emailRegEx'),
    policyRules: readRules(r, 'policyRules', (s) => OID.test(s)),
    keyUsageRules: readRules(r, 'keyUsageRules', (s) => (KEY_USAGE_NAMES as readonly string[]).includes(s)),
    extendedKeyUsageRules: readRules(r, 'extendedKeyUsageRules', (s) => OID.test(s)),
    issuedBefore: r.optDateTime('issuedBefore', 'utc'),
    issuedAfter: r.optDateTime('issuedAfter', 'utc'),
    grouping: r.optEnumeration('grouping', GROUPINGS),
    appUsage: r.optEnumeration('appUsage', APP_USAGES),
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

function decodeSignature(r: ObjectReader): JsfSignature {
  return {
    algorithm: r.enumeration('algorithm', LOOKUP_SIGNATURE_ALGORITHMS),
    // JSF keys use JOSE curve names only (§4.7).
    publicKey: readPublicKey(r.object('publicKey'), { types: ['EC', 'RSA'], joseOnly: true }),
    value: r.binary('value', { min: 1 }),
  };
}

function decodeLookupSpecifier(r: ObjectReader, nonce: Uint8Array): LookupSpecifier {
  const id = r.id('id');
  const received = r.binary('nonce');
  if (Buffer.compare(Buffer.from(received), Buffer.from(nonce)) !== 0) {
    throw new KeyGen2Error('PROTOCOL', `${r.pathOf('nonce')}: lookup nonce does not match the session IDs`, { path: r.pathOf('nonce') });
  }
  const search = r.optObject('searchFilter');
  const searchFilter = search === undefined ? undefined : decodeSearchFilter(search);
  const sr = r.object('signature');
  const signature = decodeSignature(sr);
  // After the unread-member walk, so extra members are reported as such, not as a bad signature.
  const signed = lookupSignedData(withoutValue(r.value));
  r.ctx.defer(() => verifyLookupSignature(signature.algorithm, signature.publicKey, signed, signature.value, sr.pathOf('value')));
  return present({ id, nonce: received, searchFilter, signature });
}

/** Reads the body of a CredentialDiscoveryRequest (§6.5), verifying nonces and lookup signatures. */
export function decodeCredentialDiscoveryRequest(r: ObjectReader): CredentialDiscoveryRequest {
  const serverSessionId = r.id('serverSessionId');
  const clientSessionId = r.id('clientSessionId');
  const nonce = lookupNonce(clientSessionId, serverSessionId);
  const ids = new Set<string>();
  const lookupSpecifiers = r.objectArray('lookupSpecifiers', { nonEmpty: true }).map((sr) => {
    const spec = decodeLookupSpecifier(sr, nonce);
    if (ids.has(spec.id)) throw schemaError(sr.pathOf('id'), 'duplicate lookup id');
    ids.add(spec.id);
    return spec;
  });
  return { qualifier: 'CredentialDiscoveryRequest', serverSessionId, clientSessionId, lookupSpecifiers };
}

function decodeMatchingCredential(r: ObjectReader): MatchingCredential {
  return present({
    serverSessionId: r.id('serverSessionId'),
    clientSessionId: r.id('clientSessionId'),
    certificatePath: readPath(r),
    locked: r.optBoolean('locked'),
  });
}

function decodeLookupResult(r: ObjectReader): LookupResult {
  return { id: r.id('id'), matchingCredentials: r.objectArray('matchingCredentials').map(decodeMatchingCredential) };
}

/** Reads the body of a CredentialDiscoveryResponse (§6.6). */
export function decodeCredentialDiscoveryResponse(r: ObjectReader): CredentialDiscoveryResponse {
  return {
    qualifier: 'CredentialDiscoveryResponse',
    serverSessionId: r.id('serverSessionId'),
    clientSessionId: r.id('clientSessionId'),
    lookupResults: r.objectArray('lookupResults', { nonEmpty: true }).map(decodeLookupResult),
  };
}
