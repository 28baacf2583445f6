// The clean-target memo through the real proxy (config `inspection.memo`): a repeated clean request runs few of the
// signature regexes the second time; with `memo: 0` it runs them all again; an attack is blocked every time either
// way; a bad value is refused with its path. In the event loop (`inspection.thread: false`): the regex runs are
// counted in this thread.
import { request } from 'node:http';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { readSignatureFiles } from '../../src/signatures/loader.ts';
import { echo, startBackend } from '../helpers/backend.ts';
import { startTestBulwark } from '../helpers/bulwark.ts';

const sources = new Set(
  readSignatureFiles('signatures').signatures.filter((s) => s.operator === 'rx' || s.operator === 'rx_cs').map((s) => new RegExp(String(s.pattern)).source),
);
const browser = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  referer: 'https://shop.example.com/products',
  cookie: 'sessionid=k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8; csrftoken=Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7Aa6',
  host: 'shop.example.com',
};

/** Signature regex runs while `fn` runs (RegExp.prototype.exec counted by source). */
async function regexRuns(fn: () => Promise<void>): Promise<number> {
  const exec = RegExp.prototype.exec;
  let n = 0;
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    if (sources.has(this.source)) n++;
    return exec.call(this, s);
  };
  try {
    await fn();
  } finally {
    RegExp.prototype.exec = exec;
  }
  return n;
}

for (const memo of [undefined, 0]) {
  t.test(`inspection.memo ${memo === undefined ? 'default' : memo}: repeated clean request, then an attack`, async (t) => {
    const backend = await startBackend(echo);
    const b = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false }, inspection: { thread: false, ...(memo === undefined ? {} : { memo }) } });
    t.teardown(async () => {
      await b.close();
      await backend.close();
    });
    const get = async (q: string) => (await fetch(`${b.url}/products/list?category=shoes&sort=price_asc&q=${q}`, { headers: browser })).status;
    const first = await regexRuns(async () => { t.equal(await get('running+shoes'), 200); });
    const second = await regexRuns(async () => { t.equal(await get('running+shoes'), 200); });
    t.ok(first > 10, `the first request ran ${first} signature regexes`);
    if (memo === 0) t.ok(second >= first * 0.8, `without the memo the second ran ${second}`);
    else t.ok(second < first / 4, `with the memo the second ran ${second}`);
    t.equal(await get('1%27+union+select+password+from+users--'), 403, 'an attack is blocked');
    t.equal(await get('1%27+union+select+password+from+users--'), 403, 'and blocked again');
  });
}

t.test('a bad inspection.memo is refused with its path', async (t) => {
  const err = t.throws(() => loadConfig({ env: {}, object: { inspection: { memo: -1 } } })) as unknown as ConfigError;
  t.match(String(err.message), /inspection\.memo/);
});

t.test('a form through the proxy: forwarded byte for byte; its repeated fields are not evaluated again; an attack in one field blocks', async (t) => {
  const backend = await startBackend(echo);
  const b = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false }, inspection: { thread: false } });
  t.teardown(async () => {
    await b.close();
    await backend.close();
  });
  const fields = (tag: string) => Array.from({ length: 20 }, (_, i) => `field${i}=${encodeURIComponent(`O'Brien ${tag}${i} selects a union representative from the board`)}`);
  const post = async (first: string, extra = '', tag = 'a') => {
    const body = [`name=${first}`, ...fields(tag)].join('&') + extra;
    const res = await fetch(`${b.url}/form`, { method: 'POST', headers: { ...browser, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const text = await res.text();
    return { status: res.status, sent: body, forwarded: res.status === 200 ? Buffer.from(JSON.parse(text).body, 'base64').toString() : null };
  };
  const a = await post('anne');
  t.equal(a.status, 200);
  t.equal(a.forwarded, a.sent, 'the backend got the body as sent');
  // The 20 repeated fields (as arguments, names and raw parts) were remembered clean: the next form, with only its
  // first field changed, runs the regexes of that field alone, not those of the whole form again.
  const again = await regexRuns(async () => { t.equal((await post('bob')).status, 200); });
  const fresh = await regexRuns(async () => { t.equal((await post('bob', '', 'b')).status, 200); });
  t.ok(again * 4 < fresh, `one new field ran ${again} regexes; 20 new fields ran ${fresh}`);
  // A field naming a Java class marks the Java signatures that read `body_raw`: their regexes run on a part, never on
  // a string holding two fields, and not at all on parts seen before.
  const inputs: string[] = [];
  const exec = RegExp.prototype.exec;
  RegExp.prototype.exec = function (this: RegExp, v: string) {
    if (sources.has(this.source)) inputs.push(v);
    return exec.call(this, v);
  };
  try {
    t.equal((await post('erin', '&trace=see+java.io.IOException+in+the+log')).status, 200);
    t.ok(inputs.some((v) => /java\.io/i.test(v)), 'the Java field was tested');
    t.notOk(inputs.some((v) => v.includes('&')), 'no regex ran on two fields at once');
    inputs.length = 0;
    t.equal((await post('frank', '&trace=see+java.io.IOException+in+the+log')).status, 200);
    t.notOk(inputs.some((v) => /java\.io/i.test(v)), 'the same field in the next form: remembered clean');
  } finally {
    RegExp.prototype.exec = exec;
  }
  t.equal((await post('dave', '&note=%u0027')).status, 403, 'IIS %u encoding in one raw part of the body blocks');
  t.equal((await post('dave', '&note=%u0027')).status, 403, 'and blocks again');
});

t.test('query parts known clean still count: 250 remembered arguments plus 10 new ones are over the 255-argument limit', async (t) => {
  const backend = await startBackend(echo);
  const b = await startTestBulwark({ upstream: backend.origin, rateLimit: { enabled: false }, inspection: { thread: false } });
  t.teardown(async () => {
    await b.close();
    await backend.close();
  });
  const args = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `a${from + i}=${from + i}`).join('&');
  // node:http, not fetch: fetch does not send our Host, and an IP address in Host is itself a (scored) signal, so
  // the request would never be clean and nothing would be remembered.
  const get = (q: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${b.url}/search?${q}`, { headers: browser }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  t.equal(await get(args(0, 250)), 200);
  t.equal(await get(args(0, 250)), 200, 'the same 250 arguments again (now left out of the view as known clean)');
  t.equal(await get(`${args(0, 250)}&${args(250, 260)}`), 403, '260 arguments: blocked (signature 920240)');
});
