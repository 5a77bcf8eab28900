/** Encoders of CredentialDiscoveryRequest (§6.5) and CredentialDiscoveryResponse (§6.6). */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, w } from '../codec.js';
import { lookupSignedData } from './signature.js';
import type {
  CredentialDiscoveryRequest,
  CredentialDiscoveryResponse,
  JsfSignature,
  LookupResult,
  LookupSpecifier,
  MatchingCredential,
  SearchFilter,
} from './types.js';

const encodeSearchFilter = (f: SearchFilter): JsonObject =>
  jsonObject([
    ['fingerPrint', w.opt(f.fingerPrint, w.bin)],
    ['issuerRegEx', w.opt(f.issuerRegEx, w.str)],
    ['serialNumber', w.opt(f.serialNumber, w.str)],
    ['subjectRegEx', w.opt(f.subjectRegEx, w.str)],
    ['emailRegEx', w.opt(f.emailRegEx, w.str)],
    ['policyRules', w.opt(f.policyRules, w.strs)],
    ['keyUsageRules', w.opt(f.keyUsageRules, w.strs)],
    ['extendedKeyUsageRules', w.opt(f.extendedKeyUsageRules, w.strs)],
    ['issuedBefore', w.opt(f.issuedBefore, w.time)],
    ['issuedAfter', w.opt(f.issuedAfter, w.time)],
    ['grouping', w.opt(f.grouping, w.str)],
    ['appUsage', w.opt(f.appUsage, w.str)],
  ]);

/** A lookup specifier without `signature.value`: what the KMK signs. */
export type UnsignedLookupSpecifier = Omit<LookupSpecifier, 'signature'> & {
  readonly signature: Omit<JsfSignature, 'value'>;
};

function encodeSpecifier(s: UnsignedLookupSpecifier, value: Uint8Array | undefined): JsonObject {
  return jsonObject([
    ['id', w.str(s.id)],
    ['nonce', w.bin(s.nonce)],
    ['searchFilter', w.opt(s.searchFilter, (f) => encodeSearchFilter(f))],
    [
      'signature',
      jsonObject([
        ['algorithm', w.str(s.signature.algorithm)],
        ['publicKey', w.jwk(s.signature.publicKey)],
        ['value', w.opt(value, w.bin)],
      ]),
    ],
  ]);
}

/**
 * The bytes the issuer's KMK signs for one lookup specifier (§5.7, §6.5): the JCS form of the
 * specifier with `signature` holding `algorithm` and `publicKey` only.
 *
 * @example
 *   const data = lookupSpecifierSignedData({ id: 'Lookup.1', nonce, signature: { algorithm: 'ES256', publicKey: kmkSpki } });
 *   const value = sign('sha256', data, { key: kmkPrivate, dsaEncoding: 'ieee-p1363' });
 */
export const lookupSpecifierSignedData = (s: UnsignedLookupSpecifier): Uint8Array => lookupSignedData(encodeSpecifier(s, undefined));

const encodeMatch = (m: MatchingCredential): JsonObject =>
  jsonObject([
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['certificatePath', w.certs(m.certificatePath)],
    ['locked', w.opt(m.locked, w.bool)],
  ]);

const encodeResult = (r: LookupResult): JsonObject =>
  jsonObject([
    ['id', w.str(r.id)],
    ['matchingCredentials', w.objs(r.matchingCredentials, encodeMatch)],
  ]);

/** The CredentialDiscoveryRequest object. */
export const encodeCredentialDiscoveryRequest = (m: CredentialDiscoveryRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['lookupSpecifiers', w.objs(m.lookupSpecifiers, (s) => encodeSpecifier(s, s.signature.value))],
  ]);

/** The CredentialDiscoveryResponse object. */
export const encodeCredentialDiscoveryResponse = (m: CredentialDiscoveryResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['lookupResults', w.objs(m.lookupResults, encodeResult)],
  ]);
