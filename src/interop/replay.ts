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
import { parseSpki } from '../sks/crypto/keys.js';
import { isSksError } from '../sks/errors.js';
import { CheckList, describeBytes, describeError, expectBytes, expectEqual, Mismatch, type CheckResult } from './check.js';
import { JsonNode, VectorFormatError } from './json.js';
import { openRecordedSks, recordedPairs } from './client-replay.js';
import { clientSessionIdBytes, ReplayEntropy } from './replay-entropy.js';
import { callName, recordedCalls, type RecordedCall } from './session-file.js';
import {
  certificate,
  certificateSpki,
  deterministicSigner,
  recordedKey,
  sessionAttestationInput,
  signatureHashOf,
  verifySignature,
  type RecordedKey,
} from './vectors.js';
import { deviceIdFor } from '../sks/crypto/primitives.js';

// ---------------------------------------------------------------------------
// Reading recorded arguments (README "sks_calls[] entries")

/** `<name>_hex` or `<name>_spki_hex`; an alias list covers Java names that differ from ours. */
function bytesArg(args: JsonNode, ...names: string[]): Uint8Array {
  const value = optBytesArg(args, ...names);
  if (value === undefined) throw new VectorFormatError(`${args.path}: "${names[0] ?? ''}" is null`);
  return value;
}

