/** Key algorithms a KeyCreationRequest may name (spec §4.11) and what `keyParameters` they take. */

const SKS = 'https://webpki.github.io/sks/algorithm#';

/** `keyAlgorithm` URIs the reference client accepts (§4.11). */
export const KEY_ALGORITHMS: readonly string[] = [
  'rsa2048',
  'rsa3072',
  'rsa4096',
  'rsa1024.exp',
  'rsa2048.exp',
  'rsa3072.exp',
  'rsa4096.exp',
  'ec.nist.p256',
  'ec.nist.p384',
  'ec.nist.p521',
  'ec.secg.p256k1',
  'ec.brainpool.p256r1',
  'ed25519',
  'ed448',
  'x25519',
  'x448',
].map((name) => SKS + name);

/** True for the RSA `.exp` forms, which take (and require) an explicit exponent in `keyParameters`. */
export const takesKeyParameters = (keyAlgorithm: string): boolean => keyAlgorithm.startsWith(`${SKS}rsa`) && keyAlgorithm.endsWith('.exp');

/** The endorsed-algorithm URI that must stand alone (§4.11). */
export const ENDORSED_NONE = `${SKS}none`;

/** The only `keyEntryAlgorithm` the SKS accepts (§4.11). */
export const KEY_ENTRY_ALGORITHM = `${SKS}key.1`;
/** The only `sessionKeyAlgorithm` the SKS accepts (§4.11). */
export const SESSION_KEY_ALGORITHM = `${SKS}session.1`;
