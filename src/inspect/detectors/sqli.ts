/** SQL injection detector: does the input, placed in a string or numeric SQL context, break out and form SQL syntax? */
import { isSpace, isWordPart, isWordStart, SqlTokenizer, type SqlToken } from './sqli-tokenizer.ts';

export interface Detection {
  /** The part of the input that forms the injection (capped). */
  matched: string;
  /** Which context and which token pattern decided, with the token fingerprint. */
  reason: string;
}

/** Only the first characters of a value are examined (bounded, linear work). */
export const SQLI_MAX_INPUT = 4096;
/** Tokens examined per context after the break-out point. */
const MAX_TOKENS = 40;
const FIRST_LOOK = 14;
const LATER_SQL = /;|union|waitfor/i;
const MAX_MATCHED = 160;

/** Functions that are the payload of time-based, error-based or file/OS-reaching injections. */
const ATTACK_FUNCTIONS = new Set([
  'sleep', 'pg_sleep', 'benchmark', 'extractvalue', 'updatexml', 'load_file', 'xp_cmdshell', 'name_const', 'randomblob',
  'receive_message', 'get_host_name', 'get_host_address', 'dbms_lock.sleep', 'sys_eval', 'sys_exec', 'lo_import',
  'lo_export', 'pg_read_file', 'pg_ls_dir', 'geometrycollection', 'multipoint', 'multilinestring', 'multipolygon',
  'xmltype', 'dblink', 'openrowset', 'opendatasource', 'load_extension', 'query_to_xml', 'dbms_xmlgen.getxml',
  'utl_http.request', 'utl_inaddr.get_host_name', 'dbms_pipe.receive_message', 'gtid_subset', 'json_keys',
  'st_latfromgeohash', 'st_longfromgeohash', 'st_pointfromgeohash', 'pg_sleep_for', 'ctxsys.drithsx.sn', 'sleep_until',
]);

/** Built-in SQL functions (any dialect) recognised even with whitespace before `(`. */
const SQL_FUNCTIONS = new Set([
  ...ATTACK_FUNCTIONS, 'char', 'chr', 'nchar', 'concat', 'concat_ws', 'group_concat', 'string_agg', 'listagg', 'substring',
  'substr', 'mid', 'left', 'right', 'ascii', 'ord', 'hex', 'unhex', 'length', 'len', 'char_length', 'version', 'database',
  'user', 'current_user', 'system_user', 'session_user', 'schema', 'count', 'if', 'ifnull', 'isnull', 'nullif',
  'coalesce', 'iif', 'floor', 'rand', 'row', 'json_extract', 'json_value', 'json_query', 'json_object', 'json_array',
  'json_contains', 'json_valid', 'json_unquote', 'jsonb_extract_path', 'jsonb_extract_path_text', 'json_build_object',
  'to_json', 'xmlquery', 'instr', 'locate', 'position', 'replace', 'reverse', 'lower', 'upper', 'trim', 'rtrim',
  'ltrim', 'md5', 'sha1', 'sha2', 'crc32', 'bin', 'oct', 'conv', 'uuid', 'now', 'sysdate', 'db_name', 'host_name',
  'object_id', 'has_dbaccess', 'is_srvrolemember', 'openquery', 'quotename', 'generate_series', 'current_database',
  'current_schema', 'inet_server_addr', 'array_agg', 'regexp_substr', 'regexp_like', 'regexp_replace', 'strcmp',
  'find_in_set', 'elt', 'field', 'compress', 'uncompress', 'decode', 'encode', 'unistr', 'starts_with', 'exists',
  'exp', 'cast', 'convert', 'make_set', 'polygon', 'linestring', 'sqlite_version', 'abs', 'pow', 'power', 'sin', 'cos', 'round', 'str', 'to_char', 'to_number', 'unicode', 'soundex', 'sqlite_compileoption_used',
  'sqlite_compileoption_get', 'likelihood', 'unlikely', 'glob', 'json', 'printf', 'format', 'space', 'repeat', 'lpad', 'rpad',
]);

/** Keywords that cannot stand where a value is expected. */
const STRUCTURAL = new Set(['select', 'from', 'where', 'union', 'order', 'group', 'by', 'having', 'limit', 'into', 'values', 'join', 'on', 'as', 'then', 'else', 'end', 'when']);

type Ctx = 'numeric' | 'single-quote' | 'double-quote';

/** The examined tokens; `more` is true when the input goes on past the last one (so its end is not the input's end). */
type Tokens = SqlToken[] & { more?: boolean };

/** True when index `i` is past the last token and the input really ends there. */
function atEnd(t: Tokens, i: number): boolean {
  return i >= t.length && !t.more;
}

interface Hit { rule: string; last: number }

/**
 * Returns a detection when `value`, inserted into SQL after an opening quote (' or ") or as a
 * bare number, ends the literal and continues as SQL; null when it stays a literal.
 */
