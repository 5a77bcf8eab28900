/**
 * PIN, PUK and biometric scenarios of the reference suite (spec §15.2 tests
 * 11-13, 31, 32, 49, 67, 69, 72 with the tables of §15.3, §15.4, §15.6;
 * spec §8).
 */
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KeyHandle } from '../../src/sks/api.js';
import { AppUsage, BiometricProtection, PassphraseFormat, PinGrouping, PinPattern, ProtectionStatus } from '../../src/sks/constants.js';
import { DEFAULT_PROFILE } from '../../src/sks/device/identity.js';
import {
  Alg,
  DEVICE_PIN,
  TEST_PROFILE,
  certifiedPublicKey,
  describeStores,
  expectSksError,
  expectTornDown,
  signAndVerify,
  verifySignature,
} from '../support/fixtures.js';
import type { PinBytes, PinPolicyOptions } from '../support/issuer-emulator.js';
import {
  Uri,
  bytes,
  expectAuthorizationError,
  groupMembers,
  groupingViolation,
  protection,
  provisionSingleKey,
  sign,
  type GroupMember,
} from '../support/user-helpers.js';

const DATA = Buffer.from('Some data to sign');
const { NUMERIC, ALPHANUMERIC, STRING, BINARY } = PassphraseFormat;
const notModifiable = (h: KeyHandle): string => `PIN for key #${h} is not user modifiable`;
const BINARY_SECRET = Uint8Array.of(0x12, 0x30, 0x02, 0x34, 0xff);

