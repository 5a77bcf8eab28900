/**
 * "No free guess, ever": a PIN or PUK attempt either durably records its
 * failure or reports failure, and a storage fault never turns the check into
 * an oracle (ARCHITECTURE "Transactions and durability"; spec §8.6).
 *
 * An attacker who can make writes fail at will (a full disk, `ulimit -f`)
 * must learn nothing from an uncounted attempt: while the store cannot write,
 * a right and a wrong PIN get the same answer; and whatever write fails in a
 * PIN/PUK sequence, every answer that reveals a wrong guess is on disk, and
 * no more than the retry limit of them are revealed.
 *
 * Every PIN/PUK-checking call is run against both adapters through
 * test/support/faulty-port.ts, once failing from the first write, then
 * failing from each later write of the sequence in turn.
 */
import { constants, publicEncrypt, randomBytes, X509Certificate } from 'node:crypto';
import { generateKeyPairSync } from '../support/keygen.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHM_ECDH_RAW } from '../../src/sks/algorithms.js';
import type { KeyHandle, SecureKeyStore } from '../../src/sks/api.js';
import { ProtectionStatus } from '../../src/sks/constants.js';
import type { DeviceIdentity } from '../../src/sks/device/identity.js';
import { openSecureKeyStore } from '../../src/sks/engine/secure-key-store.js';
import { isSksError } from '../../src/sks/errors.js';
import { createMemoryKeyStore } from '../../src/sks/store/memory/store.js';
import { readAll, type KeyStorePort, type StoreContents } from '../../src/sks/store/records.js';
import { openSqliteKeyStore } from '../../src/sks/store/sqlite/store.js';
import { faultyPort, snapshotMutations } from '../support/faulty-port.js';
import { Alg, TEST_PROFILE, testDevice } from '../support/fixtures.js';
import type { KeyConfig } from '../../src/keygen2/server/index.js';
import { createEnroller } from '../support/keygen2-harness.js';

const PIN = '1234';
const WRONG_PIN = '9999';
const PUK = '12345678';
const WRONG_PUK = '00000000';
const RETRY_LIMIT = 3;

const bytes = (s: string): Buffer => Buffer.from(s, 'ascii');

interface Keys {
  /** EC P-256, export protection PIN. */
  readonly ec: KeyHandle;
  readonly rsa: KeyHandle;
  readonly sym: KeyHandle;
  /** Delete protection PIN. */
  readonly delPin: KeyHandle;
  /** Delete protection PUK. */
  readonly delPuk: KeyHandle;
}

/** One PIN- or PUK-checking call; `secret` is the PIN or PUK to try. */
interface Operation {
  readonly name: string;
  readonly secret: 'pin' | 'puk';
  /** The key whose counters the call checks (for a PUK: any key of its PIN policy). */
  readonly key: (k: Keys) => KeyHandle;
  /** False when the right secret changes what can be tried next (delete). */
  readonly repeatable: boolean;
  readonly call: (sks: SecureKeyStore, k: Keys, secret: Buffer) => Promise<unknown>;
}

const peer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
let rsaCiphertext = Buffer.alloc(0);

const OPERATIONS: readonly Operation[] = [
  {
    name: 'signData',
    secret: 'pin',
    key: (k) => k.ec,
    repeatable: true,
    call: (sks, k, authorization) => sks.signData({ keyHandle: k.ec, algorithm: Alg.ECDSA_SHA256, authorization, data: bytes('data') }),
  },
  {
    name: 'keyAgreement',
    secret: 'pin',
    key: (k) => k.ec,
    repeatable: true,
    call: (sks, k, authorization) => sks.keyAgreement({ keyHandle: k.ec, algorithm: ALGORITHM_ECDH_RAW, authorization, publicKey: peer }),
  },
  {
    name: 'asymmetricKeyDecrypt',
    secret: 'pin',
    key: (k) => k.rsa,
    repeatable: true,
    call: (sks, k, authorization) => sks.asymmetricKeyDecrypt({ keyHandle: k.rsa, algorithm: Alg.RSA_ES_PKCS1_5, authorization, data: rsaCiphertext }),
  },
  {
    name: 'performHmac',
    secret: 'pin',
    key: (k) => k.sym,
    repeatable: true,
    call: (sks, k, authorization) => sks.performHmac({ keyHandle: k.sym, algorithm: Alg.HMAC_SHA256, authorization, data: bytes('data') }),
  },
  {
    name: 'symmetricKeyEncrypt',
    secret: 'pin',
    key: (k) => k.sym,
    repeatable: true,
    call: (sks, k, authorization) =>
      sks.symmetricKeyEncrypt({ keyHandle: k.sym, algorithm: Alg.AES256_CBC, mode: true, authorization, data: Buffer.alloc(16) }),
  },
  { name: 'exportKey (PIN)', secret: 'pin', key: (k) => k.ec, repeatable: true, call: (sks, k, pin) => sks.exportKey(k.ec, pin) },
  { name: 'deleteKey (PIN)', secret: 'pin', key: (k) => k.delPin, repeatable: false, call: (sks, k, pin) => sks.deleteKey(k.delPin, pin) },
  // The new PIN is the old one, so the right PIN stays right for the rest of the sequence.
  { name: 'changePin', secret: 'pin', key: (k) => k.ec, repeatable: true, call: (sks, k, pin) => sks.changePin(k.ec, pin, bytes(PIN)) },
  { name: 'setPin (PUK)', secret: 'puk', key: (k) => k.ec, repeatable: true, call: (sks, k, puk) => sks.setPin(k.ec, puk, bytes(PIN)) },
  { name: 'unlockKey (PUK)', secret: 'puk', key: (k) => k.ec, repeatable: true, call: (sks, k, puk) => sks.unlockKey(k.ec, puk) },
  { name: 'deleteKey (PUK)', secret: 'puk', key: (k) => k.ec, repeatable: false, call: (sks, k, puk) => sks.deleteKey(k.delPuk, puk) },
];