export function detectSqli(value: string): Detection | null {
  if (value.length < 2) return null;
  const src = value.length > SQLI_MAX_INPUT ? value.slice(0, SQLI_MAX_INPUT) : value;
  // Whether `anywhere` could find SQL in the value at all: computed once, on demand, for all contexts.
  let laterSql: boolean | undefined;
  let hasParen: boolean | undefined;
  const singleQuote = src.indexOf("'") >= 0;
  for (const [ctx, quote] of CONTEXTS) {
    // A quote context needs its quote in the value.
    if (quote === 39 && !singleQuote) continue;
    if (quote === 34 && src.indexOf('"') < 0) continue;
    // A numeric value that starts with a plain word only reaches `anywhere`: decided without tokens.
    if (quote === 0 && startsWithPlainWord(src, singleQuote) && !(laterSql ??= anywherePossible(src))) continue;
    const tz = new SqlTokenizer(src, 0, quote);
    const tokens: Tokens = [];
    // The first tokens say which checks can still fire. Most values can only be SQL through `anywhere`, which
    // needs a statement after a `;`, a SELECT (of UNION SELECT) or a WAITFOR, or through `gluedPayload`, which
    // needs the same or a `(`: without them, the context is decided (null) before tokenizing the rest.
    let pending = collect(tz, tokens, HEAD_LOOK, null);
    const r = reach(tokens, ctx);
    if (r !== ANY && (r === ANYWHERE_ONLY || !(hasParen ??= src.indexOf('(') >= 0)) && !(laterSql ??= anywherePossible(src))) continue;
    // Most values are decided by the first tokens; the longer look is only for a later `;`/UNION/WAITFOR.
    pending = collect(tz, tokens, FIRST_LOOK, pending);
    let hit = analyse(tokens, ctx);
    // A hit on a cut-off view is checked again on the longer one, as is a value with a later `;`/UNION/WAITFOR.
    if (tokens.more && (hit || LATER_SQL.test(src.slice(tokens[FIRST_LOOK - 1]!.end)))) {
      pending = collect(tz, tokens, MAX_TOKENS, pending);
      hit = analyse(tokens, ctx);
    }
    void pending;
    if (hit) {
      const startTok = tokens[0]!;
      const from = ctx === 'numeric' ? startTok.start : Math.max(0, startTok.end - 1);
      const to = tokens[Math.min(hit.last, tokens.length - 1)]!.end;
      const fp = tokens.slice(0, Math.min(tokens.length, hit.last + 1, 16)).map((t) => t.type).join('');
      return { matched: src.slice(from, Math.min(to, from + MAX_MATCHED)), reason: `sqli ${ctx}: ${hit.rule} [${fp}]` };
    }
  }
  return null;
}

const CONTEXTS: ReadonlyArray<readonly [Ctx, number]> = [['single-quote', 39], ['double-quote', 34], ['numeric', 0]];
/** Tokens read before `reach` decides: up to a signed number and the head after it. */
const HEAD_LOOK = 3;
/** Keywords `clauseTail` acts on; after any other keyword only `anywhere` can find SQL. */
const CLAUSE_KEYWORDS = new Set(['order', 'group', 'having', 'where', 'limit', 'procedure', 'into', 'waitfor', 'exec', 'execute']);

/** Words that start a statement `strictStatementAt` accepts (the rest are SELECT and payload calls). */
const STATEMENT_WORDS = new Set(['select', 'drop', 'truncate', 'create', 'alter', 'insert', 'replace', 'update', 'delete', 'exec', 'execute', 'declare', 'set', 'shutdown', 'waitfor']);

/**
 * A necessary condition for `anywhere` to find SQL in `src` (whatever the context), checked on characters:
 * its UNION needs a SELECT word and its WAITFOR a WAITFOR word; its stacked query needs a `;` followed by a token
 * `strictStatementAt` accepts: a statement word, a call (a word then `(`), or a string whose content is a statement
 * word. A `;` followed by a comment marker (`/ - # *`) could be followed by anything, so it counts. Inside strings
 * `;` is no token: counting it errs on the safe side.
 */
function anywherePossible(src: string): boolean {
  if (hasWordEndingAt(src, 'select') || hasWordEndingAt(src, 'waitfor')) return true;
  for (let semi = src.indexOf(';'); semi >= 0; semi = src.indexOf(';', semi + 1)) {
    let p = semi + 1;
    while (p < src.length && isSpace(src.charCodeAt(p))) p++;
    if (p >= src.length) continue;
    const c = src.charCodeAt(p);
    if (c === 47 || c === 45 || c === 35 || c === 42) return true;
    // A string or backtick token: `strictStatementAt` reads its content as text (`;'shutdown'`), and `\`sleep\`(` is a call.
    if (c === 39 || c === 34 || c === 96) return true;
    if (!isWordStart(c)) continue;
    let q = p + 1;
    while (q < src.length && isWordPart(src.charCodeAt(q))) q++;
    if (STATEMENT_WORDS.has(src.slice(p, q).toLowerCase())) return true;
    // A call: the (qualified) name, then `(` directly, after spaces, or after a comment or comment end (`sleep/**/(5)`, `sleep*/(5)`).
    while (q + 1 < src.length && src.charCodeAt(q) === 46 && isWordStart(src.charCodeAt(q + 1))) {
      q += 2;
      while (q < src.length && isWordPart(src.charCodeAt(q))) q++;
    }
    // `n'..'`, `_utf8'..'`: a string prefix (its content is the text, as above).
    if (q < src.length && src.charCodeAt(q) === 39) return true;
    while (q < src.length && isSpace(src.charCodeAt(q))) q++;
    const d = q < src.length ? src.charCodeAt(q) : 0;
    if (d === 40 || d === 47 || d === 45 || d === 35 || d === 42) return true;
  }
  return false;
}

