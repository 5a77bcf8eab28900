/**
 * Credential-discovery search filters on the device (spec §6.5 "searchFilter",
 * §9.3): every present member must match (AND). Regexes are Java patterns with
 * full-match semantics over Java's RFC 2253 names (quirk 13).
 */
import { createHash } from 'node:crypto';
import { KeyGen2Error } from '../errors.js';
import { javaRegexToRegExp, type SearchFilter } from '../messages/index.js';
import { certificateInfo, type CertificateInfo } from './certificate-info.js';

/** A Java regex as a full-match RegExp (the messages module's translation, quirk 13); SCHEMA at `path` if unusable. */
export function javaRegex(pattern: string, path: string): RegExp {
  try {
    return javaRegexToRegExp(pattern);
  } catch (error) {
    throw new KeyGen2Error('SCHEMA', `${path}: not a usable regular expression`, { path, cause: error });
  }
}

/** `OID` required / `-OID` forbidden rules against a set; a missing set never matches (spec §6.5). */
function rulesMatch(rules: readonly string[] | undefined, present: ReadonlySet<string> | undefined): boolean {
  if (rules === undefined) return true;
  if (present === undefined) return false;
  return rules.every((r) => (r.startsWith('-') ? !present.has(r.slice(1)) : present.has(r)));
}

/** The key-level facts a filter can ask about besides the certificate path. */
export interface KeyFacts {
  readonly certificatePath: readonly Uint8Array[];
  readonly appUsage: string | undefined;
  /** The PIN policy grouping; undefined for keys without a PIN policy (they never match a grouping filter). */
  readonly grouping: string | undefined;
}

/** A compiled filter: compile once per lookup specifier, then test each key. */
export type KeyMatcher = (key: KeyFacts) => boolean;

export function compileSearchFilter(filter: SearchFilter | undefined, path: string): KeyMatcher {
  if (filter === undefined) return () => true;
  const issuerRe = filter.issuerRegEx === undefined ? undefined : javaRegex(filter.issuerRegEx, `${path}.issuerRegEx`);
  const subjectRe = filter.subjectRegEx === undefined ? undefined : javaRegex(filter.subjectRegEx, `${path}.subjectRegEx`);
  const emailRe = filter.emailRegEx === undefined ? undefined : javaRegex(filter.emailRegEx, `${path}.emailRegEx`);
  let serial: bigint | undefined;
  if (filter.serialNumber !== undefined) {
    if (!/^-?\d+$/.test(filter.serialNumber)) throw new KeyGen2Error('SCHEMA', `${path}.serialNumber: not a decimal integer`, { path: `${path}.serialNumber` });
    serial = BigInt(filter.serialNumber);
  }
  const fingerPrint = filter.fingerPrint === undefined ? undefined : Buffer.from(filter.fingerPrint);
  return (key) => {
    if (filter.appUsage !== undefined && key.appUsage !== filter.appUsage) return false;
    if (filter.grouping !== undefined && key.grouping !== filter.grouping) return false;
    const path = key.certificatePath;
    const ee = path.at(0);
    if (ee === undefined) return false;
    let infos: CertificateInfo[];
    try {
      infos = path.map((c) => certificateInfo(c));
    } catch {
      return false; // a certificate we cannot read matches nothing
    }
    const error = infos[0];
    if (fingerPrint !== undefined && !path.some((c) => createHash('sha256').update(c).digest().equals(fingerPrint))) return false;
    if (issuerRe !== undefined && !infos.some((c) => issuerRe.test(c.issuer))) return false;
    if (serial !== undefined && error.serialNumber !== serial) return false;
    if (subjectRe !== undefined && !subjectRe.test(error.subject)) return false;
    if (emailRe !== undefined && !error.emails.some((m) => emailRe.test(m))) return false;
    if (!rulesMatch(filter.policyRules, error.policies)) return false;
    if (!rulesMatch(filter.keyUsageRules, error.keyUsage)) return false;
    if (!rulesMatch(filter.extendedKeyUsageRules, error.extendedKeyUsage)) return false;
    if (filter.issuedBefore !== undefined && !(error.notBefore <= filter.issuedBefore.epochMs)) return false;
    if (filter.issuedAfter !== undefined && !(error.notBefore >= filter.issuedAfter.epochMs)) return false;
    return true;
  };
}
