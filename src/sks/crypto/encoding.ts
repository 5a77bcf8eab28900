/**
 * Serialization primitives of every MAC, attestation and KDF input (spec §1.1).
 * Big-endian, no padding, tags or terminators.
 */
import { optionError } from '../errors.js';

const MAX_U16_LENGTH = 0xffff;

/**
 * Accumulates the byte string that a MAC or attestation covers, written straight into one
 * growing buffer (a buffer per field cost more than the HMAC it feeds). Inputs may hold secrets
 * (the session key in a MAC key): a buffer left behind by growing is wiped.
 */
export class ByteEncoder {
  private bytes = Buffer.allocUnsafe(256);
  private size = 0;

  private room(count: number): void {
    const needed = this.size + count;
    if (needed <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.size);
    this.bytes.fill(0);
    this.bytes = grown;
  }

  u8(value: number): this {
    this.room(1);
    this.bytes[this.size++] = value & 0xff;
    return this;
  }

  bool(flag: boolean): this {
    return this.u8(flag ? 1 : 0);
  }

  u16(value: number): this {
    this.room(2);
    this.bytes[this.size++] = (value >> 8) & 0xff;
    this.bytes[this.size++] = value & 0xff;
    return this;
  }

  u32(value: number): this {
    this.room(4);
    this.bytes.writeUInt32BE(value >>> 0, this.size);
    this.size += 4;
    return this;
  }

  /**
   * `arr(B)`: 2-byte length then the bytes. The reference lets the prefix wrap
   * past 65535; we refuse instead (spec §1.1 recommendation), naming the field.
   */
  arr(bytes: Uint8Array, field = 'array'): this {
    if (bytes.length > MAX_U16_LENGTH) {
      throw optionError(`"${field}" length error: ${bytes.length}`, field);
    }
    this.u16(bytes.length);
    return this.raw(bytes);
  }

  /** `arr` of the UTF-8 bytes (a lone surrogate becomes U+FFFD, as `Buffer.from` makes it). */
  str(text: string, field = 'string'): this {
    const count = Buffer.byteLength(text, 'utf8');
    if (count > MAX_U16_LENGTH) {
      throw optionError(`"${field}" length error: ${count}`, field);
    }
    this.u16(count);
    this.room(count);
    this.size += this.bytes.write(text, this.size, 'utf8');
    return this;
  }

  blob(bytes: Uint8Array): this {
    this.u32(bytes.length);
    return this.raw(bytes);
  }

  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.bytes.set(bytes, this.size);
    this.size += bytes.length;
    return this;
  }

  get length(): number {
    return this.size;
  }

  /** The bytes written; the encoder's own buffer, so use the encoder no further. */
  toBuffer(): Buffer {
    return this.bytes.subarray(0, this.size);
  }
}

export const encoder = (): ByteEncoder => new ByteEncoder();
