/**
 * Issue 8 item 8, fields: for a full session, every field of every message altered in turn by a
 * man in the middle (flip a byte, alter text/number/boolean, swap with another session's value,
 * drop a member, drop/reorder/duplicate an array) must be refused by a coded KeyGen2Error, with
 * no issuer outcome, no open SKS session and the SKS's committed state unchanged. The few changes
 * the spec makes no difference for are listed below with the spec's reason; they must be
 * accepted exactly (a refusal or an unlisted acceptance both fail).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { manageScenario, richScenario } from './mitm.js';
import { sweep, table, type MessageRow, type SweepResult } from './field-mutations.js';

/**
 * Mutations of values no MAC, signature or attestation covers, that the spec leaves without
 * effect or only unauthenticated: `message`, `field` (indices as `[]`; `under` = the field or
 * anything below it), the mutation kinds, and the spec's reason. Only these may be accepted.
 */
interface Allowance {
  readonly message: string;
  readonly field: string;
  readonly kinds: readonly string[] | 'any';
  readonly under?: true;
  readonly reason: string;
}

const ALLOWED: readonly Allowance[] = [
  // The invocation round precedes the session key: no MAC or attestation covers it (§6.1, §6.2).
  { message: 'InvocationRequest', field: '$.preferredLanguages', kinds: 'any', under: true, reason: '§6.1 "informational for client UI"; unauthenticated' },
  { message: 'InvocationRequest', field: '$.privacyEnabled', kinds: ['drop-member'], reason: '§6.1 default false: dropping an explicit false changes nothing' },
  {
    message: 'InvocationRequest',
    field: '$.targetKeyContainers',
    kinds: ['drop-member', 'drop-element', 'reorder'],
    reason: '§6.1 a preference; our SKS has one container; unauthenticated',
  },
  { message: 'InvocationRequest', field: '$.targetKeyContainers[]', kinds: ['enum'], reason: '§6.1 a preference; our SKS has one container; unauthenticated' },
  { message: 'InvocationRequest', field: '$.clientCapabilityQuery', kinds: ['reorder'], reason: '§6.2 answers come "in any order"' },
  { message: 'InvocationResponse', field: '$.clientCapabilities', kinds: ['reorder'], reason: '§6.2 "any order"' },
  {
    message: 'InvocationResponse',
    field: '$.clientCapabilities[].supported',
    kinds: ['boolean'],
    reason: "§6.2/§10 the client's own unauthenticated declaration",
  },
  // §4.10: "readers OR the bits (order and duplicates do not matter)": the MAC'd mask is unchanged.
  {
    message: 'KeyCreationRequest',
    field: '$.pukPolicySpecifiers[].pinPolicySpecifiers[].patternRestrictions',
    kinds: ['duplicate', 'reorder'],
    reason: "§4.10 same MAC'd mask",
  },
  // §5.5: an absent `userModifiable` enters the MAC as its default, true: dropping an explicit true changes nothing.
  {
    message: 'KeyCreationRequest',
    field: '$.pukPolicySpecifiers[].pinPolicySpecifiers[].userModifiable',
    kinds: ['drop-member'],
    reason: '§5.5 default true enters the MAC',
  },
  // §9.4: each roll-over is its own authorization signed by the older KMK, applied before
  // createProvisioningSession; no session MAC covers the list. Dropping it leaves the older KMK
  // in force (visible to the issuer on its next discovery); applying it twice finds nothing to
  // update the second time; another session's authorization is another valid signature by the
  // same older KMK over the same data.
  {
    message: 'ProvisioningInitializationRequest',
    field: '$.updatableKeyManagementKeys',
    kinds: ['drop-member', 'duplicate'],
    reason: '§9.4 separately signed, outside the session MACs',
  },
  {
    message: 'ProvisioningInitializationRequest',
    field: '$.updatableKeyManagementKeys[].authorization',
    kinds: ['swap'],
    reason: '§9.4 another valid signature over the same data',
  },
  // Each lookup specifier is signed on its own and answered by id (§6.5, §6.6).
  { message: 'CredentialDiscoveryRequest', field: '$.lookupSpecifiers', kinds: ['reorder'], reason: '§6.5 specifiers signed one by one, answered by id' },
  { message: 'CredentialDiscoveryResponse', field: '$.lookupResults', kinds: ['reorder'], reason: '§6.6 results matched by id' },
  // §6.6 "Issuer processing: only the session IDs are checked": the device's report of what it
  // holds is unauthenticated. A falsified entry can only make the issuer target a key the SKS then
  // refuses (post-operation MAC and KMK authorization, §9.2 — those runs are refused and counted
  // as caught), or make it miss a key; entries the issuer does not act on change nothing.
  {
    message: 'CredentialDiscoveryResponse',
    field: '$.lookupResults[].matchingCredentials',
    kinds: 'any',
    under: true,
    reason: '§6.6 unauthenticated report; acted-on entries are refused by the SKS',
  },
];

