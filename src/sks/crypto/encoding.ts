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

  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  u8(v: number): this {
    return this.push(Buffer.of(v & 0xff));
  }

  bool(b: boolean): this {
    return this.u8(b ? 1 : 0);
  }

  u16(v: number): this {
    return this.push(Buffer.of((v >> 8) & 0xff, v & 0xff));
  }

  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
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

  str(s: string, field = 'string'): this {
    return this.arr(Buffer.from(s, 'utf8'), field);
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
