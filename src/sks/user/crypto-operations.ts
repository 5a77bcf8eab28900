/**
 * The five user-API crypto methods (spec §10.1-§10.5) with the key/algorithm
 * compatibility check of spec §9.4.
 */
import { constants, createCipheriv, createDecipheriv, createHmac, diffieHellman, privateDecrypt } from 'node:crypto';
import { Cap, hasCap, lookupAlgorithm, symmetricKeyLengthPermitted, type AlgorithmDescriptor } from '../algorithms.js';
import type { CryptoCallArgs } from '../api.js';
import { Limits } from '../constants.js';
import { parseNamedCurveSpki, signBytes } from '../crypto/keys.js';
import { unpadPkcs1Type2 } from '../crypto/pkcs1.js';
import { SksError, cryptoFailure, cryptoOp, optionError } from '../errors.js';
import { stdKey, type EngineContext } from '../engine/context.js';
import type { KeyEntry } from '../engine/state.js';
import * as value from '../engine/validate.js';
import { authorize } from '../pin/verification.js';

interface Call {
  readonly key: KeyEntry;
  readonly algorithm: string;
  readonly parameters: Uint8Array | undefined;
}

/** stdKey, then authorization (which counts PIN errors) — in that order (spec §10.1). */
function begin(ctx: EngineContext, cryptoCallArgs: CryptoCallArgs): Call {
  const record = value.object('args', cryptoCallArgs);
  const key = stdKey(ctx, value.keyHandle('keyHandle', record['keyHandle']));
  const algorithm = value.text('algorithm', record['algorithm']);
  const parameters = value.optionalBytes('parameters', record['parameters']);
  const biometricAuth = record['biometricAuth'] === undefined ? false : value.flag('biometricAuth', record['biometricAuth']);
  const authorization = value.optionalBytes('authorization', record['authorization']);
  authorize(ctx, key, biometricAuth, authorization);
  return { key, algorithm, parameters };
}

function checkDataSize(key: KeyEntry, data: Uint8Array): void {
  if (data.length > Limits.MAX_LENGTH_CRYPTO_DATA) throw optionError(`Exceeded "cryptoDataSize" for key #${key.handle}`, 'data');
}

/** `checkKeyAndAlgorithm` of spec §9.4. */
function checkKeyAndAlgorithm(key: KeyEntry, uri: string, operation: number): AlgorithmDescriptor {
  const alg = lookupAlgorithm(uri);
  if (!alg) throw new SksError('ALGORITHM', `Unsupported algorithm: ${uri}`, { field: 'algorithm' });
  if (!hasCap(alg, operation)) throw new SksError('ALGORITHM', `Algorithm does not match operation: ${uri}`, { field: 'algorithm' });
  const symmetric = key.symmetricKey !== null;
  if (hasCap(alg, Cap.SYM_KEY) !== symmetric) {
    throw new SksError('ALGORITHM', `${symmetric ? 'Symmetric' : 'Asymmetric'} key #${key.handle} is incompatible with: ${uri}`, { field: 'algorithm' });
  }
  if (symmetric) {
    if (hasCap(alg, Cap.SYM_ENC) && !symmetricKeyLengthPermitted(alg, key.symmetricKey!.length)) {
      throw optionError(`Key #${key.handle} has wrong size (${key.symmetricKey!.length}) for algorithm: ${uri}`, 'algorithm');
    }
  } else if (hasCap(alg, Cap.RSA_KEY) !== key.keyPair.publicIsRsa) {
    throw new SksError('ALGORITHM', `${key.keyPair.publicIsRsa ? 'RSA' : 'EC'} key #${key.handle} is incompatible with: ${uri}`, { field: 'algorithm' });
  }
  if (key.endorsedAlgorithms.length > 0 && !key.endorsedAlgorithms.includes(uri)) {
    throw new SksError('ALGORITHM', `"endorsedAlgorithms" for key #${key.handle} does not include: ${uri}`, { field: 'algorithm' });
  }
  return alg;
}

const noParameters = (call: Call): void => {
  if (call.parameters !== undefined) throw optionError(`"parameters" for key #${call.key.handle} do not match algorithm`, 'parameters');
};

export function signData(ctx: EngineContext, args: CryptoCallArgs & { readonly data: Uint8Array }): Buffer {
  const call = begin(ctx, args);
  const data = value.bytes('data', args.data);
  checkDataSize(call.key, data);
  const alg = checkKeyAndAlgorithm(call.key, call.algorithm, Cap.ASYM_SGN);
  noParameters(call);
  const op = alg.operation;
  // An ECDSA URI on an Ed25519 key passes §9.4 and fails here, in the crypto layer (ERROR_CRYPTO).
  const hash = op.op === 'rsa-sign' || op.op === 'rsa-pss-sign' || op.op === 'ecdsa-sign' ? op.hash : null;
  return signBytes(call.key.keyPair.privateKey!, hash, data, op.op === 'rsa-pss-sign');
}

