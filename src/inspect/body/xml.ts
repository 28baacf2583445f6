/** XML body reading without a DTD: text and attribute values by element path; DOCTYPE/ENTITY are findings, never expanded or fetched. */

export interface XmlSink {
  /** Text (or CDATA) of element `path` (`root.user.name`) or an attribute value (`root.user@id`); false stops. */
  value(path: string, value: string): boolean;
  /** An element or attribute name met at `path`. */
  name(path: string, name: string): void;
}

export interface XmlOutcome {
  /** Not well-formed (unclosed or mismatched tags, bad syntax, text outside the root, ...): the reason. */
  invalid?: string;
  /** A DOCTYPE or ENTITY declaration was present (skipped, not expanded). */
  doctype: boolean;
  tooDeep: boolean;
  stopped: boolean;
}

const NAME = /[A-Za-z_:][\w.:\-\u00b7-\uffff]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decode the five predefined entities and character references; any other `&name;` stays as written. */
export function decodeXmlText(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z]+);/g, (m, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return PREDEFINED[ref] ?? m;
  });
}

/** Skip a `<!DOCTYPE ...>` including an internal subset `[...]`, honouring quotes. Returns the index after it, or -1. */
function skipDeclaration(s: string, i: number): number {
  let bracket = 0;
  let quote = '';
  for (let j = i; j < s.length; j++) {
    const c = s[j];
    if (quote !== '') {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[') bracket++;
    else if (c === ']') bracket--;
    else if (c === '>' && bracket <= 0) return j + 1;
  }
  return -1;
}

/** Read `text` as XML. Never throws, never expands entities beyond the predefined five and char refs. */
export function readXml(text: string, maxDepth: number, sink: XmlSink): XmlOutcome {
  const out: XmlOutcome = { doctype: false, tooDeep: false, stopped: false };
  const stack: string[] = [];
  const paths: string[] = [];
  let rootSeen = false;
  let i = 0;
  const n = text.length;
  const fail = (why: string): XmlOutcome => {
    out.invalid ??= why;
    return out;
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const chunkEnd = lt < 0 ? n : lt;
    if (chunkEnd > i) {
      const raw = text.slice(i, chunkEnd);
      if (stack.length === 0) {
        if (raw.trim() !== '') fail('text outside the root element');
      } else if (raw.trim() !== '') {
        if (!sink.value(paths[paths.length - 1], decodeXmlText(raw))) {
          out.stopped = true;
          return out;
        }
      }
    }
    if (lt < 0) break;
    i = lt;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end < 0) return fail('unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) return fail('unterminated comment');
      i = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) return fail('unterminated CDATA section');
      if (stack.length === 0) fail('CDATA outside the root element');
      else if (!sink.value(paths[paths.length - 1], text.slice(i + 9, end))) {
        out.stopped = true;
        return out;
      }
      i = end + 3;
      continue;
    }
    if (text.startsWith('<!', i)) {
      out.doctype = true;
      const end = skipDeclaration(text, i + 2);
      if (end < 0) return fail('unterminated declaration');
      i = end;
      continue;
    }
    if (text.startsWith('</', i)) {
      NAME.lastIndex = i + 2;
      const m = NAME.exec(text);
      if (!m) return fail('bad closing tag');
      const gt = text.indexOf('>', NAME.lastIndex);
      if (gt < 0 || text.slice(NAME.lastIndex, gt).trim() !== '') return fail('bad closing tag');
      if (stack.length === 0 || stack[stack.length - 1] !== m[0]) return fail(`closing tag </${m[0].slice(0, 40)}> does not match`);
      stack.pop();
      paths.pop();
      i = gt + 1;
      continue;
    }
    // Start tag.
    NAME.lastIndex = i + 1;
    const m = NAME.exec(text);
    if (!m) return fail('bad tag name');
    const tag = m[0];
    if (stack.length === 0 && rootSeen) fail('more than one root element');
    rootSeen = true;
    const path = paths.length === 0 ? tag : paths[paths.length - 1] + '.' + tag;
    sink.name(path, tag);
    let j = NAME.lastIndex;
    let selfClosing = false;
    const seenAttrs = new Set<string>();
    for (;;) {
      while (j < n && /\s/.test(text[j])) j++;
      if (j >= n) return fail('unterminated start tag');
      if (text[j] === '>') {
        j++;
        break;
      }
      if (text[j] === '/' && text[j + 1] === '>') {
        selfClosing = true;
        j += 2;
        break;
      }
      NAME.lastIndex = j;
      const a = NAME.exec(text);
      if (!a) return fail('bad attribute');
      j = NAME.lastIndex;
      while (j < n && /\s/.test(text[j])) j++;
      if (text[j] !== '=') return fail('attribute without value');
      j++;
      while (j < n && /\s/.test(text[j])) j++;
      const q = text[j];
      if (q !== '"' && q !== "'") return fail('unquoted attribute value');
      const close = text.indexOf(q, j + 1);
      if (close < 0) return fail('unterminated attribute value');
      const raw = text.slice(j + 1, close);
      if (raw.includes('<')) fail('< in attribute value');
      if (seenAttrs.has(a[0])) fail('duplicate attribute');
      seenAttrs.add(a[0]);
      const apath = path + '@' + a[0];
      sink.name(apath, a[0]);
      if (!sink.value(apath, decodeXmlText(raw))) {
        out.stopped = true;
        return out;
      }
      j = close + 1;
      if (j < n && !/[\s/>]/.test(text[j])) return fail('attributes not separated by space');
    }
    i = j;
    if (!selfClosing) {
      if (stack.length >= maxDepth) {
        out.tooDeep = true;
        // Keep reading with a capped path so nothing is hidden by nesting.
        stack.push(tag);
        paths.push(paths[paths.length - 1]);
      } else {
        stack.push(tag);
        paths.push(path);
      }
    }
  }
  if (stack.length > 0) return fail(`unclosed element <${stack[stack.length - 1].slice(0, 40)}>`);
  if (!rootSeen) return fail('no root element');
  return out;
}