describeStores('PIN and PUK scenarios', (ctx) => {
  describe('retry counters and lockout (spec §8.6)', () => {
    for (const [name, userDefined, item] of [
      ['a user-defined', true, 't11'],
      ['an issuer-set (encrypted)', false, 't12'],
    ] as const) {
      it(`blocks ${name} PIN after exactly retryLimit wrong attempts, a good PIN resetting the count (${item})`, async () => {
        const { handle } = await provisionSingleKey(ctx, {
          pinPolicy: { userDefined, retryLimit: 3 },
          key: userDefined ? { userPin: '1234' } : { presetPin: '1234' },
        });
        expect((await ctx.sks.getKeyProtectionInfo(handle)).userDefined).toBe(userDefined);
        for (const count of [1, 2]) {
          await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256, '4321'), handle);
          expect(await protection(ctx.sks, handle)).toMatchObject({ pinErrorCount: count, pinBlocked: false });
        }
        await signAndVerify(ctx.sks, handle, '1234');
        expect((await protection(ctx.sks, handle)).pinErrorCount).toBe(0);
        for (const total of [1, 2, 3]) {
          await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256, '4321'), handle);
          expect(await protection(ctx.sks, handle)).toMatchObject({ pinErrorCount: total, pinBlocked: total === 3 });
        }
        await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256, '1234'), handle);
        // A blocked PIN is not counted further.
        expect(await protection(ctx.sks, handle)).toMatchObject({ pinErrorCount: 3, pinBlocked: true });
        expect((await ctx.sks.getKeyProtectionInfo(handle)).protectionStatus).toBe(ProtectionStatus.PIN_PROTECTED | ProtectionStatus.PIN_BLOCKED);
      });
    }

    it('counts an absent and an empty PIN as wrong on a PIN-protected key (spec §1.6)', async () => {
      const { handle } = await provisionSingleKey(ctx, { pinPolicy: {}, key: { userPin: '1234' } });
      await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256), handle);
      await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256, new Uint8Array(0)), handle);
      expect((await protection(ctx.sks, handle)).pinErrorCount).toBe(2);
    });

    it("synchronizes PIN error counters across the grouping's key group (spec §8.5, §8.6)", async () => {
      for (const grouping of [PinGrouping.NONE, PinGrouping.SHARED]) {
        const issuerSession = await ctx.issuer();
        const pin = await issuerSession.createPinPolicy({ grouping });
        const provisionedKey = await issuerSession.provisionKey({ pinPolicy: pin, userPin: '1234', appUsage: AppUsage.SIGNATURE });
        const bytes = await issuerSession.provisionKey({ pinPolicy: pin, userPin: '1234', appUsage: AppUsage.SIGNATURE });
        await issuerSession.closeSession();
        await expectAuthorizationError(sign(ctx.sks, provisionedKey.keyHandle, Alg.ECDSA_SHA256, '9999'), provisionedKey.keyHandle);
        expect((await protection(ctx.sks, bytes.keyHandle)).pinErrorCount, `grouping ${grouping}`).toBe(grouping === PinGrouping.SHARED ? 1 : 0);
        await expectAuthorizationError(sign(ctx.sks, bytes.keyHandle, Alg.ECDSA_SHA256, '9999'), bytes.keyHandle);
        expect((await protection(ctx.sks, provisionedKey.keyHandle)).pinErrorCount, `grouping ${grouping}`).toBe(grouping === PinGrouping.SHARED ? 2 : 1);
        await signAndVerify(ctx.sks, bytes.keyHandle, '1234');
        expect((await protection(ctx.sks, provisionedKey.keyHandle)).pinErrorCount, `grouping ${grouping}`).toBe(grouping === PinGrouping.SHARED ? 0 : 1);
      }
    });
  });

  describe('PIN and PUK formats, patterns and grouping at creation (t13, spec §15.3)', () => {
    const PUK_ACCEPTED: ReadonlyArray<[number, PinBytes]> = [
      [ALPHANUMERIC, 'AB123'],
      [NUMERIC, '1234'],
      [STRING, 'azAB13.\n'],
      [BINARY, BINARY_SECRET],
      [NUMERIC, '0123456789'.repeat(13).slice(0, 128)],
    ];
    const PUK_REJECTED: ReadonlyArray<[number, PinBytes, string]> = [
      [ALPHANUMERIC, '', 'PUK length error'],
      [ALPHANUMERIC, 'ab123', 'PUK syntax error'],
      [NUMERIC, 'AB1234', 'PUK syntax error'],
      [NUMERIC, '0123456789'.repeat(13).slice(0, 129), 'PUK length error'],
    ];

    it('accepts PUKs that fit their format and up to 128 bytes, and unlocks with exactly those bytes (t13)', async () => {
      for (const [format, puk] of PUK_ACCEPTED) {
        const { handle } = await provisionSingleKey(ctx, { puk: { value: puk, format }, pinPolicy: {}, key: { userPin: '1234' } });
        expect(await ctx.sks.getKeyProtectionInfo(handle)).toMatchObject({ pukFormat: format, pukRetryLimit: 3 });
        await expectAuthorizationError(ctx.sks.unlockKey(handle, Buffer.concat([bytes(puk), Buffer.from('0')])), handle);
        await ctx.sks.unlockKey(handle, bytes(puk));
        expect((await protection(ctx.sks, handle)).pukErrorCount).toBe(0);
      }
    });

    it('rejects PUKs of the wrong length or syntax (t13)', async () => {
      for (const [format, puk, message] of PUK_REJECTED) {
        const issuerSession = await ctx.issuer();
        await expectSksError(issuerSession.createPukPolicy('PUK', puk, format), 'OPTION', message);
        await expectTornDown(issuerSession);
      }
    });

    const tryPin = async (policy: PinPolicyOptions, pin: PinBytes, error?: string): Promise<void> => {
      const issuerSession = await ctx.issuer();
      const pinPolicy = await issuerSession.createPinPolicy(policy);
      if (error !== undefined) {
        await expectSksError(issuerSession.createKeyEntry({ pinPolicy, userPin: pin }), 'OPTION', error);
        await expectTornDown(issuerSession);
        return;
      }
      const key = await issuerSession.provisionKey({ pinPolicy, userPin: pin });
      await issuerSession.closeSession();
      await signAndVerify(ctx.sks, key.keyHandle, pin);
    };

    it('accepts PINs that fit their format (t13)', async () => {
      for (const [format, pin] of [
        [ALPHANUMERIC, 'AB123'],
        [NUMERIC, '1234'],
        [STRING, 'azAB13.\n'],
        [BINARY, BINARY_SECRET],
      ] as const) {
        await tryPin({ format }, pin);
      }
    });

    it('rejects PINs that do not fit their format (t13)', async () => {
      await tryPin({ format: ALPHANUMERIC }, 'ab123', 'PIN syntax error');
      await tryPin({ format: NUMERIC }, 'AB1234', 'PIN syntax error');
      await tryPin({ format: ALPHANUMERIC }, 'AB-12', 'PIN syntax error');
    });

    it('rejects PINs shorter than minLength or longer than maxLength (spec §8.3 step 1)', async () => {
      await tryPin({ minLength: 4, maxLength: 8 }, '123', 'PIN length error');
      await tryPin({ minLength: 4, maxLength: 8 }, '123456789', 'PIN length error');
      await tryPin({ minLength: 4, maxLength: 8 }, '12345678');
    });

    const PATTERNS: ReadonlyArray<{
      readonly name: string;
      readonly patterns: number;
      readonly format: number;
      readonly pin: string;
      readonly error?: string;
    }> = [
      { name: 'sequence', patterns: PinPattern.SEQUENCE, format: NUMERIC, pin: '1234', error: 'PIN must not be a sequence' },
      { name: 'sequence', patterns: PinPattern.SEQUENCE, format: NUMERIC, pin: '8765', error: 'PIN must not be a sequence' },
      { name: 'sequence', patterns: PinPattern.SEQUENCE, format: NUMERIC, pin: '1235' },
      { name: 'sequence', patterns: PinPattern.SEQUENCE, format: NUMERIC, pin: '1345' },
      { name: 'two-in-a-row', patterns: PinPattern.TWO_IN_A_ROW, format: NUMERIC, pin: '1232' },
      { name: 'two-in-a-row', patterns: PinPattern.TWO_IN_A_ROW, format: NUMERIC, pin: '11345', error: 'PIN with 2 or more of same the character in a row' },
      { name: 'two-in-a-row', patterns: PinPattern.TWO_IN_A_ROW, format: NUMERIC, pin: '13455', error: 'PIN with 2 or more of same the character in a row' },
      { name: 'three-in-a-row', patterns: PinPattern.THREE_IN_A_ROW, format: NUMERIC, pin: '11232' },
      {
        name: 'three-in-a-row',
        patterns: PinPattern.THREE_IN_A_ROW,
        format: NUMERIC,
        pin: '111345',
        error: 'PIN with 3 or more of same the character in a row',
      },
      {
        name: 'three-in-a-row',
        patterns: PinPattern.THREE_IN_A_ROW,
        format: NUMERIC,
        pin: '134555',
        error: 'PIN with 3 or more of same the character in a row',
      },
      { name: 'sequence+three', patterns: PinPattern.SEQUENCE | PinPattern.THREE_IN_A_ROW, format: NUMERIC, pin: '1235' },
      { name: 'sequence+three', patterns: PinPattern.SEQUENCE | PinPattern.THREE_IN_A_ROW, format: NUMERIC, pin: '6789', error: 'PIN must not be a sequence' },
      {
        name: 'sequence+three',
        patterns: PinPattern.SEQUENCE | PinPattern.THREE_IN_A_ROW,
        format: NUMERIC,
        pin: '1115',
        error: 'PIN with 3 or more of same the character in a row',
      },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: STRING, pin: '2aZ.' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: ALPHANUMERIC, pin: 'AB34' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: STRING, pin: '2aZA', error: 'Missing character group in PIN' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: STRING, pin: 'a.jZ', error: 'Missing character group in PIN' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: STRING, pin: '2 ZA', error: 'Missing character group in PIN' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: STRING, pin: '2a 6', error: 'Missing character group in PIN' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: ALPHANUMERIC, pin: 'ABCK', error: 'Missing character group in PIN' },
      { name: 'missing-group', patterns: PinPattern.MISSING_GROUP, format: ALPHANUMERIC, pin: '1235', error: 'Missing character group in PIN' },
      { name: 'repeated', patterns: PinPattern.REPEATED, format: NUMERIC, pin: '1345' },
      { name: 'repeated', patterns: PinPattern.REPEATED, format: NUMERIC, pin: '1315', error: 'Repeated PIN character' },
    ];

    for (const name of [...new Set(PATTERNS.map((p) => p.name))]) {
      it(`enforces the ${name} pattern restriction on new PINs (t13)`, async () => {
        for (const params of PATTERNS.filter((x) => x.name === name)) {
          await tryPin({ format: params.format, patternRestrictions: params.patterns }, params.pin, params.error);
        }
      });
    }

    it('refuses the missing-group restriction for numeric and binary PIN policies (t13)', async () => {
      for (const format of [NUMERIC, BINARY]) {
        const issuerSession = await ctx.issuer();
        await expectSksError(
          issuerSession.createPinPolicy({ format, patternRestrictions: PinPattern.MISSING_GROUP }),
          'OPTION',
          'Incorrect "format" for the "missing-group" PIN pattern policy',
        );
        await expectTornDown(issuerSession);
      }
    });

    it('treats a one-byte PIN as not a sequence (spec §17 #1 recommendation)', async () => {
      const { handle } = await provisionSingleKey(ctx, {
        pinPolicy: { minLength: 1, patternRestrictions: PinPattern.SEQUENCE, userModifiable: true },
        key: { userPin: '5' },
      });
      await signAndVerify(ctx.sks, handle, '5');
      await ctx.sks.changePin(handle, bytes('5'), bytes('7'));
      await signAndVerify(ctx.sks, handle, '7');
    });

    const GROUPING_TABLE: ReadonlyArray<[number, string | undefined, string | undefined]> = [
      // grouping, outcome for the same PIN, outcome for a different PIN
      [PinGrouping.NONE, undefined, undefined],
      [PinGrouping.SHARED, undefined, 'Grouping = "shared" requires identical PINs'],
      [PinGrouping.UNIQUE, 'Grouping = "unique" PIN error', undefined],
      [PinGrouping.SIGN_PLUS_STD, 'Grouping = "signature+standard" PIN error', undefined],
    ];

    for (const [grouping, same, different] of GROUPING_TABLE) {
      it(`applies grouping ${grouping} to an authentication key and a signature key (t13)`, async () => {
        for (const [sigPin, error] of [
          ['1234', same],
          ['5678', different],
        ] as const) {
          const issuerSession = await ctx.issuer();
          const pinPolicy = await issuerSession.createPinPolicy({ grouping });
          await issuerSession.provisionKey({ pinPolicy, userPin: '1234', appUsage: AppUsage.AUTHENTICATION });
          if (error !== undefined) {
            await expectSksError(issuerSession.createKeyEntry({ pinPolicy, userPin: sigPin, appUsage: AppUsage.SIGNATURE }), 'OPTION', error);
            await expectTornDown(issuerSession);
            continue;
          }
          await issuerSession.provisionKey({ pinPolicy, userPin: sigPin, appUsage: AppUsage.SIGNATURE });
          if (grouping === PinGrouping.SIGN_PLUS_STD) {
            await issuerSession.provisionKey({ pinPolicy, userPin: '1234', appUsage: AppUsage.UNIVERSAL });
            await issuerSession.provisionKey({ pinPolicy, userPin: sigPin, appUsage: AppUsage.SIGNATURE });
          }
          await issuerSession.closeSession();
        }
      });
    }

    it('checks every PIN combination against every grouping and synchronizes changePin per group (t49)', async () => {
      const usages = [AppUsage.SIGNATURE, AppUsage.AUTHENTICATION, AppUsage.ENCRYPTION, AppUsage.SIGNATURE, AppUsage.ENCRYPTION];
      const combinations = [
        ['1111', '1111', '1111'],
        ['1111', '2222', '3333'],
        ['1111', '2222', '2222'],
        ['1111', '1111', '2222'],
      ] as const;
      const pinFor = (usage: number, [s, a, e]: readonly [string, string, string]): string =>
        usage === AppUsage.SIGNATURE ? s : usage === AppUsage.AUTHENTICATION ? a : e;
      let successes = 0;
      for (const grouping of [PinGrouping.NONE, PinGrouping.SHARED, PinGrouping.SIGN_PLUS_STD, PinGrouping.UNIQUE]) {
        for (const combination of combinations) {
          const label = `grouping ${grouping}, PINs ${combination.join('/')}`;
          const issuerSession = await ctx.issuer();
          const pinPolicy = await issuerSession.createPinPolicy({ grouping, userModifiable: true });
          const existing: GroupMember[] = [];
          const handles: KeyHandle[] = [];
          let failed = false;
          for (const appUsage of usages) {
            const pin = pinFor(appUsage, combination);
            const violation = groupingViolation(grouping, existing, appUsage, pin);
            if (violation !== undefined) {
              await expectSksError(issuerSession.createKeyEntry({ pinPolicy, userPin: pin, appUsage }), 'OPTION', violation);
              await expectTornDown(issuerSession);
              failed = true;
              break;
            }
            handles.push((await issuerSession.provisionKey({ pinPolicy, userPin: pin, appUsage })).keyHandle);
            existing.push({ appUsage, pin });
          }
          if (failed) continue;
          successes += 1;
          await issuerSession.closeSession();
          // changePin on the second signature key (index 3) reaches exactly its §8.5 group.
          const changed = handles[3];
          await ctx.sks.changePin(changed, bytes(combination[0]), bytes('5555'));
          const group = groupMembers(grouping, usages, 3);
          for (const [idx, handle] of handles.entries()) {
            const expectedPin = group.includes(idx) ? '5555' : pinFor(usages[idx], combination);
            const sig = await sign(ctx.sks, handle, Alg.ECDSA_SHA256, expectedPin, DATA);
            expect(verifySignature(await certifiedPublicKey(ctx.sks, handle), Alg.ECDSA_SHA256, DATA, sig), `${label}, key ${idx}`).toBe(true);
          }
          // The first signature key follows the change for every grouping but none.
          expect(group.includes(0), label).toBe(grouping !== PinGrouping.NONE);
        }
      }
      // none: all 4; shared: 1; signature+standard: (1111,2222,2222); unique: (1111,2222,3333).
      expect(successes).toBe(7);
    });
  });

  describe('unlockKey, changePin and setPin (spec §8.7, §10.8)', () => {
    it('runs the PIN/PUK lifecycle of an RSA encryption key: change, block, unlock, block, set (t31)', async () => {
      const { handle } = await provisionSingleKey(ctx, {
        puk: { value: '123456', retryLimit: 3 },
        pinPolicy: { userModifiable: true },
        key: { keyAlgorithm: Alg.RSA2048, appUsage: AppUsage.ENCRYPTION, userPin: '1234' },
      });
      const publicKey = await certifiedPublicKey(ctx.sks, handle);
      const decrypt = async (pin: string): Promise<void> => {
        const secret = randomBytes(32);
        const data = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
        const out = await ctx.sks.asymmetricKeyDecrypt({ keyHandle: handle, algorithm: Uri.RSA_OAEP_SHA256, authorization: bytes(pin), data });
        expect(Buffer.from(out)).toEqual(secret);
      };
      const wrongDecrypt = (): Promise<void> => expectAuthorizationError(decrypt('9999'), handle);

      await expectSksError(ctx.sks.changePin(handle, bytes('1234'), bytes('123')), 'OPTION', 'PIN length error');
      await ctx.sks.changePin(handle, bytes('1234'), bytes('2468'));
      await decrypt('2468');
      await expectAuthorizationError(decrypt('1234'), handle);
      await wrongDecrypt();
      expect(await protection(ctx.sks, handle)).toMatchObject({ pinErrorCount: 2, pinBlocked: false });
      await wrongDecrypt();
      expect(await protection(ctx.sks, handle)).toMatchObject({ pinErrorCount: 3, pinBlocked: true });
      await expectAuthorizationError(decrypt('2468'), handle);

      await expectAuthorizationError(ctx.sks.unlockKey(handle, bytes('654321')), handle);
      expect(await protection(ctx.sks, handle)).toMatchObject({ pukErrorCount: 1, pinBlocked: true });
      await ctx.sks.unlockKey(handle, bytes('123456'));
      expect(await protection(ctx.sks, handle)).toMatchObject({ pukErrorCount: 0, pinErrorCount: 0, pinBlocked: false });
      await decrypt('2468');

      for (const count of [1, 2, 3]) {
        await expectAuthorizationError(ctx.sks.changePin(handle, bytes('1111'), bytes('3579')), handle);
        expect(await protection(ctx.sks, handle)).toMatchObject({ pinErrorCount: count, pinBlocked: count === 3 });
      }
      await expectAuthorizationError(ctx.sks.changePin(handle, bytes('2468'), bytes('3579')), handle);

      await expectAuthorizationError(ctx.sks.setPin(handle, bytes('654321'), bytes('3579')), handle);
      expect((await protection(ctx.sks, handle)).pukErrorCount).toBe(1);
      await ctx.sks.setPin(handle, bytes('123456'), bytes('3579'));
      expect(await protection(ctx.sks, handle)).toMatchObject({ pukErrorCount: 0, pinErrorCount: 0, pinBlocked: false });
      await decrypt('3579');
      await expectAuthorizationError(decrypt('2468'), handle);
    });

    it('blocks the PUK permanently after retryLimit wrong PUKs (spec §8.6)', async () => {
      const { handle } = await provisionSingleKey(ctx, {
        puk: { value: '123456', retryLimit: 3 },
        pinPolicy: { userModifiable: true },
        key: { userPin: '1234' },
      });
      for (const count of [1, 2, 3]) {
        await expectAuthorizationError(ctx.sks.unlockKey(handle, bytes('000000')), handle);
        expect(await protection(ctx.sks, handle)).toMatchObject({ pukErrorCount: count, pukBlocked: count === 3 });
      }
      await expectAuthorizationError(ctx.sks.unlockKey(handle, bytes('123456')), handle);
      await expectAuthorizationError(ctx.sks.setPin(handle, bytes('123456'), bytes('2468')), handle);
      expect(await protection(ctx.sks, handle)).toMatchObject({ pukErrorCount: 3, pukBlocked: true });
      expect((await ctx.sks.getKeyProtectionInfo(handle)).protectionStatus).toBe(
        ProtectionStatus.PIN_PROTECTED | ProtectionStatus.PUK_PROTECTED | ProtectionStatus.PUK_BLOCKED,
      );
      // The PIN itself still works.
      await signAndVerify(ctx.sks, handle, '1234');
    });

    for (const userModifiable of [false, true]) {
      for (const withPuk of [false, true]) {
        it(`allows changePin/setPin exactly per userModifiable=${userModifiable} and PUK=${withPuk} (t32)`, async () => {
          const { handle } = await provisionSingleKey(ctx, {
            ...(withPuk ? { puk: { value: '123456' } } : {}),
            pinPolicy: { userModifiable },
            key: { userPin: '1234' },
          });
          let pin = '1234';
          if (userModifiable) {
            await ctx.sks.changePin(handle, bytes(pin), bytes('5678'));
            pin = '5678';
          } else {
            // The old PIN is verified first: a wrong one is an authorization error.
            await expectAuthorizationError(ctx.sks.changePin(handle, bytes('9999'), bytes('5678')), handle);
            await expectSksError(ctx.sks.changePin(handle, bytes(pin), bytes('5678')), 'NOT_ALLOWED', notModifiable(handle));
            expect((await protection(ctx.sks, handle)).pinErrorCount).toBe(0);
          }
          if (!withPuk) {
            await expectSksError(ctx.sks.setPin(handle, bytes('123456'), bytes('2468')), 'OPTION', `Key #${handle} has no PUK`);
            await expectSksError(ctx.sks.unlockKey(handle, bytes('123456')), 'OPTION', `Key #${handle} has no PUK`);
          } else if (!userModifiable) {
            await expectAuthorizationError(ctx.sks.setPin(handle, bytes('654321'), bytes('2468')), handle);
            await expectSksError(ctx.sks.setPin(handle, bytes('123456'), bytes('2468')), 'NOT_ALLOWED', notModifiable(handle));
          } else {
            await ctx.sks.setPin(handle, bytes('123456'), bytes('2468'));
            pin = '2468';
          }
          await signAndVerify(ctx.sks, handle, pin);
        });
      }
    }

    it('rejects changePin on a key without PIN policy and absent old PIN with ERROR_OPTION (spec §17 #2 recommendation)', async () => {
      const { handle } = await provisionSingleKey(ctx);
      const err = await expectSksError(ctx.sks.changePin(handle, undefined, bytes('1234')), 'OPTION');
      expect(err.message).toMatch(new RegExp(`#${handle}\\b`));
    });

    it('rejects changePin on a device-PIN key with the right device PIN with ERROR_OPTION (spec §17 #2 recommendation)', async () => {
      const { handle } = await provisionSingleKey(ctx, { key: { devicePinProtection: true } });
      await expectAuthorizationError(ctx.sks.changePin(handle, bytes('0000'), bytes('5678')), handle);
      await expectSksError(ctx.sks.changePin(handle, DEVICE_PIN, bytes('5678')), 'OPTION');
      await expectSksError(ctx.sks.setPin(handle, DEVICE_PIN, bytes('5678')), 'OPTION', `Key #${handle} has no PUK`);
      await signAndVerify(ctx.sks, handle, DEVICE_PIN);
    });

    it('validates new PINs through setPin and changePin without disturbing the counters (t69, spec §15.6)', async () => {
      const cases: ReadonlyArray<{ policy: PinPolicyOptions; original: string; candidates: ReadonlyArray<[string, string | undefined]> }> = [
        {
          policy: {
            format: ALPHANUMERIC,
            minLength: 4,
            maxLength: 8,
            patternRestrictions: PinPattern.SEQUENCE | PinPattern.THREE_IN_A_ROW | PinPattern.MISSING_GROUP,
          },
          original: 'A5J0',
          candidates: [
            ['a3b4', 'PIN syntax error'],
            ['A3B4', undefined],
            ['A3B453CC', undefined],
            ['A3B453CCD', 'PIN length error'],
            ['A3B', 'PIN length error'],
            ['CBAG', 'Missing character group in PIN'],
            ['3684', 'Missing character group in PIN'],
            ['333A', 'PIN with 3 or more of same the character in a row'],
          ],
        },
        {
          policy: { format: NUMERIC, patternRestrictions: PinPattern.SEQUENCE | PinPattern.THREE_IN_A_ROW },
          original: '16923',
          candidates: [
            ['A3B4', 'PIN syntax error'],
            ['1234', 'PIN must not be a sequence'],
            ['8765', 'PIN must not be a sequence'],
            ['1555', 'PIN with 3 or more of same the character in a row'],
            ['15554', 'PIN with 3 or more of same the character in a row'],
            ['5554', 'PIN with 3 or more of same the character in a row'],
            ['1952', undefined],
          ],
        },
      ];
      for (const item of cases) {
        const { handle } = await provisionSingleKey(ctx, {
          puk: { value: '123456' },
          pinPolicy: { ...item.policy, userModifiable: true },
          key: { userPin: item.original },
        });
        for (const [candidate, error] of item.candidates) {
          for (let round = 0; round < 5; round++) {
            if (error === undefined) {
              await ctx.sks.setPin(handle, bytes('123456'), bytes(candidate));
              await signAndVerify(ctx.sks, handle, candidate);
              await ctx.sks.changePin(handle, bytes(candidate), bytes(item.original));
            } else {
              await expectSksError(ctx.sks.setPin(handle, bytes('123456'), bytes(candidate)), 'OPTION', error);
              await expectSksError(ctx.sks.changePin(handle, bytes(item.original), bytes(candidate)), 'OPTION', error);
            }
            expect(await protection(ctx.sks, handle), candidate).toMatchObject({ pinErrorCount: 0, pukErrorCount: 0 });
          }
        }
        await signAndVerify(ctx.sks, handle, item.original);
      }
    });

    it('never blocks a PUK with retryLimit 0, delays each PUK attempt and unlocks with the right one (t72)', async () => {
      const { handle } = await provisionSingleKey(ctx, {
        puk: { value: '123456', retryLimit: 0 },
        pinPolicy: { retryLimit: 3 },
        key: { userPin: '1234' },
      });
      for (let i = 0; i < 3; i++) await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256, '9999'), handle);
      expect(await protection(ctx.sks, handle)).toMatchObject({ pinBlocked: true, pukErrorCount: 0, pukBlocked: false });
      const started = performance.now();
      await expectAuthorizationError(ctx.sks.unlockKey(handle, bytes('654321')), handle);
      // Spec §8.6: an unlimited PUK is slowed down instead (reference: 1 second; here the profile's delay).
      const delay = TEST_PROFILE.unlimitedPukDelayMs ?? DEFAULT_PROFILE.unlimitedPukDelayMs;
      expect(performance.now() - started).toBeGreaterThanOrEqual(delay * 0.9);
      expect(await protection(ctx.sks, handle)).toMatchObject({ pinBlocked: true, pukErrorCount: 0, pukBlocked: false });
      expect(await ctx.sks.getKeyProtectionInfo(handle)).toMatchObject({ pukRetryLimit: 0 });
      await ctx.sks.unlockKey(handle, bytes('123456'));
      expect(await protection(ctx.sks, handle)).toMatchObject({ pinBlocked: false, pinErrorCount: 0 });
      await signAndVerify(ctx.sks, handle, '1234');
    });
  });

  describe('biometric protection (t67, spec §8.8, §15.4)', () => {
    const bioSign = (h: KeyHandle, biometricAuth: boolean, pin?: PinBytes): Promise<Uint8Array> =>
      ctx.sks.signData({ keyHandle: h, algorithm: Uri.ECDSA_SHA256, biometricAuth, authorization: pin === undefined ? undefined : bytes(pin), data: DATA });
    const verifies = async (handle: KeyHandle, sig: Uint8Array): Promise<void> => {
      expect(verifySignature(await certifiedPublicKey(ctx.sks, handle), Uri.ECDSA_SHA256, DATA, sig)).toBe(true);
    };
    const bioKey = async (biometricProtection: number, withPin: boolean): Promise<KeyHandle> =>
      (
        await provisionSingleKey(ctx, {
          ...(withPin ? { pinPolicy: {} } : {}),
          key: { biometricProtection, endorsedAlgorithms: [Uri.ECDSA_SHA256], ...(withPin ? { userPin: '1234' } : {}) },
        })
      ).handle;

    it('refuses biometric protections that do not fit the PIN protection at creation (t67)', async () => {
      for (const [biometricProtection, withPin] of [
        [BiometricProtection.EXCLUSIVE, true],
        [BiometricProtection.ALTERNATIVE, false],
        [BiometricProtection.COMBINED, false],
      ] as const) {
        const issuerSession = await ctx.issuer();
        const pinPolicy = withPin ? await issuerSession.createPinPolicy() : undefined;
        await expectSksError(
          issuerSession.createKeyEntry({ biometricProtection, ...(pinPolicy === undefined ? {} : { pinPolicy, userPin: '1234' }) }),
          'OPTION',
          'Invalid "biometricProtection" and PIN combination',
        );
        await expectTornDown(issuerSession);
      }
    });

    it('signs an exclusive-biometric key only with biometricAuth and no PIN (t67)', async () => {
      const handle = await bioKey(BiometricProtection.EXCLUSIVE, false);
      expect((await ctx.sks.getKeyProtectionInfo(handle)).biometricProtection).toBe(BiometricProtection.EXCLUSIVE);
      await expectSksError(bioSign(handle, false), 'OPTION', `Missing biometric for key #${handle}`);
      await verifies(handle, await bioSign(handle, true));
      await expectSksError(bioSign(handle, true, '1234'), 'OPTION', `Biometric + pin option invalid for key #${handle}`);
    });

    it('signs an alternative-biometric key with the PIN or with biometrics, never both (t67)', async () => {
      const handle = await bioKey(BiometricProtection.ALTERNATIVE, true);
      await verifies(handle, await bioSign(handle, false, '1234'));
      await expectAuthorizationError(bioSign(handle, false, '4321'), handle);
      await expectSksError(bioSign(handle, true, '1234'), 'OPTION', `Biometric + pin option invalid for key #${handle}`);
      await expectSksError(bioSign(handle, true, '4321'), 'OPTION', `Biometric + pin option invalid for key #${handle}`);
      expect((await protection(ctx.sks, handle)).pinErrorCount).toBe(1);
      // Biometrics bypass the PIN entirely, even when it is blocked (spec §8.8).
      for (let i = 0; i < 3; i++) await bioSign(handle, false, '4321').catch(() => undefined);
      expect((await protection(ctx.sks, handle)).pinBlocked).toBe(true);
      await verifies(handle, await bioSign(handle, true));
    });

    it('signs a combined-biometric key only with biometricAuth and the PIN (t67)', async () => {
      const handle = await bioKey(BiometricProtection.COMBINED, true);
      await expectSksError(bioSign(handle, false, '1234'), 'OPTION', `Missing biometric for key #${handle}`);
      await expectSksError(bioSign(handle, false, '4321'), 'OPTION', `Missing biometric for key #${handle}`);
      // The biometric check comes first: the wrong PIN above was not counted.
      expect((await protection(ctx.sks, handle)).pinErrorCount).toBe(0);
      await verifies(handle, await bioSign(handle, true, '1234'));
      await expectAuthorizationError(bioSign(handle, true, '4321'), handle);
      await expectAuthorizationError(bioSign(handle, true), handle);
      expect((await protection(ctx.sks, handle)).pinErrorCount).toBe(2);
    });

    it('accepts combined biometrics with a device PIN', async () => {
      const { handle } = await provisionSingleKey(ctx, { key: { devicePinProtection: true, biometricProtection: BiometricProtection.COMBINED } });
      await verifies(handle, await bioSign(handle, true, DEVICE_PIN));
      await expectAuthorizationError(bioSign(handle, true, '0000'), handle);
      await expectSksError(bioSign(handle, false, DEVICE_PIN), 'OPTION', `Missing biometric for key #${handle}`);
    });

    it('refuses biometricAuth on a key without biometric protection (t67)', async () => {
      for (const withPin of [false, true]) {
        const handle = await bioKey(BiometricProtection.NONE, withPin);
        await expectSksError(bioSign(handle, true, withPin ? '1234' : undefined), 'OPTION', `Biometric option invalid for key #${handle}`);
      }
    });
  });

  it('reports device-PIN protection as the only status bit and verifies the device PIN (spec §8.6, §12.3)', async () => {
    const { handle } = await provisionSingleKey(ctx, { key: { devicePinProtection: true } });
    expect(await ctx.sks.getKeyProtectionInfo(handle)).toMatchObject({ protectionStatus: ProtectionStatus.DEVICE_PIN, pinErrorCount: 0 });
    await expectAuthorizationError(sign(ctx.sks, handle, Alg.ECDSA_SHA256), handle);
    await signAndVerify(ctx.sks, handle, DEVICE_PIN);
  });
});
