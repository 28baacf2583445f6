/**
 * Self-tests signatures off the request thread: one long-lived worker thread runs every example; results are cached
 * by the signature's text (description aside), so a reload only re-tests what changed. Falls back to this thread if no worker starts.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-script.ts';
import { checkSignature } from '../signatures/loader.ts';
import type { SignatureSpec } from '../types.ts';

const MAX_CACHE = 20_000;
const cache = new Map<string, string[]>();
let worker: Worker | null = null;
let workerBroken = false;
let seq = 0;
const pending = new Map<number, { resolve: (p: string[][]) => void; reject: (e: Error) => void }>();

function spawnWorker(): Worker {
  return startWorker(import.meta.url, 'self-test-worker');
}

function getWorker(): Worker | null {
  if (workerBroken) return null;
  if (worker) return worker;
  try {
    const w = spawnWorker();
    w.unref();
    w.on('message', (m: { id: number; problems?: string[][]; error?: string }) => {
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.problems) p.resolve(m.problems);
      else p.reject(new Error(m.error ?? 'self-test worker failed'));
    });
    const fail = (err: Error) => {
      workerBroken = true;
      worker = null;
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => { if (worker === w) fail(new Error(`self-test worker exited with ${code}`)); });
    worker = w;
    return w;
  } catch {
    workerBroken = true;
    return null;
  }
}

function runInWorker(specs: SignatureSpec[]): Promise<string[][]> {
  const w = getWorker();
  if (!w) return Promise.resolve(specs.map((s) => checkSignature(s)));
  const id = ++seq;
  return new Promise<string[][]>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, specs });
  }).finally(() => { if (pending.size === 0) worker?.unref(); })
    .catch(() => specs.map((s) => checkSignature(s)));
}

/** Problems per signature (empty array = passes its examples), in input order. */
/** What a self-test result depends on: the whole signature but its description (free text, never evaluated). */
function testKey(s: SignatureSpec): string {
  return JSON.stringify({ ...s, description: undefined });
}

export async function selfTestAll(specs: SignatureSpec[]): Promise<string[][]> {
  const keys = specs.map(testKey);
  const todo: number[] = [];
  keys.forEach((k, i) => { if (!cache.has(k)) todo.push(i); });
  if (todo.length) {
    const results = await runInWorker(todo.map((i) => specs[i]));
    if (cache.size + todo.length > MAX_CACHE) cache.clear();
    todo.forEach((i, j) => cache.set(keys[i], results[j]));
  }
  return keys.map((k) => cache.get(k)!);
}

/** Record signatures as passing without running them (the local library, checked by the library test and at push). */
export function trustAsTested(specs: SignatureSpec[]): void {
  for (const s of specs) {
    const key = testKey(s);
    if (!cache.has(key)) cache.set(key, []);
  }
}

/** Stop the worker (tests, shutdown). */
export async function stopSelfTestWorker(): Promise<void> {
  const w = worker;
  worker = null;
  if (w) await w.terminate();
}
