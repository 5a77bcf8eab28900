/**
 * Credential-discovery search filters on the device (spec §6.5 "searchFilter",
 * §9.3): every present member must match (AND). Regexes are Java patterns with
 * full-match semantics over Java's RFC 2253 names (quirk 13).
 */
import { createHash } from 'node:crypto';
import { createContext, Script } from 'node:vm';
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

/** Longest one regex may run on one name before the lookup is refused. */
export const REGEX_TIME_LIMIT_MS = 250;

/**
 * The issuer's patterns run on a backtracking engine: `(a+)+b` on a long name would freeze the
 * client (and the store it holds) for minutes. Each test therefore runs under a vm time limit,
 * which interrupts even a regex mid-match; a pattern that needs longer is refused (POLICY).
 */
let regexRealm: { re: RegExp | undefined; text: string | undefined } | undefined;
let boundedRegexTest: Script | undefined;
function boundedTest(re: RegExp, text: string, path: string): boolean {
  // Made on first use: importing the client costs no vm context.
  regexRealm ??= createContext({ re: undefined, text: undefined }) as { re: RegExp | undefined; text: string | undefined };
  boundedRegexTest ??= new Script('re.test(text)');
  const bindings = regexRealm;
  bindings.re = re;
  bindings.text = text;
  try {
    return boundedRegexTest.runInContext(regexRealm, { timeout: REGEX_TIME_LIMIT_MS }) === true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new KeyGen2Error('POLICY', `${path}: the pattern takes longer than ${REGEX_TIME_LIMIT_MS} ms to match a name`, { path });
    }
    throw error;
  } finally {
    bindings.re = undefined;
    bindings.text = undefined;
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
    const chain = key.certificatePath;
    const ee = chain.at(0);
    if (ee === undefined) return false;
    let infos: CertificateInfo[];
    try {
      infos = chain.map((c) => certificateInfo(c));
    } catch {
      return false; // a certificate we cannot read matches nothing
    }
    const leaf = infos[0];
    if (fingerPrint !== undefined && !chain.some((c) => createHash('sha256').update(c).digest().equals(fingerPrint))) return false;
    if (issuerRe !== undefined && !infos.some((c) => boundedTest(issuerRe, c.issuer, `${path}.issuerRegEx`))) return false;
    if (serial !== undefined && leaf.serialNumber !== serial) return false;
    if (subjectRe !== undefined && !boundedTest(subjectRe, leaf.subject, `${path}.subjectRegEx`)) return false;
    if (emailRe !== undefined && !leaf.emails.some((m) => boundedTest(emailRe, m, `${path}.emailRegEx`))) return false;
    if (!rulesMatch(filter.policyRules, leaf.policies)) return false;
    if (!rulesMatch(filter.keyUsageRules, leaf.keyUsage)) return false;
    if (!rulesMatch(filter.extendedKeyUsageRules, leaf.extendedKeyUsage)) return false;
    if (filter.issuedBefore !== undefined && !(leaf.notBefore <= filter.issuedBefore.epochMs)) return false;
    if (filter.issuedAfter !== undefined && !(leaf.notBefore >= filter.issuedAfter.epochMs)) return false;
    return true;
  };
}
