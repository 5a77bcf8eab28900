/**
 * Certificate serial numbers: 16 random octets, a positive DER INTEGER of
 * exactly 16 content octets (RFC 5280 §4.1.2.2: positive, at most 20
 * octets; CA/Browser Forum BR §7.1: at least 64 random bits).
 */
import { randomBytes } from 'node:crypto';
import { IssuerError } from '../errors.js';

/** The random source the CA draws from; `crypto.randomBytes` in production, a seeded one in tests. */
export type RandomSource = (size: number) => Buffer;

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * `crypto.randomBytes` drawn from a 4 KiB pool: one call costs ~8 µs of
 * fixed overhead, a quarter of a P-256 signature, while serial numbers are
 * public values that gain nothing from a fresh call each.
 */
export const pooledRandomBytes: RandomSource = (size) => {
  if (size > POOL_SIZE) return randomBytes(size);
  if (poolOffset + size > pool.length) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + size));
  poolOffset += size;
  return out;
};

/**
 * A random serial's magnitude: the top bit is cleared so DER needs no 0x00
 * sign octet, and a zero first octet is drawn again (it would not be
 * minimal DER, and the serial would shrink to 15 octets). That leaves
 * 2^127 - 2^120 values: a collision among a billion certificates has a
 * probability below 10^-20; the database's unique index on the serial is
 * the backstop.
 */
export function randomSerial(random: RandomSource): Buffer {
  // 1/128 of draws are redrawn; 64 zero first octets in a row means a broken source.
  for (let attempt = 0; attempt < 64; attempt++) {
    const bytes = Buffer.from(random(16));
    if (bytes.length !== 16) break;
    bytes[0] = bytes[0] & 0x7f;
    if (bytes[0] !== 0) return bytes;
  }
  throw new IssuerError('INTERNAL', 'the random source is broken');
}
