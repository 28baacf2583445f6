/** Starting a worker thread from a module next to the caller, whether the code runs built (.js) or from its .ts sources. */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * `new Worker` for `name` (without extension) beside `base` (the caller's `import.meta.url`). Built code runs the .js
 * file; from the .ts sources (tests, tsx) the worker first registers tsx's loader, then imports the .ts file.
 */
export function startWorker(base: string, name: string, options?: WorkerOptions): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), options);
  const api = import.meta.resolve('tsx/esm/api');
  const file = new URL(`./${name}.ts`, base).href;
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })`, { ...options, eval: true });
}
