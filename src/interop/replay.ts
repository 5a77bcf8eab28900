/**
 * Client-side replay of a recorded session file (interop README §6): every
 * recorded SKS call, in `call_index` order, against a fresh store of ours that
 * draws the recorded randomness. Each call is one check: our result must equal
 * the recorded one byte for byte, except for randomized outputs (ECDSA
 * signatures, AES-CBC with an internal IV), which are verified instead; calls
 * recorded with an exception must fail with the same SKS message.
 */
import { createDecipheriv } from 'node:crypto';
import { lookupAlgorithm } from '../sks/algorithms.js';
import {
  keyHandle,
  pinPolicyHandle,
  provisioningHandle,
  pukPolicyHandle,
  type KeyHandle,
  type PostOperationArgs,
  type ProvisioningHandle,
  type SecureKeyStore,
} from '../sks/api.js';
import { parsePkcs8, parseSpki } from '../sks/crypto/keys.js';
import { openSecureKeyStore } from '../sks/engine/secure-key-store.js';
import { isSksError } from '../sks/errors.js';
import { createMemoryKeyStore } from '../sks/store/memory-store.js';
import { CheckList, describeBytes, describeError, expectBytes, expectEqual, Mismatch, type CheckResult } from './check.js';
import { JsonNode, VectorFormatError } from './json.js';
import { clientSessionIdBytes, ReplayEntropy, type RecordedPair } from './replay-entropy.js';
import { callName, recordedCalls, sessionName, type RecordedCall } from './session-file.js';
import { certificate, certificateSpki, deterministicSigner, recordedKey, sessionAttestationInput, signatureHashOf, verifySignature, type RecordedKey } from './vectors.js';
import { deviceIdFor } from '../sks/crypto/primitives.js';

/** The device PIN of the replay profile (the reference test harness's value). */
const DEVICE_PIN = '1234';

// ---------------------------------------------------------------------------
// Reading recorded arguments (README "sks_calls[] entries")

/** `<name>_hex` or `<name>_spki_hex`; an alias list covers Java names that differ from ours. */
function bytesArg(args: JsonNode, ...names: string[]): Uint8Array {
  const v = optBytesArg(args, ...names);
  if (v === undefined) throw new VectorFormatError(`${args.path}: "${names[0] ?? ''}" is null`);
  return v;
}

/** Like bytesArg, but a recorded `null` is absent (`undefined`). */
function optBytesArg(args: JsonNode, ...names: string[]): Uint8Array | undefined {
  for (const name of names) {
    for (const key of [`${name}_hex`, `${name}_spki_hex`, name]) {
      const n = args.opt(key);
      if (n === undefined) continue;
      if (n.isNull()) return undefined;
      if (key === name) throw new VectorFormatError(`${n.path}: a byte value must be recorded as ${name}_hex`);
      return n.hex();
    }
  }
  throw new VectorFormatError(`${args.path}: missing "${names[0] ?? ''}"`);
}

function certsArg(args: JsonNode, name: string): Uint8Array[] {
  return args.get(`${name}_der_hex`).hexes();
}

function optStrArg(args: JsonNode, name: string): string | undefined {
  return args.optValue(name)?.str();
}

const kh = (args: JsonNode, name = 'keyHandle'): KeyHandle => keyHandle(args.get(name).int());
const ph = (args: JsonNode): ProvisioningHandle => provisioningHandle(args.get('provisioningHandle').int());

function postOp(args: JsonNode): PostOperationArgs {
  return { targetKeyHandle: kh(args, 'targetKeyHandle'), authorization: bytesArg(args, 'authorization'), mac: bytesArg(args, 'mac') };
}

function cryptoArgs(args: JsonNode): {
  keyHandle: KeyHandle;
  algorithm: string;
  parameters: Uint8Array | undefined;
  biometricAuth: boolean;
  authorization: Uint8Array | undefined;
} {
  return {
    keyHandle: kh(args),
    algorithm: args.get('algorithm').str(),
    parameters: optBytesArg(args, 'parameters'),
    biometricAuth: args.optValue('biometricAuth')?.bool() ?? false,
    authorization: optBytesArg(args, 'authorization'),
  };
}

