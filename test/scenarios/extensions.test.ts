/**
 * Extension and property-bag scenarios of the reference suite (spec §15.2
 * test 73 with the list of §15.7; spec §6.12, §10.11, §11).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KeyHandle } from '../../src/sks/api.js';
import { ExtensionSubType } from '../../src/sks/constants.js';
import { encodePropertyBag, parsePropertyBag, type Property } from '../../src/sks/extensions/property-bag.js';
import { describeStores, expectSksError, expectTornDown } from '../support/fixtures.js';
import type { ExtensionOptions, IssuerSession, ProvisionedKey } from '../support/issuer-emulator.js';

const DEFINE = 'http://example.com/define';
const { EXTENSION, ENCRYPTED_EXTENSION, PROPERTY_BAG, LOGOTYPE } = ExtensionSubType;

/** `0007 "Counter" 01 0001 "0"  0006 "Digits" 00 0001 "8"` (spec §11.2). */
const SPEC_BAG = Buffer.from('0007436f756e74657201000130' + '0006446967697473000001' + '38', 'hex');

describeStores('extension scenarios', (ctx) => {
  /** One key with the given extensions, session closed; returns the key handle. */
  const keyWith = async (...extensions: ExtensionOptions[]): Promise<KeyHandle> => {
    const issuerSession = await ctx.issuer();
    const key = await issuerSession.provisionKey();
    for (const extensionOptions of extensions) await issuerSession.addExtension(key, extensionOptions);
    await issuerSession.closeSession();
    return key.keyHandle;
  };

  /** A session with one certified key, for extensions that must be refused. */
  const openKey = async (): Promise<{ session: IssuerSession; key: ProvisionedKey }> => {
    const issuerSession = await ctx.issuer();
    return { session: issuerSession, key: await issuerSession.provisionKey({ id: 'Key.1' }) };
  };

  /** getExtension with the data as a Buffer (for deep equality). */
  const extensionOf = async (handle: KeyHandle, type: string): Promise<{ subType: number; qualifier: string; data: Buffer }> => {
    const extensionValue = await ctx.sks.getExtension(handle, type);
    return { subType: extensionValue.subType, qualifier: extensionValue.qualifier, data: Buffer.from(extensionValue.extensionData) };
  };

  const rejects = async (extension: ExtensionOptions, message: string): Promise<void> => {
    const { session: issuerSession, key } = await openKey();
    await expectSksError(issuerSession.addExtension(key, extension), 'OPTION', message);
    await expectTornDown(issuerSession);
  };

  describe('addExtension and getExtension (spec §6.12, §10.11)', () => {
    it('rejects a second extension of the same type on one key (t73)', async () => {
      const { session: issuerSession, key } = await openKey();
      await issuerSession.addExtension(key, { type: DEFINE, subType: EXTENSION, data: Buffer.from('hello') });
      await expectSksError(
        issuerSession.addExtension(key, { type: DEFINE, subType: EXTENSION, data: Buffer.from('again') }),
        'OPTION',
        `Duplicate "type" : ${DEFINE}`,
      );
      await expectTornDown(issuerSession);
    });

    it('reports an unknown extension type in getExtension (t73)', async () => {
      const handle = await keyWith({ type: DEFINE, subType: EXTENSION, data: Buffer.from('hello') });
      await expectSksError(ctx.sks.getExtension(handle, `${DEFINE}@`), 'OPTION', `No such extension: ${DEFINE}@ for key #${handle}`);
    });

    it('stores a 5-byte extension and returns it with its sub-type and empty qualifier (t73)', async () => {
      const data = Buffer.from('12345');
      const handle = await keyWith({ type: DEFINE, subType: EXTENSION, data });
      expect(await extensionOf(handle, DEFINE)).toEqual({ subType: EXTENSION, qualifier: '', data });
    });

    it('accepts extension data of exactly extensionDataSize bytes (t73)', async () => {
      const size = (await ctx.sks.getDeviceInfo()).extensionDataSize;
      expect(size).toBe(250000);
      const data = randomBytes(size);
      const handle = await keyWith({ type: DEFINE, subType: EXTENSION, data });
      expect(Buffer.from((await ctx.sks.getExtension(handle, DEFINE)).extensionData).equals(data)).toBe(true);
    });

    it('rejects extension data one byte over extensionDataSize (t73)', async () => {
      await rejects({ type: DEFINE, subType: EXTENSION, data: randomBytes(250001) }, 'Extension data exceeds 250000 bytes');
    });

    it('returns an encrypted extension decrypted (t73)', async () => {
      const data = Buffer.from('A secret only the key holder may read');
      const handle = await keyWith({ type: DEFINE, subType: ENCRYPTED_EXTENSION, data });
      expect(await extensionOf(handle, DEFINE)).toEqual({ subType: ENCRYPTED_EXTENSION, qualifier: '', data });
    });

    it('requires a qualifier for a logotype and returns it (t73)', async () => {
      await rejects({ type: DEFINE, subType: LOGOTYPE, qualifier: '', data: Buffer.from('GIF89a') }, '"qualifier" length error');
      const image = randomBytes(300);
      const handle = await keyWith({ type: DEFINE, subType: LOGOTYPE, qualifier: 'image/gif', data: image });
      expect(await extensionOf(handle, DEFINE)).toEqual({ subType: LOGOTYPE, qualifier: 'image/gif', data: image });
    });

    it('rejects a qualifier on other sub-types and one longer than 128 bytes (spec §6.12 step 6)', async () => {
      await rejects({ type: DEFINE, subType: EXTENSION, qualifier: 'image/gif', data: Buffer.of(1) }, '"qualifier" length error');
      await rejects({ type: DEFINE, subType: LOGOTYPE, qualifier: 'q'.repeat(129), data: Buffer.of(1) }, '"qualifier" length error');
      const handle = await keyWith({ type: DEFINE, subType: LOGOTYPE, qualifier: 'q'.repeat(128), data: Buffer.of(1) });
      expect((await ctx.sks.getExtension(handle, DEFINE)).qualifier).toBe('q'.repeat(128));
    });

    it('rejects an unknown sub-type and type URIs of length 0 or over 1000 (spec §6.12 steps 2-3)', async () => {
      await rejects({ type: DEFINE, subType: 4, data: Buffer.of(1) }, 'Invalid "subType" value=4');
      await rejects({ type: '', subType: EXTENSION, data: Buffer.of(1) }, 'URI length error: 0');
      await rejects({ type: `http://x/${'a'.repeat(992)}`, subType: EXTENSION, data: Buffer.of(1) }, 'URI length error: 1001');
      const handle = await keyWith({ type: `http://x/${'a'.repeat(991)}`, subType: EXTENSION, data: Buffer.of(1) });
      expect((await ctx.sks.getKeyAttributes(handle)).extensionTypes).toEqual([`http://x/${'a'.repeat(991)}`]);
    });

    it('requires the certificate path before an extension (spec §6.12 step 8)', async () => {
      const issuerSession = await ctx.issuer();
      const key = await issuerSession.createKeyEntry({ id: 'Key.1' });
      await expectSksError(
        issuerSession.addExtension(key, { type: DEFINE, subType: EXTENSION, data: Buffer.of(1) }),
        'OPTION',
        'Missing "setCertificatePath" for: Key.1',
      );
      await expectTornDown(issuerSession);
    });

    it('lists extension types in the order they were added', async () => {
      const types = ['http://example.com/z', 'http://example.com/a', 'http://example.com/m'];
      const handle = await keyWith(...types.map((type, i) => ({ type, subType: i % 2 === 0 ? EXTENSION : ENCRYPTED_EXTENSION, data: Buffer.of(i) })));
      expect((await ctx.sks.getKeyAttributes(handle)).extensionTypes).toEqual(types);
    });
  });

  describe('property bags (spec §11.2-§11.5)', () => {
    const INVALID: ReadonlyArray<[string, Buffer]> = [
      ['the bytes 04 06 02 09 04', Buffer.from('0406020904', 'hex')],
      [
        'a writable byte of 02',
        Buffer.concat([Buffer.from('0004', 'hex'), Buffer.from('name'), Buffer.of(2), Buffer.from('0005', 'hex'), Buffer.from('value')]),
      ],
      ['a missing writable byte', Buffer.concat([Buffer.from('0004', 'hex'), Buffer.from('name'), Buffer.from('0005', 'hex'), Buffer.from('value')])],
      ['one trailing byte', Buffer.concat([encodePropertyBag([{ name: 'name', writable: false, value: 'value' }]), Buffer.of(0)])],
      ['no entry at all', Buffer.alloc(0)],
      ['an empty name', Buffer.from('0000000001', 'hex')],
    ];

    for (const [what, data] of INVALID) {
      it(`rejects a property bag with ${what} (t73)`, async () => {
        await rejects({ type: DEFINE, subType: PROPERTY_BAG, data }, `"propertyBag" format error: ${DEFINE}`);
      });
    }

    const VALID: ReadonlyArray<readonly Property[]> = [
      [{ name: 'name', writable: false, value: 'value' }],
      [
        { name: 'Writable', writable: true, value: 'old' },
        { name: 'ReadOnly', writable: false, value: 'fixed' },
      ],
      [
        { name: 'Counter', writable: true, value: '0' },
        { name: 'Digits', writable: false, value: '8' },
        { name: 'Empty', writable: true, value: '' },
      ],
    ];

    for (const entries of VALID) {
      it(`stores a bag of ${entries.map((e) => e.name).join('+')} and writes exactly its writable properties (t73)`, async () => {
        const data = encodePropertyBag(entries);
        const handle = await keyWith({ type: DEFINE, subType: PROPERTY_BAG, data });
        const stored = await ctx.sks.getExtension(handle, DEFINE);
        expect(stored.subType).toBe(PROPERTY_BAG);
        expect(Buffer.from(stored.extensionData)).toEqual(data);
        expect(parsePropertyBag(stored.extensionData)).toEqual(entries);
        let current = [...entries];
        for (const error of entries) {
          if (error.writable) {
            await ctx.sks.setProperty(handle, DEFINE, error.name, 'yes');
            current = current.map((x) => (x.name === error.name ? { ...x, value: 'yes' } : x));
          } else {
            await expectSksError(ctx.sks.setProperty(handle, DEFINE, error.name, 'yes'), 'NOT_ALLOWED', `"property" not writable: ${error.name}`);
          }
          const fresh = await ctx.sks.getExtension(handle, DEFINE);
          expect(parsePropertyBag(fresh.extensionData)).toEqual(current);
          expect(Buffer.from(fresh.extensionData)).toEqual(encodePropertyBag(current));
        }
      });
    }

    it('rewrites the bag of spec §11.2 byte-exactly as in spec §11.4', async () => {
      const handle = await keyWith({ type: DEFINE, subType: PROPERTY_BAG, data: SPEC_BAG });
      expect(parsePropertyBag(SPEC_BAG)).toEqual([
        { name: 'Counter', writable: true, value: '0' },
        { name: 'Digits', writable: false, value: '8' },
      ]);
      await ctx.sks.setProperty(handle, DEFINE, 'Counter', '17');
      expect(Buffer.from((await ctx.sks.getExtension(handle, DEFINE)).extensionData).toString('hex')).toBe(
        '0007436f756e74657201' + '0002' + '3137' + '0006446967697473' + '00' + '0001' + '38',
      );
    });

    it('keeps property updates across a store reopen', async () => {
      const handle = await keyWith({ type: DEFINE, subType: PROPERTY_BAG, data: SPEC_BAG });
      await ctx.sks.setProperty(handle, DEFINE, 'Counter', '42');
      const sks = await ctx.reopen();
      expect(parsePropertyBag((await sks.getExtension(handle, DEFINE)).extensionData)[0]).toEqual({ name: 'Counter', writable: true, value: '42' });
    });

    it('writes UTF-8 values and the first of two entries with the same name (spec §11.4 step 3)', async () => {
      const data = Buffer.concat([
        encodePropertyBag([{ name: 'Dup', writable: true, value: 'a' }]),
        encodePropertyBag([{ name: 'Dup', writable: false, value: 'b' }]),
      ]);
      const handle = await keyWith({ type: DEFINE, subType: PROPERTY_BAG, data });
      await ctx.sks.setProperty(handle, DEFINE, 'Dup', 'Grüße');
      const stored = Buffer.from((await ctx.sks.getExtension(handle, DEFINE)).extensionData);
      expect(stored).toEqual(
        Buffer.concat([
          encodePropertyBag([{ name: 'Dup', writable: true, value: 'Grüße' }]),
          encodePropertyBag([{ name: 'Dup', writable: false, value: 'b' }]),
        ]),
      );
      // The client-side parser refuses the repeated name (spec §11.5).
      expect(() => parsePropertyBag(stored)).toThrow('Duplicate property: Dup');
    });

    it('refuses setProperty on a missing bag, a non-bag extension and an unknown property', async () => {
      const handle = await keyWith(
        { type: DEFINE, subType: PROPERTY_BAG, data: SPEC_BAG },
        { type: 'http://example.com/plain', subType: EXTENSION, data: SPEC_BAG },
      );
      await expectSksError(ctx.sks.setProperty(handle, 'http://example.com/none', 'Counter', '1'), 'OPTION', 'No such "propertyBag" : http://example.com/none');
      await expectSksError(
        ctx.sks.setProperty(handle, 'http://example.com/plain', 'Counter', '1'),
        'OPTION',
        'No such "propertyBag" : http://example.com/plain',
      );
      await expectSksError(ctx.sks.setProperty(handle, DEFINE, 'Missing', '1'), 'OPTION', '"property" not found: Missing');
      expect(Buffer.from((await ctx.sks.getExtension(handle, DEFINE)).extensionData)).toEqual(SPEC_BAG);
    });

    it('rejects a property value longer than 65535 bytes with ERROR_OPTION (spec §17 #11 recommendation)', async () => {
      const handle = await keyWith({ type: DEFINE, subType: PROPERTY_BAG, data: SPEC_BAG });
      await expectSksError(ctx.sks.setProperty(handle, DEFINE, 'Counter', 'x'.repeat(65536)), 'OPTION');
      expect(Buffer.from((await ctx.sks.getExtension(handle, DEFINE)).extensionData)).toEqual(SPEC_BAG);
      await ctx.sks.setProperty(handle, DEFINE, 'Counter', 'x'.repeat(65535));
      expect(parsePropertyBag((await ctx.sks.getExtension(handle, DEFINE)).extensionData)[0]?.value).toHaveLength(65535);
    });

    it('rejects a property update that grows the bag beyond extensionDataSize with ERROR_OPTION (spec §17 #11 recommendation)', async () => {
      // Three read-only 62 KB entries and one 60 KB one fill the bag to just under 250000 bytes.
      const filler = (n: number, size: number): Property => ({ name: `F${n}`, writable: false, value: 'f'.repeat(size) });
      const entries = [filler(1, 62000), filler(2, 62000), filler(3, 62000), filler(4, 60000), { name: 'W', writable: true, value: '' }];
      const data = encodePropertyBag(entries);
      expect(data.length).toBeLessThanOrEqual(250000);
      const handle = await keyWith({ type: DEFINE, subType: PROPERTY_BAG, data });
      const room = 250000 - data.length;
      await ctx.sks.setProperty(handle, DEFINE, 'W', 'w'.repeat(room));
      await expectSksError(ctx.sks.setProperty(handle, DEFINE, 'W', 'w'.repeat(room + 1)), 'OPTION');
      expect((await ctx.sks.getExtension(handle, DEFINE)).extensionData.length).toBe(250000);
    });
  });
});
