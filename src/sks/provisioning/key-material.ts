/**
 * What a key under provisioning receives after creation: its certificate path
 * (spec §6.9) and optionally imported key material (spec §6.10, §6.11).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { certificateSpki } from '../crypto/der.js';
import { KeyBackup, Limits, MacMethod } from '../constants.js';
import { MacData } from '../crypto/mac-data.js';
import { checkExternalPublicKey, isRsa, keyKind, parsePkcs8, parseSpki, spkiOf } from '../crypto/keys.js';
import { SksError, optionError } from '../errors.js';
import { beginMac, decryptIssuerData, type OpenKey } from '../engine/context.js';
import * as value from '../engine/validate.js';

/** The end-entity certificate that several MACs start with (spec §5.5). */
export function endEntityCertificate(key: OpenKey): Buffer {
  const ee = key.certificatePath?.[0];
  if (!ee) throw optionError(`Missing "setCertificatePath" for: ${key.id}`, 'certificatePath');
  return ee;
}

/**
 * The public key of an end-entity certificate, or undefined when it is the key's own. The common
 * case certifies the generated key itself: then the SPKI bytes match and no key is parsed.
 */
function certificatePublicKey(key: OpenKey, der: Buffer): { publicKey: KeyObject; spki: Buffer } | undefined {
  const spki = certificateSpki(der);
  if (spki.equals(key.publicKeySpki)) return undefined;
  const publicKey = parseSpki(spki);
  return { publicKey, spki: spkiOf(publicKey) };
}

export function setCertificatePath(key: OpenKey, rawPath: readonly Uint8Array[], rawMac: Uint8Array): void {
  const writer = key.owner.phase;
  const path = value.bytesList('certificatePath', rawPath).map((c) => Buffer.from(c));
  const mac = value.bytes('mac', rawMac);
  // The reference fails after the MAC with ERROR_INTERNAL (spec §17 #4); we refuse up front.
  if (path.length === 0) throw optionError(`Empty "certificatePath" for: ${key.id}`, 'certificatePath');
  const pendingMac = beginMac(writer, MacMethod.SET_CERTIFICATE_PATH);
  for (const cert of path) {
    if (cert.length > Limits.MAX_LENGTH_CRYPTO_DATA) {
      throw optionError(`Certificate for: ${key.id} exceeds ${Limits.MAX_LENGTH_CRYPTO_DATA} bytes`, 'certificatePath');
    }
  }
  pendingMac.verify(MacData.setCertificatePath(key.publicKeySpki, key.id, path), mac);
  const replacement = certificatePublicKey(key, path[0]);
  // The key's own public key was generated here: only an RSA one can fail (its size), so an EC
  // or Ed25519 one is not made a KeyObject just to pass.
  if (replacement !== undefined || key.keyPair.publicIsRsa)
    checkExternalPublicKey(replacement?.publicKey ?? key.keyPair.publicKey, key.id, 'certificatePath', true);
  if (key.certificatePath) throw optionError(`Multiple calls to "setCertificatePath" for: ${key.id}`, 'certificatePath');
  if (replacement !== undefined) {
    key.keyPair.publicKey = replacement.publicKey;
    key.publicKeySpki = replacement.spki;
  }
  key.certificatePath = path;
}

export function importSymmetricKey(key: OpenKey, rawEncrypted: Uint8Array, rawMac: Uint8Array): void {
  const writer = key.owner.phase;
  const encryptedKey = value.bytes('encryptedKey', rawEncrypted);
  const mac = value.bytes('mac', rawMac);
  if (encryptedKey.length > Limits.MAX_LENGTH_SYMMETRIC_KEY + Limits.AES_CBC_PKCS5_PADDING) {
    throw optionError(`Symmetric key: ${key.id} exceeds ${Limits.MAX_LENGTH_SYMMETRIC_KEY} bytes`, 'encryptedKey');
  }
  if (key.keyBackup & KeyBackup.IMPORTED) throw optionError(`Mutiple key imports for: ${key.id}`, 'encryptedKey');
  key.keyBackup |= KeyBackup.IMPORTED;
  const ee = endEntityCertificate(key);
  beginMac(writer, MacMethod.IMPORT_SYMMETRIC_KEY).verify(MacData.importKey(ee, encryptedKey), mac);
  key.symmetricKey = decryptIssuerData(writer, encryptedKey);
}

/** The rsaEncryption OID in DER: how the reference tells RSA from EC in a PKCS#8 blob. */
const RSA_OID_DER = Buffer.from('06092a864886f70d010101', 'hex');

export function importPrivateKey(key: OpenKey, rawEncrypted: Uint8Array, rawMac: Uint8Array): void {
  const writer = key.owner.phase;
  const encryptedKey = value.bytes('encryptedKey', rawEncrypted);
  const mac = value.bytes('mac', rawMac);
  if (encryptedKey.length > Limits.MAX_LENGTH_CRYPTO_DATA + Limits.AES_CBC_PKCS5_PADDING) {
    throw optionError(`Private key: ${key.id} exceeds ${Limits.MAX_LENGTH_CRYPTO_DATA} bytes`, 'encryptedKey');
  }
  const ee = endEntityCertificate(key);
  beginMac(writer, MacMethod.IMPORT_PRIVATE_KEY).verify(MacData.importKey(ee, encryptedKey), mac);
  if (key.keyBackup & KeyBackup.IMPORTED) throw optionError(`Mutiple key imports for: ${key.id}`, 'encryptedKey');
  key.keyBackup |= KeyBackup.IMPORTED;
  const pkcs8 = decryptIssuerData(writer, encryptedKey);
  let privateKey;
  try {
    const looksRsa = [8, 9, 10].some((off) => pkcs8.subarray(off, off + RSA_OID_DER.length).equals(RSA_OID_DER));
    privateKey = parsePkcs8(pkcs8);
    // The reference only knows RSA and EC private keys here (spec §6.11 step 5).
    const keyType = privateKey.asymmetricKeyType;
    if (looksRsa !== (keyType === 'rsa') || (keyType !== 'rsa' && keyType !== 'ec')) {
      throw new SksError('CRYPTO', 'Crypto failure: unsupported private key type');
    }
  } finally {
    pkcs8.fill(0);
  }
  key.keyPair.privateKey = privateKey;
  if (key.keyPair.publicIsRsa !== isRsa(privateKey)) {
    throw optionError(`RSA/EC mixup between public and private keys for: ${key.id}`, 'encryptedKey');
  }
  if (isRsa(privateKey)) {
    const derived = createPublicKey(privateKey).export({ format: 'jwk' });
    const cert = key.keyPair.publicKey.export({ format: 'jwk' });
    // Same modulus and same exponent: then e·d ≡ 1 holds for a consistent key, which OpenSSL checked at parse.
    if (derived.n !== cert.n || derived.e !== cert.e) {
      throw optionError(`Imported RSA key does not match certificate for: ${key.id}`, 'encryptedKey');
    }
  } else if (keyKind(privateKey).type !== 'ec') {
    throw optionError(`Unsupported EC key algorithm for: ${key.id}`, 'encryptedKey');
  }
}