/** Calls the method of `sks` that the recorded call names, with the recorded arguments. */
async function invoke(sks: SecureKeyStore, method: string, a: JsonNode): Promise<unknown> {
  switch (method) {
    case 'getDeviceInfo':
      return sks.getDeviceInfo();
    case 'createProvisioningSession':
      return sks.createProvisioningSession({
        sessionKeyAlgorithm: a.get('sessionKeyAlgorithm').str(),
        privacyEnabled: a.get('privacyEnabled').bool(),
        serverSessionId: a.get('serverSessionId').str(),
        serverEphemeralKey: bytesArg(a, 'serverEphemeralKey'),
        issuerUri: a.get('issuerUri').str(),
        keyManagementKey: optBytesArg(a, 'keyManagementKey'),
        clientTime: a.get('clientTime').int(),
        sessionLifeTime: a.get('sessionLifeTime').int(),
        sessionKeyLimit: a.get('sessionKeyLimit').int(),
        serverCertificate: bytesArg(a, 'serverCertificate'),
      });
    case 'closeProvisioningSession':
      return sks.closeProvisioningSession(ph(a), bytesArg(a, 'nonce'), bytesArg(a, 'mac'));
    case 'abortProvisioningSession':
      return sks.abortProvisioningSession(ph(a));
    case 'enumerateProvisioningSessions': {
      const h = a.get('provisioningHandle').int();
      return sks.enumerateProvisioningSessions(h === 0 ? 0 : provisioningHandle(h), a.get('provisioningState').bool());
    }
    case 'getKeyHandle':
      return sks.getKeyHandle(ph(a), a.get('id').str());
    case 'createPukPolicy':
      return sks.createPukPolicy({
        provisioningHandle: ph(a),
        id: a.get('id').str(),
        encryptedPuk: bytesArg(a, 'encryptedPuk', 'pukValue'),
        format: a.get('format').int(),
        retryLimit: a.get('retryLimit').int(),
        mac: bytesArg(a, 'mac'),
      });
    case 'createPinPolicy':
      return sks.createPinPolicy({
        provisioningHandle: ph(a),
        id: a.get('id').str(),
        pukPolicyHandle: pukPolicyHandle(a.get('pukPolicyHandle').int()),
        userDefined: a.get('userDefined').bool(),
        userModifiable: a.get('userModifiable').bool(),
        format: a.get('format').int(),
        retryLimit: a.get('retryLimit').int(),
        grouping: a.get('grouping').int(),
        patternRestrictions: a.get('patternRestrictions').int(),
        minLength: a.get('minLength').int(),
        maxLength: a.get('maxLength').int(),
        inputMethod: a.get('inputMethod').int(),
        mac: bytesArg(a, 'mac'),
      });
    case 'createKeyEntry':
      return sks.createKeyEntry({
        provisioningHandle: ph(a),
        id: a.get('id').str(),
        keyEntryAlgorithm: a.get('keyEntryAlgorithm').str(),
        serverSeed: optBytesArg(a, 'serverSeed'),
        devicePinProtection: a.get('devicePinProtection').bool(),
        pinPolicyHandle: pinPolicyHandle(a.get('pinPolicyHandle').int()),
        pinValue: optBytesArg(a, 'pinValue'),
        enablePinCaching: a.get('enablePinCaching').bool(),
        biometricProtection: a.get('biometricProtection').int(),
        exportProtection: a.get('exportProtection').int(),
        deleteProtection: a.get('deleteProtection').int(),
        appUsage: a.get('appUsage').int(),
        friendlyName: optStrArg(a, 'friendlyName'),
        keyAlgorithm: a.get('keyAlgorithm').str(),
        keyParameters: optBytesArg(a, 'keyParameters'),
        endorsedAlgorithms: a.get('endorsedAlgorithms').strs(),
        mac: bytesArg(a, 'mac'),
      });
    case 'setCertificatePath':
      return sks.setCertificatePath(kh(a), certsArg(a, 'certificatePath'), bytesArg(a, 'mac'));
    case 'importSymmetricKey':
      return sks.importSymmetricKey(kh(a), bytesArg(a, 'encryptedKey', 'symmetricKey'), bytesArg(a, 'mac'));
    case 'importPrivateKey':
      return sks.importPrivateKey(kh(a), bytesArg(a, 'encryptedKey', 'privateKey'), bytesArg(a, 'mac'));
    case 'addExtension':
      return sks.addExtension({
        keyHandle: kh(a),
        type: a.get('type').str(),
        subType: a.get('subType').int(),
        qualifier: a.get('qualifier').str(),
        extensionData: bytesArg(a, 'extensionData'),
        mac: bytesArg(a, 'mac'),
      });
    case 'postDeleteKey':
      return sks.postDeleteKey(ph(a), postOp(a));
    case 'postUnlockKey':
      return sks.postUnlockKey(ph(a), postOp(a));
    case 'postUpdateKey':
      return sks.postUpdateKey(kh(a), postOp(a));
    case 'postCloneKeyProtection':
      return sks.postCloneKeyProtection(kh(a), postOp(a));
    case 'updateKeyManagementKey':
      return sks.updateKeyManagementKey(ph(a), bytesArg(a, 'keyManagementKey'), bytesArg(a, 'authorization'));
    case 'enumerateKeys': {
      const h = a.get('keyHandle').int();
      return sks.enumerateKeys(h === 0 ? 0 : keyHandle(h));
    }
    case 'getKeyAttributes':
      return sks.getKeyAttributes(kh(a));
    case 'getKeyProtectionInfo':
      return sks.getKeyProtectionInfo(kh(a));
    case 'getExtension':
      return sks.getExtension(kh(a), a.get('type').str());
    case 'setProperty':
      return sks.setProperty(kh(a), a.get('type').str(), a.get('name').str(), a.get('value').str());
    case 'deleteKey':
      return sks.deleteKey(kh(a), optBytesArg(a, 'authorization'));
    case 'exportKey':
      return sks.exportKey(kh(a), optBytesArg(a, 'authorization'));
    case 'unlockKey':
      return sks.unlockKey(kh(a), bytesArg(a, 'authorization'));
    case 'changePin':
      return sks.changePin(kh(a), optBytesArg(a, 'authorization', 'oldPin'), bytesArg(a, 'newPin'));
    case 'setPin':
      return sks.setPin(kh(a), bytesArg(a, 'authorization'), bytesArg(a, 'newPin'));
    case 'signData':
      return sks.signData({ ...cryptoArgs(a), data: bytesArg(a, 'data') });
    case 'performHmac':
      return sks.performHmac({ ...cryptoArgs(a), data: bytesArg(a, 'data') });
    case 'symmetricKeyEncrypt':
      return sks.symmetricKeyEncrypt({ ...cryptoArgs(a), mode: a.get('mode').bool(), data: bytesArg(a, 'data') });
    case 'asymmetricKeyDecrypt':
      return sks.asymmetricKeyDecrypt({ ...cryptoArgs(a), data: bytesArg(a, 'data') });
    case 'keyAgreement':
      return sks.keyAgreement({ ...cryptoArgs(a), publicKey: bytesArg(a, 'publicKey') });
    case 'updateFirmware':
      return sks.updateFirmware(bytesArg(a, 'chunk'));
    default:
      throw new VectorFormatError(`${a.path}: the replay does not know the SKS method "${method}"`);
  }
}

