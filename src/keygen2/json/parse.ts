/**
 * A strict JSON parser (RFC 8259 plus the restrictions of spec §4.2).
 *
 * `JSON.parse` silently keeps the last of duplicate members and accepts lone surrogates, so the
 * KeyGen2 decoders cannot use it. This parser rejects, with a SYNTAX KeyGen2Error naming the
 * path: invalid JSON, duplicate member names, unescaped control characters, lone surrogates
 * (escaped or raw), `-0`, and nesting deeper than {@link MAX_DEPTH} (so hostile input cannot
 * exhaust the stack). Numbers are kept as text (see value.ts).
 */
import { KeyGen2Error } from '../errors.js';
import { indexPath, memberPath, ROOT_PATH } from './path.js';
import type { JsonArray, JsonObject, JsonValue } from './value.js';

/** Deepest nesting accepted; KeyGen2 messages nest fewer than 10 levels. */
export const MAX_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** A UTF-16 surrogate code unit; strings without one (nearly all) skip the pairing walk. */
const SURROGATE = /[\ud800-\udfff]/;

/** True when `s` has no unpaired UTF-16 surrogate. */
export function isWellFormed(text: string): boolean {
  if (!SURROGATE.test(text)) return true;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const value = text.charCodeAt(i + 1);
      if (!(value >= 0xdc00 && value <= 0xdfff)) return false;
      i++;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return false;
    }
  }
  return true;
}

class Parser {
  private pos = 0;
  /**
   * Member names and indexes from the root to the value being parsed. The path string is built
   * from it only for an error: building one per member cost more than parsing the member.
   */
  private readonly where: Array<string | number> = [];

  constructor(private readonly text: string) {}

  private syntax(message: string, offset: number): KeyGen2Error {
    let path = ROOT_PATH;
    for (const step of this.where) path = typeof step === 'number' ? indexPath(path, step) : memberPath(path, step);
    return new KeyGen2Error('SYNTAX', `${path}: ${message} (at offset ${offset})`, { path });
  }

  parseDocument(): JsonValue {
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) throw this.syntax('unexpected data after the JSON value', this.pos);
    return value;
  }

  private skipWhitespace(): void {
    const item = this.text;
    while (this.pos < item.length) {
      const code = item.charCodeAt(this.pos);
      if (code !== 0x20 && code !== 0x0a && code !== 0x0d && code !== 0x09) break;
      this.pos++;
    }
  }

  private parseValue(depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw this.syntax('nesting too deep', this.pos);
    this.skipWhitespace();
    switch (this.text.charCodeAt(this.pos)) {
      case 0x7b: // {
        return this.parseObject(depth);
      case 0x5b: // [
        return this.parseArray(depth);
      case 0x22: // "
        return { kind: 'string', value: this.parseString() };
      case 0x74: // t
        return this.literal('true', { kind: 'boolean', value: true });
      case 0x66: // f
        return this.literal('false', { kind: 'boolean', value: false });
      case 0x6e: // n
        return this.literal('null', { kind: 'null' });
      default:
        if (this.pos >= this.text.length) throw this.syntax('unexpected end of input', this.pos);
        return this.parseNumber();
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw this.syntax('invalid literal', this.pos);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): JsonValue {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) throw this.syntax('unexpected character', this.pos);
    const text = match[0];
    // -0 is forbidden in any spelling (-0, -0.0, -0e5): the reference rejects it (§4.2).
    if (text.startsWith('-') && Number(text) === 0) throw this.syntax('-0 is not permitted', this.pos);
    this.pos += text.length;
    return { kind: 'number', text };
  }

  private parseString(): string {
    const item = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let chunk = this.pos;
    for (;;) {
      if (this.pos >= item.length) throw this.syntax('unterminated string', start);
      const code = item.charCodeAt(this.pos);
      if (code === 0x22) {
        out += item.slice(chunk, this.pos);
        this.pos++;
        break;
      }
      if (code < 0x20) throw this.syntax('unescaped control character in string', this.pos);
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      out += item.slice(chunk, this.pos);
      const nextChar = item[this.pos + 1];
      this.pos += 2;
      switch (nextChar) {
        case '"':
        case '\\':
        case '/':
          out += nextChar;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = item.slice(this.pos, this.pos + 4);
          if (!/^[0-9A-Fa-f]{4}$/.test(hex)) throw this.syntax('bad \\u escape', this.pos);
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          throw this.syntax('bad escape', this.pos - 1);
      }
      chunk = this.pos;
    }
    // Checked on the decoded text so escaped (\ud800) and raw lone surrogates are both caught,
    // while an escaped pair (\ud83d\ude00) stays valid (§4.2).
    if (!isWellFormed(out)) throw this.syntax('lone surrogate in string', start);
    return out;
  }

  private parseObject(depth: number): JsonObject {
    this.pos++; // {
    const members = new Map<string, JsonValue>();
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return { kind: 'object', members };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) throw this.syntax('expected a member name', this.pos);
      const namePos = this.pos;
      const name = this.parseString();
      this.where.push(name);
      if (members.has(name)) throw this.syntax('duplicate member name', namePos);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) throw this.syntax("expected ':'", this.pos);
      this.pos++;
      members.set(name, this.parseValue(depth + 1));
      this.where.pop();
      this.skipWhitespace();
      const item = this.text.charCodeAt(this.pos);
      this.pos++;
      if (item === 0x7d) return { kind: 'object', members };
      if (item !== 0x2c) throw this.syntax("expected ',' or '}'", this.pos - 1);
    }
  }

  private parseArray(depth: number): JsonArray {
    this.pos++; // [
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      this.where.push(items.length);
      items.push(this.parseValue(depth + 1));
      this.where.pop();
      this.skipWhitespace();
      const item = this.text.charCodeAt(this.pos);
      this.pos++;
      if (item === 0x5d) return { kind: 'array', items };
      if (item !== 0x2c) throw this.syntax("expected ',' or ']'", this.pos - 1);
    }
  }
}

/**
 * Parses one JSON text strictly (§4.2). Throws KeyGen2Error SYNTAX with the path of the
 * offending place.
 *
 * @example parseJson('{"a":1,"a":2}') // throws SYNTAX at $.a (duplicate member)
 */
export function parseJson(text: string): JsonValue {
  if (typeof text !== 'string') throw new KeyGen2Error('SYNTAX', '$: input is not a string', { path: ROOT_PATH });
  return new Parser(text).parseDocument();
}

/**
 * Decodes UTF-8 bytes for {@link parseJson}; invalid UTF-8 (which would otherwise turn into
 * U+FFFD silently) and a byte-order mark are SYNTAX errors.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new KeyGen2Error('SYNTAX', '$: byte-order mark not allowed', { path: ROOT_PATH });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new KeyGen2Error('SYNTAX', '$: invalid UTF-8', { path: ROOT_PATH, cause });
  }
}
