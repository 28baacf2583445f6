/** A bounded HTML tag scanner (start tags with attributes, end tags) following the browser's tokenizer rules closely enough for XSS detection. */

export interface HtmlAttr {
  /** Lower-cased attribute name as the browser would read it. */
  name: string;
  /** Raw value (entities not decoded), '' when the attribute has no value. */
  value: string;
  start: number;
  end: number;
}

export interface HtmlTag {
  /** Lower-cased tag name, including any `prefix:`. */
  name: string;
  /** Local name: the part after the last `:` (so `x:script` → `script`). */
  local: string;
  attrs: HtmlAttr[];
  start: number;
  /** Index after `>`, or the end of input for a tag the input leaves open. */
  end: number;
  closing: boolean;
  /** True when the input ended before `>` (the page's next `>` would close it). */
  open: boolean;
}

const MAX_ATTRS = 64;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}
function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

/**
 * Calls `visit` for each tag in `src[0..limit)` in order; stops early when `visit` returns true
 * or after `maxTags` tags. Comments, doctypes and processing instructions are skipped.
 */
export function scanTags(src: string, visit: (tag: HtmlTag) => boolean, limit = src.length, maxTags = 512): void {
  let pos = 0;
  let count = 0;
  while (pos < limit && count < maxTags) {
    const lt = src.indexOf('<', pos);
    if (lt < 0 || lt >= limit - 1) return;
    const c = src.charCodeAt(lt + 1);
    if (c === 33) { // <!-- comment -->, <!doctype ...>
      const close = src.startsWith('<!--', lt) ? src.indexOf('-->', lt + 4) : src.indexOf('>', lt + 2);
      pos = close < 0 ? limit : close + 1;
      continue;
    }
    if (c === 63) { // <? bogus comment up to the next >
      const close = src.indexOf('>', lt + 2);
      pos = close < 0 ? limit : close + 1;
      continue;
    }
    const closing = c === 47;
    const nameStart = closing ? lt + 2 : lt + 1;
    if (nameStart >= limit || !isAlpha(src.charCodeAt(nameStart))) { pos = lt + 1; continue; }
    let p = nameStart;
    while (p < limit) {
      const d = src.charCodeAt(p);
      if (isSpace(d) || d === 47 || d === 62) break;
      p++;
    }
    const name = src.slice(nameStart, p).toLowerCase();
    // indexOf first: V8's lastIndexOf is a slow runtime call, and most names have no prefix.
    const colon = name.indexOf(':') < 0 ? -1 : name.lastIndexOf(':');
    const tag: HtmlTag = { name, local: colon >= 0 ? name.slice(colon + 1) : name, attrs: [], start: lt, end: limit, closing, open: true };
    p = readAttributes(src, p, limit, tag);
    count++;
    if (visit(tag)) return;
    pos = Math.max(p, lt + 1);
  }
}

function readAttributes(src: string, from: number, limit: number, tag: HtmlTag): number {
  let p = from;
  while (p < limit) {
    let d = src.charCodeAt(p);
    while (p < limit && (isSpace(d) || d === 47)) { p++; d = src.charCodeAt(p); }
    if (p >= limit) break;
    if (d === 62) { tag.end = p + 1; tag.open = false; return p + 1; }
    const start = p;
    p++; // the first character may be anything (even `=`), per the HTML tokenizer
    while (p < limit) {
      d = src.charCodeAt(p);
      if (isSpace(d) || d === 47 || d === 62 || d === 61) break;
      p++;
    }
    const name = src.slice(start, p).toLowerCase();
    let q = p;
    while (q < limit && isSpace(src.charCodeAt(q))) q++;
    let value = '';
    if (q < limit && src.charCodeAt(q) === 61) {
      q++;
      while (q < limit && isSpace(src.charCodeAt(q))) q++;
      const quote = src.charCodeAt(q);
      if (quote === 34 || quote === 39) {
        const close = src.indexOf(String.fromCharCode(quote), q + 1);
        const stop = close < 0 || close >= limit ? limit : close;
        value = src.slice(q + 1, stop);
        p = stop + 1;
      } else {
        let r = q;
        while (r < limit && !isSpace(src.charCodeAt(r)) && src.charCodeAt(r) !== 62) r++;
        value = src.slice(q, r);
        p = r;
      }
    }
    if (tag.attrs.length < MAX_ATTRS) tag.attrs.push({ name, value, start, end: Math.min(p, limit) });
  }
  return limit;
}

const NAMED: Record<string, string> = {
  colon: ':', tab: '\t', newline: '\n', lpar: '(', rpar: ')', sol: '/', quot: '"', apos: "'", lt: '<', gt: '>',
  amp: '&', nbsp: ' ', grave: '`', period: '.', comma: ',', semi: ';', lsqb: '[', rsqb: ']', equals: '=', excl: '!',
};

/** Decodes numeric and the few named character references that matter for URL and script detection. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(/&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([a-zA-Z]{2,8}));?/g, (m, hex: string, dec: string, named: string) => {
    if (named) return NAMED[named.toLowerCase()] ?? m;
    const code = hex ? parseInt(hex, 16) : parseInt(dec, 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}