export function performHmac(ctx: EngineContext, args: CryptoCallArgs & { readonly data: Uint8Array }): Buffer {
  const call = begin(ctx, args);
  const data = value.bytes('data', args.data);
  checkDataSize(call.key, data);
  const alg = checkKeyAndAlgorithm(call.key, call.algorithm, Cap.HMAC);
  if (call.parameters !== undefined) throw optionError(`"parameters" does not apply to: ${call.algorithm}`, 'parameters');
  if (alg.operation.op !== 'hmac') throw new SksError('INTERNAL', 'Algorithm table inconsistency');
  return createHmac(alg.operation.hash, call.key.symmetricKey!).update(data).digest();
}

const aesCbcName = (keyLength: number): string => `aes-${keyLength * 8}-cbc`;

export function symmetricKeyEncrypt(ctx: EngineContext, args: CryptoCallArgs & { readonly mode: boolean; readonly data: Uint8Array }): Buffer {
  const call = begin(ctx, args);
  const encrypt = value.flag('mode', args.mode);
  const data = value.bytes('data', args.data);
  checkDataSize(call.key, data);
  const alg = checkKeyAndAlgorithm(call.key, call.algorithm, Cap.SYM_ENC);
  const uri = call.algorithm;
  if (!hasCap(alg, Cap.IV_REQ) || hasCap(alg, Cap.IV_INT)) {
    if (call.parameters !== undefined) throw optionError(`"parameters" does not apply to: ${uri}`, 'parameters');
  } else if (call.parameters?.length !== 16) {
    throw optionError(`"parameters" must be 16 bytes for: ${uri}`, 'parameters');
  }
  if ((!encrypt || hasCap(alg, Cap.AES_PAD)) && data.length % 16 !== 0) {
    throw optionError(`Data must be a multiple of 16 bytes for: ${uri} ${encrypt ? 'encryption' : 'decryption'}`, 'data');
  }
  const key = call.key.symmetricKey!;
  return cryptoOp('symmetric encryption', () => {
    switch (alg.operation.op) {
      case 'aes-cbc-internal-iv': {
        if (encrypt) {
          const iv = ctx.entropy.randomBytes(16);
          const cipher = createCipheriv(aesCbcName(key.length), key, iv);
          return Buffer.concat([iv, cipher.update(data), cipher.final()]);
        }
        // Empty data has no IV: the reference fails internally (spec §17 #5); ours is a crypto error.
        if (data.length < 16) throw cryptoFailure('symmetric encryption');
        const decipher = createDecipheriv(aesCbcName(key.length), key, data.subarray(0, 16));
        return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
      }
      case 'aes-cbc-external-iv': {
        const fn = encrypt ? createCipheriv : createDecipheriv;
        const cipher = fn(aesCbcName(key.length), key, call.parameters!);
        return Buffer.concat([cipher.update(data), cipher.final()]);
      }
      case 'aes-ecb-nopad': {
        const action = encrypt ? createCipheriv : createDecipheriv;
        const cipher = action(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
        return Buffer.concat([cipher.update(data), cipher.final()]);
      }
      default:
        throw new SksError('INTERNAL', 'Algorithm table inconsistency');
    }
  });
}

export function asymmetricKeyDecrypt(ctx: EngineContext, args: CryptoCallArgs & { readonly data: Uint8Array }): Buffer {
  const call = begin(ctx, args);
  const data = value.bytes('data', args.data);
  const alg = checkKeyAndAlgorithm(call.key, call.algorithm, Cap.ASYM_ENC);
  noParameters(call);
  const op = alg.operation;
  if (op.op !== 'rsa-decrypt') throw new SksError('INTERNAL', 'Algorithm table inconsistency');
  const privateKey = call.key.keyPair.privateKey!;
  return cryptoOp('asymmetric decryption', () => {
    if (op.padding === 'oaep') {
      return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: op.oaepHash ?? 'sha1' }, data);
    }
    // The encoded message holds the plaintext: the caller gets a copy, and em is wiped either way.
    const em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, data);
    try {
      const plain = unpadPkcs1Type2(em);
      if (!plain) throw cryptoFailure('asymmetric decryption');
      return Buffer.from(plain);
    } finally {
      em.fill(0);
    }
  });
}

export function keyAgreement(ctx: EngineContext, args: CryptoCallArgs & { readonly publicKey: Uint8Array }): Buffer {
  const call = begin(ctx, args);
  const peerBytes = value.bytes('publicKey', args.publicKey);
  checkKeyAndAlgorithm(call.key, call.algorithm, Cap.ASYM_KA);
  noParameters(call);
  // Named curves only: explicit parameters can smuggle in a wrong cofactor (Wycheproof ECDH "UnnamedCurve").
  const peer = parseNamedCurveSpki(peerBytes, 'publicKey').key;
  return cryptoOp('key agreement', () => diffieHellman({ privateKey: call.key.keyPair.privateKey!, publicKey: peer }));
}
