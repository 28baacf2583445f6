/**
 * Decode chains as a trie and the per-request cache over it. Every distinct chain prefix of every signature is one
 * node (`url_decode_uni` → `url_decode_uni,lowercase` → …), so a request computes each (value, prefix) once, however
 * many signatures and targets ask for it. A step whose exact trigger characters are absent from its input is skipped
 * without calling the transform.
 */
import { transforms, type Transform } from './transforms.ts';
import { exactTriggers, T_NONASCII, valueTriggers } from './triggers.ts';

export class ChainTrie {
  /** Parent node of each node; node 0 is the raw value. */
  readonly parent: number[] = [-1];
  readonly fn: Array<Transform | null> = [null];
  /** Exact trigger bits of the node's transform. */
  readonly need: number[] = [0];
  /** The node's transform only lowers ASCII case on ASCII input (its output then equals its input up to case). */
  readonly caseOnly: boolean[] = [false];
  private readonly index = new Map<string, number>();

  /** The node of a chain (created with its prefixes when new); throws on an unknown transform name. */
  add(names: readonly string[]): number {
    let node = 0;
    for (const name of names) {
      const key = `${node}|${name}`;
      let id = this.index.get(key);
      if (id === undefined) {
        const fn = Object.hasOwn(transforms, name) ? transforms[name] : undefined;
        if (fn === undefined) throw new Error(`unknown transform ${name}`);
        id = this.parent.length;
        this.parent.push(node);
        this.fn.push(fn);
        this.need.push(exactTriggers(name));
        this.caseOnly.push(name === 'lowercase');
        this.index.set(key, id);
      }
      node = id;
    }
    return node;
  }

  get size(): number {
    return this.parent.length;
  }
}

/** One distinct raw value of a request: its decodes by trie node, their trigger bits, and what already ran on it. */
export interface DecodedValue {
  readonly values: Array<string | undefined>;
  readonly bits: number[];
  /** Whether the decode equals the raw value up to ASCII case (one literal scan of the raw value serves it). */
  readonly eq: boolean[];
  /** Signature indexes already tested on this value without a match (the same value under another target). */
  tested: number[] | null;
}

/** The per-request cache: one entry per distinct raw value. */
export class DecodeCache {
  private readonly byValue = new Map<string, DecodedValue>();
  constructor(private readonly trie: ChainTrie) {}

  get(raw: string): DecodedValue {
    let d = this.byValue.get(raw);
    if (d === undefined) {
      d = { values: [raw], bits: [valueTriggers(raw)], eq: [true], tested: null };
      this.byValue.set(raw, d);
    }
    return d;
  }

  /** The value after the chain ending at `node`. */
  value(d: DecodedValue, node: number): string {
    const have = d.values[node];
    if (have !== undefined) return have;
    const trie = this.trie;
    const p = trie.parent[node];
    const input = this.value(d, p);
    const inBits = d.bits[p];
    let out = input;
    let outBits = inBits;
    let eq = d.eq[p];
    if ((inBits & trie.need[node]) !== 0) {
      const r = (trie.fn[node] as Transform)(input);
      if (r.changed && r.value !== input) {
        out = r.value;
        outBits = valueTriggers(out);
        if (!trie.caseOnly[node] || (inBits & T_NONASCII) !== 0) eq = false;
      }
    }
    d.values[node] = out;
    d.bits[node] = outBits;
    d.eq[node] = eq;
    return out;
  }
}
