/** XSS detector: finds executing tags, event handlers, script URLs, attribute and JS-string break-outs and template sinks in a value. */
import { decodeEntities, scanTags, type HtmlTag } from './html-tokenizer.ts';
import type { Detection } from './sqli.ts';

export type { Detection } from './sqli.ts';

/** Only the first characters of a value are examined (bounded, linear work). */
export const XSS_MAX_INPUT = 16384;
const MAX_MATCHED = 160;

/** Elements that load a document, plugin or base URL once given one (`<object>` alone in prose, as in `Promise<Object>`, loads nothing). */
const LOAD_TAGS = new Set(['iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'vmlframe', 'import', 'portal', 'listener', 'handler']);
/** Attributes whose value is fetched or navigated to. */
const URL_ATTRS = new Set(['href', 'xlink:href', 'src', 'action', 'formaction', 'data', 'background', 'poster', 'lowsrc', 'dynsrc',
  'codebase', 'to', 'from', 'values', 'by', 'content', 'ping', 'cite', 'longdesc', 'manifest', 'archive', 'classid', 'srcset', 'code', 'movie']);
/** DOM event names, for handlers written outside a tag (attribute-context injection). */
const EVENTS = new Set(('abort afterprint animationend animationiteration animationstart auxclick beforecopy beforecut beforeinput ' +
  'beforepaste beforeprint beforeunload begin blur bounce canplay canplaythrough change click close contextmenu copy cuechange cut ' +
  'dblclick drag dragend dragenter dragleave dragover dragstart drop durationchange emptied end ended error finish focus focusin focusout ' +
  'formdata fullscreenchange hashchange input invalid keydown keypress keyup load loadeddata loadedmetadata loadend loadstart message ' +
  'mousedown mouseenter mouseleave mousemove mouseout mouseover mouseup mousewheel offline online pagehide pageshow paste pause play playing ' +
  'pointercancel pointerdown pointerenter pointerleave pointermove pointerout pointerover pointerup popstate progress ratechange readystatechange ' +
  'repeat reset resize scroll scrollend search seeked seeking select selectionchange selectstart show stalled start storage submit suspend ' +
  'timeupdate toggle touchend touchmove touchstart transitioncancel transitionend transitionrun transitionstart unload volumechange waiting ' +
  'wheel activate beforeactivate beforedeactivate deactivate filterchange propertychange help losecapture move moveend movestart ' +
  'webkitanimationend webkittransitionend zoom').split(' '));
const SCRIPT_MIME = /^(text\/html|image\/svg\+xml|application\/xhtml\+xml|text\/xml|application\/xml|text\/(?:java|ecma|vb)script|application\/(?:x-)?(?:java|ecma)script)\b/;

/**
 * Characters without which no check below can fire (tags, `:` of script URLs, `&` of entities, `=` of handlers, quotes
 * of break-outs, `{`/`$` of templates, `.`/`[`/`(` of sink code): most benign values have none and cost one scan.
 */
const XSS_NEEDS = /[<\uff1c:&='"`{$.[(]/;

/**
 * Returns a detection when `value` contains markup or script that a browser would run if the
 * value were reflected into HTML (text, attribute, URL or inline-script context); null otherwise.
 */
export function detectXss(value: string): Detection | null {
  if (value.length < 4 || !XSS_NEEDS.test(value)) return null;
  let src = value.length > XSS_MAX_INPUT ? value.slice(0, XSS_MAX_INPUT) : value;
  if (src.indexOf('\0') >= 0) src = src.replace(/\0/g, '');
  // Full-width angle brackets become real ones once an application NFKC-normalises the value.
  if (src.indexOf('\uff1c') >= 0) src = src.replace(/\uff1c/g, '<').replace(/\uff1e/g, '>');
  if (src.indexOf('<') >= 0) {
    const hit = findTag(src);
    if (hit) return hit;
  }
  const lower = src.toLowerCase();
  return scriptUrl(src, lower) ?? attributeBreakout(src, lower) ?? jsStringBreakout(src) ?? templateOrSink(src, lower);
}

function found(src: string, start: number, end: number, reason: string): Detection {
  return { matched: src.slice(start, Math.min(end, start + MAX_MATCHED)), reason: `xss: ${reason}` };
}

function findTag(src: string): Detection | null {
  let hit: Detection | null = null;
  scanTags(src, (tag) => {
    hit = checkTag(src, tag);
    return hit !== null;
  });
  return hit;
}

function checkTag(src: string, tag: HtmlTag): Detection | null {
  if (tag.closing) {
    return tag.local === 'script' ? found(src, tag.start, tag.end, 'closes a script element (script-context break-out)') : null;
  }
  if (tag.local === 'script' && scriptRuns(src, tag)) return found(src, tag.start, tag.end, `<${tag.name}> element runs script`);
  if (LOAD_TAGS.has(tag.local) && tag.attrs.some((a) => a.value !== '' || URL_ATTRS.has(a.name))) {
    return found(src, tag.start, tag.end, `<${tag.name}> element loads content`);
  }
  for (const a of tag.attrs) {
    if (/^on[a-z]{3,}/.test(a.name)) return found(src, a.start, a.end, `event handler attribute ${a.name} in <${tag.name}>`);
    if (URL_ATTRS.has(a.name) && a.value && isScriptUrl(a.value)) return found(src, a.start, a.end, `script URL in ${a.name} of <${tag.name}>`);
    if (a.name === 'srcdoc' && /[<&]/.test(a.value)) return found(src, a.start, a.end, `markup in srcdoc of <${tag.name}>`);
    if (a.name === 'style' && dangerousCss(decodeEntities(a.value))) return found(src, a.start, a.end, `script-running CSS in style of <${tag.name}>`);
    if (a.name === 'attributename' && /^\s*on|^\s*(xlink:)?href\s*$/i.test(a.value)) return found(src, a.start, a.end, `SVG animation of ${a.value} in <${tag.name}>`);
  }
  if (tag.local === 'meta') {
    const equiv = tag.attrs.find((a) => a.name === 'http-equiv');
    if (equiv && /refresh|set-cookie|content-security-policy/i.test(equiv.value)) return found(src, tag.start, tag.end, `<meta http-equiv=${equiv.value}>`);
  }
  if (tag.local === 'link' && tag.attrs.some((a) => a.name === 'href' && a.value.trim())) return found(src, tag.start, tag.end, '<link> loads an external resource');
  if (tag.local === 'style') {
    const close = src.toLowerCase().indexOf('</style', tag.end);
    const css = src.slice(tag.end, close < 0 ? Math.min(src.length, tag.end + 4096) : close);
    if (dangerousCss(decodeEntities(css))) return found(src, tag.start, close < 0 ? src.length : close, '<style> with script-running CSS');
  }
  return null;
}

/**
 * A script start tag runs something when it has attributes (`src`, `type`...), when the input
 * ends inside it or right after it, when its element is closed, or when its content is code.
 * "Add a <script> tag to the page" in prose is none of these.
 */
function scriptRuns(src: string, tag: HtmlTag): boolean {
  if (tag.open || tag.attrs.length > 0) return true;
  const rest = src.slice(tag.end, tag.end + 2048);
  if (rest.trim() === '' || /<\/script/i.test(rest)) return true;
  return jsLike(rest);
}

/** CSS that runs script or loads a stylesheet/binding: expression(), javascript: urls, -moz-binding, behavior, @import. */
function dangerousCss(css: string): boolean {
  // CSS escapes (`\6a`, `\j`) and comments are removed the way a CSS parser would see through them.
  // The comment and escape passes change nothing without `/*` or `\\` (the usual style value): skipped then.
  let plain = css.indexOf('/*') < 0 ? css : css.replace(/\/\*[\s\S]*?\*\//g, '');
  if (plain.indexOf('\\') >= 0) {
    plain = plain
      .replace(/\\([0-9a-fA-F]{1,6})\s?/g, (_m, h: string) => String.fromCodePoint(Math.min(parseInt(h, 16), 0x10ffff) || 0x20))
      .replace(/\\(.)/g, '$1');
  }
  plain = plain.replace(/[\s\u0000-\u001f]+/g, '').toLowerCase();
  return /expression\(|-moz-binding|behavior:|@import|url\((?:['"])?(?:javascript|vbscript|livescript):|url\((?:['"])?data:(?:text\/html|image\/svg)/.test(plain);
}

/** Browser view of a URL: entities decoded, leading controls/space dropped, tabs and newlines removed. */
function urlView(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return decodeEntities(raw).replace(/^[\u0000-\u0020]+/, '').replace(/[\t\n\r\u0000]/g, '').toLowerCase();
}

function isScriptUrl(raw: string): boolean {
  const v = urlView(raw.length > 512 ? raw.slice(0, 512) : raw);
  if (/^(?:java|vb|live)script:|^mocha:/.test(v)) return true;
  if (v.startsWith('data:')) return SCRIPT_MIME.test(v.slice(5).trimStart());
  return false;
}

/** Code after `javascript:` — a call, assignment, template, or punctuation start; not prose like "JavaScript: The Good Parts". */
function jsLike(rest: string): boolean {
  const s = rest.replace(/^(?:\s|\/\*[\s\S]*?\*\/)+/, '');
  if (s === '') return false;
  if (/^(?:\/\/|[([{'"!+\-~\\%])/.test(s)) return true;
  return /^(?:void|new|typeof|with|throw|if|for|while|var|let|const|function|delete|return)\b|^[\w$.[\]'"]{1,80}\s*[(`=]/.test(s);
}

const SCRIPT_URL_NEEDS = /script|data|[&\t\n\r]/;

/** `javascript:`/`vbscript:` followed by code, or a `data:` URL of an HTML/SVG/script type, anywhere in the value. */
function scriptUrl(src: string, lower: string): Detection | null {
  // The scheme needs `script` or `data`; the obfuscations need `&` or a tab/newline (the regex below, `&#|&[a-z]{2,8};`, is slower).
  if (!SCRIPT_URL_NEEDS.test(lower)) return null;
  const hasObfuscation = /&#|&[a-z]{2,8};|[\t\n\r]/.test(lower);
  const view = hasObfuscation ? decodeEntities(src).replace(/[\t\n\r]/g, '') : src;
  const lv = hasObfuscation ? view.toLowerCase() : lower;
  const re = /(?:java|vb|live)script\s*:|data\s*:/g;
  for (let m = re.exec(lv); m; m = re.exec(lv)) {
    const before = m.index > 0 ? lv.charCodeAt(m.index - 1) : 32;
    if ((before >= 97 && before <= 122) || (before >= 48 && before <= 57)) continue;
    const rest = view.slice(m.index + m[0].length, m.index + m[0].length + 200);
    if (m[0].startsWith('data')) {
      if (SCRIPT_MIME.test(rest.trimStart().toLowerCase())) return found(view, m.index, m.index + m[0].length + 40, 'data: URL of an HTML/SVG/script type');
      continue;
    }
    if (jsLike(rest)) return found(view, m.index, m.index + m[0].length + 60, `${m[0].replace(/\s/g, '')} URL with code`);
    // A scheme spelled with entities or control characters is an evasion whatever follows it.
    if (hasObfuscation && lower.indexOf(m[0]) < 0) return found(view, m.index, m.index + m[0].length + 60, `obfuscated ${m[0].replace(/\s/g, '')} URL`);
  }
  return null;
}

/**
 * An event handler outside any tag: after a quote that ends the attribute (`" onmouseover="…`),
 * or in an unquoted attribute (`x onfocus=alert(1)`) when the name is a DOM event and the value is code.
 */
function attributeBreakout(src: string, lower: string): Detection | null {
  if (lower.indexOf('on') < 0 || lower.indexOf('=') < 0) return null;
  const re = /(^|[\s"'`/;,])on([a-z]{3,40})\s*=\s*/g;
  for (let m = re.exec(lower); m; m = re.exec(lower)) {
    const at = m.index + m[1]!.length;
    let b = at - 1;
    while (b >= 0 && /[\s/]/.test(lower[b]!)) b--;
    const afterQuote = b >= 0 && /["'`]/.test(lower[b]!);
    const valueStart = m.index + m[0].length;
    const rest = src.slice(valueStart, valueStart + 200);
    if (afterQuote && (EVENTS.has(m[2]!) || jsLike(rest.replace(/^["'`]/, '')))) {
      return found(src, b, valueStart + 40, `attribute break-out with event handler on${m[2]}`);
    }
    if (EVENTS.has(m[2]!) && jsLike(rest.replace(/^["'`]/, ''))) return found(src, at, valueStart + 40, `event handler on${m[2]} with code`);
  }
  return null;
}

const CALL_AFTER_QUOTE = /\s*[;,+\-*|&)\]}][\s;,+\-*|&)\]}]*(?:(?:new|void|typeof|await|throw)\s+)?([A-Za-z_][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\[[^\]\n]{0,64}\]){0,8})([(`])/y;

/** In a JS string: the first quote of a kind ends it; an operator then a call that is closed and terminated forms script. */
function jsStringBreakout(src: string): Detection | null {
  // Backticks are left out: in text they are markdown code spans far more often than template literals.
  for (const q of ["'", '"']) {
    const i = src.indexOf(q);
    if (i < 0) continue;
    CALL_AFTER_QUOTE.lastIndex = i + 1;
    const m = CALL_AFTER_QUOTE.exec(src);
    if (!m) continue;
    const open = CALL_AFTER_QUOTE.lastIndex - 1;
    // A backtick after a backtick is a markdown code span (`--flag`), not a tagged template.
    const close = m[2] === '`' ? (q === '`' ? -1 : src.indexOf('`', open + 1)) : matchingParen(src, open);
    if (close < 0) continue;
    const after = src.slice(close + 1, close + 12);
    if (/^\s*(?:$|\/\/|<!--|<\/|[;+\-*/|&,)}\]'"`])/.test(after)) return found(src, i, close + 1, `JS string break-out calling ${m[1]}${m[2] === '`' ? '``' : '()'}`);
  }
  return null;
}

function matchingParen(src: string, open: number): number {
  let depth = 0;
  const end = Math.min(src.length, open + 400);
  for (let p = open; p < end; p++) {
    const c = src[p];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return p;
  }
  return -1;
}

/** AngularJS-style template expressions reaching Function, and values that are themselves DOM sink code. */
function templateOrSink(src: string, lower: string): Detection | null {
  for (let t = lower.indexOf('{{'), n = 0; t >= 0 && n < 32; t = lower.indexOf('{{', t + 2), n++) {
    const close = lower.indexOf('}}', t + 2);
    const body = lower.slice(t + 2, close < 0 ? Math.min(lower.length, t + 400) : Math.min(close, t + 400));
    if (/constructor|\$eval|\$on\b|\$emit|\b(?:alert|prompt|confirm|eval|fetch|import)\s*\(/.test(body)) return found(src, t, close < 0 ? t + 80 : close + 2, 'template expression reaching script');
  }
  // Template-literal injection: `${alert(1)}`, `${document.cookie}`.
  const tl = lower.indexOf('${') < 0 ? null : /\$\{\s*(?:(?:alert|prompt|confirm|eval|fetch|import|function|settimeout|setinterval)\s*[(`]|(?:document|window|top|self)\s*[.[]|[\w$.]*constructor\b)/.exec(lower);
  if (tl) return found(src, tl.index, tl.index + 60, 'template literal expression reaching script');
  if (!sinkCodePossible(lower)) return null;
  const code = lower.length > 400 ? lower.slice(0, 400) : lower;
  // Comments and the spaces around member access are invisible to JS: `document /*x*/ . cookie`.
  const compact = /\/\*|\s/.test(code) ? code.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\s*([.[\]()=`])\s*/g, '$1').trimStart() : code;
  if (/^[\w$.[\]()]{0,80}\.(?:call|apply|bind)`|^\[\]\.\w+\.call\b/.test(compact)) return found(src, 0, 60, 'tagged-template call gadget');
  const m = /^(?:\(?document\)?(?:\.|\[['"])(?:cookie|domain|location)\b(?!\s*\w)|document\.write(?:ln)?\(|window\.location\b(?!\s*\w)|(?:top|self|parent|window)\[['"`]|[\w$.]+\.(?:inner|outer)html=|eval\((?!\))|settimeout\(['"`]|new\s*function\()/.exec(compact);
  if (m) return found(src, 0, m[0].length + 40, 'value is DOM sink code');
  return null;
}


/**
 * A necessary condition for the sink-code patterns of templateOrSink, checked without building their input.
 * Both patterns are anchored at the start of `compact` (the first 400 characters with comments blanked, spaces around
 * `.[]()=` and backticks removed, leading spaces trimmed). That rewrite never joins or changes letters, so unless a
 * comment comes first, `compact` starts with what `lower` starts with after its spaces. The only alternatives not
 * tied to that start need a backtick (`x.call`...``) or `innerhtml`/`outerhtml` (`x.innerhtml=`: the letters stay together).
 */
function sinkCodePossible(lower: string): boolean {
  const code = lower.length > 400 ? lower.slice(0, 400) : lower;
  if (code.indexOf('`') >= 0 || code.indexOf('innerhtml') >= 0 || code.indexOf('outerhtml') >= 0) return true;
  let k = 0;
  while (k < code.length && isJsSpace(code.charCodeAt(k))) k++;
  if (k >= code.length) return false;
  switch (code.charCodeAt(k)) {
    case 47: return true; // `/`: a leading comment, compact starts after it
    case 40: case 91: return true; // `(document)...`, `[].x.call`
    case 100: return code.startsWith('document', k);
    case 119: return code.startsWith('window', k);
    case 116: return code.startsWith('top', k);
    case 115: return code.startsWith('self', k) || code.startsWith('settimeout', k);
    case 112: return code.startsWith('parent', k);
    case 101: return code.startsWith('eval', k);
    case 110: return code.startsWith('new', k);
    default: return false;
  }
}

/** The characters of the regex class `\s` (and of trimStart): JS WhiteSpace and LineTerminator. */
function isJsSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
