/** Encoders of ProvisioningFinalizationRequest (§6.9) and ProvisioningFinalizationResponse (§6.10). */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, w, writeTargetKeyReference } from '../codec.js';
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
    ['encryptedKey', w.bin(k.encryptedKey)],
    ['mac', w.bin(k.mac)],
  ]);

const encodeExtension = (e: Extension): JsonObject =>
  jsonObject([
    ['type', w.str(e.type)],
    ['extensionData', w.bin(e.extensionData)],
    ['mac', w.bin(e.mac)],
  ]);

const encodePropertyBag = (b: PropertyBag): JsonObject =>
  jsonObject([
    ['type', w.str(b.type)],
    [
      'properties',
      w.objs(b.properties, (p) =>
        jsonObject([
          ['name', w.str(p.name)],
          ['value', w.str(p.value)],
          ['writable', w.opt(p.writable, w.bool)],
        ]),
      ),
    ],
    ['mac', w.bin(b.mac)],
  ]);

const encodeLogotype = (l: Logotype): JsonObject =>
  jsonObject([
    ['type', w.str(l.type)],
    ['mimeType', w.str(l.mimeType)],
    ['extensionData', w.bin(l.extensionData)],
    ['mac', w.bin(l.mac)],
  ]);

/** One issued credential: the reference writes the extension kinds in MAC order (§6.9.3). */
const encodeIssuedCredential = (c: IssuedCredential): JsonObject =>
  jsonObject([
    ['id', w.str(c.id)],
    ['certificatePath', w.certs(c.certificatePath)],
    ['mac', w.bin(c.mac)],
    ['trustAnchor', w.opt(c.trustAnchor, w.bool)],
    ['importSymmetricKey', w.opt(c.importSymmetricKey, encodeImport)],
    ['importPrivateKey', w.opt(c.importPrivateKey, encodeImport)],
    ['extensions', w.opt(c.extensions, (a) => w.objs(a, encodeExtension))],
    ['encryptedExtensions', w.opt(c.encryptedExtensions, (a) => w.objs(a, encodeExtension))],
    ['propertyBags', w.opt(c.propertyBags, (a) => w.objs(a, encodePropertyBag))],
    ['logotypes', w.opt(c.logotypes, (a) => w.objs(a, encodeLogotype))],
    ['updateKey', w.opt(c.updateKey, writeTargetKeyReference)],
    ['cloneKeyProtection', w.opt(c.cloneKeyProtection, writeTargetKeyReference)],
  ]);

/** The ProvisioningFinalizationRequest object. */
export const encodeProvisioningFinalizationRequest = (m: ProvisioningFinalizationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['issuedCredentials', w.opt(m.issuedCredentials, (a) => w.objs(a, encodeIssuedCredential))],
    ['unlockKeys', w.opt(m.unlockKeys, (a) => w.objs(a, writeTargetKeyReference))],
    ['deleteKeys', w.opt(m.deleteKeys, (a) => w.objs(a, writeTargetKeyReference))],
    [
      'sessionCloseData',
      jsonObject([
        ['nonce', w.bin(m.sessionCloseData.nonce)],
        ['mac', w.bin(m.sessionCloseData.mac)],
      ]),
    ],
  ]);

/** The ProvisioningFinalizationResponse object. */
export const encodeProvisioningFinalizationResponse = (m: ProvisioningFinalizationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['attestation', w.bin(m.attestation)],
  ]);
