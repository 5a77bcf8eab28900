/**
 * A recorded file whose wire text was altered — with its `sha256_hex`
 * recomputed so the digest still matches — must report failures: the decode
 * check no longer guards it, the protocol-layer checks (src/interop/wire.ts)
 * must. Table-driven over every message of every recorded session file and a
 * few alterations of each: a flipped base64url character inside a MAC (or an
 * attestation), a changed session id, a changed number. The same table runs on
 * an EC P-256 device recording made at run time (./support/ec-device-recording.ts),
 * where the session attestation is a randomized ECDSA signature. One alteration cannot
 * be noticed and is listed as such (`undetectable` below).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonNode } from '../../src/interop/json.js';
import { runWireChecks } from '../../src/interop/wire.js';
import { recordWithEcDevice } from './support/ec-device-recording.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VECTORS = process.env['AIRTIGHT_INTEROP_VECTORS'] ?? path.resolve(REPO_ROOT, '..', 'shared', 'interop');

interface RecordedFile {
  sessions: Array<{ label: string; messages: Array<{ index: number; qualifier: string; sha256_hex: string; wire: string }> }>;
}

const recordedFiles = readdirSync(VECTORS)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .filter((text) => {
    const doc = JSON.parse(readFileSync(path.join(VECTORS, text), 'utf8')) as Record<string, unknown>;
    return Array.isArray(doc['sessions']);
  });

/** The texts of the files under test: the recordings, and one EC P-256 device recording made at run time. */
const texts = new Map<string, string>(recordedFiles.map((f) => [f, readFileSync(path.join(VECTORS, f), 'utf8')]));
const EC_BASE = recordedFiles.find((f) => f.includes('session-01'));
if (EC_BASE !== undefined && process.env['AIRTIGHT_INTEROP_VECTORS'] === undefined) {
  const generated = await recordWithEcDevice(JSON.parse(texts.get(EC_BASE) ?? ''));
  texts.set('ec-p256-device (generated)', JSON.stringify(generated.doc));
}
const sessionFiles = [...texts.keys()];
const load = (file: string): RecordedFile => JSON.parse(texts.get(file) ?? '') as RecordedFile;

const B64U = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const otherChar = (c: string): string => B64U[(B64U.indexOf(c) + 1) % B64U.length] ?? 'A';

/** Replaces the character at `at`. */
const replaceAt = (s: string, at: number, c: string): string => s.slice(0, at) + c + s.slice(at + 1);

/** Alters the middle character of the first string value of one of `members`; undefined when there is none. */
function alterStringMember(wire: string, members: readonly string[]): string | undefined {
  for (const member of members) {
    const match = new RegExp(`"${member}":"([A-Za-z0-9_-]+)"`).exec(wire);
    if (match?.[1] === undefined) continue;
    const at = match.index + member.length + 4 + Math.floor(match[1].length / 2);
    return replaceAt(wire, at, otherChar(wire[at] ?? 'A'));
  }
  return undefined;
}

/** The alterations: each returns the altered wire text, or undefined when the message has no such value. */
const ALTERATIONS: ReadonlyArray<{ readonly name: string; readonly alter: (wire: string) => string | undefined }> = [
  { name: 'flip a base64url character inside a MAC', alter: (w) => alterStringMember(w, ['mac', 'attestation']) },
  { name: 'change the server session id', alter: (w) => alterStringMember(w, ['serverSessionId']) },
  { name: 'change the client session id', alter: (w) => alterStringMember(w, ['clientSessionId']) },
  {
    name: 'change a number',
    alter: (text) => {
      const match = /":(\d+)[,}\]]/.exec(text);
      if (match?.[1] === undefined) return undefined;
      const at = match.index + 2;
      return text.slice(0, at) + String(Number(match[1]) + 1) + text.slice(at + match[1].length);
    },
  },
];

interface Case {
  readonly file: string;
  readonly session: number;
  readonly message: number;
  readonly label: string;
  readonly alteration: (typeof ALTERATIONS)[number];
  /** Why no check can notice this alteration (the run must then pass); undefined for the others. */
  readonly undetectable?: string;
}