/** True when `word` (lower-case ASCII) occurs in `src`, in any case, not followed by a word character (so the tokenizer could read a word ending there). */
function hasWordEndingAt(src: string, word: string): boolean {
  const re = word === 'select' ? SELECT_RE : WAITFOR_RE;
  re.lastIndex = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const after = m.index + word.length;
    if (after >= src.length || !isWordPart(src.charCodeAt(after))) return true;
    re.lastIndex = m.index + 1;
  }
  return false;
}
const SELECT_RE = /select/gi;
const WAITFOR_RE = /waitfor/gi;

/** The words `wordType` makes logical (L), UNION (U) or SELECT (S): as a numeric value's first token, they lead somewhere. */
const LEADING_WORDS = new Set(['and', 'or', 'xor', 'not', 'union', 'select']);

/**
 * True when the numeric context's first token is, without tokenizing, a word that `analyse` sends straight to
 * `anywhere` (its else branch): the value starts with an ASCII letter, `_` or `$`; the word there is none of
 * LEADING_WORDS; it is no string prefix before a quote (`n'..'`, `x'..'`, `_utf8'..'`); and no `(` follows it,
 * directly, after spaces or after a comment (it would be a call). A qualified name (`or.x`) is one identifier to the
 * tokenizer, so judging by its first part, as here, only errs on the safe side.
 */
function startsWithPlainWord(src: string, singleQuote: boolean): boolean {
  const c = src.charCodeAt(0);
  if (c >= 128 || !isWordStart(c)) return false;
  if (c === 95 && singleQuote) return false;
  let p = 1;
  while (p < src.length && isWordPart(src.charCodeAt(p))) p++;
  if (p <= 6) {
    const word = src.slice(0, p).toLowerCase();
    if (LEADING_WORDS.has(word)) return false;
    if (singleQuote && (word === 'n' || word === 'e' || word === 'x' || word === 'b')) return false;
  }
  while (p + 1 < src.length && src.charCodeAt(p) === 46 && isWordStart(src.charCodeAt(p + 1))) {
    p += 2;
    while (p < src.length && isWordPart(src.charCodeAt(p))) p++;
  }
  while (p < src.length && isSpace(src.charCodeAt(p))) p++;
  const d = p < src.length ? src.charCodeAt(p) : 0;
  const d1 = p + 1 < src.length ? src.charCodeAt(p + 1) : 0;
  // `(`, or a comment the tokenizer may skip to reach one: `/*`, `--`, `#`.
  return d !== 40 && !(d === 47 && d1 === 42) && !(d === 45 && d1 === 45) && d !== 35;
}

/** What `analyse` can still find after the first tokens: only `anywhere`'s constructs, those or `gluedPayload`'s, or anything. */
const ANYWHERE_ONLY = 0;
const GLUED_OR_ANYWHERE = 1;
const ANY = 2;

/**
 * Mirrors `analyse` on its first HEAD_LOOK tokens. A quote context needs a closed literal first; the numeric one a lead
 * (optionally signed number, variable, closed literal) or else only a call or `(` first reaches more than `anywhere`.
 * After the lead, the switch in `analyse` acts on `)` and comment, `;`, UNION, logical, comparison and clause-keyword
 * heads only; any other head goes to `gluedPayload`, which gives up at once on a plain word, `x`, `.`, a variable,
 * SELECT or another keyword, and otherwise needs a call or `(` (so a `(` in the value) or a UNION SELECT to find SQL.
 */
function reach(t: Tokens, ctx: Ctx): number {
  const first = t[0];
  if (!first) return ANYWHERE_ONLY;
  let i = 0;
  if (ctx !== 'numeric') {
    if (first.type !== 's' || first.open) return ANYWHERE_ONLY;
    i = 1;
  } else {
    if (first.type === 'A' && (first.text === '-' || first.text === '+') && t[1]?.type === 'n') i = 1;
    const lt = t[i]!;
    if (lt.type === 'n' || lt.type === 'v' || (lt.type === 's' && !lt.open)) i++;
    else if (lt.type === ')' || lt.type === ';' || lt.type === 'U' || lt.type === 'L' || lt.type === 'S' || lt.type === 'f' || lt.type === '(') return ANY;
    else return ANYWHERE_ONLY;
  }
  const head = t[i];
  if (!head) return ANYWHERE_ONLY;
  // A word's type is final once the token after it is known (only a following `(` turns it into a call).
  const final = i + 1 < t.length || !t.more;
  switch (head.type) {
    case ')': case 'c': case ';': case 'U': case 'L': case 'C':
      return ANY;
    case 'k':
      if (CLAUSE_KEYWORDS.has(head.text)) return ANY;
      return final ? ANYWHERE_ONLY : GLUED_OR_ANYWHERE;
    case 'b':
      return final ? ANYWHERE_ONLY : GLUED_OR_ANYWHERE;
    case 'x': case '.': case 'v': case 'S':
      return ANYWHERE_ONLY;
    default: // n s A , f (
      return GLUED_OR_ANYWHERE;
  }
}

