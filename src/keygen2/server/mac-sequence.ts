/**
 * The MAC sequence (spec §5.4): every method MAC the issuer sends and every attestation the SKS
 * returns consumes the next value of one 16-bit counter, in processing order. The issuer computes
 * MACs while it builds a message and reserves a key's attestation value right after the key's
 * own MAC, so the counter order is the order of the calls below.
 */
import { MacMethod, type MacMethodName } from '../../sks/constants.js';
import { macEquals, macKey } from '../../sks/session-crypto.js';
import { KeyGen2Error, verificationError } from '../errors.js';
import type { IssuerCryptoPort, SealedRef } from './crypto-port.js';

const NO_KEY = new Uint8Array(0);

/**
 * `methodName ‖ u16(counter)`: what follows `SK` in a MAC key (spec §5.4). The session key
 * stays behind the port, so this is session-crypto's `macKey` layout without the key.
 */
export const macModifier = (method: MacMethodName, counter: number): Buffer => macKey(NO_KEY, method, counter);

export class MacSequence {
  #counter: number;

  constructor(
    private readonly port: IssuerCryptoPort,
    private readonly sessionKey: SealedRef,
    counter: number,
  ) {
    this.#counter = counter;
  }

  /** The next counter value, as the state must record it. */
  get counter(): number {
    return this.#counter;
  }

  #next(): number {
    const code = this.#counter;
    if (code > 0xffff) throw new KeyGen2Error('INTERNAL', 'MAC sequence counter exhausted');
    this.#counter = code + 1;
    return code;
  }

  /** The MAC of one SKS call: `HMAC(SK ‖ method ‖ u16(counter), data)`. */
  async mac(method: Exclude<MacMethodName, typeof MacMethod.DEVICE_ATTESTATION>, data: Uint8Array): Promise<Uint8Array> {
    return this.port.hmac(this.sessionKey, macModifier(method, this.#next()), data);
  }

  /** Reserves the counter value of an attestation the SKS will return. */
  reserveAttestation(): number {
    return this.#next();
  }
}

/**
 * Verifies an attestation `HMAC(SK ‖ "DeviceAttestation" ‖ u16(counter), data)` in constant time;
 * a mismatch is VERIFICATION at `path`.
 */
export async function verifyAttestation(
  port: IssuerCryptoPort,
  sessionKey: SealedRef,
  counter: number,
  data: Uint8Array,
  received: Uint8Array,
  path: string,
): Promise<void> {
  const expected = await port.hmac(sessionKey, macModifier(MacMethod.DEVICE_ATTESTATION, counter), data);
  if (!macEquals(expected, received)) throw verificationError(path);
}
