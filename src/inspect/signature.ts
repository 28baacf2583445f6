/** One signature compiled to run: its operator, the targets it selects and its transform chain, resolved once. */

import type { SignatureSpec } from '../types.ts';
import { SEVERITY_SCORE } from '../types.ts';
import { compileOperator, type CompiledOperator } from './operators.ts';
import { parseSelector, type Selector } from './selectors.ts';
import { transforms, type Transform } from './transforms.ts';

/** A signature ready to run. */
export interface CompiledSignature {
  spec: SignatureSpec;
  index: number;
  score: number;
  chain: Transform[];
  chainNames: string[];
  include: Selector[];
  exclude: Selector[];
  op: CompiledOperator;
}

/** Compile one signature (operator, selectors, transforms); throws an Error saying what is wrong. */
export function compileSignature(spec: SignatureSpec, index = 0): CompiledSignature {
  const include: Selector[] = [];
  const exclude: Selector[] = [];
  for (const t of spec.targets) {
    const sel = parseSelector(t);
    (sel.negated ? exclude : include).push(sel);
  }
  if (include.length === 0) throw new Error('no target selected (only negated selectors)');
  const chain = spec.transforms.map((name) => {
    const fn = Object.hasOwn(transforms, name) ? transforms[name] : undefined;
    if (fn === undefined) throw new Error(`unknown transform ${name}`);
    return fn;
  });
  const op = compileOperator(spec.operator, spec.pattern);
  if (!Object.hasOwn(SEVERITY_SCORE, spec.severity)) throw new Error(`unknown severity ${spec.severity}`);
  return { spec, index, score: SEVERITY_SCORE[spec.severity], chain, chainNames: spec.transforms, include, exclude, op };
}
