// Table-driven tests for the SQL injection detector: attacks that must be found, prose and data that must not.
import t from 'tap';
import { detectSqli, SQLI_MAX_INPUT } from '../../../src/inspect/detectors/sqli.ts';

const attacks: string[] = [
  "1' or '1'='1",
  "1\" or \"1\"=\"1",
  "' or ''='",
  "admin'--",
  "admin' #",
  "admin'/*",
  "admin') --",
  "1 or 1=1",
  "1)) or 1=1--",
  "-1 or 1=1",
  "1 union select 1,2,3",
  "1 UNION ALL SELECT NULL,NULL--",
  "-1' union select username, password from users--",
  "x') union select 1,@@version#",
  "1/**/union/**/select/**/1,2",
  "1/*!50000union*/ /*!50000select*/ 1",
  "1 uNiOn SeLeCt 1",
  "0 union(select 1)",
  "'; drop table users--",
  "1; drop table users",
  "1; waitfor delay '0:0:5'--",
  "'; exec master..xp_cmdshell 'ping 127.0.0.1'--",
  "1'; declare @q varchar(99); set @q='x'--",
  "1; shutdown--",
  "1 and sleep(5)",
  "1' and sleep(5)#",
  "1 AND SLEEP(5)",
  "' || pg_sleep(10)--",
  "1 and benchmark(5000000,md5(1))",
  "1 AND extractvalue(1,concat(0x7e,version()))",
  "1' and updatexml(1,concat(0x7e,(select user())),1)--",
  "x' AND 1=(SELECT COUNT(*) FROM users)--",
  "1 and 1=(select 1 from dual)",
  "1' and (select 1 from (select sleep(5))a)--",
  "'1'='1' OR JSON_EXTRACT('{\"a\":1}','$.a')=1",
  "' or json_extract(data,'$.admin')=1--",
  "1' or '1'='1'--",
  "' or 1=1 limit 1--",
  "1' order by 3--",
  "1 order by 10",
  "1' group by password having 1=1--",
  "' having 1=1--",
  "foo')waitfor delay'0:0:20'--",
  "1 waitfor delay '0:0:5'",
  "1' into outfile '/tmp/x'--",
  "1 procedure analyse(extractvalue(1,1),1)",
  "'+sleep(5)+'",
  "'||(select version())||'",
  "1*(select 1)",
  "sleep(5)",
  "(select load_file('/etc/passwd'))",
  "sELecT slEep (20 dIv 3)",
  "1'or'1'='1",
  "1 xor 1=1",
  "' and 'a'='a",
  "' and 1 in (select 1)--",
  "1 && 1=1",
  "-1 or true--",
  "user'collate nocase--",
  "1' AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64--",
  "' or username like '%admin%",
  "1' and 526=527 and 'a'='a",
  "admin@example.com';",
  "EmptyValue', '4', '2', '7');declare @q varchar(99)",
  "test));declare @q varchar(99)",
  "OR '{\"b\":2}'::jsonb <@ '{\"a\":1}'::jsonb",
  "' UNION SELECT",
  "1') AND ('1'='1",
  "') OR ('a'='a",
  "IF(1=1,SLEEP(5),0)",
  "1;SELECT PG_SLEEP(5)--",
  "1 RLIKE (SELECT (CASE WHEN (1=1) THEN 1 ELSE 0x28 END))",
  "1' AND 1=CTXSYS.DRITHSX.SN(1,(SELECT banner FROM v$version WHERE ROWNUM=1))--",
  "OR json_extract('{\"id\": 14}', '$.id') = 14",
  "';SELECT P",
  "1 union#\ndistinctrow\u000bselect@.",
];

