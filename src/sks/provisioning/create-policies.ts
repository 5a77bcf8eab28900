/** createPukPolicy (spec §6.6) and createPinPolicy (spec §6.7). */
import type { CreatePinPolicyArgs, CreatePukPolicyArgs, PinPolicyHandle, PukPolicyHandle } from '../api.js';
import { Limits, MacMethod, PassphraseFormat, PinPattern } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { optionError } from '../errors.js';
import { beginMac, decryptIssuerData, registerId, type EngineContext, type OpenSession } from '../engine/context.js';
import { pukSyntaxOk } from '../pin/pin-rules.js';
import * as checked from '../engine/validate.js';

export function createPukPolicy(ctx: EngineContext, session: OpenSession, policyArgs: CreatePukPolicyArgs): PukPolicyHandle {
  const openPhase = session.phase;
  const id = checked.text('id', policyArgs.id);
  const encryptedPuk = checked.bytes('encryptedPuk', policyArgs.encryptedPuk);
  const format = checked.byteValue('format', policyArgs.format);
  const retryLimit = checked.shortValue('retryLimit', policyArgs.retryLimit);
  const mac = checked.bytes('mac', policyArgs.mac);

  if (format < 0 || format > 3) throw optionError(`Invalid "Format" value=${format}`, 'format');
  if (retryLimit < 0 || retryLimit > Limits.MAX_RETRY_LIMIT) throw optionError(`Invalid "retryLimit" value=${retryLimit}`, 'retryLimit');
  const puk = decryptIssuerData(openPhase, encryptedPuk);
  try {
    if (puk.length === 0 || puk.length > Limits.MAX_LENGTH_PIN_PUK) throw optionError('PUK length error', 'encryptedPuk');
    if (!pukSyntaxOk(puk, format)) throw optionError('PUK syntax error', 'encryptedPuk');
    beginMac(openPhase, MacMethod.CREATE_PUK_POLICY).verify(MacData.createPukPolicy(id, encryptedPuk, format, retryLimit), mac);
    registerId(openPhase, id, false);
  } catch (error) {
    puk.fill(0);
    throw error;
  }
  const handle = ctx.state.allocate('pukPolicy');
  ctx.state.pukPolicies.set(handle, { handle, id, owner: session, pukValue: puk, format, retryLimit, errorCount: 0, attemptReserved: false });
  return handle;
}

export function createPinPolicy(ctx: EngineContext, session: OpenSession, policyArgs: CreatePinPolicyArgs): PinPolicyHandle {
  const openPhase = session.phase;
  const id = checked.text('id', policyArgs.id);
  const pukHandle = checked.pukPolicyHandle('pukPolicyHandle', policyArgs.pukPolicyHandle);
  const userDefined = checked.flag('userDefined', policyArgs.userDefined);
  const userModifiable = checked.flag('userModifiable', policyArgs.userModifiable);
  const format = checked.byteValue('format', policyArgs.format);
  const retryLimit = checked.shortValue('retryLimit', policyArgs.retryLimit);
  const grouping = checked.byteValue('grouping', policyArgs.grouping);
  const patternRestrictions = checked.byteValue('patternRestrictions', policyArgs.patternRestrictions);
  const minLength = checked.shortValue('minLength', policyArgs.minLength);
  const maxLength = checked.shortValue('maxLength', policyArgs.maxLength);
  const inputMethod = checked.byteValue('inputMethod', policyArgs.inputMethod);
  const mac = checked.bytes('mac', policyArgs.mac);

  if (grouping < 0 || grouping > 3) throw optionError(`Invalid "grouping" value=${grouping}`, 'grouping');
  if (inputMethod < 0 || inputMethod > 2) throw optionError(`Invalid "inputMethod" value=${inputMethod}`, 'inputMethod');
  if (format < 0 || format > 3) throw optionError(`Invalid "Format" value=${format}`, 'format');
  if (retryLimit < 1 || retryLimit > Limits.MAX_RETRY_LIMIT) throw optionError(`Invalid "retryLimit" value=${retryLimit}`, 'retryLimit');
  if ((patternRestrictions & ~0x1f) !== 0) {
    throw optionError(`Invalid "patternRestrictions" value=${patternRestrictions}`, 'patternRestrictions');
  }
  let pukPolicy = null;
  let pukPolicyId = '';
  if (pukHandle !== 0) {
    const policy = ctx.state.pukPolicies.get(pukHandle);
    if (policy?.owner !== session) throw optionError('Referenced PUK policy object not found', 'pukPolicyHandle');
    openPhase.names.set(policy.id, true);
    pukPolicy = policy;
    pukPolicyId = policy.id;
  }
  if (patternRestrictions & PinPattern.MISSING_GROUP && format !== PassphraseFormat.ALPHANUMERIC && format !== PassphraseFormat.STRING) {
    throw optionError('Incorrect "format" for the "missing-group" PIN pattern policy', 'format');
  }
  if (minLength < 1 || maxLength > Limits.MAX_LENGTH_PIN_PUK || maxLength < minLength) {
    throw optionError('PIN policy length error', 'minLength');
  }
  const attributes = { userDefined, userModifiable, format, retryLimit, grouping, patternRestrictions, minLength, maxLength, inputMethod };
  beginMac(openPhase, MacMethod.CREATE_PIN_POLICY).verify(MacData.createPinPolicy(id, pukPolicyId, attributes), mac);
  registerId(openPhase, id, false);
  const handle = ctx.state.allocate('pinPolicy');
  ctx.state.pinPolicies.set(handle, {
    handle,
    id,
    owner: session,
    pukPolicy,
    retryLimit,
    format,
    userDefined,
    userModifiable,
    inputMethod,
    grouping,
    patternRestrictions,
    minLength,
    maxLength,
  });
  return handle;
}
