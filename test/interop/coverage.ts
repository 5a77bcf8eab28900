/**
 * What every vector file must be checked on, derived from its content: each
 * recorded message (and its wire checks: decode, issuer, client), server HMAC
 * and SKS call of a session file, and each case
 * of a primitives file, must appear in the name of at least one check. This
 * holds for recordings that have no pin in ./pinned-checks.ts, so a new file
 * whose checks are silently skipped fails too.
 */
import type { JsonNode } from '../../src/interop/json.js';

/** The name fragments (subjects) that must each name at least one check of `doc`. */
export function requiredSubjects(layout: 'sks-primitives' | 'keygen2-session', doc: JsonNode): string[] {
  return layout === 'sks-primitives' ? primitiveSubjects(doc) : sessionSubjects(doc);
}

const indexed = (doc: JsonNode, member: string): string[] =>
  doc
    .opt(member)
    ?.items()
    .map((_, i) => `${member}[${i}]`) ?? [];

function primitiveSubjects(doc: JsonNode): string[] {
  const singles = ['key_attestation', 'close_attestation', 'target_key_reference', 'kmk_rollover_authorization'].filter((m) => doc.has(m));
  return [
    ...(doc
      .get('byte_encoding')
      .opt('cases')
      ?.items()
      .map((_, i) => `byte_encoding[${i}]`) ?? []),
    ...indexed(doc, 'create_provisioning_session'),
    ...indexed(doc, 'provisioning_method_macs'),
    ...indexed(doc, 'encryptions'),
    ...indexed(doc, 'signatures'),
    ...singles,
  ];
}

const callSubject = (call: JsonNode): string => `#${call.get('call_index').int()} ${call.get('method').str()}`;

function sessionSubjects(doc: JsonNode): string[] {
  const out: string[] = [];
  for (const node of doc.get('sessions').items()) {
    const where = `session '${node.get('label').str()}'`;
    for (const member of ['messages', 'server_hmacs']) out.push(...indexed(node, member).map((m) => `${where} ${m}`));
    // The protocol layer (src/interop/wire.ts): every message decoded and reproduced by our
    // issuer (produced or accepted); every client message reproduced by our client.
    for (const child of node.opt('messages')?.items() ?? []) {
      const idx = child.get('index').int();
      out.push(`${where} wire: decode #${idx}`, `${where} wire: issuer reproduces #${idx}`);
      if (child.get('direction').str() === 'client->server') out.push(`${where} wire: client reproduces #${idx}`);
    }
    out.push(...(node.opt('sks_calls')?.items().map(callSubject) ?? []));
  }
  for (const member of ['sks_calls_between_sessions', 'sks_calls_after_sessions']) {
    out.push(...(doc.opt(member)?.items().map(callSubject) ?? []));
  }
  return out;
}

/** True when `subject` occurs in `checkName` as whole space-separated words. */
export function names(checkName: string, subject: string): boolean {
  for (let at = checkName.indexOf(subject); at >= 0; at = checkName.indexOf(subject, at + 1)) {
    const end = at + subject.length;
    if ((at === 0 || checkName[at - 1] === ' ') && (end === checkName.length || checkName[end] === ' ')) return true;
  }
  return false;
}
