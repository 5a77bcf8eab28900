/**
 * A small strict reader over parsed JSON (`unknown`): every access names the
 * path it failed at, so a malformed vector file fails one check with a precise
 * detail instead of crashing the run.
 */

/** A vector file does not have the shape its layout promises. */
export class VectorFormatError extends Error {
  override readonly name = 'VectorFormatError';
}

const HEX = /^(?:[0-9a-f]{2})*$/;

export class JsonNode {
  constructor(
    readonly value: unknown,
    readonly path: string,
  ) {}

  static root(value: unknown, name = '$'): JsonNode {
    return new JsonNode(value, name);
  }

  private fail(expected: string): never {
    const got = this.value === null ? 'null' : Array.isArray(this.value) ? 'array' : typeof this.value;
    throw new VectorFormatError(`${this.path}: expected ${expected}, got ${got}`);
  }

  isObject(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value);
  }

  isNull(): boolean {
    return this.value === null;
  }

  private record(): Record<string, unknown> {
    if (!this.isObject()) this.fail('object');
    return this.value as Record<string, unknown>;
  }

  has(key: string): boolean {
    return this.isObject() && Object.prototype.hasOwnProperty.call(this.value, key);
  }

  keys(): string[] {
    return Object.keys(this.record());
  }

  get(key: string): JsonNode {
    const result = this.record();
    if (!Object.prototype.hasOwnProperty.call(result, key)) throw new VectorFormatError(`${this.path}: missing "${key}"`);
    return new JsonNode(result[key], `${this.path}.${key}`);
  }

  /** The member, or undefined when it is missing. */
  opt(key: string): JsonNode | undefined {
    return this.has(key) ? this.get(key) : undefined;
  }

  /** The member, or undefined when it is missing or `null`. */
  optValue(key: string): JsonNode | undefined {
    const count = this.opt(key);
    return count === undefined || count.isNull() ? undefined : count;
  }

  items(): JsonNode[] {
    if (!Array.isArray(this.value)) this.fail('array');
    return (this.value as unknown[]).map((v, i) => new JsonNode(v, `${this.path}[${i}]`));
  }

  entries(): Array<[string, JsonNode]> {
    return this.keys().map((k) => [k, this.get(k)]);
  }

  str(): string {
    if (typeof this.value !== 'string') this.fail('string');
    return this.value;
  }

  num(): number {
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) this.fail('number');
    return this.value;
  }

  int(): number {
    const count = this.num();
    if (!Number.isInteger(count)) this.fail('integer');
    return count;
  }

  bool(): boolean {
    if (typeof this.value !== 'boolean') this.fail('boolean');
    return this.value;
  }

  /** Lowercase hex (the vectors' convention) as bytes. */
  hex(): Buffer {
    const text = this.str();
    if (!HEX.test(text)) throw new VectorFormatError(`${this.path}: not lowercase hex of whole bytes`);
    return Buffer.from(text, 'hex');
  }

  strs(): string[] {
    return this.items().map((n) => n.str());
  }

  hexes(): Buffer[] {
    return this.items().map((n) => n.hex());
  }
}
