/**
 * Issue 8 item 8, sessions: replayed messages and whole replayed sessions, out-of-order and
 * repeated messages, mismatched session ids, expired sessions and a session meant for another
 * issuer URI are refused with a coded KeyGen2Error, with no issuer outcome, no open SKS session
 * and nothing of the session committed (one pass on the SQLite store).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyGen2Error, type KeyGen2ErrorCode } from '../../../src/keygen2/errors.js';
import type { IssuerState } from '../../../src/keygen2/server/index.js';
import { openSqliteKeyStore } from '../../../src/sks/sqlite.js';
import {
  catchKind,
  cleanStates,
  committed,
  makeIssuer,
  manageScenario,
  noOpenSession,
  richScenario,
  runSession,
  type RunResult,
  type Scenario,
  type Side,
} from './mitm.js';

let manage: Scenario;
let rich: { earlier: RunResult; clean: Set<string> };
let managed: { earlier: RunResult; clean: Set<string> };
const tally = { tried: 0, refused: 0 };

beforeAll(async () => {
  manage = await manageScenario();
  rich = { earlier: await runSession(richScenario), clean: await cleanStates(richScenario) };
  managed = { earlier: await runSession(manage), clean: await cleanStates(manage) };
  expect(rich.earlier.outcome).toBeDefined();
  expect(managed.earlier.outcome).toBeDefined();
});

afterAll(() => console.log(`KeyGen2 replay/order/session attacks: ${tally.refused} of ${tally.tried} refused`));

/** Refused with a coded error by `side` (if given), no outcome, no open SKS session, nothing committed. */
async function expectRefused(
  runResult: RunResult,
  clean: Set<string>,
  expected: { side?: Side; codes?: readonly KeyGen2ErrorCode[]; committedAlready?: boolean } = {},
): Promise<void> {
  tally.tried++;
  expect(catchKind(runResult.error), String(runResult.error)).toBeDefined();
  if (expected.side !== undefined) expect(runResult.side, String(runResult.error)).toBe(expected.side);
  if (expected.codes !== undefined && isKeyGen2Error(runResult.error)) expect(expected.codes, runResult.error.message).toContain(runResult.error.code);
  expect(runResult.outcome).toBeUndefined();
  expect(await noOpenSession(runResult.sks)).toBe(true);
  if (expected.committedAlready !== true) expect(clean.has(committed(runResult.store))).toBe(true);
  tally.refused++;
}

const lastIndex = (r: RunResult): number => r.messages.length - 1;

describe('replays', () => {
  it('refuses-each-message-replayed-from-an-earlier-session', async () => {
    for (const { earlier, clean, scenario } of [
      { ...rich, scenario: richScenario },
      { ...managed, scenario: manage },
    ]) {
      for (const wireMessage of earlier.messages) {
        const result = await runSession(scenario, { tamper: (i, t) => (i === wireMessage.index ? wireMessage.text : t) });
        // The client closes its SKS session before sending the last response (spec §3.3 step 5).
        await expectRefused(result, clean, {
          side: wireMessage.index === 0 ? 'issuer' : wireMessage.direction === 'request' ? 'client' : 'issuer',
          committedAlready: wireMessage.index === lastIndex(earlier),
        });
      }
    }
  });

  it('refuses-a-whole-recorded-session-replayed-to-a-fresh-issuer-state', async () => {
    const issuer = makeIssuer();
    const responses = rich.earlier.messages.filter((m) => m.direction === 'response');
    // As recorded: the first response already names the old session.
    let { state } = await issuer.startText(richScenario.config);
    await expect(issuer.acceptText(state, (responses[0] as { text: string }).text)).rejects.toMatchObject({ code: 'PROTOCOL' });
    // With the fresh session's id and serverTime written in: the unauthenticated first round
    // passes, the session attestation (over the fresh server ephemeral key) does not.
    const fresh = state;
    const old = rich.earlier.states[0];
    const rewrite = (text: string): string => text.split(old.serverSessionId).join(fresh.serverSessionId).split(old.serverTime).join(fresh.serverTime);
    state = (await issuer.acceptText(state, rewrite((responses[0] as { text: string }).text))).state;
    await expect(issuer.acceptText(state, rewrite((responses[1] as { text: string }).text))).rejects.toMatchObject({ code: 'VERIFICATION' });
    tally.tried += 2;
    tally.refused += 2;
  });

  it('refuses-a-whole-recorded-session-replayed-to-a-fresh-device', async () => {
    for (const { earlier, clean, scenario } of [
      { ...rich, scenario: richScenario },
      { ...managed, scenario: manage },
    ]) {
      const requests = earlier.messages.filter((m) => m.direction === 'request');
      // A fake issuer that answers every response with the next recorded request.
      const asRecorded = await runSession(scenario, {
        tamper: (i, t) => (i === 0 ? (requests[0] as { text: string }).text : t),
        deliver: async ({ index }) => earlier.messages[index + 1]?.text ?? 'outcome',
      });
      await expectRefused(asRecorded, clean, { side: 'client', codes: ['PROTOCOL'] });
      // The same with the live clientSessionId written into every request: the MACs are under the
      // old session key (and lookup nonces are bound to the old session ids, spec §6.5).
      let live = '';
      const rewritten = await runSession(scenario, {
        tamper: (index, item) => {
          if (index === 3) live = (JSON.parse(item) as { clientSessionId: string }).clientSessionId;
          return index === 0 ? (requests[0] as { text: string }).text : item;
        },
        deliver: async ({ index }) => {
          const next = earlier.messages.at(index + 1)?.text;
          return next === undefined ? 'outcome' : next.split(clientSessionIdOf(earlier)).join(live);
        },
      });
      await expectRefused(rewritten, clean, { side: 'client', codes: ['SKS', 'VERIFICATION', 'PROTOCOL'] });
    }
  });
});

