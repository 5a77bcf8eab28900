/** Encoders of KeyCreationRequest (§6.7) and KeyCreationResponse (§6.8), in the reference's member order. */
import { jsonObject, type JsonObject } from '../../json/value.js';
import { envelope, w } from '../codec.js';
import type { GeneratedKey, KeyCreationRequest, KeyCreationResponse, KeyEntrySpecifier, PinPolicySpecifier, PukPolicySpecifier } from './types.js';

const encodeKeyEntry = (k: KeyEntrySpecifier): JsonObject =>
  jsonObject([
    ['id', w.str(k.id)],
    ['serverSeed', w.opt(k.serverSeed, w.bin)],
    ['devicePinProtection', w.opt(k.devicePinProtection, w.bool)],
    ['encryptedPin', w.opt(k.encryptedPin, w.bin)],
    ['enablePinCaching', w.opt(k.enablePinCaching, w.bool)],
    ['biometricProtection', w.opt(k.biometricProtection, w.str)],
    ['exportProtection', w.opt(k.exportProtection, w.str)],
    ['deleteProtection', w.opt(k.deleteProtection, w.str)],
    ['friendlyName', w.opt(k.friendlyName, w.str)],
    ['appUsage', w.str(k.appUsage)],
    ['keyAlgorithm', w.str(k.keyAlgorithm)],
    ['keyParameters', w.opt(k.keyParameters, w.bin)],
    ['endorsedAlgorithms', w.opt(k.endorsedAlgorithms, w.strs)],
    ['mac', w.bin(k.mac)],
  ]);

const encodePinPolicy = (p: PinPolicySpecifier): JsonObject =>
  jsonObject([
    ['id', w.str(p.id)],
    ['minLength', w.int(p.minLength)],
    ['maxLength', w.int(p.maxLength)],
    ['retryLimit', w.int(p.retryLimit)],
    ['format', w.str(p.format)],
    ['userModifiable', w.opt(p.userModifiable, w.bool)],
    ['grouping', w.opt(p.grouping, w.str)],
    ['inputMethod', w.opt(p.inputMethod, w.str)],
    ['patternRestrictions', w.opt(p.patternRestrictions, w.strs)],
    ['mac', w.bin(p.mac)],
    ['keyEntrySpecifiers', w.objs(p.keyEntrySpecifiers, encodeKeyEntry)],
  ]);

const encodePukPolicy = (p: PukPolicySpecifier): JsonObject =>
  jsonObject([
    ['id', w.str(p.id)],
    ['encryptedPuk', w.bin(p.encryptedPuk)],
    ['retryLimit', w.int(p.retryLimit)],
    ['format', w.str(p.format)],
    ['mac', w.bin(p.mac)],
    ['pinPolicySpecifiers', w.objs(p.pinPolicySpecifiers, encodePinPolicy)],
  ]);

/** The KeyCreationRequest object. */
export const encodeKeyCreationRequest = (m: KeyCreationRequest): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['keyEntryAlgorithm', w.str(m.keyEntryAlgorithm)],
    ['deferredIssuance', w.opt(m.deferredIssuance, w.bool)],
    ['pukPolicySpecifiers', w.opt(m.pukPolicySpecifiers, (a) => w.objs(a, encodePukPolicy))],
    ['pinPolicySpecifiers', w.opt(m.pinPolicySpecifiers, (a) => w.objs(a, encodePinPolicy))],
    ['keyEntrySpecifiers', w.opt(m.keyEntrySpecifiers, (a) => w.objs(a, encodeKeyEntry))],
  ]);

const encodeGeneratedKey = (k: GeneratedKey): JsonObject =>
  jsonObject([
    ['id', w.str(k.id)],
    ['publicKey', w.jwk(k.publicKey)],
    ['attestation', w.bin(k.attestation)],
  ]);

/** The KeyCreationResponse object. */
export const encodeKeyCreationResponse = (m: KeyCreationResponse): JsonObject =>
  envelope(m.qualifier, [
    ['serverSessionId', w.str(m.serverSessionId)],
    ['clientSessionId', w.str(m.clientSessionId)],
    ['generatedKeys', w.objs(m.generatedKeys, encodeGeneratedKey)],
  ]);
