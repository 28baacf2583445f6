// The detectors skip work when cheap checks prove nothing can be found (a context without its quote, a value that
// starts with a plain word, no SELECT/WAITFOR word or statement after `;`, no sink start...). These cases sit on the
// edges of those checks; the expected results are what the detectors decided before the checks existed
// (bench/detectors-diff.mjs compares the two builds on the corpora and on random token soups).
import t from 'tap';
import { detectSqli } from '../../../src/inspect/detectors/sqli.ts';
import { detectXss } from '../../../src/inspect/detectors/xss.ts';

/** [value, matched or null] */
const SQLI: Array<[string, string | null]> = [
  ["table  onload=<nullon(5) o'brien src=x &amp; n'shutdown", "'brien src=x &amp; n'shutdown"],
  ["x;'shutdown'", "x;'shutdown'"],
  ["x; \"shutdown\"", "x; \"shutdown\""],
  ["x;`sleep`(5)", "x;`sleep`("],
  ["x;sleep*/(5)", null],
  ["1;/*!50000select*/ 1", "1;/*!50000select*/ 1"],
  ["x; sleep /**/ (5)", "x; sleep /**/ ("],
  ["x;sleep(5)", "x;sleep("],
  ["x; select 1,2", "x; select 1"],
  ["x; dbms_lock.sleep(5)", "x; dbms_lock.sleep("],
  ["x;n'drop'", null],
  ["abc; drop table users", "abc; drop table users"],
  ["o'brien selects a union representative", null],
  ["o'brien; select 1 from users", "'brien; select 1"],
  ["1 union select 1", "1 union select 1"],
  ["selects", null],
  ["reselect", null],
  ["union.select 1", null],
  ["a waitfor delay '0:0:5'", "a waitfor delay '0:0:5'"],
  ["x' waitfor delay '0:0:5'--", "' waitfor delay '0:0:5'"],
  ["char (65)", null],
  ["sleep (5)", "sleep (5)"],
  ["sleep/**/(5)", "sleep/**/(5)"],
  ["sleep--\n(5)", "sleep--\n(5)"],
  ["n'abc' or 1=1", "n'abc' or 1=1"],
  ["_utf8'a' or 1=1", "_utf8'a' or 1=1"],
  ["x'1' or 1=1", "x'1' or 1=1"],
  ["e'x' union select 1", "e'x' union select 1"],
  ["or 1=1", "or 1=1"],
  ["and sleep(5)", "and sleep(5)"],
  ["select sleep(5)", "select sleep(5)"],
  ["not 1=1", null],
  ["xor 1 like 1", "xor 1 like 1"],
  ["-1 or 1=1", "-1 or 1=1"],
  ["+1 order by 3", "+1 order by 3"],
  ["1 or 1 like 1", "1 or 1 like 1"],
  ["2024-05-01", null],
  ["1*(select 1)", "1*(select 1"],
  ["1-sleep(5)", "1-sleep(5)"],
  ["\"a\" or \"b\"=\"b\"", "\"a\" or \"b\"=\"b\""],
  ["\"a\"; drop table x", "\"a\"; drop table x"],
  ["@a:=1", null],
  ["@@version", null],
  ["div 1", null],
  ["mod(1,2)", null],
  ["desc limit 1,2", null],
  ["user() ", null],
  ["k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8", null],
  ["mozilla/5.0 (x11; linux x86_64) applewebkit/537.36 (khtml, like gecko) chrome/124.0 safari/537.36", null],
  ["it's; update users set a=1", "'s; update users set a="],
  ["it's the user's data", null],
  ["i'd like it; where is it?", null],
  ["x'--", "'--"],
  ["x') or ('1'='1", "') or ('1'='1"],
  ["x' OR 1=1#", "' OR 1=1"],
  ["Kelvin' Kill", null],
  ["x' İf(1)", null],
  ["İ' or 1=1", "' or 1=1"],
];

const XSS: Array<[string, string | null]> = [
  ["document.cookie", "document.cookie"],
  ["  document.cookie", "  document.cookie"],
  ["(document).cookie", "(document).cookie"],
  ["/**/document.cookie", "/**/document.cookie"],
  ["window.location", "window.location"],
  ["top['alert'](1)", "top['alert'](1)"],
  ["self[`alert`](1)", "self[`alert`](1)"],
  ["parent['x']", "parent['x']"],
  ["eval(x)", "eval(x)"],
  ["settimeout('alert(1)')", "settimeout('alert(1)')"],
  ["new function(x)()", "new function(x)()"],
  ["[].map.call`${alert}`", "[].map.call`${alert}`"],
  ["x.innerhtml='<b>'", "x.innerhtml='<b>'"],
  ["a.outerhtml=b", "a.outerhtml=b"],
  ["foo.call`1`", "foo.call`1`"],
  ["document . cookie", "document . cookie"],
  ["mozilla/5.0 (khtml, like gecko)", null],
  ["javascript:alert(1)", "javascript:alert(1)"],
  ["java\tscript:alert(1)", "javascript:alert(1)"],
  ["&#106;avascript:alert(1)", "javascript:alert(1)"],
  ["data:text/html,<b>", "data:text/html,<b>"],
  ["<div style=\"width:expression(alert(1))\">", "style=\"width:expression(alert(1))\""],
  ["<div style=\"x:/**/expression(1)\">", "style=\"x:/**/expression(1)\""],
  ["<div style=\"background:url(\\6a avascript:alert(1))\">", "style=\"background:url(\\6a avascript:alert(1))\""],
  ["<x:script>alert(1)</x:script>", "<x:script>"],
  ["<svg:svg onload=alert(1)>", "onload=alert(1)"],
  ["${alert(1)}", "${alert(1)}"],
  ["{{constructor.constructor('alert(1)')()}}", "{{constructor.constructor('alert(1)')()}}"],
  ["42.50", null],
  ["shop.example.com", null],
];

t.test('SQL detector decisions at the edges of its pre-checks', async (t) => {
  for (const [value, matched] of SQLI) t.equal(detectSqli(value)?.matched ?? null, matched, JSON.stringify(value));
});

t.test('XSS detector decisions at the edges of its pre-checks', async (t) => {
  for (const [value, matched] of XSS) t.equal(detectXss(value)?.matched ?? null, matched, JSON.stringify(value));
});