/** Appends tokens up to `max`; returns the one read ahead (to know whether more follow), for the next call. */
function collect(tz: SqlTokenizer, out: Tokens, max: number, ahead: SqlToken | null): SqlToken | null {
  let next = ahead ?? tz.next();
  while (next && out.length < max) {
    const t = next;
    next = tz.next();
    // A known function name followed by `(` after whitespace is still a call (PostgreSQL, MSSQL).
    if (t.type === '(' && out.length > 0) {
      const prev = out[out.length - 1]!;
      if ((prev.type === 'b' || prev.type === 'k' || prev.type === 'C') && SQL_FUNCTIONS.has(prev.text)) prev.type = 'f';
    }
    out.push(t);
  }
  out.more = next !== null;
  return next;
}

function analyse(t: Tokens, ctx: Ctx): Hit | null {
  if (t.length === 0) return null;
  let i = 0;
  let lead: 's' | 'n' | 'p' | '' = '';
  if (ctx !== 'numeric') {
    if (t[0]!.type !== 's' || t[0]!.open) return null;
    lead = 's';
    i = 1;
  } else {
    const first = t[0]!;
    if (first.type === 'A' && (first.text === '-' || first.text === '+') && t[1]?.type === 'n') i = 1;
    const lt = t[i]!;
    if (lt.type === 'n' || lt.type === 'v') { lead = 'n'; i++; }
    else if (lt.type === 's' && !lt.open) { lead = 's'; i++; }
    else if (lt.type === ')') { lead = 'p'; }
    else if (lt.type === ';' || lt.type === 'U') { lead = 'p'; }
    else if (lt.type === 'L') {
      // A value that starts with OR/AND: SQL only when the expression compares literals or calls a payload.
      const end = booleanTail(t, i, false, false, true);
      return end >= 0 ? { rule: 'boolean expression', last: end } : null;
    }
    else if (lt.type === 'S') {
      // A whole SELECT whose select list is a payload: `select sleep(5)`, `select(user())`, `select 1 from (select ...)`.
      const end = gluedPayload(t, i + 1, false);
      return end >= 0 ? { rule: 'SELECT of a payload', last: end } : null;
    }
    else {
      // A value that is itself an injection payload: `sleep(5)`, `(select ...)`.
      if (isAttackCall(t, i) || isSubselect(t, i)) return { rule: 'payload call or subquery', last: closeParen(t, i) };
      // `IF(1=1,SLEEP(5),0)`: a known SQL function whose arguments hold a payload call or subquery.
      if (lt.type === 'f' && SQL_FUNCTIONS.has(lt.text) && t[i + 1]?.type === '(') {
        const end = closeParen(t, i + 1);
        for (let k = i + 2; k < end; k++) if (isAttackCall(t, k) || (t[k]!.type === 'S' && t[k - 1]!.type === '(')) return { rule: 'payload inside a SQL function call', last: end };
      }
      return anywhere(t, 1);
    }
  }
  let parens = 0;
  while (t[i]?.type === ')') { parens++; i++; }
  const head = t[i];
  if (!head) return null;
  const quoted = lead === 's';
  const closed = quoted || parens > 0;

  switch (head.type) {
    case 'c':
      // `#` after a sentence (`the line "#`) is a hash sign; after a value (`admin'#`) a MySQL comment.
      if (head.text.startsWith('#') && /\s/.test(t[0]!.text) && parens === 0) return null;
      if (closed && terminates(t, i)) return { rule: 'literal closed by a comment', last: i };
      return null;
    case ';': {
      if (quoted && !/\s/.test(t[0]!.text) && (atEnd(t, i + 1) || t[i + 1]!.type === 'c')) return { rule: 'literal closed by a statement end', last: i };
      // `';select ...`: right after a string break-out, SELECT starts a statement whatever follows it.
      if (closed && t[i + 1]?.type === 'S') return { rule: 'stacked query', last: i + 1 };
      const end = statementAt(t, i + 1);
      return end >= 0 ? { rule: 'stacked query', last: end } : null;
    }
    case 'U': {
      const end = unionAt(t, i);
      return end >= 0 ? { rule: 'UNION SELECT', last: end } : null;
    }
    case 'L': {
      const end = booleanTail(t, i, quoted, closed);
      if (end >= 0) return { rule: 'boolean expression after the literal', last: end };
      break;
    }
    case 'C': {
      const end = comparisonTail(t, i, lead, closed);
      if (end >= 0) return { rule: 'comparison after the literal', last: end };
      break;
    }
    case 'k': {
      const end = clauseTail(t, i, closed);
      if (end >= 0) return { rule: `${head.text.toUpperCase()} clause after the literal`, last: end };
      break;
    }
    default:
      break;
  }
  // A subquery or payload function reached from the literal through operators only:
  // `'||(select ...)`, `'+sleep(5)+'`, `', (select ...))--`, `1*(select ...)`.
  const end = gluedPayload(t, i, quoted);
  if (end >= 0) return { rule: 'payload joined by operators', last: end };
  return anywhere(t, i);
}

