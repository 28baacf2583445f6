/** `bulwark explain`: run one request through the engine offline and print what fired, where, on which decoded value, and the verdict. */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { compileRuleset } from '../inspect/engine.ts';
import { compileSignature } from '../inspect/signature.ts';
import { readProfiles, readSignatureFiles } from '../signatures/loader.ts';
import { exampleToInput } from '../signatures/examples.ts';
import type { Exclusion, ParanoiaLevel, RequestInput, Verdict } from '../types.ts';

export interface ExplainOptions {
  method?: string;
  url?: string;
  header?: string[];
  body?: string;
  bodyFile?: string;
  pl: number;
  threshold: number;
  signatures: string;
  profile?: string[];
  json?: boolean;
}

/** Parse a raw HTTP/1.x request (CRLF or LF line ends); the body is cut at Content-Length when one is given. */
export function parseRawRequest(buf: Buffer): RequestInput {
  const text = buf.toString('latin1');
  let end = text.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = text.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) { end = lf; sep = 2; }
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split(/\r?\n/);
  while (lines.length && lines[0].trim() === '') lines.shift();
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d(?:\.\d)?)\s*$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP request line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Array<[string, string]> = [];
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c <= 0) throw new Error(`malformed header line: ${JSON.stringify(l.slice(0, 80))}`);
    headers.push([Buffer.from(l.slice(0, c).trim(), 'latin1').toString('utf8'), Buffer.from(l.slice(c + 1).trim(), 'latin1').toString('utf8')]);
  }
  let body: Buffer | null = end < 0 ? null : buf.subarray(Buffer.byteLength(text.slice(0, end), 'latin1') + sep);
  const cl = headers.find(([k]) => k.toLowerCase() === 'content-length');
  if (body && cl && /^\d+$/.test(cl[1])) body = body.subarray(0, Number(cl[1]));
  if (body && body.length === 0) body = null;
  return { method: m[1], url: m[2], httpVersion: m[3] ?? '1.1', headers, body };
}

/** The request from flags (defaults like signature examples: Host, User-Agent, Accept), or null when no --url. */
export function requestFromFlags(o: ExplainOptions): RequestInput | null {
  if (!o.url) return null;
  const headers: Record<string, string> = {};
  for (const h of o.header ?? []) {
    const c = h.indexOf(':');
    if (c <= 0) throw new InvalidArgumentError(`--header expects "Name: value", got ${JSON.stringify(h)}`);
    headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
  }
  const body = o.bodyFile ? readFileSync(o.bodyFile, 'utf8') : o.body;
  const input = exampleToInput({ method: o.method, uri: o.url, headers, body });
  if (o.bodyFile) input.body = readFileSync(o.bodyFile);
  return input;
}

/** Human-readable explanation of a verdict. */
export function formatVerdict(input: RequestInput, v: Verdict, info: { signatures: number; dir: string }): string {
  const out: string[] = [];
  out.push(`request:  ${input.method} ${input.url} HTTP/${input.httpVersion} (${input.headers.length} headers, body ${input.body?.length ?? 0} bytes)`);
  out.push(`ruleset:  ${info.signatures} signatures from ${info.dir}, paranoia ${v.paranoia}, threshold ${v.threshold}`);
  if (v.findings.length) {
    out.push('findings:');
    for (const f of v.findings) out.push(`  ${f.code}${f.target ? ` (${f.target})` : ''}: ${f.message}`);
  }
  if (v.matches.length === 0) out.push('matches:  none');
  else {
    out.push('matches:');
    for (const m of v.matches) {
      out.push(`  ${m.id} ${m.name} [${m.family}, PL${m.paranoia}, ${m.severity} +${m.score}]`);
      out.push(`    target:  ${m.target}`);
      out.push(`    value:   ${JSON.stringify(m.value)}`);
      out.push(`    matched: ${JSON.stringify(m.matched)}`);
    }
  }
  const decision = v.action === 'block' ? 'BLOCK (403)' : v.score >= v.threshold ? `${v.action.toUpperCase()}` : 'ALLOW';
  out.push(`score:    ${v.score} / threshold ${v.threshold} → ${decision}`);
  return out.join('\n') + '\n';
}

/** Run explain; returns the text (or JSON) to print. Nothing is sent anywhere. */
export function explain(input: RequestInput, o: ExplainOptions): string {
  const read = readSignatureFiles(o.signatures);
  const problems = read.problems.map((p) => `${p.file}: ${p.message}`);
  const usable = read.signatures.filter((s) => {
    try {
      compileSignature(s);
      return true;
    } catch (err) {
      problems.push(`signature ${s.id}: ${(err as Error).message}`);
      return false;
    }
  });
  let exclusions: Exclusion[] = [];
  if (o.profile?.length) {
    const profiles = readProfiles(join(o.signatures, 'profiles'));
    for (const name of o.profile) {
      const p = profiles[name];
      if (!p) throw new InvalidArgumentError(`unknown profile ${name} (known: ${Object.keys(profiles).join(', ') || 'none'})`);
      exclusions = exclusions.concat(p);
    }
  }
  const rs = compileRuleset(usable, { version: 0, exclusions });
  const verdict = rs.inspect(input, { paranoia: o.pl as ParanoiaLevel, threshold: o.threshold, mode: 'block' });
  if (o.json) return JSON.stringify({ verdict, skipped: problems }, null, 2) + '\n';
  const warn = problems.length ? problems.map((p) => `warning: left out: ${p}\n`).join('') : '';
  return warn + formatVerdict(input, verdict, { signatures: usable.length, dir: o.signatures });
}

const intIn = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}-${max}`);
  return n;
};
const collect = (v: string, prev: string[] = []) => prev.concat(v);

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('run one request through the signatures offline (raw HTTP on stdin, or --url ...) and explain the verdict')
    .option('-X, --method <method>', 'request method (default GET, or POST with a body)')
    .option('-u, --url <url>', 'request target, e.g. "/search?q=1%27+or+1=1--" (without it, raw HTTP is read from stdin)')
    .option('-H, --header <header>', '"Name: value" (repeatable)', collect)
    .option('-d, --body <body>', 'request body')
    .option('--body-file <file>', 'request body from a file')
    .option('--pl <level>', 'paranoia level 1-4', intIn('--pl', 1, 4), 1)
    .option('--threshold <n>', 'anomaly score threshold', intIn('--threshold', 1, 1000), 5)
    .option('--signatures <dir>', 'signature library directory', 'signatures')
    .option('--profile <name>', 'apply an exclusion profile from <signatures>/profiles (repeatable)', collect)
    .option('--json', 'print the verdict as JSON')
    .action(async (o: ExplainOptions) => {
      try {
        const input = requestFromFlags(o) ?? parseRawRequest(await readStdin());
        process.stdout.write(explain(input, o));
      } catch (err) {
        process.stderr.write(`bulwark explain: ${(err as Error).message}\n`);
        process.exitCode = 2;
      }
    });
}