/** What a caller sees: success, or the error's code and message. */
type Outcome = 'ok' | `${string}: ${string}`;

async function outcomeOf(promise: Promise<unknown>): Promise<Outcome> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (!isSksError(error)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

type StoreKind = 'memory' | 'sqlite';

let tmp = '';
let device: DeviceIdentity;
let provisioned: StoreContents;
let keys: Keys;
let copies = 0;

/** A fresh copy of the provisioned store on `kind`. */
function freshInner(kind: StoreKind): KeyStorePort {
  copies += 1;
  const port = kind === 'memory' ? createMemoryKeyStore() : openSqliteKeyStore({ path: join(tmp, `copy-${copies}.db`), storeKey: randomBytes(32) });
  port.apply(snapshotMutations(provisioned));
  return port;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'airtight-pin-faults-'));
  device = await testDevice();
  const port = createMemoryKeyStore();
  const sks = openSecureKeyStore({ store: port, device, profile: TEST_PROFILE });
  const { enroll, issuerUri, ca } = await createEnroller({ sks });
  const key = (id: string, extra: Partial<KeyConfig> = {}): KeyConfig => ({
    id,
    keyAlgorithm: Alg.EC_P256,
    appUsage: 'authentication',
    exportProtection: 'non-exportable',
    ...extra,
  });
  const { summary } = await enroll({
    config: {
      issuerUri,
      pukPolicies: [
        {
          puk: PUK,
          format: 'numeric',
          retryLimit: RETRY_LIMIT,
          pinPolicies: [
            {
              minLength: 4,
              maxLength: 8,
              format: 'numeric',
              retryLimit: RETRY_LIMIT,
              userModifiable: true,
              keys: [
                key('ec', { exportProtection: 'pin' }),
                key('rsa', { keyAlgorithm: Alg.RSA2048 }),
                key('sym'),
                key('delPin', { deleteProtection: 'pin' }),
                key('delPuk', { deleteProtection: 'puk' }),
              ],
            },
          ],
        },
      ],
    },
    pins: PIN,
    certify: async (k) => ({
      certificatePath: [await ca.issue(k.publicKey, { commonName: k.id })],
      ...(k.id === 'sym' ? { importSymmetricKey: randomBytes(32) } : {}),
    }),
  });
  const installed = (id: string) => summary.keys.find((k) => k.id === id)!;
  keys = {
    ec: installed('ec').keyHandle,
    rsa: installed('rsa').keyHandle,
    sym: installed('sym').keyHandle,
    delPin: installed('delPin').keyHandle,
    delPuk: installed('delPuk').keyHandle,
  };
  const rsaPublic = new X509Certificate(installed('rsa').certificatePath[0]).publicKey;
  rsaCiphertext = publicEncrypt({ key: rsaPublic, padding: constants.RSA_PKCS1_PADDING }, bytes('secret'));
  provisioned = readAll(port.load());
  await sks.close();
});

afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

type Step = 'right' | 'wrong';

/** Wrong until blocked, then the right one: the retry limit must hold. */
const blockingSequence = (op: Operation): Step[] => [...(op.repeatable ? (['right'] as const) : []), ...Array<Step>(RETRY_LIMIT + 2).fill('wrong'), 'right'];

/** Wrong and right in turn (a right one resets the counter, so this never blocks): STORAGE must not be an oracle. */
const alternatingSequence: readonly Step[] = ['right', 'wrong', 'right', 'wrong', 'right', 'wrong', 'wrong', 'right'];

