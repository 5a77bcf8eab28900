/**
 * Entry point of the interop checks: reads one vector file, recognizes its
 * layout from its content (never from its name) and runs the matching checks.
 */
import { readFile } from 'node:fs/promises';
import type { CheckResult } from './check.js';
import { describeError } from './check.js';
import { JsonNode, VectorFormatError } from './json.js';
import { runPrimitiveChecks } from './primitives.js';
import { runReplay } from './replay.js';
import { runSessionFileChecks } from './session-file.js';
import { runWireChecks } from './wire.js';

/** The vector layouts of ../shared/interop/README.md, format_version 1. */
export type InteropLayout = 'sks-primitives' | 'keygen2-session';

const SUPPORTED_FORMAT_VERSION = 1;

const PRIMITIVES_MEMBERS = ['byte_encoding', 'create_provisioning_session', 'provisioning_method_macs', 'device_attestation_key'];
const SESSION_MEMBERS = ['sessions', 'test_keys', 'constants'];

/** The layout of a parsed vector file, or a sentence saying why it is not one we know. */
export function detectLayout(doc: JsonNode): { layout: InteropLayout } | { problem: string } {
  if (!doc.isObject()) return { problem: 'unknown layout: the top level is not a JSON object' };
  const version = doc.opt('format_version')?.value;
  const fits = (members: readonly string[]): boolean => members.every((m) => doc.has(m));
  const layout: InteropLayout | undefined = fits(PRIMITIVES_MEMBERS) ? 'sks-primitives' : fits(SESSION_MEMBERS) ? 'keygen2-session' : undefined;
  if (layout === undefined) {
    return {
      problem:
        `unknown layout: neither sks-primitives (${PRIMITIVES_MEMBERS.join(', ')}) nor keygen2-session (${SESSION_MEMBERS.join(', ')}); ` +
        `top-level members are ${doc.keys().join(', ') || 'none'}`,
    };
  }
  if (version !== SUPPORTED_FORMAT_VERSION) {
    return { problem: `unsupported format_version ${JSON.stringify(version)} of a ${layout} file (supported: ${SUPPORTED_FORMAT_VERSION})` };
  }
  return { layout };
}

/**
 * Runs one group of checks. A document that breaks its layout outside any
 * single check (a member of the wrong type where the runner iterates) throws
 * `VectorFormatError`; that becomes one failed check naming the JSON path, so
 * the other groups, and the other files, are still checked.
 */
async function checkGroup(name: string, run: () => CheckResult[] | Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof VectorFormatError) return [{ name: `${name}: format`, ok: false, detail: error.message }];
    return [{ name, ok: false, detail: describeError(error) }];
  }
}

/** Runs every check of an already parsed vector document. */
export async function runInteropDocument(value: unknown, file = 'recording'): Promise<CheckResult[]> {
  const doc = JsonNode.root(value);
  const detected = detectLayout(doc);
  if ('problem' in detected) return [{ name: 'layout', ok: false, detail: detected.problem }];
  switch (detected.layout) {
    case 'sks-primitives':
      return checkGroup('primitives', () => runPrimitiveChecks(doc));
    case 'keygen2-session':
      return [
        ...(await checkGroup('session file', () => runSessionFileChecks(doc))),
        ...(await checkGroup('replay', () => runReplay(doc))),
        ...(await checkGroup('wire', () => runWireChecks(doc, file))),
      ];
  }
}

/**
 * Runs every check of one vector file.
 *
 * @example
 * ```ts
 * const results = await runInteropFile('../shared/interop/keygen2-session-01-ec-p256.json');
 * const failed = results.filter((r) => !r.ok);
 * ```
 */
export async function runInteropFile(path: string): Promise<CheckResult[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    return [{ name: 'read', ok: false, detail: `cannot read ${path} as JSON: ${describeError(error)}` }];
  }
  return runInteropDocument(value, path);
}
