/** Encoders of CredentialDiscoveryRequest (§6.5) and CredentialDiscoveryResponse (§6.6). */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, writer } from '../codec.js';
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
    ['fingerPrint', writer.opt(f.fingerPrint, writer.bin)],
    ['issuerRegEx', writer.opt(f.issuerRegEx, writer.str)],
    ['serialNumber', writer.opt(f.serialNumber, writer.str)],
    ['subjectRegEx', writer.opt(f.subjectRegEx, writer.str)],
    ['emailRegEx', writer.opt(f.emailRegEx, writer.str)],
    ['policyRules', writer.opt(f.policyRules, writer.strs)],
    ['keyUsageRules', writer.opt(f.keyUsageRules, writer.strs)],
    ['extendedKeyUsageRules', writer.opt(f.extendedKeyUsageRules, writer.strs)],
    ['issuedBefore', writer.opt(f.issuedBefore, writer.time)],
    ['issuedAfter', writer.opt(f.issuedAfter, writer.time)],
    ['grouping', writer.opt(f.grouping, writer.str)],
    ['appUsage', writer.opt(f.appUsage, writer.str)],
  ]);

/** A lookup specifier without `signature.value`: what the KMK signs. */
export type UnsignedLookupSpecifier = Omit<LookupSpecifier, 'signature'> & {
  readonly signature: Omit<JsfSignature, 'value'>;
};

function encodeSpecifier(unsignedLookupSpecifier: UnsignedLookupSpecifier, value: Uint8Array | undefined): JsonObject {
  return jsonObject([
    ['id', writer.str(unsignedLookupSpecifier.id)],
    ['nonce', writer.bin(unsignedLookupSpecifier.nonce)],
    ['searchFilter', writer.opt(unsignedLookupSpecifier.searchFilter, (f) => encodeSearchFilter(f))],
    [
      'signature',
      jsonObject([
        ['algorithm', writer.str(unsignedLookupSpecifier.signature.algorithm)],
        ['publicKey', writer.jwk(unsignedLookupSpecifier.signature.publicKey)],
        ['value', writer.opt(value, writer.bin)],
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
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['certificatePath', writer.certs(m.certificatePath)],
    ['locked', writer.opt(m.locked, writer.bool)],
  ]);

const encodeResult = (r: LookupResult): JsonObject =>
  jsonObject([
    ['id', writer.str(r.id)],
    ['matchingCredentials', writer.objs(r.matchingCredentials, encodeMatch)],
  ]);

/** The CredentialDiscoveryRequest object. */
export const encodeCredentialDiscoveryRequest = (m: CredentialDiscoveryRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['lookupSpecifiers', writer.objs(m.lookupSpecifiers, (s) => encodeSpecifier(s, s.signature.value))],
  ]);

/** The CredentialDiscoveryResponse object. */
export const encodeCredentialDiscoveryResponse = (m: CredentialDiscoveryResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['lookupResults', writer.objs(m.lookupResults, encodeResult)],
  ]);
