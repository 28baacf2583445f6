/**
 * Bounded request body reading. The whole body is buffered (never more than the route's hard limit) so the
 * bytes that were inspected are exactly the bytes forwarded.
 *
 * Two limits apply: the route's `maxBodyBytes` (hard: 413 above it) and `inspection.bodyLimit` (what the engine
 * reads). Policy 'reject' reads at most min(hard, inspection) bytes: a longer body is refused with 413, so nothing
 * uninspected ever reaches the backend. Policy 'partial' reads up to the hard limit and forwards all of it, but the
 * engine only sees the first `inspection.bodyLimit` bytes and the request is flagged `bodyTruncated` (the engine
 * reports it, so padding an attack past the limit is visible even when it is not blocked).
 */
import type { IncomingMessage } from 'node:http';
import { WafError } from '../errors.ts';
import type { BodyBudget } from './body-budget.ts';

/**
 * Read the whole body or reject with WAF_ERR_BODY_TOO_LARGE (limit) / WAF_ERR_BAD_REQUEST (client went away) /
 * WAF_ERR_OVERLOADED (`budget` full). With a budget, the body's bytes stay charged to it when this resolves: the
 * caller gives them back when the request is over; on a rejection they have been given back.
 */
export function readBody(stream: IncomingMessage, limit: number, budget?: BodyBudget): Promise<Buffer> {
  const declared = stream.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    stream.resume();
    return Promise.reject(new WafError('WAF_ERR_BODY_TOO_LARGE', undefined, { declared: Number(declared), limit }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onAborted);
    };
    /** Stop reading: what was charged goes back, the rest of the body is drained unread. */
    const refuse = (err: WafError) => {
      cleanup();
      budget?.give(size);
      chunks.length = 0;
      stream.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit) return refuse(new WafError('WAF_ERR_BODY_TOO_LARGE', undefined, { read: size + chunk.length, limit }));
      if (budget !== undefined && !budget.take(chunk.length)) return refuse(new WafError('WAF_ERR_OVERLOADED', 'Too many request bodies are held in memory.', { bodyBytesHeld: budget.held, maxBufferedBodyBytes: budget.max }));
      size += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      budget?.give(size);
      reject(new WafError('WAF_ERR_BAD_REQUEST', 'request body could not be read', { reason: err.message }, { cause: err }));
    };
    const onAborted = () => onError(new Error('client aborted'));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
  });
}

/** True when the request announces a body (Content-Length > 0 or any Transfer-Encoding). */
export function hasBody(req: IncomingMessage): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}
