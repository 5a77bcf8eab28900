/** createPukPolicy (spec §6.6) and createPinPolicy (spec §6.7). */
import type { CreatePinPolicyArgs, CreatePukPolicyArgs, PinPolicyHandle, PukPolicyHandle } from '../api.js';
import { Limits, MacMethod, PassphraseFormat, PinPattern } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { optionError } from '../errors.js';
import { beginMac, decryptIssuerData, registerId, type EngineContext, type OpenSession } from '../engine/context.js';
import { pukSyntaxOk } from '../pin/pin-rules.js';
import * as v from '../engine/validate.js';

export function createPukPolicy(ctx: EngineContext, session: OpenSession, a: CreatePukPolicyArgs): PukPolicyHandle {
  const w = session.phase;
  const id = v.text('id', a.id);
  const encryptedPuk = v.bytes('encryptedPuk', a.encryptedPuk);
  const format = v.byteValue('format', a.format);
  const retryLimit = v.shortValue('retryLimit', a.retryLimit);
  const mac = v.bytes('mac', a.mac);

  if (format < 0 || format > 3) throw optionError(`Invalid "Format" value=${format}`, 'format');
  if (retryLimit < 0 || retryLimit > Limits.MAX_RETRY_LIMIT) throw optionError(`Invalid "retryLimit" value=${retryLimit}`, 'retryLimit');
  const puk = decryptIssuerData(w, encryptedPuk);
  try {
    if (puk.length === 0 || puk.length > Limits.MAX_LENGTH_PIN_PUK) throw optionError('PUK length error', 'encryptedPuk');
    if (!pukSyntaxOk(puk, format)) throw optionError('PUK syntax error', 'encryptedPuk');
    beginMac(w, MacMethod.CREATE_PUK_POLICY).verify(MacData.createPukPolicy(id, encryptedPuk, format, retryLimit), mac);
    registerId(w, id, false);
  } catch (e) {
    puk.fill(0);
    throw e;
  }
  const handle = ctx.state.allocate('pukPolicy');
  ctx.state.pukPolicies.set(handle, { handle, id, owner: session, pukValue: puk, format, retryLimit, errorCount: 0, attemptReserved: false });
  return handle;
}

export function createPinPolicy(ctx: EngineContext, session: OpenSession, a: CreatePinPolicyArgs): PinPolicyHandle {
  const w = session.phase;
  const id = v.text('id', a.id);
  const pukHandle = v.pukPolicyHandle('pukPolicyHandle', a.pukPolicyHandle);
  const userDefined = v.flag('userDefined', a.userDefined);
  const userModifiable = v.flag('userModifiable', a.userModifiable);
  const format = v.byteValue('format', a.format);
  const retryLimit = v.shortValue('retryLimit', a.retryLimit);
  const grouping = v.byteValue('grouping', a.grouping);
  const patternRestrictions = v.byteValue('patternRestrictions', a.patternRestrictions);
  const minLength = v.shortValue('minLength', a.minLength);
  const maxLength = v.shortValue('maxLength', a.maxLength);
  const inputMethod = v.byteValue('inputMethod', a.inputMethod);
  const mac = v.bytes('mac', a.mac);

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
    const p = ctx.state.pukPolicies.get(pukHandle);
    if (!p || p.owner !== session) throw optionError('Referenced PUK policy object not found', 'pukPolicyHandle');
    w.names.set(p.id, true);
    pukPolicy = p;
    pukPolicyId = p.id;
  }
  if (patternRestrictions & PinPattern.MISSING_GROUP && format !== PassphraseFormat.ALPHANUMERIC && format !== PassphraseFormat.STRING) {
    throw optionError('Incorrect "format" for the "missing-group" PIN pattern policy', 'format');
  }
  if (minLength < 1 || maxLength > Limits.MAX_LENGTH_PIN_PUK || maxLength < minLength) {
    throw optionError('PIN policy length error', 'minLength');
  }
  const attributes = { userDefined, userModifiable, format, retryLimit, grouping, patternRestrictions, minLength, maxLength, inputMethod };
  beginMac(w, MacMethod.CREATE_PIN_POLICY).verify(MacData.createPinPolicy(id, pukPolicyId, attributes), mac);
  registerId(w, id, false);
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
