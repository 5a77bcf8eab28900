/** Encoders of KeyCreationRequest (§6.7) and KeyCreationResponse (§6.8), in the reference's member order. */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, writer } from '../codec.js';
import type { GeneratedKey, KeyCreationRequest, KeyCreationResponse, KeyEntrySpecifier, PinPolicySpecifier, PukPolicySpecifier } from './types.js';

const encodeKeyEntry = (k: KeyEntrySpecifier): JsonObject =>
  jsonObject([
    ['id', writer.str(k.id)],
    ['serverSeed', writer.opt(k.serverSeed, writer.bin)],
    ['devicePinProtection', writer.opt(k.devicePinProtection, writer.bool)],
    ['encryptedPin', writer.opt(k.encryptedPin, writer.bin)],
    ['enablePinCaching', writer.opt(k.enablePinCaching, writer.bool)],
    ['biometricProtection', writer.opt(k.biometricProtection, writer.str)],
    ['exportProtection', writer.opt(k.exportProtection, writer.str)],
    ['deleteProtection', writer.opt(k.deleteProtection, writer.str)],
    ['friendlyName', writer.opt(k.friendlyName, writer.str)],
    ['appUsage', writer.str(k.appUsage)],
    ['keyAlgorithm', writer.str(k.keyAlgorithm)],
    ['keyParameters', writer.opt(k.keyParameters, writer.bin)],
    ['endorsedAlgorithms', writer.opt(k.endorsedAlgorithms, writer.strs)],
    ['mac', writer.bin(k.mac)],
  ]);

const encodePinPolicy = (p: PinPolicySpecifier): JsonObject =>
  jsonObject([
    ['id', writer.str(p.id)],
    ['minLength', writer.int(p.minLength)],
    ['maxLength', writer.int(p.maxLength)],
    ['retryLimit', writer.int(p.retryLimit)],
    ['format', writer.str(p.format)],
    ['userModifiable', writer.opt(p.userModifiable, writer.bool)],
    ['grouping', writer.opt(p.grouping, writer.str)],
    ['inputMethod', writer.opt(p.inputMethod, writer.str)],
    ['patternRestrictions', writer.opt(p.patternRestrictions, writer.strs)],
    ['mac', writer.bin(p.mac)],
    ['keyEntrySpecifiers', writer.objs(p.keyEntrySpecifiers, encodeKeyEntry)],
  ]);

const encodePukPolicy = (p: PukPolicySpecifier): JsonObject =>
  jsonObject([
    ['id', writer.str(p.id)],
    ['encryptedPuk', writer.bin(p.encryptedPuk)],
    ['retryLimit', writer.int(p.retryLimit)],
    ['format', writer.str(p.format)],
    ['mac', writer.bin(p.mac)],
    ['pinPolicySpecifiers', writer.objs(p.pinPolicySpecifiers, encodePinPolicy)],
  ]);

/** The KeyCreationRequest object. */
export const encodeKeyCreationRequest = (m: KeyCreationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['keyEntryAlgorithm', writer.str(m.keyEntryAlgorithm)],
    ['deferredIssuance', writer.opt(m.deferredIssuance, writer.bool)],
    ['pukPolicySpecifiers', writer.opt(m.pukPolicySpecifiers, (a) => writer.objs(a, encodePukPolicy))],
    ['pinPolicySpecifiers', writer.opt(m.pinPolicySpecifiers, (a) => writer.objs(a, encodePinPolicy))],
    ['keyEntrySpecifiers', writer.opt(m.keyEntrySpecifiers, (a) => writer.objs(a, encodeKeyEntry))],
  ]);

const encodeGeneratedKey = (k: GeneratedKey): JsonObject =>
  jsonObject([
    ['id', writer.str(k.id)],
    ['publicKey', writer.jwk(k.publicKey)],
    ['attestation', writer.bin(k.attestation)],
  ]);

/** The KeyCreationResponse object. */
export const encodeKeyCreationResponse = (m: KeyCreationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', writer.str(m.serverSessionId)],
    ['clientSessionId', writer.str(m.clientSessionId)],
    ['generatedKeys', writer.objs(m.generatedKeys, encodeGeneratedKey)],
  ]);
