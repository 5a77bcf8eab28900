/**
 * One-off codemod (issue 7 item 8): renames the one-letter names that eslint's naming rule
 * (no-restricted-syntax in eslint.config.js) reports, with the TypeScript language service so
 * every reference (and shorthand property) follows. The new name comes from the declared type
 * (`ObjectReader` → `reader`, `IssuerSession` → `issuerSession`, catch bindings → `error`), else
 * from a per-letter default; a name already used in the enclosing function is not reused.
 * Review the diff: a per-letter default (`e` → `error`, `p` → `params`) can be the wrong word.
 *
 *   npx eslint -f json -o /tmp/lint.json src/keygen2/server
 *   npx tsx scripts/codemods/one-letter-names.ts /tmp/lint.json src/keygen2/server
 *   npx tsc -p tsconfig.json --noEmit
 *
 * Arguments after the report: the paths (files or folders) it may edit; a rename that would
 * touch any other file is skipped.
 */
import ts from 'typescript';
import { readFileSync, writeFileSync } from 'node:fs';

const ROOT = `${process.cwd()}/`;
const lint = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Array<{
  filePath: string;
  messages: Array<{ ruleId: string; line: number; column: number }>;
}>;
const allowed = process.argv.slice(3).map((path) => path.replace(/\/$/, ''));
const owned = (file: string): boolean => {
  const rel = file.replace(ROOT, '');
  return allowed.some((path) => rel === path || rel.startsWith(`${path}/`));
};
const cfg = ts.getParsedCommandLineOfConfigFile(ROOT + 'tsconfig.json', {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
const files = new Map<string, string>();
for (const f of cfg.fileNames) files.set(f, readFileSync(f, 'utf8'));
const host: ts.LanguageServiceHost = {
  getCompilationSettings: () => cfg.options,
  getScriptFileNames: () => [...files.keys()],
  getScriptVersion: () => '1',
  getScriptSnapshot: (f) => {
    const t = files.get(f) ?? (ts.sys.fileExists(f) ? ts.sys.readFile(f) : undefined);
    return t === undefined ? undefined : ts.ScriptSnapshot.fromString(t);
  },
  getCurrentDirectory: () => ROOT,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const ls = ts.createLanguageService(host);
const program = ls.getProgram()!;
const checker = program.getTypeChecker();

const LETTER: Record<string, string> = {
  a: 'args',
  b: 'bytes',
  c: 'item',
  d: 'data',
  e: 'error',
  f: 'fn',
  g: 'group',
  h: 'handle',
  i: 'index',
  j: 'index2',
  k: 'key',
  l: 'list',
  m: 'message',
  n: 'count',
  o: 'options',
  p: 'params',
  q: 'query',
  r: 'result',
  s: 'state',
  t: 'item',
  u: 'url',
  v: 'value',
  w: 'writer',
  x: 'input',
  y: 'other',
  z: 'last',
  K: 'Key',
};
const camel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
const KNOWN: Record<string, string> = {
  KeyHandle: 'handle',
  SksError: 'error',
  KeyGen2Error: 'error',
  URL: 'url',
  Date: 'date',
  Buffer: 'bytes',
  Uint8Array: 'bytes',
  JsonNode: 'node',
  Json: 'json',
  ObjectReader: 'reader',
  Command: 'command',
  Error: 'error',
  RegExpExecArray: 'match',
  RegExpMatchArray: 'match',
};
function nameFor(letter: string, type: ts.Type, decl: ts.Node): string {
  if (ts.isCatchClause(decl.parent) || (ts.isVariableDeclaration(decl) && ts.isCatchClause(decl.parent))) return 'error';
  if (type.flags & ts.TypeFlags.StringLike) return letter === 'k' ? 'key' : letter === 'n' ? 'name' : letter === 'u' ? 'url' : letter === 'p' ? 'path' : 'text';
  if (type.flags & ts.TypeFlags.NumberLike)
    return (
      (
        { n: 'count', i: 'index', j: 'index2', k: 'index3', h: 'handle', t: 'time', s: 'size', x: 'value', v: 'value', b: 'byte', c: 'code' } as Record<
          string,
          string
        >
      )[letter] ?? 'value'
    );
  if (type.flags & ts.TypeFlags.BooleanLike) return 'flag';
  if (type.flags & ts.TypeFlags.BigIntLike) return 'big';
  if (type.isUnion() && type.types.some((member) => (member.aliasSymbol ?? member.getSymbol())?.getName() === 'RegExpExecArray')) return 'match';
  const sym = type.aliasSymbol ?? type.getSymbol();
  let tname = sym?.getName();
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    const el = checker.getTypeArguments(type as ts.TypeReference)[0];
    const en = el === undefined ? undefined : (el.aliasSymbol ?? el.getSymbol())?.getName();
    if (en !== undefined && /^[A-Z][A-Za-z0-9]+$/.test(en) && en.length > 1) return (KNOWN[en] ?? camel(en)) + 's';
    if (el !== undefined && el.flags & ts.TypeFlags.StringLike) return 'texts';
    return LETTER[letter] ?? 'items';
  }
  if (tname === 'Promise') return 'promise';
  if (type.getCallSignatures().length > 0 && (tname === '__type' || tname === '__function' || tname === undefined))
    return letter === 'f' ? 'fn' : (LETTER[letter] ?? 'fn');
  if (tname !== undefined && KNOWN[tname] !== undefined) return KNOWN[tname];
  if (tname !== undefined && /^[A-Z][A-Za-z0-9]+$/.test(tname) && tname.length > 1 && !(type.flags & ts.TypeFlags.TypeParameter)) {
    const words = tname.split(/(?=[A-Z][a-z])/);
    return camel(words.length > 3 ? words.slice(-2).join('') : tname);
  }
  return LETTER[letter] ?? `${letter}Value`;
}
function scopeOf(id: ts.Node): ts.Node {
  let n: ts.Node = id.parent;
  while (n.parent !== undefined && !ts.isFunctionLike(n) && !ts.isCatchClause(n) && !ts.isSourceFile(n) && !ts.isClassLike(n)) n = n.parent;
  // variables: the enclosing function or file (conservative)
  return n;
}
const RESERVED = new Set([
  'case',
  'switch',
  'for',
  'if',
  'else',
  'do',
  'while',
  'break',
  'continue',
  'return',
  'throw',
  'try',
  'catch',
  'finally',
  'var',
  'const',
  'in',
  'of',
  'typeof',
  'instanceof',
  'void',
  'with',
  'super',
  'null',
  'true',
  'false',
  'package',
  'interface',
  'private',
  'public',
  'protected',
  'static',
  'yield',
  'let',
  'await',
  'function',
  'delete',
  'new',
  'this',
  'import',
  'export',
  'default',
  'class',
  'enum',
  'arguments',
  'eval',
  'crypto',
  'fs',
  'path',
  'url',
  'buffer',
  'process',
  'util',
  'stream',
  'os',
  'net',
  'tls',
  'http',
  'https',
  'assert',
]);
interface Plan {
  file: string;
  start: number;
  end: number;
  scopeFile: string;
  oldName: string;
  newName: string;
  locs: readonly ts.RenameLocation[];
}
const plans: Plan[] = [];
const used = (text: string, name: string): boolean => new RegExp(`(?<![\\w$])${name}(?![\\w$])`).test(text);
let skipped = 0;
for (const f of lint) {
  if (!owned(f.filePath)) continue;
  const sf = program.getSourceFile(f.filePath);
  if (sf === undefined) {
    console.error('no sf', f.filePath);
    continue;
  }
  const text = sf.text;
  for (const m of f.messages) {
    if (m.ruleId !== 'no-restricted-syntax') continue;
    const pos = sf.getPositionOfLineAndCharacter(m.line - 1, m.column - 1);
    const tok = (ts as unknown as { getTokenAtPosition(sf: ts.SourceFile, p: number): ts.Node }).getTokenAtPosition(sf, pos);
    if (!ts.isIdentifier(tok) || tok.text.length !== 1) {
      console.error('not id', f.filePath, m.line, tok.getText());
      skipped++;
      continue;
    }
    const letter = tok.text;
    const locs = ls.findRenameLocations(f.filePath, pos, false, false, { providePrefixAndSuffixTextForRename: true });
    if (locs === undefined || locs.some((l) => !owned(l.fileName))) {
      console.error('skip', f.filePath, m.line, letter);
      skipped++;
      continue;
    }
    let decl: ts.Node = tok.parent;
    let newName: string;
    if (ts.isNamespaceImport(decl) || ts.isImportSpecifier(decl) || ts.isImportClause(decl)) {
      let imp: ts.Node = decl;
      while (!ts.isImportDeclaration(imp)) imp = imp.parent;
      const spec = ((imp as ts.ImportDeclaration).moduleSpecifier as ts.StringLiteral).text;
      const base = spec
        .split('/')
        .pop()!
        .replace(/\.(js|ts)$/, '');
      newName = base.replace(/[-.]([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
      if (newName === 'index')
        newName = spec
          .split('/')
          .slice(-2)[0]!
          .replace(/[-.]([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
    } else {
      const type = checker.getTypeAtLocation(tok);
      newName = nameFor(letter, type, decl);
    }
    const scope = scopeOf(tok);
    const scopeText = text.slice(scope.getFullStart(), scope.getEnd());
    const candidates = [
      newName,
      LETTER[letter] ?? `${letter}Value`,
      `${newName}Value`,
      `the${newName.charAt(0).toUpperCase()}${newName.slice(1)}`,
      `${newName}2`,
      `${newName}3`,
    ];
    const overlaps = (name: string): boolean =>
      plans.some((p) => p.scopeFile === f.filePath && p.newName === name && p.start < scope.getEnd() && scope.getFullStart() < p.end);
    const chosen = candidates.find((c) => !RESERVED.has(c) && !used(scopeText, c) && !overlaps(c));
    if (chosen === undefined) {
      console.error('noname', f.filePath, m.line, letter);
      skipped++;
      continue;
    }
    if (plans.some((p) => p.file === f.filePath && p.locs[0]!.textSpan.start === locs[0]!.textSpan.start)) continue;
    plans.push({ file: f.filePath, start: scope.getFullStart(), end: scope.getEnd(), scopeFile: f.filePath, oldName: letter, newName: chosen, locs });
  }
}
// apply edits
const edits = new Map<string, Array<{ start: number; length: number; text: string }>>();
for (const p of plans)
  for (const l of p.locs) {
    const list = edits.get(l.fileName) ?? [];
    list.push({ start: l.textSpan.start, length: l.textSpan.length, text: `${l.prefixText ?? ''}${p.newName}${l.suffixText ?? ''}` });
    edits.set(l.fileName, list);
  }
for (const [file, list] of edits) {
  let text = files.get(file)!;
  list.sort((a, b) => b.start - a.start);
  let last = Infinity;
  for (const e of list) {
    if (e.start + e.length > last) {
      console.error('overlap', file, e);
      continue;
    }
    text = text.slice(0, e.start) + e.text + text.slice(e.start + e.length);
    last = e.start;
  }
  writeFileSync(file, text);
}
console.log('renamed', plans.length, 'skipped', skipped, 'files', edits.size);
const hist = new Map<string, number>();
for (const p of plans) hist.set(`${p.oldName}->${p.newName}`, (hist.get(`${p.oldName}->${p.newName}`) ?? 0) + 1);
console.log(
  [...hist]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', '),
);
