/** A small parser for JS regex sources into an AST, read by the ReDoS check and the literal prefilter. */

/** A set of characters: an ASCII bitmap plus whether any non-ASCII character belongs to it. */
export interface CharSet {
  ascii: Uint8Array; // 128 entries, 1 = member
  nonAscii: boolean;
}

export type Node =
  | { type: 'char'; ch: string }
  | { type: 'set'; set: CharSet }
  | { type: 'seq'; items: Node[] }
  | { type: 'alt'; alts: Node[] }
  | { type: 'group'; body: Node; look: boolean }
  | { type: 'repeat'; body: Node; min: number; max: number }
  | { type: 'assert'; kind: '^' | '$' | 'b' }
  | { type: 'backref' };

export class RegexSyntaxError extends Error {}

function emptySet(): CharSet {
  return { ascii: new Uint8Array(128), nonAscii: false };
}
function range(set: CharSet, from: number, to: number): void {
  for (let c = from; c <= to; c++) {
    if (c < 128) set.ascii[c] = 1;
    else {
      set.nonAscii = true;
      break;
    }
  }
  if (to >= 128) set.nonAscii = true;
}
function negate(set: CharSet): CharSet {
  const out = emptySet();
  for (let c = 0; c < 128; c++) out.ascii[c] = set.ascii[c] ? 0 : 1;
  out.nonAscii = true;
  return out;
}
function union(a: CharSet, b: CharSet): void {
  for (let c = 0; c < 128; c++) if (b.ascii[c]) a.ascii[c] = 1;
  if (b.nonAscii) a.nonAscii = true;
}

const DIGIT = (): CharSet => { const s = emptySet(); range(s, 48, 57); return s; };
const WORD = (): CharSet => { const s = DIGIT(); range(s, 65, 90); range(s, 97, 122); s.ascii[95] = 1; return s; };
const SPACE = (): CharSet => { const s = emptySet(); for (const c of [9, 10, 11, 12, 13, 32]) s.ascii[c] = 1; s.nonAscii = true; return s; };
const ANY = (): CharSet => { const s = emptySet(); range(s, 0, 127); s.ascii[10] = 0; s.ascii[13] = 0; s.nonAscii = true; return s; };

/** The set of one character, folded over ASCII case when `fold`. */
export function setOfChar(ch: string, fold: boolean): CharSet {
  const s = emptySet();
  const c = ch.charCodeAt(0);
  if (c >= 128) s.nonAscii = true;
  else {
    s.ascii[c] = 1;
    if (fold) s.ascii[ch.toLowerCase().charCodeAt(0)] = s.ascii[ch.toUpperCase().charCodeAt(0)] = 1;
  }
  return s;
}

/** Whether two sets share a character (non-ASCII members are assumed to overlap). */
export function intersects(a: CharSet, b: CharSet): boolean {
  if (a.nonAscii && b.nonAscii) return true;
  for (let c = 0; c < 128; c++) if (a.ascii[c] && b.ascii[c]) return true;
  return false;
}

/** The characters of a set when it is small and ASCII only (for literal extraction), else null. */
export function smallSetChars(set: CharSet, max: number): string[] | null {
  if (set.nonAscii) return null;
  const out: string[] = [];
  for (let c = 0; c < 128; c++) {
    if (set.ascii[c]) {
      out.push(String.fromCharCode(c));
      if (out.length > max) return null;
    }
  }
  return out;
}

