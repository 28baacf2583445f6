/** Worker thread body: self-tests signatures against their own examples so the request thread never runs them. */
import { parentPort } from 'node:worker_threads';
import { checkSignature } from '../signatures/loader.ts';
import type { SignatureSpec } from '../types.ts';

parentPort?.on('message', (msg: { id: number; specs: SignatureSpec[] }) => {
  try {
    parentPort!.postMessage({ id: msg.id, problems: msg.specs.map((s) => checkSignature(s)) });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