/**
 * The one number no check can notice: an InvocationResponse image preference
 * (`imageAttributes` width/height) is platform input, known only from that
 * message; no MAC, attestation or other recorded value covers it, so the
 * client replay takes the platform from it and the issuer accepts any value.
 */
const undetectable = (alteration: string, qualifier: string): string | undefined =>
  alteration === 'change a number' && qualifier === 'InvocationResponse'
    ? 'an image preference is platform input, covered by no MAC or attestation'
    : undefined;

const cases: Case[] = [];
for (const file of sessionFiles) {
  const doc = load(file);
  doc.sessions.forEach((state, si) => {
    state.messages.forEach((msg, mi) => {
      for (const alteration of ALTERATIONS) {
        if (alteration.alter(msg.wire) !== undefined) {
          const why = undetectable(alteration.name, msg.qualifier);
          cases.push({
            file,
            session: si,
            message: mi,
            label: `session '${state.label}' #${msg.index} ${msg.qualifier}`,
            alteration,
            ...(why === undefined ? {} : { undetectable: why }),
          });
        }
      }
    });
  });
}

/** The file with one message's wire text altered and its sha256_hex recomputed to match. */
function tampered(tamperCase: Case): RecordedFile {
  const doc = load(tamperCase.file);
  const msg = doc.sessions.at(tamperCase.session)?.messages.at(tamperCase.message);
  if (msg === undefined) throw new Error('no such message');
  const altered = tamperCase.alteration.alter(msg.wire);
  if (altered === undefined || altered === msg.wire) throw new Error('the alteration does not apply');
  msg.wire = altered;
  msg.sha256_hex = createHash('sha256').update(altered, 'utf8').digest('hex');
  return doc;
}

it('has alterations for every message kind of every recorded session file', () => {
  expect(sessionFiles.length).toBeGreaterThan(0);
  for (const file of sessionFiles) expect(cases.some((c) => c.file === file)).toBe(true);
  // Every message has a session id to change.
  const messages = sessionFiles.flatMap((f) => load(f).sessions.flatMap((s) => s.messages));
  expect(cases.filter((c) => c.alteration.name === 'change the server session id')).toHaveLength(messages.length);
});

describe.each(sessionFiles)('%s with altered wire text', (file) => {
  for (const tamperCase of cases.filter((x) => x.file === file)) {
    it(`${tamperCase.label}: ${tamperCase.alteration.name} → ${tamperCase.undetectable === undefined ? 'wire checks fail' : `passes: ${tamperCase.undetectable}`}`, async () => {
      const results = await runWireChecks(JsonNode.root(tampered(tamperCase)));
      const failed = results.filter((r) => !r.ok);
      if (tamperCase.undetectable !== undefined) {
        expect(failed).toEqual([]);
        return;
      }
      expect(failed.length).toBeGreaterThan(0);
      // Failures, not a crash: every failure is a named wire check with a detail. (The strict
      // decoder itself notices some: a CredentialDiscoveryRequest nonce binds the session ids.)
      for (const checkResult of failed) {
        expect(checkResult.name).toMatch(/ wire: (decode|issuer reproduces|client reproduces) /);
        expect(checkResult.detail ?? '').not.toBe('');
      }
    });
  }
});

describe('airtight interop on an altered recording', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'airtight-tamper-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.runIf(cases.length > 0)('reports the failures and exits 1', () => {
    const tamperCase =
      cases.find((x) => x.alteration.name === 'flip a base64url character inside a MAC' && x.label.includes('KeyCreationRequest')) ?? cases.at(0);
    if (tamperCase === undefined) return;
    const file = path.join(tmp, 'tampered.json');
    writeFileSync(file, JSON.stringify(tampered(tamperCase)));
    const child = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'interop', file], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(1);
    const lines = child.stdout.trimEnd().split('\n');
    const match = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
    expect(Number(match?.[2])).toBeGreaterThan(0);
    expect(child.stdout).toMatch(/^ok {3}.* wire: decode #\d+ /m);
    expect(child.stdout).toMatch(/^FAIL .* wire: issuer reproduces #\d+ KeyCreationRequest: wire text differs/m);
  });
});