interface Run {
  readonly steps: readonly Step[];
  readonly outcomes: readonly Outcome[];
  /** Wrong secrets answered AUTHORIZATION while the counter was not blocked: guesses the attacker learned. */
  readonly revealed: number;
  /** The same, counted since the last right secret that succeeded (which resets the counter). */
  readonly revealedSinceReset: number;
  /** The right secret succeeded at the end. */
  readonly rightWorked: boolean;
  /** The counter the store holds afterwards. */
  readonly durableCount: number;
  readonly writes: number;
}

/** Runs `steps` against a fresh store whose writes fail after `failAfter` (never when undefined). */
async function attack(kind: StoreKind, op: Operation, steps: readonly Step[], failAfter: number | undefined): Promise<Run> {
  const inner = freshInner(kind);
  // The inner store stays open after the SKS closes, so what became durable can be read.
  const port = faultyPort({ load: () => inner.load(), apply: (m) => inner.apply(m), close: () => undefined });
  if (failAfter !== undefined) port.failAfter(failAfter);
  const sks = openSecureKeyStore({ store: port, device, profile: TEST_PROFILE });
  const secrets: Readonly<Record<Step, Buffer>> =
    op.secret === 'pin' ? { right: bytes(PIN), wrong: bytes(WRONG_PIN) } : { right: bytes(PUK), wrong: bytes(WRONG_PUK) };
  const blockedBit = op.secret === 'pin' ? ProtectionStatus.PIN_BLOCKED : ProtectionStatus.PUK_BLOCKED;
  const outcomes: Outcome[] = [];
  let revealed = 0;
  let revealedSinceReset = 0;
  for (const step of steps) {
    const blocked = ((await sks.getKeyProtectionInfo(op.key(keys))).protectionStatus & blockedBit) !== 0;
    const outcome = await outcomeOf(op.call(sks, keys, secrets[step]));
    outcomes.push(outcome);
    if (step === 'wrong' && !blocked && outcome.startsWith('AUTHORIZATION')) {
      revealed += 1;
      revealedSinceReset += 1;
    }
    if (step === 'right' && outcome === 'ok') revealedSinceReset = 0;
  }
  await sks.close().catch(() => undefined);
  const snapshot = readAll(inner.load());
  inner.close();
  const durableCount = op.secret === 'pin' ? snapshot.keys.find((k) => k.handle === op.key(keys))!.errorCount : snapshot.pukPolicies[0].errorCount;
  return { steps, outcomes, revealed, revealedSinceReset, rightWorked: outcomes.at(-1) === 'ok', durableCount, writes: port.attempts };
}

const describeRun = (failAfter: number, run: Run): string =>
  `failing after ${failAfter} writes:\n${run.steps.map((s, i) => `${s}: ${run.outcomes[i]}`).join('\n')}`;

/**
 * The checks every run must pass: each learned wrong guess is on disk (unless
 * a later right one reset the counter), and a wrong secret answered STORAGE is
 * never followed by a right one that works: the fault would then tell them apart.
 */
function expectNoFreeGuess(failAfter: number, run: Run): void {
  const detail = describeRun(failAfter, run);
  if (!run.rightWorked) expect(run.durableCount, detail).toBeGreaterThanOrEqual(run.revealedSinceReset);
  run.steps.forEach((step, index) => {
    if (step === 'wrong' && run.outcomes[index].startsWith('STORAGE') && run.steps[index + 1] === 'right') {
      expect(run.outcomes[index + 1], detail).not.toBe('ok');
    }
  });
}