function clientSessionIdOf(runResult: RunResult): string {
  const message = runResult.messages.find((x) => x.qualifier === 'ProvisioningInitializationResponse');
  return (JSON.parse((message as { text: string }).text) as { clientSessionId: string }).clientSessionId;
}

describe('order', () => {
  it('refuses-a-request-sent-before-its-turn', async () => {
    // In a fresh session, request k is replaced by the recorded session's request k+1.
    const requests = rich.earlier.messages.filter((m) => m.direction === 'request');
    for (let k = 0; k + 1 < requests.length; k++) {
      const at = (requests[k] as { index: number }).index;
      const runResult = await runSession(richScenario, { tamper: (i, t) => (i === at ? (requests[k + 1] as { text: string }).text : t) });
      await expectRefused(runResult, rich.clean, { side: 'client', codes: ['PROTOCOL'] });
    }
  });

  it('refuses-a-request-repeated-instead-of-the-next-one', async () => {
    for (const [scenario, clean] of [
      [richScenario, rich.clean],
      [manage, managed.clean],
    ] as const) {
      const seen: string[] = [];
      const runResult = await runSession(scenario, {
        tamper: (index, text) => {
          seen[index] = text;
          return text;
        },
        // After the client answers request 2 (ProvisioningInitialization), it gets request 2 again.
        deliver: async ({ state, text, index, step }) => (index === 3 ? seen[2] : step(state, text)),
      });
      await expectRefused(runResult, clean, { side: 'client', codes: ['PROTOCOL'] });
    }
  });

  it('refuses-a-response-out-of-order-or-repeated-and-anything-after-the-end', async () => {
    const issuer = makeIssuer();
    for (const runResult of [rich.earlier, managed.earlier]) {
      const responses = runResult.messages.filter((m) => m.direction === 'response');
      // states[j] waits for responses[j]; each other response is refused (ahead, behind, or repeated).
      for (let j = 0; j < runResult.states.length; j++) {
        for (let k = 0; k < responses.length; k++) {
          if (k === j) continue;
          const state = JSON.parse(JSON.stringify(runResult.states[j])) as IssuerState;
          const refused = await issuer.acceptText(state, (responses[k] as { text: string }).text).then(
            () => undefined,
            (e: unknown) => e,
          );
          tally.tried++;
          expect(catchKind(refused), `state ${j} response ${k}`).toBeDefined();
          expect(['PROTOCOL', 'SESSION', 'SCHEMA']).toContain((refused as { code: string }).code);
          tally.refused++;
        }
      }
      // The finished session accepts nothing, not even its own last response again.
      const done = runResult.states[runResult.states.length - 1];
      expect(done.phase).toBe('done');
      await expect(issuer.acceptText(done, (responses[responses.length - 1] as { text: string }).text)).rejects.toMatchObject({ code: 'SESSION' });
    }
  });
});

describe('what the user sees', () => {
  it('asks-for-a-pin-only-under-a-pin-policy-the-sks-verified', async () => {
    // PIN.2 (user-defined) altered in transit; the user would type a 4-digit PIN.
    const alter = (change: (p: Record<string, unknown>) => void) => (index: number, text: string) => {
      if (index !== 4) return text;
      const message = JSON.parse(text) as { pukPolicySpecifiers: Array<{ pinPolicySpecifiers: Array<Record<string, unknown>> }> };
      change(message.pukPolicySpecifiers[1].pinPolicySpecifiers[0]);
      return JSON.stringify(message);
    };
    for (const change of [
      (p: Record<string, unknown>) => (p['minLength'] = 5),
      (p: Record<string, unknown>) => (p['maxLength'] = 4),
      (p: Record<string, unknown>) => (p['format'] = 'alphanumeric'),
      (p: Record<string, unknown>) => (p['patternRestrictions'] = ['two-in-a-row']),
    ]) {
      const runResult = await runSession(richScenario, { pin: '1357', tamper: alter(change) });
      await expectRefused(runResult, rich.clean, { side: 'client', codes: ['SKS'] });
      expect(catchKind(runResult.error)).toBe('mac');
      expect(runResult.pinPrompts).toBe(0);
    }
    expect((await runSession(richScenario, { pin: '1357' })).pinPrompts).toBe(1);
  });

  it('aborts-the-sks-session-when-the-user-cancels-pin-entry', async () => {
    const runResult = await runSession(richScenario, { pin: null });
    expect(runResult.pinPrompts).toBe(1);
    expect((runResult.error as { code?: string }).code).toBe('USER_ABORT');
    expect(runResult.outcome).toBeUndefined();
    expect(await noOpenSession(runResult.sks)).toBe(true);
    expect(rich.clean.has(committed(runResult.store))).toBe(true);
  });
});