/** Constructs that are SQL wherever they appear after the start: stacked statements, UNION SELECT, WAITFOR DELAY. */
function anywhere(t: Tokens, from: number): Hit | null {
  for (let j = Math.max(1, from); j < t.length; j++) {
    const ty = t[j]!.type;
    if (ty === ';') {
      const end = statementAt(t, j + 1, true);
      if (end >= 0 && (t[j + 1]!.type !== 'S' || strictSelect(t, j + 2))) return { rule: 'stacked query', last: end };
    } else if (ty === 'U') {
      const end = unionAt(t, j);
      if (end >= 0 && strictSelect(t, end)) return { rule: 'UNION SELECT', last: end };
    } else if (ty === 'k' && t[j]!.text === 'waitfor' && t[j + 1]?.text === 'delay' && t[j + 2]?.type === 's') {
      return { rule: 'WAITFOR DELAY', last: j + 2 };
    }
  }
  return null;
}

/** A select list item at or after `i` that cannot be prose: followed by `,`, FROM, a comment, `)` or nothing. */
function strictSelect(t: Tokens, i: number): boolean {
  let j = i;
  while (j < t.length && (t[j]!.type === 'k' && /^(all|distinct|top)$/.test(t[j]!.text) || t[j]!.type === 'S')) j++;
  const tok = t[j];
  if (!tok) return atEnd(t, j);
  if (tok.type === 'f' || tok.type === 'v' || tok.text === '*' || tok.type === '(') return true;
  const nx = t[j + 1];
  return atEnd(t, j + 1) || (!!nx && (nx.type === ',' || nx.text === 'from' || nx.type === 'c' || nx.type === ')' || nx.text === 'into' || nx.type === ';'));
}

/** Index of the `)` closing the `(` at or after `i` (or the last token when unclosed). */
function closeParen(t: Tokens, i: number): number {
  let depth = 0;
  for (let j = i; j < t.length; j++) {
    const ty = t[j]!.type;
    if (ty === '(') depth++;
    else if (ty === ')') { depth--; if (depth <= 0) return j; }
  }
  return t.length - 1;
}

function isAttackCall(t: Tokens, i: number): boolean {
  const tok = t[i];
  if (!tok || tok.type !== 'f' || !ATTACK_FUNCTIONS.has(tok.text) || t[i + 1]?.type !== '(') return false;
  // `Sleep (8 hours)`, `sleep(less) podcast`: words as arguments or after the call are prose.
  const afterAt = closeParen(t, i + 1) + 1;
  const after = t[afterAt];
  if (after ? after.type === 'b' || after.type === 'k' || after.type === 'x' : !atEnd(t, afterAt)) return false;
  return !hasWords(t, i + 1);
}

/** True when the parenthesised group opened at `i` holds identifiers or unknown characters but no subquery. */
function hasWords(t: Tokens, i: number): boolean {
  const end = closeParen(t, i);
  let words = false;
  for (let k = i + 1; k < end; k++) {
    const ty = t[k]!.type;
    if (ty === 'S') return false;
    if (ty === 'b' || ty === 'x') words = true;
  }
  return words;
}
function isSubselect(t: Tokens, i: number): boolean {
  let j = i;
  while (t[j]?.type === '(') j++;
  return j > i && t[j]?.type === 'S';
}

