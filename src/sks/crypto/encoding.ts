/**
 * Serialization primitives of every MAC, attestation and KDF input (spec §1.1).
 * Big-endian, no padding, tags or terminators.
 */
import { optionError } from '../errors.js';

const MAX_U16_LENGTH = 0xffff;

/** Accumulates the byte string that a MAC or attestation covers. */
export class ByteEncoder {
  private readonly parts: Buffer[] = [];
  private size = 0;

  private push(bytes: Buffer): this {
    this.parts.push(bytes);
    this.size += bytes.length;
    return this;
  }

  u8(value: number): this {
    return this.push(Buffer.of(value & 0xff));
  }

  bool(flag: boolean): this {
    return this.u8(flag ? 1 : 0);
  }

  u16(value: number): this {
    return this.push(Buffer.of((value >> 8) & 0xff, value & 0xff));
  }

  u32(value: number): this {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(value >>> 0);
    return this.push(bytes);
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
    return this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }

  str(text: string, field = 'string'): this {
    return this.arr(Buffer.from(text, 'utf8'), field);
  }

  blob(bytes: Uint8Array): this {
    this.u32(bytes.length);
    return this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }

  raw(bytes: Uint8Array): this {
    return this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }

  get length(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

export const encoder = (): ByteEncoder => new ByteEncoder();
