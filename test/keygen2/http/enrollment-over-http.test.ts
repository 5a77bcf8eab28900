/**
 * runEnrollment over real HTTP on 127.0.0.1 against the issuer request handler
 * serving a canned sequence (recorded issuer messages): every way the issuer's
 * answer can go wrong after the SKS session exists ends in a coded error and
 * leaves no open SKS session behind (spec §2.2 steps 4-5, §11.2).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runEnrollment } from '../../../src/keygen2/client/run-enrollment.js';
import type { EnrollmentUi } from '../../../src/keygen2/client/ports.js';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import { createHttpTransport } from '../../../src/keygen2/http/http-transport.js';
import { buildInvocationUrl } from '../../../src/keygen2/http/invocation-url.js';
import { startIssuerServer, type IssuerStepResult, type RunningIssuerServer } from '../../../src/keygen2/http/issuer-handler.js';
import { loadRecording, messagesOf, openReplayDevice, recordedClock, recordedUi, sessionFiles, type ReplayDevice } from '../client/support/replay-harness.js';

const running: RunningIssuerServer[] = [];
afterEach(async () => {
  for (const runningIssuerServer of running.splice(0)) await runningIssuerServer.close();
});

/** The first recorded single-session file with a key creation round. */
const file = sessionFiles().find((text) => {
  const node = loadRecording(text);
  const sessions = node.get('sessions').items();
  return sessions.length === 1 && messagesOf(sessions[0]).some((m) => m.qualifier === 'KeyCreationRequest');
})!;
const doc = loadRecording(file);
const session = doc.get('sessions').items()[0];
const serverMessages = messagesOf(session)
  .filter((m) => m.direction === 'server->client')
  .map((m) => m.wire);

type Misbehaviour = (step: number) => IssuerStepResult | 'hang' | undefined;

/** Serves the recorded issuer messages; `misbehave(step)` may replace the answer of step n (0 = the init GET). */
async function issuer(misbehave: Misbehaviour): Promise<{ server: RunningIssuerServer; cookies: Array<string | undefined> }> {
  const cookies: Array<string | undefined> = [];
  let step = 0;
  const server = await startIssuerServer({
    step: (cookie) => {
      cookies.push(cookie);
      const count = step++;
      const special = misbehave(count);
      if (special === 'hang') return new Promise<IssuerStepResult>(() => undefined);
      if (special !== undefined) return special;
      const text = serverMessages.at(count);
      return text === undefined ? { redirect: 'http://127.0.0.1/done' } : { message: text };
    },
  });
  running.push(server);
  return { server, cookies };
}