/** A line or block comment at `i` that really ends the statement (not an em-dash in prose). */
function terminates(t: Tokens, i: number): boolean {
  const c = t[i]!;
  const raw = c.text.replace(/^(--|#|\/\*)/, '');
  // `"#anchor"`, `'#DEADED'`, `'/**'`: a quote after the marker means the input's quotes pair up as text.
  if (/['"`]/.test(raw)) return false;
  if (c.open || c.text.startsWith('/*')) return true;
  const body = raw.trim();
  // `-- -`, `--+`, `#`, `/*`: markers with nothing or punctuation after them end statements;
  // `"no"--and left`, `programs' --version`, `'#1 fan'` are dashes and hashes in prose.
  if (/^[\p{L}\p{N}_$]/u.test(body)) return !c.text.startsWith('#') && body.length <= 4 && !/\s/.test(body) && !c.spaced;
  return true;
}

/** Operand at `i` including PostgreSQL casts (`'{}'::jsonb`): 'strong' (subquery, payload call, system variable), 'literal', 'word', or null. */
function operand(t: Tokens, i: number): { kind: 'strong' | 'literal' | 'word'; next: number } | null {
  const r = bareOperand(t, i);
  if (r) while (t[r.next]?.text === '::' && (t[r.next + 1]?.type === 'b' || t[r.next + 1]?.type === 'k')) r.next += 2;
  return r;
}

function bareOperand(t: Tokens, i: number): { kind: 'strong' | 'literal' | 'word'; next: number } | null {
  let j = i;
  while (t[j] && ((t[j]!.type === 'A' && (t[j]!.text === '-' || t[j]!.text === '+' || t[j]!.text === '~')) || (t[j]!.type === 'L' && (t[j]!.text === '!' || t[j]!.text === 'not')))) j++;
  const tok = t[j];
  if (!tok) return null;
  switch (tok.type) {
    case 'n': case 's':
      return { kind: 'literal', next: j + 1 };
    case 'v':
      return { kind: tok.text.startsWith('@@') ? 'strong' : 'literal', next: j + 1 };
    case 'k':
      if (tok.text === 'null' || tok.text === 'true' || tok.text === 'false') return { kind: 'literal', next: j + 1 };
      if (STRUCTURAL.has(tok.text)) return null;
      return { kind: 'word', next: j + 1 };
    case 'b':
      return { kind: 'word', next: j + 1 };
    case 'f': {
      const end = closeParen(t, j + 1);
      return { kind: 'strong', next: end + 1 };
    }
    case '(': {
      const end = closeParen(t, j);
      let kind: 'strong' | 'literal' | 'word' = 'literal';
      for (let k = j + 1; k < end; k++) {
        const ty = t[k]!.type;
        // A subquery, a call or a comparison in parentheses: `(select ...)`, `('a'='a`, `((1=1`.
        if (ty === 'S' || ty === 'f' || (ty === 'C' && k > j + 1 && k + 1 <= end && t[k + 1] !== undefined)) { kind = 'strong'; break; }
        if (ty === 'b' || ty === 'x' || ty === 'k') kind = 'word';
      }
      return { kind, next: end + 1 };
    }
    default:
      return null;
  }
}

/**
 * After a logical operator: a chain of terms; it is SQL when a term compares two operands,
 * calls a function, or is a literal that the attacker closes with a comment or `;`.
 */
function booleanTail(t: Tokens, i: number, quoted: boolean, closed: boolean, literalsOnly = false): number {
  let j = i;
  for (let term = 0; term < 6 && t[j]?.type === 'L'; term++) {
    const logical = t[j]!;
    // A connector joins the literal to a term; `!`/NOT alone after a literal is not SQL.
    if (logical.text === '!' || logical.text === 'not') return -1;
    j++;
    const a = operand(t, j);
    if (!a) return -1;
    if (literalsOnly && (a.kind === 'word' || (t[j]!.type === 'f' && hasWords(t, j + 1)))) return -1;
    if (a.kind === 'strong' && (quoted || logical.text !== '||' || t[j]!.type !== 'f' || ATTACK_FUNCTIONS.has(t[j]!.text))) {
      // Unknown function names only count when a string was broken out of.
      const f = t[j]!;
      if (f.type !== 'f' || quoted || SQL_FUNCTIONS.has(f.text)) return a.next - 1;
    }
    j = a.next;
    while (t[j]?.type === 'A') {
      const b = operand(t, j + 1);
      if (!b || (literalsOnly && b.kind === 'word')) return -1;
      // `dpkg-deb(1)` in prose: only known SQL functions and subqueries count inside arithmetic.
      const f = t[j + 1]!;
      if (b.kind === 'strong' && (f.type !== 'f' || SQL_FUNCTIONS.has(f.text))) return b.next - 1;
      j = b.next;
    }
    const next = t[j];
    if (next?.type === 'C') {
      const end = comparisonRight(t, j);
      if (literalsOnly && end >= 0 && operand(t, j + 1)?.kind === 'word') return -1;
      // Word operands (`this in an`) only count with symbolic operators (`x=y`) or after a string break-out.
      if (end >= 0 && (a.kind !== 'word' || quoted || !/^[a-z]/.test(t[j]!.text))) return end;
      if (end < 0) return -1;
      j = end + 1;
      continue;
    }
    if (a.kind !== 'word' || quoted) {
      if (next?.type === 'c' && closed && terminates(t, j)) return j;
      // Numeric context: `-1 or true--`, only with a bare comment marker (prose uses `--` as a dash).
      if (next?.type === 'c' && !closed && next.text.replace(/^(--|#)/, '').trim().length <= 1 && !next.open) return j;
      if (next?.type === ';' && closed) { const end = statementAt(t, j + 1); if (end >= 0 || atEnd(t, j + 1)) return Math.max(j, end); }
    }
  }
  return -1;
}

/** Right side of a comparison at `i`; returns the last index used, or -1. */
function comparisonRight(t: Tokens, i: number): number {
  const op = t[i]!;
  let j = i + 1;
  if (op.text === 'notnull' || op.text === 'isnull') return i;
  if (op.text === 'is') { if (t[j]?.text === 'not') j++; return t[j]?.type === 'k' ? j : -1; }
  if (op.text === 'sounds' && t[j]?.text === 'like') j++;
  if (t[j]?.type === 'L' && t[j]!.text === 'not') j++;
  if (t[j]?.type === 'C' && (t[j]!.text === 'like' || t[j]!.text === 'in' || t[j]!.text === 'between' || t[j]!.text === 'regexp')) j++;
  if (t[j]?.type === 'k' && (t[j]!.text === 'all' || t[j]!.text === 'any' || t[j]!.text === 'some')) j++;
  const b = operand(t, j);
  if (!b) return -1;
  if (op.text === 'between') {
    if (t[b.next]?.text !== 'and') return -1;
    const c = operand(t, b.next + 1);
    return c ? c.next - 1 : -1;
  }
  return b.next - 1;
}

function comparisonTail(t: Tokens, i: number, lead: string, closed: boolean): number {
  const op = t[i]!;
  const end = comparisonRight(t, i);
  if (end < 0) return -1;
  const b = operand(t, i + 1);
  const strong = b?.kind === 'strong' || t.slice(i + 1, end + 1).some((x) => x.type === 'S');
  if (strong) return end;
  const after = t[end + 1];
  const continues = !!after && (after.type === 'L' || (after.type === 'c' && terminates(t, end + 1)) || after.type === ';' || after.type === 'U');
  if (lead === 's') {
    const symbolic = !/^[a-z]/.test(op.text);
    const kind = b?.kind;
    if (continues && closed) return after!.type === 'L' ? Math.max(end, booleanTail(t, end + 1, true, true)) : end + 1;
    // `x'='x`, `' like '%`: the right side is a string the application's own closing quote will end
    // (it runs to the end of the input), or a number. `"=" or "v"` in prose pairs its quotes up instead.
    const right = t[end]!;
    const tail = atEnd(t, end + 1);
    // ...and the text before the break-out is a value too (`x'='x`, `1'='1`), not a sentence quoting `'='`.
    if (/\s/.test(t[0]!.text)) return -1;
    const shortValue = right.type === 's' && right.open && right.text.length <= 24 && !/\s/.test(right.text);
    if (kind === 'literal' && tail && (shortValue || right.type === 'n')) return end;
    if (symbolic && tail && right.type === 'n') return end;
    return -1;
  }
  if (closed && continues) return end + 1;
  return -1;
}

function clauseTail(t: Tokens, i: number, closed: boolean): number {
  const k = t[i]!.text;
  const n1 = t[i + 1];
  const n2 = t[i + 2];
  switch (k) {
    case 'order': case 'group':
      if (n1?.text !== 'by' || !n2) return -1;
      if (n2.type === 'n') return i + 2;
      if ((n2.type === 'b' || n2.type === 'f') && closed) {
        const after = t[i + 3];
        if (after && ((after.type === 'c' && terminates(t, i + 3)) || after.type === ';' || after.text === 'having' || after.text === 'asc' || after.text === 'desc')) return i + 3;
      }
      return -1;
    case 'having': case 'where': {
      const a = operand(t, i + 1);
      if (!a || t[a.next]?.type !== 'C') return -1;
      return comparisonRight(t, a.next);
    }
    case 'limit':
      if (n1?.type === 'n' && (n2?.type === ',' || (n2?.type === 'c' && closed) || (closed && n2?.text === 'offset'))) return i + 2;
      return -1;
    case 'procedure':
      return n1?.text === 'analyse' ? i + 1 : -1;
    case 'into':
      return n1?.text === 'outfile' || n1?.text === 'dumpfile' ? i + 1 : -1;
    case 'waitfor':
      return (n1?.text === 'delay' || n1?.text === 'time') && n2?.type === 's' ? i + 2 : -1;
    case 'exec': case 'execute':
      return closed && n1 && (n1.type === 'v' || n1.type === '(' || /^(xp_|sp_|master|immediate)/.test(n1.text)) ? i + 1 : -1;
    case 'collate':
      return closed && n1 && (n1.type === 'b' || n1.type === 's') && t[i + 2]?.type === 'c' ? i + 2 : -1;
    default:
      return -1;
  }
}

/** Does a SQL statement start at `i`? Returns its last examined index or -1. */
function statementAt(t: Tokens, i: number, strict = false): number {
  const tok = t[i];
  if (!tok) return -1;
  const n1 = t[i + 1];
  const n2 = t[i + 2];
  if (strict) return strictStatementAt(t, i);
  if (tok.type === 'S') return selectListAt(t, i + 1);
  if (tok.type === 'f' && ATTACK_FUNCTIONS.has(tok.text)) return i + 1;
  switch (tok.text) {
    case 'drop': case 'create': case 'alter': case 'truncate': case 'rename':
      return n1 && /^(table|database|schema|user|view|index|trigger|function|procedure|login|column)$/.test(n1.text) && n2 ? i + 2 : -1;
    case 'insert': case 'replace':
      return n1?.text === 'into' ? i + 1 : -1;
    case 'update':
      return n1 && n1.type === 'b' && n2?.text === 'set' ? i + 2 : -1;
    case 'delete':
      return n1?.text === 'from' && n2 ? i + 2 : -1;
    case 'exec': case 'execute':
      return n1 && (n1.type === 'b' || n1.type === 'f' || n1.type === 'v' || n1.type === 's' || n1.type === '(') ? i + 1 : -1;
    case 'declare':
      return n1?.type === 'v' ? i + 1 : -1;
    case 'set':
      return n1?.type === 'v' || (n1?.type === 'b' && n2?.type === 'C') ? i + 1 : -1;
    case 'shutdown':
      return atEnd(t, i + 1) || n1?.type === 'c' || n1?.text === 'with' ? i : -1;
    case 'waitfor':
      return n1?.text === 'delay' || n1?.text === 'time' ? i + 1 : -1;
    case 'grant': case 'revoke':
      return n1 && t.slice(i + 2, i + 8).some((x) => x.text === 'on' || x.text === 'to') ? i + 1 : -1;
    case 'call':
      return n1?.type === 'f' ? i + 1 : -1;
    case 'load':
      return n1?.text === 'data' || n1?.text === 'load_file' ? i + 1 : -1;
    case 'if':
      return n1?.type === '(' ? i + 1 : -1;
    default:
      return -1;
  }
}

/** Statements that are unmistakable even inside prose (after a `;` found anywhere in the value). */
function strictStatementAt(t: Tokens, i: number): number {
  const tok = t[i]!;
  const n1 = t[i + 1];
  const n2 = t[i + 2];
  const n3 = t[i + 3];
  const ends = (k: number) => atEnd(t, k) || t[k]?.type === ';' || t[k]?.type === 'c';
  if (tok.type === 'S') return selectListAt(t, i + 1);
  if (tok.type === 'f' && ATTACK_FUNCTIONS.has(tok.text)) return i + 1;
  switch (tok.text) {
    case 'drop': case 'truncate':
      return n1 && /^(table|database|schema|user|view|procedure|function|login)$/.test(n1.text) && n2 && ends(i + 3) ? i + 2 : -1;
    case 'create': case 'alter':
      return n1 && /^(table|database|schema|user|view|procedure|function|login|trigger)$/.test(n1.text) && n2 && (ends(i + 3) || n3?.type === '(' || n3?.type === 'k') ? i + 2 : -1;
    case 'insert': case 'replace':
      return n1?.text === 'into' && n2 && n3 && (n3.type === '(' || n3.text === 'values' || n3.type === 'S' || n2.type === 'f') ? i + 2 : -1;
    case 'update':
      return n1?.type === 'b' && n2?.text === 'set' && t[i + 4]?.type === 'C' ? i + 4 : -1;
    case 'delete':
      return n1?.text === 'from' && n2 && ((!!n3 && ends(i + 3)) || n3?.text === 'where') ? i + 3 : -1;
    case 'exec': case 'execute':
      return n1 && (n1.type === 'v' || n1.type === '(' || /^(xp_|sp_|master|dbo|immediate)/.test(n1.text)) ? i + 1 : -1;
    case 'declare': case 'set':
      return n1?.type === 'v' ? i + 1 : -1;
    case 'shutdown':
      return ends(i + 1) ? i : -1;
    case 'waitfor':
      return (n1?.text === 'delay' || n1?.text === 'time') && n2?.type === 's' ? i + 2 : -1;
    default:
      return -1;
  }
}

/** `SELECT` followed by something that is a select list (not prose like "select your plan"). */
function selectListAt(t: Tokens, i: number): number {
  let j = i;
  while (t[j]?.type === 'k' && (t[j]!.text === 'all' || t[j]!.text === 'distinct' || t[j]!.text === 'top')) j++;
  const tok = t[j];
  if (!tok) return -1;
  if (tok.type === 'n' || tok.type === 's' || tok.type === 'v' || tok.type === 'f' || tok.type === '(' || tok.text === '*') return j;
  if (tok.type === 'k' && (tok.text === 'null' || tok.text === 'true' || tok.text === 'false' || tok.text === 'case' || tok.text === 'user' || tok.text === 'schema' || tok.text === 'database')) return j;
  if (tok.type === 'b') {
    const nx = t[j + 1];
    if (!nx) return -1;
    if (nx.type === ',' || nx.text === 'from' || nx.type === 'c' || nx.text === 'into') return j + 1;
  }
  return -1;
}

function unionAt(t: Tokens, i: number): number {
  let j = i + 1;
  if (t[j]?.text === 'all' || t[j]?.text === 'distinct' || t[j]?.text === 'distinctrow') j++;
  while (t[j]?.type === '(') j++;
  if (t[j]?.type !== 'S') return -1;
  if (j + 1 >= t.length) return atEnd(t, j + 1) ? j : -1;
  const end = selectListAt(t, j + 1);
  if (end >= 0) return end;
  // `union select/`, `union select*`: anything but a prose word after SELECT.
  const nx = t[j + 1]!;
  return nx.type === 'b' || nx.type === 'k' || nx.type === 'x' ? -1 : j + 1;
}

/** Operators and literals only, from the literal to a subquery or payload call. */
function gluedPayload(t: Tokens, i: number, quoted: boolean): number {
  let sawOperator = false;
  for (let j = i; j < t.length && j < i + 12; j++) {
    const tok = t[j]!;
    if (tok.type === 'f' && (ATTACK_FUNCTIONS.has(tok.text) || (quoted && sawOperator && SQL_FUNCTIONS.has(tok.text)))) return closeParen(t, j + 1);
    if (tok.type === 'S' && j > i && t[j - 1]!.type === '(') { const end = selectListAt(t, j + 1); if (end >= 0) return end; }
    if (tok.type === 'U') { const end = unionAt(t, j); if (end >= 0) return end; }
    if (tok.type === 'A' || tok.type === 'L' || tok.type === 'C' || tok.type === ',') { sawOperator = true; continue; }
    if (tok.type === '(' || tok.type === ')' || tok.type === 'n' || tok.type === 's') continue;
    return -1;
  }
  return -1;
}