// ---------------------------------------------------------------------------
// Comparing results

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function expectBytesValue(what: string, expected: Uint8Array, got: unknown): void {
  if (!isBytes(got)) throw new Mismatch(`${what}: expected bytes, got ${describeValue(got)}`);
  expectBytes(what, expected, got);
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (isBytes(v)) return `${v.length} bytes`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Compares our result with a recorded one: `X_hex`/`X_spki_hex` members are
 * bytes of our `X`, `X_der_hex` lists are byte lists, everything else is a
 * plain value where the recording's `null` is our `undefined`.
 */
function compareResult(what: string, recorded: JsonNode | undefined, ours: unknown): void {
  if (recorded === undefined || recorded.isNull()) {
    if (ours !== undefined && ours !== null) throw new Mismatch(`${what}: expected no result, got ${describeValue(ours)}`);
    return;
  }
  const v = recorded.value;
  if (typeof v === 'string') {
    if (isBytes(ours)) expectBytes(what, recorded.hex(), ours);
    else expectEqual(what, v, ours);
    return;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    expectEqual(what, v, ours);
    return;
  }
  if (Array.isArray(v)) {
    if (!Array.isArray(ours)) throw new Mismatch(`${what}: expected a list, got ${describeValue(ours)}`);
    const items = recorded.items();
    expectEqual(`${what} length`, items.length, ours.length);
    items.forEach((item, i) => compareResult(`${what}[${i}]`, item, ours[i]));
    return;
  }
  if (typeof ours !== 'object' || ours === null) throw new Mismatch(`${what}: expected a record, got ${describeValue(ours)}`);
  const o = ours as Record<string, unknown>;
  for (const [key, node] of recorded.entries()) {
    const m = /^(.*?)(_der_hex|_spki_hex|_hex)$/.exec(key);
    if (m?.[1] !== undefined && m[2] === '_der_hex') {
      const list = o[m[1]];
      const expected = node.hexes();
      if (!Array.isArray(list)) throw new Mismatch(`${m[1]}: expected a certificate list, got ${describeValue(list)}`);
      expectEqual(`${m[1]} length`, expected.length, list.length);
      expected.forEach((der, i) => expectBytesValue(`${m[1]}[${i}]`, der, list[i]));
    } else if (m?.[1] !== undefined) {
      if (node.isNull()) compareResult(m[1], node, o[m[1]]);
      else expectBytesValue(m[1], node.hex(), o[m[1]]);
    } else {
      compareResult(key, node, o[key]);
    }
  }
}

/** What the file knows that lets randomized outputs be verified. */
interface ReplayKnowledge {
  /** The device certificate (the session attestation key, and the device ID without privacy). */
  readonly deviceCertificate: Buffer | undefined;
  /** Every public key of the file that an SKS key can hold. */
  readonly publicKeys: readonly RecordedKey[];
  /** Every imported symmetric key candidate (issuer-encrypted plaintexts of AES key sizes). */
  readonly aesKeys: readonly Buffer[];
}

function knowledgeOf(doc: JsonNode): ReplayKnowledge {
  const publicKeys: RecordedKey[] = [];
  const aesKeys: Buffer[] = [];
  const tryAdd = (f: () => RecordedKey): void => {
    try {
      publicKeys.push(f());
    } catch {
      // a malformed key is reported by the static checks
    }
  };
  for (const s of doc.get('sessions').items()) {
    for (const g of s.opt('sks_generated_keys')?.items() ?? []) tryAdd(() => recordedKey(g.get('key')));
    for (const [, path] of s.opt('issued_certificate_paths')?.entries() ?? []) {
      const ee = path.items()[0];
      if (ee !== undefined) {
        tryAdd(() => {
          const spki = certificateSpki(ee.hex());
          return { type: 'certificate key', spki, publicKey: parseSpki(spki), privateKey: undefined };
        });
      }
    }
    for (const e of s.opt('encryptions')?.items() ?? []) {
      const p = e.get('plaintext_hex').hex();
      if (p.length === 16 || p.length === 24 || p.length === 32) aesKeys.push(p);
    }
  }
  for (const [, k] of doc.opt('server_generated_imported_keys')?.entries() ?? []) tryAdd(() => recordedKey(k));
  const deviceCertificate = doc.get('test_keys').get('device_attestation').get('certificate_der_hex').hex();
  return { deviceCertificate, publicKeys, aesKeys };
}

function aesCbcDecrypt(key: Buffer, ivAndCiphertext: Uint8Array): Buffer | undefined {
  if (ivAndCiphertext.length < 32 || ivAndCiphertext.length % 16 !== 0) return undefined;
  try {
    const d = createDecipheriv(`aes-${key.length * 8}-cbc`, key, ivAndCiphertext.subarray(0, 16));
    return Buffer.concat([d.update(ivAndCiphertext.subarray(16)), d.final()]);
  } catch {
    return undefined;
  }
}

/** signData: RSA and Ed25519 must match byte for byte; ECDSA must verify with the key that made the recorded signature. */
function compareSignature(args: JsonNode, recorded: JsonNode | undefined, ours: unknown, k: ReplayKnowledge): void {
  if (recorded === undefined || recorded.isNull()) throw new VectorFormatError(`${args.path}: signData without a result`);
  const expected = recorded.hex();
  if (!isBytes(ours)) throw new Mismatch(`signature: expected bytes, got ${describeValue(ours)}`);
  if (Buffer.from(ours).equals(expected)) return;
  const hash = signatureHashOf(args.get('algorithm').str());
  const data = bytesArg(args, 'data');
  const signer = k.publicKeys.find((key) => verifySignature(key.publicKey, hash, data, expected));
  if (signer === undefined) throw new Mismatch(`signature differs (${describeBytes(expected, ours)}) and the recorded one verifies with no key of the file`);
  if (deterministicSigner(signer.publicKey)) throw new Mismatch(`deterministic signature: ${describeBytes(expected, ours)}`);
  if (!verifySignature(signer.publicKey, hash, data, ours)) {
    throw new Mismatch(`our signature does not verify with the key that made the recorded one (${signer.type})`);
  }
}

/** symmetricKeyEncrypt: internal-IV encryption is randomized; our output must decrypt to the input under the recorded key. */
function compareSymmetric(args: JsonNode, recorded: JsonNode | undefined, ours: unknown, k: ReplayKnowledge): void {
  const algorithm = lookupAlgorithm(args.get('algorithm').str());
  const randomized = args.get('mode').bool() && algorithm?.operation.op === 'aes-cbc-internal-iv';
  if (!randomized || recorded === undefined || recorded.isNull() || !isBytes(ours)) {
    compareResult('result', recorded, ours);
    return;
  }
  const expected = recorded.hex();
  if (Buffer.from(ours).equals(expected)) return;
  const data = bytesArg(args, 'data');
  const key = k.aesKeys.find((c) => aesCbcDecrypt(c, expected)?.equals(data) === true);
  if (key === undefined) throw new Mismatch(`ciphertext differs and no imported AES key of the file decrypts the recorded one to the input`);
  const plain = aesCbcDecrypt(key, ours);
  if (plain === undefined) throw new Mismatch(`our ciphertext (${ours.length} bytes) does not decrypt with the imported key`);
  expectBytes('our ciphertext decrypted with the imported key', data, plain);
}

/**
 * createProvisioningSession: everything is compared byte for byte, the session
 * attestation too when it is deterministic (HMAC in privacy mode, an RSA PKCS#1
 * v1.5 device signature). An ECDSA device signature is randomized: ours must
 * verify with the device certificate's key over the attestation input rebuilt
 * from the call, and is never compared with the recorded one.
 */
function compareSessionResult(args: JsonNode, recorded: JsonNode | undefined, ours: unknown, k: ReplayKnowledge): void {
  const privacyEnabled = args.get('privacyEnabled').bool();
  const device = k.deviceCertificate === undefined ? undefined : certificate(k.deviceCertificate);
  if (privacyEnabled || device === undefined || deterministicSigner(device.publicKey) || !recorded?.isObject()) {
    compareResult('result', recorded, ours);
    return;
  }
  const { attestation_hex: _randomized, ...rest } = recorded.value as Record<string, unknown>;
  compareResult('result', JsonNode.root(rest, recorded.path), ours);
  const r = ours as { clientSessionId: string; clientEphemeralKey: Uint8Array; attestation: unknown };
  if (!isBytes(r.attestation)) throw new Mismatch(`attestation: expected bytes, got ${describeValue(r.attestation)}`);
  const input = sessionAttestationInput({
    clientSessionId: r.clientSessionId,
    serverSessionId: args.get('serverSessionId').str(),
    issuerUri: args.get('issuerUri').str(),
    deviceId: deviceIdFor(false, k.deviceCertificate ?? Buffer.alloc(0)),
    sessionKeyAlgorithm: args.get('sessionKeyAlgorithm').str(),
    privacyEnabled,
    serverEphemeralKey: bytesArg(args, 'serverEphemeralKey'),
    clientEphemeralKey: r.clientEphemeralKey,
    keyManagementKey: optBytesArg(args, 'keyManagementKey') ?? Buffer.alloc(0),
    clientTime: args.get('clientTime').int(),
    sessionLifeTime: args.get('sessionLifeTime').int(),
    sessionKeyLimit: args.get('sessionKeyLimit').int(),
    serverCertificate: bytesArg(args, 'serverCertificate'),
  });
  if (!verifySignature(device.publicKey, 'sha256', input, r.attestation)) {
    throw new Mismatch(`attestation: our ${device.publicKey.asymmetricKeyType ?? ''} device signature does not verify with the device certificate`);
  }
  if (!verifySignature(device.publicKey, 'sha256', input, recorded.get('attestation_hex').hex())) {
    throw new Mismatch('attestation: the recorded device signature does not verify with the device certificate');
  }
}

// ---------------------------------------------------------------------------
// The replay

const SKS_EXCEPTION = 'SKSException: ';

function expectedSksMessage(exception: string): string {
  const at = exception.indexOf(SKS_EXCEPTION);
  return at < 0 ? exception : exception.slice(at + SKS_EXCEPTION.length);
}

async function replayCall(sks: SecureKeyStore, entropy: ReplayEntropy, call: RecordedCall, k: ReplayKnowledge): Promise<void> {
  const args = call.node.get('args');
  const exception = call.node.optValue('exception')?.str();
  if (call.method === 'createProvisioningSession' && exception === undefined) {
    const recordedId = call.node.get('result').get('clientSessionId').str();
    entropy.expectRandomBytes(`the clientSessionId of ${call.where}`, clientSessionIdBytes(recordedId));
  }
  let ours: unknown;
  try {
    ours = await invoke(sks, call.method, args);
  } catch (e) {
    const problems = entropy.takeProblems();
    entropy.takeUnusedRandom();
    if (problems.length > 0) throw new Mismatch(`${problems.join('; ')} (the call ${describeError(e)})`);
    if (exception === undefined || e instanceof VectorFormatError) throw e;
    const expected = expectedSksMessage(exception);
    if (!isSksError(e)) throw new Mismatch(`expected SksError [${expected}], ${describeError(e)}`);
    if (e.message !== expected) throw new Mismatch(`expected SksError [${expected}], got SksError ${e.code} [${e.message}]`);
    return;
  }
  const problems = entropy.takeProblems();
  if (problems.length > 0) throw new Mismatch(problems.join('; '));
  const unused = entropy.takeUnusedRandom();
  if (unused.length > 0) throw new Mismatch(`the SKS never asked for the random bytes of ${unused.join(', ')}`);
  if (exception !== undefined) throw new Mismatch(`expected SksError [${expectedSksMessage(exception)}], the call succeeded`);
  const recorded = call.node.opt('result');
  switch (call.method) {
    case 'createProvisioningSession':
      compareSessionResult(args, recorded, ours, k);
      return;
    case 'signData':
      compareSignature(args, recorded, ours, k);
      return;
    case 'symmetricKeyEncrypt':
      compareSymmetric(args, recorded, ours, k);
      return;
    default:
      compareResult('result', recorded, ours);
  }
}

function recordedPairs(doc: JsonNode): { ephemeral: RecordedPair[]; keyEntries: RecordedPair[] } {
  const ephemeral: RecordedPair[] = [];
  const keyEntries: RecordedPair[] = [];
  for (const s of doc.get('sessions').items()) {
    ephemeral.push({ label: `${sessionName(s)} client ephemeral key`, key: recordedKey(s.get('ephemeral_keys').get('client')) });
    for (const g of s.get('sks_generated_keys').items()) {
      keyEntries.push({ label: `${sessionName(s)} ${g.get('id').str()}`, key: recordedKey(g.get('key')) });
    }
  }
  return { ephemeral, keyEntries };
}

/** Replays every SKS call of a session-layout document against a fresh store of ours. */
export async function runReplay(doc: JsonNode): Promise<CheckResult[]> {
  const checks = new CheckList();
  let sks: SecureKeyStore | undefined;
  let entropy: ReplayEntropy | undefined;
  let calls: RecordedCall[] = [];
  let knowledge: ReplayKnowledge = { deviceCertificate: undefined, publicKeys: [], aesKeys: [] };
  checks.guard('replay: open the SKS', () => {
    const pairs = recordedPairs(doc);
    entropy = new ReplayEntropy(pairs.ephemeral, pairs.keyEntries);
    calls = recordedCalls(doc);
    knowledge = knowledgeOf(doc);
    const da = doc.get('test_keys').get('device_attestation');
    sks = openSecureKeyStore({
      store: createMemoryKeyStore(),
      device: { privateKey: parsePkcs8(da.get('pkcs8_hex').hex()), certificatePath: [da.get('certificate_der_hex').hex()] },
      entropy,
      profile: {
        vendorName: 'WebPKI.org',
        devicePinSupport: true,
        biometricSupport: true,
        verifyDevicePin: (pin) => pin !== undefined && Buffer.from(pin).toString('utf8') === DEVICE_PIN,
      },
    });
  });
  if (sks === undefined || entropy === undefined) return checks.results;
  for (const call of calls) {
    const store = sks;
    const ent = entropy;
    let name = `${call.where} #${call.index} ${call.method}`;
    try {
      name = callName(call);
    } catch {
      // keep the short name; the call itself reports the format problem
    }
    await checks.runAsync(name, () => replayCall(store, ent, call, knowledge));
  }
  const unused = entropy.unusedPairs();
  checks.run('replay: every recorded key pair was used', () => {
    if (unused.length > 0) throw new Mismatch(`never requested by the SKS: ${unused.join(', ')}`);
  });
  return checks.results;
}