describe.each(['memory', 'sqlite'] as const)('no free PIN/PUK guess when writes fail [%s]', (kind) => {
  describe.each(OPERATIONS)('$name', (op) => {
    it('answers a right and a wrong secret alike while the store cannot write, and counts nothing it did not compare', async () => {
      const run = await attack(kind, op, blockingSequence(op), 0);
      expect(new Set(run.outcomes), describeRun(0, run)).toEqual(new Set(['STORAGE: The key store could not be written']));
      expect(run.revealed).toBe(0);
      expect(run.durableCount).toBe(0);
    });

    it('whichever write fails, reveals at most the retry limit of wrong guesses, each of them on disk', async () => {
      const healthy = await attack(kind, op, blockingSequence(op), undefined);
      // Without faults the sequence runs as the spec says: the counter blocks at the limit.
      expect(healthy.revealed).toBe(RETRY_LIMIT);
      expect(healthy.rightWorked).toBe(false);
      expect(healthy.durableCount).toBe(RETRY_LIMIT);
      for (let failAfter = 0; failAfter <= healthy.writes; failAfter++) {
        const run = await attack(kind, op, blockingSequence(op), failAfter);
        expect(run.revealed, describeRun(failAfter, run)).toBeLessThanOrEqual(RETRY_LIMIT);
        expectNoFreeGuess(failAfter, run);
      }
    });

    it.runIf(op.repeatable)('whichever write fails, a STORAGE answer never tells a wrong secret from the right one', async () => {
      const healthy = await attack(kind, op, alternatingSequence, undefined);
      expect(healthy.outcomes.every((o, i) => (alternatingSequence[i] === 'right' ? o === 'ok' : o.startsWith('AUTHORIZATION')))).toBe(true);
      for (let failAfter = 0; failAfter <= healthy.writes; failAfter++) expectNoFreeGuess(failAfter, await attack(kind, op, alternatingSequence, failAfter));
    });
  });

  it('a right PIN works again once the store can write, with every try left', async () => {
    const inner = freshInner(kind);
    const port = faultyPort(inner);
    port.failAfter(0);
    const sks = openSecureKeyStore({ store: port, device, profile: TEST_PROFILE });
    const sign = (pin: string): Promise<Outcome> =>
      outcomeOf(sks.signData({ keyHandle: keys.ec, algorithm: Alg.ECDSA_SHA256, authorization: bytes(pin), data: bytes('data') }));
    for (let i = 0; i < 6; i++) expect(await sign(WRONG_PIN)).toBe('STORAGE: The key store could not be written');
    expect(await sign(PIN)).toBe('STORAGE: The key store could not be written');
    port.heal();
    expect((await sks.getKeyProtectionInfo(keys.ec)).pinErrorCount).toBe(0);
    expect(await sign(PIN)).toBe('ok');
    expect(await sign(WRONG_PIN)).toBe(`AUTHORIZATION: "authorization" error for key #${keys.ec}`);
    expect((await sks.getKeyProtectionInfo(keys.ec)).pinErrorCount).toBe(1);
    await sks.close();
  });
});

describe.each(['memory', 'sqlite'] as const)('what counting before comparing costs [%s]', (kind) => {
  const sign = (sks: SecureKeyStore, pin: string): Promise<Outcome> =>
    outcomeOf(sks.signData({ keyHandle: keys.ec, algorithm: Alg.ECDSA_SHA256, authorization: bytes(pin), data: bytes('data') }));

  it('a correct PIN at a zero counter writes once per store instance, then nothing; closing gives the attempt back', async () => {
    const inner = freshInner(kind);
    const port = faultyPort({ load: () => inner.load(), apply: (m) => inner.apply(m), close: () => undefined });
    const sks = openSecureKeyStore({ store: port, device, profile: TEST_PROFILE });
    for (let i = 0; i < 50; i++) expect(await sign(sks, PIN)).toBe('ok');
    expect(port.attempts).toBe(1);
    // The attempt paid in advance is on disk while the store is open, and given back at close.
    expect(readAll(inner.load()).keys.find((k) => k.handle === keys.ec)!.errorCount).toBe(1);
    expect((await sks.getKeyProtectionInfo(keys.ec)).pinErrorCount).toBe(0);
    await sks.close();
    expect(port.attempts).toBe(2);
    expect(readAll(inner.load()).keys.find((k) => k.handle === keys.ec)!.errorCount).toBe(0);
    inner.close();
  });

  it('a wrong PIN costs one write, as before, and a right one after it one more (the reset)', async () => {
    const inner = freshInner(kind);
    const port = faultyPort(inner);
    const sks = openSecureKeyStore({ store: port, device, profile: TEST_PROFILE });
    expect(await sign(sks, WRONG_PIN)).toMatch(/^AUTHORIZATION/);
    expect(await sign(sks, WRONG_PIN)).toMatch(/^AUTHORIZATION/);
    expect(port.attempts).toBe(2);
    expect(await sign(sks, PIN)).toBe('ok');
    expect(port.attempts).toBe(4);
    expect(await sign(sks, PIN)).toBe('ok');
    expect(port.attempts).toBe(4);
    await sks.close();
  });

  it('a failed unrelated write does not turn a standing reservation into a counted error', async () => {
    const inner = freshInner(kind);
    const port = faultyPort(inner);
    const sks = openSecureKeyStore({ store: port, device, profile: TEST_PROFILE });
    expect(await sign(sks, PIN)).toBe('ok');
    port.failAfter(0);
    // Exporting marks the key as exported: a write, which fails; the store reloads its committed state.
    expect(await outcomeOf(sks.exportKey(keys.ec, bytes(PIN)))).toBe('STORAGE: The key store could not be written');
    expect((await sks.getKeyProtectionInfo(keys.ec)).pinErrorCount).toBe(0);
    port.heal();
    expect(await sign(sks, PIN)).toBe('ok');
    await sks.close();
  });
});
