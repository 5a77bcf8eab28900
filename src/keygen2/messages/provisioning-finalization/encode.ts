/** Encoders of ProvisioningFinalizationRequest (§6.9) and ProvisioningFinalizationResponse (§6.10). */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, writer, writeTargetKeyReference } from '../codec.js';
import type {
  Extension,
  ImportedKey,
  IssuedCredential,
  Logotype,
  PropertyBag,
  ProvisioningFinalizationRequest,
  ProvisioningFinalizationResponse,
} from './types.js';

const encodeImport = (k: ImportedKey): JsonObject =>
  jsonObject([
    ['encryptedKey', writer.bin(k.encryptedKey)],
    ['mac', writer.bin(k.mac)],
  ]);

const encodeExtension = (e: Extension): JsonObject =>
  jsonObject([
    ['type', writer.str(e.type)],
    ['extensionData', writer.bin(e.extensionData)],
    ['mac', writer.bin(e.mac)],
  ]);

const encodePropertyBag = (b: PropertyBag): JsonObject =>
  jsonObject([
    ['type', writer.str(b.type)],
    [
      'properties',
      writer.objs(b.properties, (p) =>
        jsonObject([
          ['name', writer.str(p.name)],
          ['value', writer.str(p.value)],
          ['writable', writer.opt(p.writable, writer.bool)],
        ]),
      ),
    ],
    ['mac', writer.bin(b.mac)],
  ]);

const encodeLogotype = (l: Logotype): JsonObject =>
  jsonObject([
    ['type', writer.str(l.type)],
    ['mimeType', writer.str(l.mimeType)],
    ['extensionData', writer.bin(l.extensionData)],
    ['mac', writer.bin(l.mac)],
  ]);

/** One issued credential: the reference writes the extension kinds in MAC order (§6.9.3). */
const encodeIssuedCredential = (c: IssuedCredential): JsonObject =>
  jsonObject([
    ['id', writer.str(c.id)],
    ['certificatePath', writer.certs(c.certificatePath)],
    ['mac', writer.bin(c.mac)],
    ['trustAnchor', writer.opt(c.trustAnchor, writer.bool)],
    ['importSymmetricKey', writer.opt(c.importSymmetricKey, encodeImport)],
    ['importPrivateKey', writer.opt(c.importPrivateKey, encodeImport)],
    ['extensions', writer.opt(c.extensions, (a) => writer.objs(a, encodeExtension))],
    ['encryptedExtensions', writer.opt(c.encryptedExtensions, (a) => writer.objs(a, encodeExtension))],
    ['propertyBags', writer.opt(c.propertyBags, (a) => writer.objs(a, encodePropertyBag))],
    ['logotypes', writer.opt(c.logotypes, (a) => writer.objs(a, encodeLogotype))],
    ['updateKey', writer.opt(c.updateKey, writeTargetKeyReference)],
    ['cloneKeyProtection', writer.opt(c.cloneKeyProtection, writeTargetKeyReference)],
  ]);

/** The ProvisioningFinalizationRequest object. */
export const encodeProvisioningFinalizationRequest = (m: ProvisioningFinalizationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['issuedCredentials', writer.opt(m.issuedCredentials, (a) => writer.objs(a, encodeIssuedCredential))],
    ['unlockKeys', writer.opt(m.unlockKeys, (a) => writer.objs(a, writeTargetKeyReference))],
    ['deleteKeys', writer.opt(m.deleteKeys, (a) => writer.objs(a, writeTargetKeyReference))],
    [
      'sessionCloseData',
      jsonObject([
        ['nonce', writer.bin(m.sessionCloseData.nonce)],
        ['mac', writer.bin(m.sessionCloseData.mac)],
      ]),
    ],
  ]);

/** The ProvisioningFinalizationResponse object. */
export const encodeProvisioningFinalizationResponse = (m: ProvisioningFinalizationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['attestation', writer.bin(m.attestation)],
  ]);