/** Parse a regex source (no flags) into an AST. Throws RegexSyntaxError on what it cannot read. */
export function parseRegex(src: string): Node {
  let i = 0;
  const peek = () => src[i];
  const eof = () => i >= src.length;

  function parseAlt(): Node {
    const alts: Node[] = [parseSeq()];
    while (peek() === '|') {
      i++;
      alts.push(parseSeq());
    }
    return alts.length === 1 ? alts[0] : { type: 'alt', alts };
  }

  function parseSeq(): Node {
    const items: Node[] = [];
    while (!eof() && peek() !== '|' && peek() !== ')') {
      let atom = parseAtom();
      atom = parseQuantifier(atom);
      items.push(atom);
    }
    return items.length === 1 ? items[0] : { type: 'seq', items };
  }

  function parseQuantifier(atom: Node): Node {
    for (;;) {
      const c = peek();
      let min: number;
      let max: number;
      if (c === '*') { min = 0; max = Infinity; i++; }
      else if (c === '+') { min = 1; max = Infinity; i++; }
      else if (c === '?') { min = 0; max = 1; i++; }
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
        if (!m) return atom; // a literal '{' (Annex B)
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        i += m[0].length;
      } else return atom;
      if (peek() === '?') i++; // lazy: same language
      if (atom.type === 'assert') throw new RegexSyntaxError('quantifier after an assertion');
      atom = { type: 'repeat', body: atom, min, max };
    }
  }

  function parseAtom(): Node {
    const c = src[i++];
    switch (c) {
      case '(': {
        let look = false;
        if (src.startsWith('?:', i)) i += 2;
        else if (src.startsWith('?=', i) || src.startsWith('?!', i)) { i += 2; look = true; }
        else if (src.startsWith('?<=', i) || src.startsWith('?<!', i)) { i += 3; look = true; }
        else if (src.startsWith('?<', i)) {
          const end = src.indexOf('>', i);
          if (end < 0) throw new RegexSyntaxError('unterminated group name');
          i = end + 1;
        } else if (peek() === '?') throw new RegexSyntaxError(`unsupported group (?${src[i + 1] ?? ''}`);
        const body = parseAlt();
        if (src[i] !== ')') throw new RegexSyntaxError('missing )');
        i++;
        return { type: 'group', body, look };
      }
      case '[': return { type: 'set', set: parseClass() };
      case '.': return { type: 'set', set: ANY() };
      case '^': case '$': return { type: 'assert', kind: c };
      case '\\': return parseEscape(false) as Node;
      case ')': throw new RegexSyntaxError('unmatched )');
      case '*': case '+': case '?': throw new RegexSyntaxError('nothing to repeat');
      default: return { type: 'char', ch: c };
    }
  }

  /**
   * A legacy octal escape (Annex B) starting at src[i], an octal digit: the longest of one to three digits whose value
   * is at most 0o377 (\0-\3 take up to two more digits, \4-\7 one more).
   */
  function legacyOctal(): string {
    const first = src[i++];
    let v = Number(first);
    const more = first <= '3' ? 2 : 1;
    for (let k = 0; k < more && /[0-7]/.test(src[i] ?? ''); k++) v = v * 8 + Number(src[i++]);
    return String.fromCharCode(v);
  }

  /** After a backslash. In a class, returns a CharSet or a one-char string; outside, a Node. */
  function parseEscape(inClass: boolean): Node | CharSet | string {
    const c = src[i++];
    if (c === undefined) throw new RegexSyntaxError('trailing backslash');
    const set = (s: CharSet): Node | CharSet => (inClass ? s : { type: 'set', set: s });
    const ch = (s: string): Node | string => (inClass ? s : { type: 'char', ch: s });
    switch (c) {
      case 'd': return set(DIGIT());
      case 'D': return set(negate(DIGIT()));
      case 'w': return set(WORD());
      case 'W': return set(negate(WORD()));
      case 's': return set(SPACE());
      case 'S': return set(negate(SPACE()));
      case 'b': return inClass ? '\b' : { type: 'assert', kind: 'b' };
      case 'B': if (inClass) throw new RegexSyntaxError('\\B in a class'); return { type: 'assert', kind: 'b' };
      case 'n': return ch('\n');
      case 'r': return ch('\r');
      case 't': return ch('\t');
      case 'f': return ch('\f');
      case 'v': return ch('\v');
      case '0': // \0 alone is NUL; \0 followed by octal digits is a legacy octal escape (\012 is \n)
        if (/[0-7]/.test(src[i] ?? '')) { i--; return ch(legacyOctal()); }
        return ch('\0');
      case 'x': {
        const m = /^[0-9a-fA-F]{2}/.exec(src.slice(i));
        if (!m) return ch('x');
        i += 2;
        return ch(String.fromCharCode(parseInt(m[0], 16)));
      }
      case 'u': {
        const m = /^[0-9a-fA-F]{4}/.exec(src.slice(i));
        if (!m) return ch('u');
        i += 4;
        return ch(String.fromCharCode(parseInt(m[0], 16)));
      }
      case 'c': {
        const l = src[i];
        // A control letter; in a class also a digit or _ (Annex B). Otherwise the backslash is a literal \ and the c
        // is read again as an ordinary character.
        if (l && (/[A-Za-z]/.test(l) || (inClass && /[0-9_]/.test(l)))) { i++; return ch(String.fromCharCode(l.charCodeAt(0) % 32)); }
        i--;
        return ch('\\');
      }
      case 'k': {
        if (inClass || src[i] !== '<') return ch('k');
        const end = src.indexOf('>', i);
        i = end < 0 ? src.length : end + 1;
        return { type: 'backref' };
      }
      default:
        if (/[1-9]/.test(c)) {
          // In a class, \8 and \9 are the digits themselves and \1-\7 start a legacy octal escape (\12 is \n).
          if (inClass) {
            if (c === '8' || c === '9') return ch(c);
            i--;
            return ch(legacyOctal());
          }
          // Outside, a back-reference (JS reads \N past the group count as octal or a digit: a back-reference is the
          // conservative reading for the prefilters, it may match anything).
          while (/[0-9]/.test(src[i] ?? '')) i++;
          return { type: 'backref' };
        }
        return ch(c);
    }
  }

  function parseClass(): CharSet {
    let negated = false;
    if (peek() === '^') { negated = true; i++; }
    const out = emptySet();
    let first = true;
    for (;;) {
      if (eof()) throw new RegexSyntaxError('unterminated character class');
      let c = src[i];
      if (c === ']' && !first) { i++; break; }
      if (c === ']' && first) { i++; break; } // [] (empty) or []...]: JS reads [] as empty
      first = false;
      i++;
      let lo: string | CharSet;
      if (c === '\\') lo = parseEscape(true) as string | CharSet;
      else lo = c;
      if (typeof lo !== 'string') { union(out, lo); continue; }
      if (src[i] === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
        i++;
        c = src[i++];
        let hi: string | CharSet = c === '\\' ? (parseEscape(true) as string | CharSet) : c;
        if (typeof hi !== 'string') { union(out, setOfChar(lo, false)); union(out, hi); out.ascii[45] = 1; continue; }
        const a = lo.charCodeAt(0), b = hi.charCodeAt(0);
        if (a > b) throw new RegexSyntaxError('range out of order in character class');
        range(out, a, b);
        hi = '';
      } else union(out, setOfChar(lo, false));
    }
    return negated ? negate(out) : out;
  }

  const node = parseAlt();
  if (!eof()) throw new RegexSyntaxError(`unexpected ${src[i]} at ${i}`);
  return node;
}