function allowance(message: string, kind: string, field: string): Allowance | undefined {
  return ALLOWED.find(
    (a) =>
      a.message === message &&
      (a.kinds === 'any' || a.kinds.includes(kind)) &&
      (field === a.field || (a.under === true && (field.startsWith(`${a.field}.`) || field.startsWith(`${a.field}[]`)))),
  );
}

const harmless = (message: string, kind: string, field: string): boolean => allowance(message, kind, field) !== undefined;

const results: SweepResult[] = [];

afterAll(() => {
  const rows: MessageRow[] = results.flatMap((r) => r.rows);
  if (rows.length === 0) return;
  console.log(`KeyGen2 field mutations (a fresh session per mutation)\n${table(rows)}`);
  const accepted = results.flatMap((r) => r.accepted);
  if (accepted.length > 0) {
    const line = (text: string): string => {
      const [message = '', kind = '', field = ''] = text.split(' ');
      return `${text} — ${allowance(message, kind, field)?.reason ?? 'NOT ALLOWED'}`;
    };
    console.log(`accepted (each allowed above with its spec reason):\n  ${accepted.map(line).join('\n  ')}`);
  }
  const late = results.flatMap((r) => r.lateCatches);
  if (late.length > 0) console.log(`request mutations refused by the issuer (the client cannot check them):\n  ${late.join('\n  ')}`);
});

function check(sweepResult: SweepResult): void {
  results.push(sweepResult);
  expect(sweepResult.problems).toEqual([]);
  // Every field of every message was touched by at least one mutation, and each message had several.
  for (const [message, fields] of sweepResult.fieldsByMessage) {
    const hit = sweepResult.touched.get(message) ?? new Set();
    expect(
      fields.filter((f) => !hit.has(f)),
      message,
    ).toEqual([]);
  }
  for (const row of sweepResult.rows) {
    expect(row.tried, row.message).toBeGreaterThanOrEqual(2 * row.fields);
    expect(row.caught.decoder + row.caught.mac + row.caught.protocol + row.accepted, row.message).toBe(row.tried);
  }
}

describe("every MAC'd field of every message, altered in transit", () => {
  it('refuses-every-mutation-of-an-issuance-session-with-policies-imports-and-extensions', async () => {
    const sweepResult = await sweep(richScenario, harmless);
    check(sweepResult);
    expect(sweepResult.rows.map((x) => x.message.replace(/^rich#\d+ /, ''))).toEqual([
      'InvocationRequest',
      'InvocationResponse',
      'ProvisioningInitializationRequest',
      'ProvisioningInitializationResponse',
      'KeyCreationRequest',
      'KeyCreationResponse',
      'ProvisioningFinalizationRequest',
      'ProvisioningFinalizationResponse',
    ]);
  }, 180_000);

  it('refuses-every-mutation-of-a-management-session-with-discovery-roll-over-and-post-operations', async () => {
    const sweepResult = await sweep(await manageScenario(), harmless);
    check(sweepResult);
    expect(sweepResult.rows.map((x) => x.message.replace(/^manage#\d+ /, ''))).toContain('CredentialDiscoveryResponse');
  }, 180_000);
});