describe('session identity and lifetime', () => {
  const replaceIn = (at: number, member: 'serverSessionId' | 'clientSessionId', value: string) => (i: number, t: string) =>
    i === at ? JSON.stringify({ ...(JSON.parse(t) as object), [member]: value }) : t;

  it('refuses-messages-carrying-another-live-sessions-ids', async () => {
    const other = rich.earlier;
    const otherServer = other.states[0].serverSessionId;
    const otherClient = clientSessionIdOf(other);
    for (const wireMessage of rich.earlier.messages) {
      if (wireMessage.index === 0) continue;
      for (const member of ['serverSessionId', 'clientSessionId'] as const) {
        if (member === 'clientSessionId' && wireMessage.index < 3) continue;
        const runResult = await runSession(richScenario, {
          tamper: replaceIn(wireMessage.index, member, member === 'serverSessionId' ? otherServer : otherClient),
        });
        await expectRefused(runResult, rich.clean, {
          side: wireMessage.direction === 'request' ? 'client' : 'issuer',
          codes: ['PROTOCOL', 'VERIFICATION', 'SKS'],
          committedAlready: wireMessage.index === lastIndex(rich.earlier),
        });
      }
    }
  });

  it('refuses-a-response-after-the-issuer-session-expired', async () => {
    let offset = 0;
    const runResult = await runSession(richScenario, {
      issuerClock: () => Date.now() + offset,
      tamper: (index, text) => {
        if (index === 5) offset = 3601_000; // the KeyCreationResponse arrives after sessionLifeTime (3600 s)
        return text;
      },
    });
    await expectRefused(runResult, rich.clean, { side: 'issuer', codes: ['SESSION'] });
  });

  it('refuses-a-request-after-the-sks-session-expired-and-commits-nothing-to-sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airtight-attack-'));
    try {
      const store = openSqliteKeyStore({ path: join(dir, 'sks.db'), storeKey: randomBytes(32) });
      const before = committed(store);
      let offset = 0;
      const runResult = await runSession(richScenario, {
        store,
        sksClock: () => Date.now() + offset,
        tamper: (index, text) => {
          if (index === 4) offset = 3601_000; // the KeyCreationRequest arrives after the SKS session expired
          return text;
        },
      });
      await expectRefused(runResult, new Set([before]), { side: 'client', codes: ['SKS'] });
      // And a MAC failure at the last request leaves the SQLite store as it was, too.
      const flipped = await runSession(richScenario, {
        store,
        tamper: (i, t) => (i === 6 ? t.replace(/"mac":"(.)/, (_s, c: string) => `"mac":"${c === 'A' ? 'B' : 'A'}`) : t),
      });
      await expectRefused(flipped, new Set([before]), { side: 'client', codes: ['SKS'] });
      store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses-a-server-time-far-from-the-device-clock', async () => {
    const runResult = await runSession(richScenario, { clientClock: { now: () => new Date(Date.now() + 2 * 86_400_000), utcOffsetMinutes: () => 0 } });
    await expectRefused(runResult, rich.clean, { side: 'client', codes: ['PROTOCOL'] });
  });

  it('refuses-a-session-the-client-ran-for-another-issuer-uri', async () => {
    for (const url of ['http://issuer.test/kg2/', 'http://issuer.test/kg2?x=1', 'http://issuer.test/kg2x', 'http://ISSUER.test/kg2']) {
      const runResult = await runSession(richScenario, { transactionUrl: url });
      // The issuer URI enters the session attestation and the session key (spec §5.2, §5.3).
      await expectRefused(runResult, rich.clean, { side: 'issuer', codes: ['VERIFICATION'] });
    }
    // Another origin than the init URL's (the host the user consented to) never gets that far.
    const elsewhere = await runSession(richScenario, { transactionUrl: 'http://evil.test/kg2' });
    await expectRefused(elsewhere, rich.clean, { side: 'client', codes: ['SCHEMA'] });
  });
});