/** Like bytesArg, but a recorded `null` is absent (`undefined`). */
function optBytesArg(args: JsonNode, ...names: string[]): Uint8Array | undefined {
  for (const name of names) {
    for (const key of [`${name}_hex`, `${name}_spki_hex`, name]) {
      const count = args.opt(key);
      if (count === undefined) continue;
      if (count.isNull()) return undefined;
      if (key === name) throw new VectorFormatError(`${count.path}: a byte value must be recorded as ${name}_hex`);
      return count.hex();
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
async function invoke(sks: SecureKeyStore, method: string, node: JsonNode): Promise<unknown> {
  switch (method) {
    case 'getDeviceInfo':
      return sks.getDeviceInfo();
    case 'createProvisioningSession':
      return sks.createProvisioningSession({
        sessionKeyAlgorithm: node.get('sessionKeyAlgorithm').str(),
        privacyEnabled: node.get('privacyEnabled').bool(),
        serverSessionId: node.get('serverSessionId').str(),
        serverEphemeralKey: bytesArg(node, 'serverEphemeralKey'),
        issuerUri: node.get('issuerUri').str(),
        keyManagementKey: optBytesArg(node, 'keyManagementKey'),
        clientTime: node.get('clientTime').int(),
        sessionLifeTime: node.get('sessionLifeTime').int(),
        sessionKeyLimit: node.get('sessionKeyLimit').int(),
        serverCertificate: bytesArg(node, 'serverCertificate'),
      });
    case 'closeProvisioningSession':
      return sks.closeProvisioningSession(ph(node), bytesArg(node, 'nonce'), bytesArg(node, 'mac'));
    case 'abortProvisioningSession':
      return sks.abortProvisioningSession(ph(node));
    case 'enumerateProvisioningSessions': {
      const handle = node.get('provisioningHandle').int();
      return sks.enumerateProvisioningSessions(handle === 0 ? 0 : provisioningHandle(handle), node.get('provisioningState').bool());
    }
    case 'getKeyHandle':
      return sks.getKeyHandle(ph(node), node.get('id').str());
    case 'createPukPolicy':
      return sks.createPukPolicy({
        provisioningHandle: ph(node),
        id: node.get('id').str(),
        encryptedPuk: bytesArg(node, 'encryptedPuk', 'pukValue'),
        format: node.get('format').int(),
        retryLimit: node.get('retryLimit').int(),
        mac: bytesArg(node, 'mac'),
      });
    case 'createPinPolicy':
      return sks.createPinPolicy({
        provisioningHandle: ph(node),
        id: node.get('id').str(),
        pukPolicyHandle: pukPolicyHandle(node.get('pukPolicyHandle').int()),
        userDefined: node.get('userDefined').bool(),
        userModifiable: node.get('userModifiable').bool(),
        format: node.get('format').int(),
        retryLimit: node.get('retryLimit').int(),
        grouping: node.get('grouping').int(),
        patternRestrictions: node.get('patternRestrictions').int(),
        minLength: node.get('minLength').int(),
        maxLength: node.get('maxLength').int(),
        inputMethod: node.get('inputMethod').int(),
        mac: bytesArg(node, 'mac'),
      });
    case 'createKeyEntry':
      return sks.createKeyEntry({
        provisioningHandle: ph(node),
        id: node.get('id').str(),
        keyEntryAlgorithm: node.get('keyEntryAlgorithm').str(),
        serverSeed: optBytesArg(node, 'serverSeed'),
        devicePinProtection: node.get('devicePinProtection').bool(),
        pinPolicyHandle: pinPolicyHandle(node.get('pinPolicyHandle').int()),
        pinValue: optBytesArg(node, 'pinValue'),
        enablePinCaching: node.get('enablePinCaching').bool(),
        biometricProtection: node.get('biometricProtection').int(),
        exportProtection: node.get('exportProtection').int(),
        deleteProtection: node.get('deleteProtection').int(),
        appUsage: node.get('appUsage').int(),
        friendlyName: optStrArg(node, 'friendlyName'),
        keyAlgorithm: node.get('keyAlgorithm').str(),
        keyParameters: optBytesArg(node, 'keyParameters'),
        endorsedAlgorithms: node.get('endorsedAlgorithms').strs(),
        mac: bytesArg(node, 'mac'),
      });
    case 'setCertificatePath':
      return sks.setCertificatePath(kh(node), certsArg(node, 'certificatePath'), bytesArg(node, 'mac'));
    case 'importSymmetricKey':
      return sks.importSymmetricKey(kh(node), bytesArg(node, 'encryptedKey', 'symmetricKey'), bytesArg(node, 'mac'));
    case 'importPrivateKey':
      return sks.importPrivateKey(kh(node), bytesArg(node, 'encryptedKey', 'privateKey'), bytesArg(node, 'mac'));
    case 'addExtension':
      return sks.addExtension({
        keyHandle: kh(node),
        type: node.get('type').str(),
        subType: node.get('subType').int(),
        qualifier: node.get('qualifier').str(),
        extensionData: bytesArg(node, 'extensionData'),
        mac: bytesArg(node, 'mac'),
      });
    case 'postDeleteKey':
      return sks.postDeleteKey(ph(node), postOp(node));
    case 'postUnlockKey':
      return sks.postUnlockKey(ph(node), postOp(node));
    case 'postUpdateKey':
      return sks.postUpdateKey(kh(node), postOp(node));
    case 'postCloneKeyProtection':
      return sks.postCloneKeyProtection(kh(node), postOp(node));
    case 'updateKeyManagementKey':
      return sks.updateKeyManagementKey(ph(node), bytesArg(node, 'keyManagementKey'), bytesArg(node, 'authorization'));
    case 'enumerateKeys': {
      const hnd = node.get('keyHandle').int();
      return sks.enumerateKeys(hnd === 0 ? 0 : keyHandle(hnd));
    }
    case 'getKeyAttributes':
      return sks.getKeyAttributes(kh(node));
    case 'getKeyProtectionInfo':
      return sks.getKeyProtectionInfo(kh(node));
    case 'getExtension':
      return sks.getExtension(kh(node), node.get('type').str());
    case 'setProperty':
      return sks.setProperty(kh(node), node.get('type').str(), node.get('name').str(), node.get('value').str());
    case 'deleteKey':
      return sks.deleteKey(kh(node), optBytesArg(node, 'authorization'));
    case 'exportKey':
      return sks.exportKey(kh(node), optBytesArg(node, 'authorization'));
    case 'unlockKey':
      return sks.unlockKey(kh(node), bytesArg(node, 'authorization'));
    case 'changePin':
      return sks.changePin(kh(node), optBytesArg(node, 'authorization', 'oldPin'), bytesArg(node, 'newPin'));
    case 'setPin':
      return sks.setPin(kh(node), bytesArg(node, 'authorization'), bytesArg(node, 'newPin'));
    case 'signData':
      return sks.signData({ ...cryptoArgs(node), data: bytesArg(node, 'data') });
    case 'performHmac':
      return sks.performHmac({ ...cryptoArgs(node), data: bytesArg(node, 'data') });
    case 'symmetricKeyEncrypt':
      return sks.symmetricKeyEncrypt({ ...cryptoArgs(node), mode: node.get('mode').bool(), data: bytesArg(node, 'data') });
    case 'asymmetricKeyDecrypt':
      return sks.asymmetricKeyDecrypt({ ...cryptoArgs(node), data: bytesArg(node, 'data') });
    case 'keyAgreement':
      return sks.keyAgreement({ ...cryptoArgs(node), publicKey: bytesArg(node, 'publicKey') });
    case 'updateFirmware':
      return sks.updateFirmware(bytesArg(node, 'chunk'));
    default:
      throw new VectorFormatError(`${node.path}: the replay does not know the SKS method "${method}"`);
  }
}

// ---------------------------------------------------------------------------
// Comparing results

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function expectBytesValue(what: string, expected: Uint8Array, got: unknown): void {
  if (!isBytes(got)) throw new Mismatch(`${what}: expected bytes, got ${describeValue(got)}`);
  expectBytes(what, expected, got);
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (isBytes(value)) return `${value.length} bytes`;
  try {
    // JSON.stringify gives undefined for functions and symbols and throws on bigints and cycles.
    return `${JSON.stringify(value) as string | undefined}`;
  } catch {
    return typeof value === 'bigint' ? value.toString() : 'an unprintable value';
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
  const val = recorded.value;
  if (typeof val === 'string') {
    if (isBytes(ours)) expectBytes(what, recorded.hex(), ours);
    else expectEqual(what, val, ours);
    return;
  }
  if (typeof val === 'number' || typeof val === 'boolean') {
    expectEqual(what, val, ours);
    return;
  }
  if (Array.isArray(val)) {
    if (!Array.isArray(ours)) throw new Mismatch(`${what}: expected a list, got ${describeValue(ours)}`);
    const items = recorded.items();
    expectEqual(`${what} length`, items.length, ours.length);
    items.forEach((item, i) => compareResult(`${what}[${i}]`, item, ours[i]));
    return;
  }
  if (typeof ours !== 'object' || ours === null) throw new Mismatch(`${what}: expected a record, got ${describeValue(ours)}`);
  const options = ours as Record<string, unknown>;
  for (const [key, node] of recorded.entries()) {
    const match = /^(.*?)(_der_hex|_spki_hex|_hex)$/.exec(key);
    if (match?.[1] !== undefined && match[2] === '_der_hex') {
      const list = options[match[1]];
      const expected = node.hexes();
      if (!Array.isArray(list)) throw new Mismatch(`${match[1]}: expected a certificate list, got ${describeValue(list)}`);
      expectEqual(`${match[1]} length`, expected.length, list.length);
      expected.forEach((der, i) => expectBytesValue(`${match[1]}[${i}]`, der, list[i]));
    } else if (match?.[1] !== undefined) {
      if (node.isNull()) compareResult(match[1], node, options[match[1]]);
      else expectBytesValue(match[1], node.hex(), options[match[1]]);
    } else {
      compareResult(key, node, options[key]);
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
  const tryAdd = (fn: () => RecordedKey): void => {
    try {
      publicKeys.push(fn());
    } catch {
      // a malformed key is reported by the static checks
    }
  };
  for (const node of doc.get('sessions').items()) {
    for (const group of node.opt('sks_generated_keys')?.items() ?? []) tryAdd(() => recordedKey(group.get('key')));
    for (const [, path] of node.opt('issued_certificate_paths')?.entries() ?? []) {
      const ee = path.items().at(0);
      if (ee !== undefined) {
        tryAdd(() => {
          const spki = certificateSpki(ee.hex());
          return { type: 'certificate key', spki, publicKey: parseSpki(spki), privateKey: undefined };
        });
      }
    }
    for (const error of node.opt('encryptions')?.items() ?? []) {
      const bytes = error.get('plaintext_hex').hex();
      if (bytes.length === 16 || bytes.length === 24 || bytes.length === 32) aesKeys.push(bytes);
    }
  }
  for (const [, child] of doc.opt('server_generated_imported_keys')?.entries() ?? []) tryAdd(() => recordedKey(child));
  const deviceCertificate = doc.get('test_keys').get('device_attestation').get('certificate_der_hex').hex();
  return { deviceCertificate, publicKeys, aesKeys };
}

function aesCbcDecrypt(key: Buffer, ivAndCiphertext: Uint8Array): Buffer | undefined {
  if (ivAndCiphertext.length < 32 || ivAndCiphertext.length % 16 !== 0) return undefined;
  try {
    const decipher = createDecipheriv(`aes-${key.length * 8}-cbc`, key, ivAndCiphertext.subarray(0, 16));
    return Buffer.concat([decipher.update(ivAndCiphertext.subarray(16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** signData: RSA and Ed25519 must match byte for byte; ECDSA must verify with the key that made the recorded signature. */
function compareSignature(args: JsonNode, recorded: JsonNode | undefined, ours: unknown, replayKnowledge: ReplayKnowledge): void {
  if (recorded === undefined || recorded.isNull()) throw new VectorFormatError(`${args.path}: signData without a result`);
  const expected = recorded.hex();
  if (!isBytes(ours)) throw new Mismatch(`signature: expected bytes, got ${describeValue(ours)}`);
  if (Buffer.from(ours).equals(expected)) return;
  const hash = signatureHashOf(args.get('algorithm').str());
  const data = bytesArg(args, 'data');
  const signer = replayKnowledge.publicKeys.find((key) => verifySignature(key.publicKey, hash, data, expected));
  if (signer === undefined) throw new Mismatch(`signature differs (${describeBytes(expected, ours)}) and the recorded one verifies with no key of the file`);
  if (deterministicSigner(signer.publicKey)) throw new Mismatch(`deterministic signature: ${describeBytes(expected, ours)}`);
  if (!verifySignature(signer.publicKey, hash, data, ours)) {
    throw new Mismatch(`our signature does not verify with the key that made the recorded one (${signer.type})`);
  }
}

/** symmetricKeyEncrypt: internal-IV encryption is randomized; our output must decrypt to the input under the recorded key. */
function compareSymmetric(args: JsonNode, recorded: JsonNode | undefined, ours: unknown, replayKnowledge: ReplayKnowledge): void {
  const algorithm = lookupAlgorithm(args.get('algorithm').str());
  const randomized = args.get('mode').bool() && algorithm?.operation.op === 'aes-cbc-internal-iv';
  if (!randomized || recorded === undefined || recorded.isNull() || !isBytes(ours)) {
    compareResult('result', recorded, ours);
    return;
  }
  const expected = recorded.hex();
  if (Buffer.from(ours).equals(expected)) return;
  const data = bytesArg(args, 'data');
  const key = replayKnowledge.aesKeys.find((c) => aesCbcDecrypt(c, expected)?.equals(data) === true);
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
function compareSessionResult(args: JsonNode, recorded: JsonNode | undefined, ours: unknown, replayKnowledge: ReplayKnowledge): void {
  const privacyEnabled = args.get('privacyEnabled').bool();
  const device = replayKnowledge.deviceCertificate === undefined ? undefined : certificate(replayKnowledge.deviceCertificate);
  if (privacyEnabled || device === undefined || deterministicSigner(device.publicKey) || !recorded?.isObject()) {
    compareResult('result', recorded, ours);
    return;
  }
  const { attestation_hex: _randomized, ...rest } = recorded.value as Record<string, unknown>;
  compareResult('result', JsonNode.root(rest, recorded.path), ours);
  const res = ours as { clientSessionId: string; clientEphemeralKey: Uint8Array; attestation: unknown };
  if (!isBytes(res.attestation)) throw new Mismatch(`attestation: expected bytes, got ${describeValue(res.attestation)}`);
  const input = sessionAttestationInput({
    clientSessionId: res.clientSessionId,
    serverSessionId: args.get('serverSessionId').str(),
    issuerUri: args.get('issuerUri').str(),
    deviceId: deviceIdFor(false, replayKnowledge.deviceCertificate ?? Buffer.alloc(0)),
    sessionKeyAlgorithm: args.get('sessionKeyAlgorithm').str(),
    privacyEnabled,
    serverEphemeralKey: bytesArg(args, 'serverEphemeralKey'),
    clientEphemeralKey: res.clientEphemeralKey,
    keyManagementKey: optBytesArg(args, 'keyManagementKey') ?? Buffer.alloc(0),
    clientTime: args.get('clientTime').int(),
    sessionLifeTime: args.get('sessionLifeTime').int(),
    sessionKeyLimit: args.get('sessionKeyLimit').int(),
    serverCertificate: bytesArg(args, 'serverCertificate'),
  });
  if (!verifySignature(device.publicKey, 'sha256', input, res.attestation)) {
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

async function replayCall(sks: SecureKeyStore, entropy: ReplayEntropy, call: RecordedCall, replayKnowledge: ReplayKnowledge): Promise<void> {
  const args = call.node.get('args');
  const exception = call.node.optValue('exception')?.str();
  if (call.method === 'createProvisioningSession' && exception === undefined) {
    const recordedId = call.node.get('result').get('clientSessionId').str();
    entropy.expectRandomBytes(`the clientSessionId of ${call.where}`, clientSessionIdBytes(recordedId));
  }
  let ours: unknown;
  try {
    ours = await invoke(sks, call.method, args);
  } catch (error) {
    const problems = entropy.takeProblems();
    entropy.takeUnusedRandom();
    if (problems.length > 0) throw new Mismatch(`${problems.join('; ')} (the call ${describeError(error)})`);
    if (exception === undefined || error instanceof VectorFormatError) throw error;
    const expected = expectedSksMessage(exception);
    if (!isSksError(error)) throw new Mismatch(`expected SksError [${expected}], ${describeError(error)}`);
    if (error.message !== expected) throw new Mismatch(`expected SksError [${expected}], got SksError ${error.code} [${error.message}]`);
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
      compareSessionResult(args, recorded, ours, replayKnowledge);
      return;
    case 'signData':
      compareSignature(args, recorded, ours, replayKnowledge);
      return;
    case 'symmetricKeyEncrypt':
      compareSymmetric(args, recorded, ours, replayKnowledge);
      return;
    default:
      compareResult('result', recorded, ours);
  }
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
    sks = openRecordedSks(doc, entropy);
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
