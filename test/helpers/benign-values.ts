// The strings of the benign request fixtures (test/fixtures/benign/*.jsonl): URIs, header values, bodies and, when
// asked, each body's `&`/`=`-separated parts. For tests that check a property over many real values.
import { readdirSync, readFileSync } from 'node:fs';

export function benignValues(opts: { bodyParts?: boolean } = {}): string[] {
  const out: string[] = [];
  const dir = new URL('../fixtures/benign/', import.meta.url);
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const line of readFileSync(new URL(f, dir), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as { uri: string; headers: Array<[string, string]>; body?: string };
      out.push(r.uri);
      for (const [, v] of r.headers) out.push(v);
      if (typeof r.body === 'string') {
        out.push(r.body);
        if (opts.bodyParts) out.push(...r.body.split(/[&=]/));
      }
    }
  }
  return out;
}
