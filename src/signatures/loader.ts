/**
 * Loads signatures/*.yaml and profiles/*.yaml: validates each entry, compiles it, self-tests every example,
 * and refuses duplicate ids, failing examples and ReDoS-prone patterns with messages naming the id.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { WafError } from '../errors.ts';
import { compileRuleset, type CompiledRuleset } from '../inspect/engine.ts';
import { compileSignature } from '../inspect/signature.ts';
import type { Exclusion, ExampleRequest, SignatureSpec } from '../types.ts';
import { describeExample, exampleToInput } from './examples.ts';
import { formatZodError, profileFileSchema, signatureFileSchema, signatureSchema } from './schema.ts';

export interface SignatureProblem {
  file: string;
  id?: number;
  message: string;
}

export interface LibraryRead {
  signatures: SignatureSpec[];
  /** Which file each signature came from. */
  fileOf: Map<number, string>;
  problems: SignatureProblem[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
}

/** Read and schema-check every signature file in `dir` (profiles/ excluded); problems are collected, not thrown. */
export function readSignatureFiles(dir: string): LibraryRead {
  const signatures: SignatureSpec[] = [];
  const fileOf = new Map<number, string>();
  const problems: SignatureProblem[] = [];
  for (const name of yamlFiles(dir)) {
    const file = join(dir, name);
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      problems.push({ file: name, message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` });
      continue;
    }
    const top = signatureFileSchema.safeParse(doc);
    if (!top.success) {
      problems.push({ file: name, message: formatZodError(top.error) });
      continue;
    }
    top.data.signatures.forEach((entry, i) => {
      const id = typeof (entry as { id?: unknown })?.id === 'number' ? (entry as { id: number }).id : undefined;
      const r = signatureSchema.safeParse(entry);
      if (!r.success) {
        problems.push({ file: name, id, message: `entry ${i + 1}${id ? ` (id ${id})` : ''}: ${formatZodError(r.error)}` });
        return;
      }
      const spec = r.data as SignatureSpec;
      if (spec.family !== top.data.family) {
        problems.push({ file: name, id, message: `signature ${spec.id}: family "${spec.family}" differs from the file's family "${top.data.family}"` });
        return;
      }
      if (fileOf.has(spec.id)) {
        problems.push({ file: name, id, message: `signature ${spec.id}: duplicate id (also in ${fileOf.get(spec.id)})` });
        return;
      }
      fileOf.set(spec.id, name);
      signatures.push(spec);
    });
  }
  return { signatures, fileOf, problems };
}

export interface ExampleFailure {
  kind: 'match' | 'pass';
  example: ExampleRequest;
  /** For a failing pass example: what fired it. */
  detail?: string;
}

/**
 * Run a signature against its own examples (paranoia ignored): every `match` must fire it, no `pass` may.
 * Throws when the signature does not compile.
 */
export function selfTest(spec: SignatureSpec): ExampleFailure[] {
  compileSignature(spec);
  const rs = compileRuleset([{ ...spec, paranoia: 1 }], { version: 0 });
  const ctx = { paranoia: 1, threshold: Number.MAX_SAFE_INTEGER, mode: 'detect' } as const;
  const failures: ExampleFailure[] = [];
  for (const ex of spec.examples.match) {
    const v = rs.inspect(exampleToInput(ex), ctx);
    if (!v.matches.some((m) => m.id === spec.id)) failures.push({ kind: 'match', example: ex });
  }
  for (const ex of spec.examples.pass) {
    const v = rs.inspect(exampleToInput(ex), ctx);
    const m = v.matches.find((x) => x.id === spec.id);
    if (m) failures.push({ kind: 'pass', example: ex, detail: `fired on ${m.target}: ${JSON.stringify(m.matched)}` });
  }
  return failures;
}

/** Messages for one signature's compile and example problems (empty: good). */
export function checkSignature(spec: SignatureSpec): string[] {
  try {
    return selfTest(spec).map((f) =>
      f.kind === 'match'
        ? `signature ${spec.id}: examples.match does not fire it: ${describeExample(f.example)}`
        : `signature ${spec.id}: examples.pass fires it: ${describeExample(f.example)} (${f.detail})`,
    );
  } catch (err) {
    return [`signature ${spec.id} (${spec.name}): ${(err as Error).message}`];
  }
}

export interface Library {
  signatures: SignatureSpec[];
  profiles: Record<string, Exclusion[]>;
}

/** Read profiles/*.yaml (`{ profile, exclusions }`) under `dir`; throws naming the file on a bad one. */
export function readProfiles(dir: string): Record<string, Exclusion[]> {
  const out: Record<string, Exclusion[]> = {};
  let names: string[];
  try {
    names = yamlFiles(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(join(dir, name), 'utf8'));
    } catch (err) {
      throw new WafError('WAF_ERR_SIGNATURE_INVALID', `profiles/${name}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
    }
    const r = profileFileSchema.safeParse(doc);
    if (!r.success) throw new WafError('WAF_ERR_SIGNATURE_INVALID', `profiles/${name}: ${formatZodError(r.error)}`);
    out[r.data.profile] = r.data.exclusions as Exclusion[];
  }
  return out;
}

/**
 * Load the library in `dir` (signatures/*.yaml + profiles/*.yaml), self-testing every signature.
 * Throws WafError WAF_ERR_SIGNATURE_INVALID listing every problem (each naming its file and id).
 */
export function loadLibrary(dir: string, opts: { selfTest?: boolean } = {}): Library {
  const read = readSignatureFiles(dir);
  const problems = read.problems.map((p) => `${p.file}: ${p.message}`);
  if (opts.selfTest !== false) {
    for (const spec of read.signatures) for (const msg of checkSignature(spec)) problems.push(`${read.fileOf.get(spec.id)}: ${msg}`);
  }
  if (problems.length > 0) throw new WafError('WAF_ERR_SIGNATURE_INVALID', `signature library ${dir} refused:\n  ${problems.join('\n  ')}`, problems);
  const profiles = readProfiles(join(dir, 'profiles'));
  for (const [name, list] of Object.entries(profiles)) {
    try {
      compileRuleset([], { version: 0, exclusions: list });
    } catch (err) {
      throw new WafError('WAF_ERR_SIGNATURE_INVALID', `profile ${name}: ${(err as Error).message}`);
    }
  }
  return { signatures: read.signatures, profiles };
}

/** Load and compile in one step (for the CLI and tools). */
export function loadRuleset(dir: string, opts: { version?: number; exclusions?: Exclusion[]; selfTest?: boolean } = {}): { library: Library; ruleset: CompiledRuleset } {
  const library = loadLibrary(dir, { selfTest: opts.selfTest });
  return { library, ruleset: compileRuleset(library.signatures, { version: opts.version ?? 0, exclusions: opts.exclusions }) };
}