async function enroll(server: RunningIssuerServer, device: ReplayDevice, ui: EnrollmentUi = recordedUi(doc), timeoutMs = 5000): Promise<KeyGen2Error> {
  const invocationUrl = buildInvocationUrl({
    initUrl: `${server.origin}/kg2?init=true`,
    transactionUrl: `${server.origin}/kg2`,
    cookie: 'JSESSIONID=test-1',
  });
  const error = await runEnrollment({
    sks: device.sks,
    transport: createHttpTransport({ timeoutMs, maxResponseBytes: 64 * 1024 }),
    ui,
    invocationUrl,
    clock: recordedClock(session),
  }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(KeyGen2Error);
  return error as KeyGen2Error;
}

/** Nothing of the session remains: no open session, no key. */
async function expectNothingLeft(device: ReplayDevice): Promise<void> {
  expect(await device.inner.enumerateProvisioningSessions(0, true)).toBeUndefined();
  expect(await device.inner.enumerateKeys(0)).toBeUndefined();
}

describe(`enrollment over HTTP (${file})`, () => {
  it('sends the invocation cookie on the GET and every POST', async () => {
    const { server, cookies } = await issuer((n) => (n === 2 ? { redirect: 'http://127.0.0.1/error' } : undefined));
    const device = openReplayDevice(doc);
    await enroll(server, device);
    expect(cookies).toEqual(['JSESSIONID=test-1', 'JSESSIONID=test-1', 'JSESSIONID=test-1']);
  });

  it('aborts-on-redirect-before-the-end', async () => {
    const { server } = await issuer((n) => (n === 2 ? { redirect: 'http://127.0.0.1/error' } : undefined));
    const device = openReplayDevice(doc);
    const errorValue = await enroll(server, device);
    expect(errorValue.code).toBe('TRANSPORT');
    expect(device.log.map((c) => c.method)).toEqual(['createProvisioningSession', 'abortProvisioningSession']);
    await expectNothingLeft(device);
  });

  it('aborts-on-non-keygen2-answer', async () => {
    const { server } = await issuer((n) => (n === 2 ? { message: 'this is not JSON' } : undefined));
    const device = openReplayDevice(doc);
    const error = await enroll(server, device);
    expect(error.code).toBe('SYNTAX');
    expect(device.log.at(-1)?.method).toBe('abortProvisioningSession');
    await expectNothingLeft(device);
  });

  it('aborts-on-wrong-message', async () => {
    const { server } = await issuer((n) => (n === 2 ? { message: serverMessages[0] } : undefined));
    const device = openReplayDevice(doc);
    const error = await enroll(server, device);
    expect(error.code).toBe('PROTOCOL');
    expect(device.log.at(-1)?.method).toBe('abortProvisioningSession');
    await expectNothingLeft(device);
  });

  it('aborts-on-oversize-answer', async () => {
    const { server } = await issuer((n) => (n === 2 ? { message: `"${'x'.repeat(100 * 1024)}"` } : undefined));
    const device = openReplayDevice(doc);
    const error = await enroll(server, device);
    expect(error.code).toBe('TRANSPORT');
    expect(device.log.at(-1)?.method).toBe('abortProvisioningSession');
    await expectNothingLeft(device);
  });

  it('aborts-on-timeout', async () => {
    const { server } = await issuer((n) => (n === 2 ? 'hang' : undefined));
    const device = openReplayDevice(doc);
    const error = await enroll(server, device, recordedUi(doc), 1500); // also the limit of the steps before the hang
    expect(error.code).toBe('TRANSPORT');
    expect(device.log.at(-1)?.method).toBe('abortProvisioningSession');
    await expectNothingLeft(device);
  });

  it('aborts-on-sks-refusal (a MAC made for another issuerUri)', async () => {
    // The recorded MACs were computed for the recorded issuerUri, not this server's URL,
    // so the SKS refuses the first MACed call of the KeyCreationRequest.
    const { server } = await issuer(() => undefined);
    const device = openReplayDevice(doc);
    const error = await enroll(server, device);
    expect(error.code).toBe('SKS');
    await expectNothingLeft(device);
  });

  it('user-declines-consent: no SKS session is ever created', async () => {
    const { server } = await issuer(() => undefined);
    const device = openReplayDevice(doc);
    const error = await enroll(server, device, { ...recordedUi(doc), consent: () => Promise.resolve(false) });
    expect(error.code).toBe('USER_ABORT');
    expect(device.log).toEqual([]);
  });

  it('user-cancels-pin-entry: the SKS session is aborted', async () => {
    const { server } = await issuer(() => undefined);
    const device = openReplayDevice(doc);
    const pinPolicies = messagesOf(session).some(
      (m) => m.qualifier === 'KeyCreationRequest' && m.wire.includes('pinPolicySpecifiers') && !m.wire.includes('encryptedPin'),
    );
    let asked = 0;
    const error = await enroll(server, device, {
      ...recordedUi(doc),
      enterPin: () => {
        asked++;
        return Promise.resolve(undefined);
      },
    });
    if (pinPolicies) {
      // A PIN is asked for only once the SKS verified its policy's MAC; these recorded MACs were
      // made for the recorded issuerUri, so the SKS refuses first and the user is never asked.
      // (The cancel itself: test/keygen2/attacks/replays.test.ts.)
      expect(error.code).toBe('SKS');
      expect(asked).toBe(0);
    }
    await expectNothingLeft(device);
  });

  it('refuses-init-redirect', async () => {
    const { server } = await issuer((n) => (n === 0 ? { redirect: 'http://127.0.0.1/elsewhere' } : undefined));
    const device = openReplayDevice(doc);
    const error = await enroll(server, device);
    expect(error.code).toBe('TRANSPORT');
    expect(device.log).toEqual([]);
  });
});