const benign: string[] = [
  "O'Brien",
  "Miles O'Brien",
  "d'Artagnan",
  "I'd like to select a union representative and drop the table from the order",
  "rock 'n' roll",
  "Rock'n'roll or jazz?",
  "1-2 or 3",
  "SELECT your plan",
  "Select all that apply",
  "union station",
  "The union select committee met today",
  "Please choose; select 3 items",
  "Hello; update the status when done",
  "Ken's; delete from list",
  "the boys' like button",
  "students' in class",
  "players' #1 pick",
  "kids' -- and parents' -- toys",
  "It's 5 o'clock somewhere",
  "don't; stop",
  "We're open 9-5 or by appointment",
  "john.o'reilly@example.com",
  "https://example.com/search?q=select+or+union&page=2",
  "2024-01-15",
  "15/01/2024 10:30",
  "$19.99",
  "€1.299,00",
  "1,299.00",
  "42",
  "-17",
  "3.14159",
  "0x1F",
  "1e10",
  "ACME Drop Table Co.",
  "Order by phone: 555-0199",
  "5 or more",
  "10 or 20 pieces",
  "Group by category, then sort",
  "**bold** and _italic_ and `code`",
  "# Heading\n\nSome *markdown* text",
  "- item one\n- item two or three",
  "Use `SELECT name FROM users WHERE id = 1` in the console",
  "x = 'a' OR y = 'b'",
  "He said \"yes\" or \"no\"",
  "\"quoted\" and then some",
  "'single quoted phrase'",
  "Women's & Men's shoes",
  "The 'Union' and 'Select' buttons",
  "I'm looking for 'union' or 'select' tutorials",
  "1 or true",
  "null",
  "true",
  "Dropbox, Inc.",
  "AT&T",
  "C++ and C# developers",
  "p@ss'w0rd!#",
  "Tr0ub4dor&3",
  "correct horse battery staple",
  "Ünïcödé naïve café",
  "東京都渋谷区",
  "Москва, ул. Ленина, д. 1",
  "São Paulo - SP",
  "12 Main St., Apt #4",
  "Flat 2/3, 10 O'Connell St",
  "iPhone 15 Pro (256GB) - Blue",
  "Sleep (8 hours) is important",
  "Where are you from?",
  "sleep well",
  "sleep(less) podcast",
  "And this in an OpenAPI v3 schema's `paths`:",
  "and Timeout= options in the [Service] section",
  "putenv() string must contain '='",
  "A leading `\"=\"` or `\"v\"` character is stripped off",
  "<a href=\"#install\">Installation</a>",
  "chalk.hex('#DEADED').underline('Hello, world!')",
  "To ignore all children, add '/**' to the ignore pattern.",
  "Fixed `dpkg-deb --help' and dpkg-deb(1) from reporting",
  "He said \"no\"--and left",
  "all programs' --version output",
  "in place of '=' or '<>'",
  "The add a question mark (\"?\") at the end",
  "and EXP(b) < EXP(c).",
  "He's 5' 10\" tall",
  "csrfmiddlewaretoken",
  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc-def_ghi",
];

t.test('attacks are detected', async (t) => {
  t.ok(attacks.length >= 60, `${attacks.length} attack cases`);
  for (const a of attacks) t.ok(detectSqli(a), `detects ${JSON.stringify(a)}`);
});

t.test('benign values are not detected', async (t) => {
  t.ok(benign.length >= 60, `${benign.length} benign cases`);
  for (const b of benign) {
    const r = detectSqli(b);
    t.equal(r, null, `allows ${JSON.stringify(b)}${r ? ` (fired: ${r.reason})` : ''}`);
  }
});

t.test('a detection names the injected part and the pattern', async (t) => {
  const r = detectSqli("abc' or '1'='1");
  t.ok(r);
  t.equal(r!.matched, "' or '1'='1");
  t.match(r!.reason, /single-quote/);
  t.match(r!.reason, /\[sLsCs\]/);
});

t.test('only the first SQLI_MAX_INPUT characters are examined', async (t) => {
  const pad = 'a'.repeat(SQLI_MAX_INPUT + 10);
  t.equal(detectSqli(pad + "' or 1=1--"), null);
  t.ok(detectSqli("1' or 1=1--" + pad));
});

t.test('pathological inputs finish quickly', async (t) => {
  const inputs = ["'".repeat(50000), '('.repeat(50000), '1 or '.repeat(10000), '/*'.repeat(20000), "' or (".repeat(8000), '-'.repeat(50000), '1 #\n'.repeat(5000), "1' union#\n".repeat(3000)];
  for (const s of inputs) {
    // Best of three: the machine is shared; a linear-time detector is fast in its quietest run.
    let ms = Infinity;
    for (let run = 0; run < 3; run++) {
      const t0 = process.hrtime.bigint();
      detectSqli(s);
      ms = Math.min(ms, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    t.ok(ms < 50, `${JSON.stringify(s.slice(0, 8))}… took ${ms.toFixed(2)} ms`);
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
      detectSqli(s);
    } catch (err) {
      if (thrown++ < 5) t.fail(`threw on ${JSON.stringify(s.slice(0, 200))}: ${(err as Error).message}`);
    }
  }
  t.equal(thrown, 0, 'no input throws');
});

t.test('constructs cut off at the examined-token limits neither throw nor count as the end of the input', async (t) => {
  const tails = ['union select', 'union all select', 'union select 1', '; drop table users', '; select', 'or 1=1', "' or 'a'='a", '; shutdown', '= 1', 'sleep(1) x'];
  for (const tail of tails) {
    for (let k = 0; k < 60; k++) {
      for (const head of ['', '1 ', "x' ", 'x" ', '1; ']) {
        const value = head + 'w '.repeat(k) + tail + ' and more words after it';
        try {
          detectSqli(value);
        } catch (err) {
          t.fail(`threw on ${JSON.stringify(value)}: ${(err as Error).message}`);
          return;
        }
      }
    }
  }
  // Prose whose 14th / 40th token is SELECT after UNION: the words that follow decide, not the cut.
  for (let k = 0; k < 45; k++) t.equal(detectSqli('w '.repeat(k) + 'the union select committee met on monday and tuesday'), null, `prose with ${k} leading words`);
});