/** Can the node match the empty string? */
export function nullable(n: Node): boolean {
  switch (n.type) {
    case 'char': case 'set': return false;
    case 'seq': return n.items.every(nullable);
    case 'alt': return n.alts.some(nullable);
    case 'group': return n.look || nullable(n.body);
    case 'repeat': return n.min === 0 || nullable(n.body);
    case 'assert': case 'backref': return true;
  }
}

/** The characters a match of the node can start with (null: unknown, e.g. a back-reference). */
export function firstChars(n: Node, fold: boolean): CharSet | null {
  const out = emptySet();
  const walk = (m: Node): boolean => { // returns whether m is nullable (so the next item also contributes)
    switch (m.type) {
      case 'char': union(out, setOfChar(m.ch, fold)); return false;
      case 'set': union(out, foldSet(m.set, fold)); return false;
      case 'seq': for (const it of m.items) if (!walk(it)) return false; return true;
      case 'alt': { let any = false; for (const a of m.alts) if (walk(a)) any = true; return any; }
      case 'group': if (m.look) return true; return walk(m.body);
      case 'repeat': { const e = walk(m.body); return e || m.min === 0; }
      case 'assert': return true;
      case 'backref': union(out, negate(emptySet())); return true;
    }
  };
  walk(n);
  return out;
}

function foldSet(s: CharSet, fold: boolean): CharSet {
  if (!fold) return s;
  const out = emptySet();
  union(out, s);
  for (let c = 65; c <= 90; c++) if (s.ascii[c] || s.ascii[c + 32]) out.ascii[c] = out.ascii[c + 32] = 1;
  return out;
}
