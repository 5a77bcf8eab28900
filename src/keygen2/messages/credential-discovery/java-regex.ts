/**
 * Search-filter regular expressions are Java `java.util.regex` patterns with full-match
 * semantics (§6.5, quirk 13). JavaScript has no `\Q…\E` quoting, so quoted sections become
 * escaped literals and the whole pattern is anchored. Java-only syntax beyond that (possessive
 * quantifiers, inline flag groups) is not translated and fails to compile here.
 */

// Only syntax characters: `\-` would be an invalid escape in a `u`-mode pattern.
const escapeLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, (c) => `\\${c}`);

/** Replaces every `\Q…\E` section (an unterminated `\Q` runs to the end, as in Java) by escaped literals. */
export function unquoteJavaRegex(pattern: string): string {
  let out = '';
  let index = 0;
  while (index < pattern.length) {
    const text = pattern[index];
    if (text === '\\' && pattern[index + 1] === 'Q') {
      const end = pattern.indexOf('\\E', index + 2);
      const literal = end < 0 ? pattern.slice(index + 2) : pattern.slice(index + 2, end);
      out += escapeLiteral(literal);
      index = end < 0 ? pattern.length : end + 2;
    } else if (text === '\\') {
      out += pattern.slice(index, index + 2);
      index += 2;
    } else {
      out += text;
      index += 1;
    }
  }
  return out;
}

/**
 * A JavaScript RegExp that fully matches what the Java pattern fully matches (for the common
 * subset); throws SyntaxError if it cannot be compiled.
 *
 * @example javaRegexToRegExp('\\QCN=Root CA\\E').test('CN=Root CA') === true
 */
export function javaRegexToRegExp(pattern: string): RegExp {
  const source = `^(?:${unquoteJavaRegex(pattern)})$`;
  try {
    return new RegExp(source, 'u');
  } catch {
    // The lenient (Annex B) syntax accepts more of what Java accepts, e.g. a literal `{`.
    return new RegExp(source);
  }
}
