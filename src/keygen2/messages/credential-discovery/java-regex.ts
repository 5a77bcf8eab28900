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
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\' && pattern[i + 1] === 'Q') {
      const end = pattern.indexOf('\\E', i + 2);
      const literal = end < 0 ? pattern.slice(i + 2) : pattern.slice(i + 2, end);
      out += escapeLiteral(literal);
      i = end < 0 ? pattern.length : end + 2;
    } else if (c === '\\') {
      out += pattern.slice(i, i + 2);
      i += 2;
    } else {
      out += c;
      i += 1;
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
