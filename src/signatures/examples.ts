/** Signature examples (`examples.match` / `examples.pass`) turned into engine requests. */

import type { ExampleRequest, RequestInput } from '../types.ts';

export const DEFAULT_EXAMPLE_HEADERS: Array<[string, string]> = [
  ['Host', 'localhost'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36'],
  ['Accept', '*/*'],
];

/**
 * A string is `GET <string>`. Headers default to Host / User-Agent / Accept unless given (a `null` value
 * removes a default); a body gets a Content-Length unless one is given.
 */
export function exampleToInput(ex: ExampleRequest): RequestInput {
  if (typeof ex === 'string') return { method: 'GET', url: ex, httpVersion: '1.1', headers: DEFAULT_EXAMPLE_HEADERS.map(([k, v]) => [k, v]), body: null };
  const given = Object.entries((ex.headers ?? {}) as Record<string, string | null>);
  const givenNames = new Set(given.map(([k]) => k.toLowerCase()));
  const headers: Array<[string, string]> = DEFAULT_EXAMPLE_HEADERS.filter(([k]) => !givenNames.has(k.toLowerCase())).map(([k, v]) => [k, v]);
  for (const [k, v] of given) if (v !== null) headers.push([k, v]);
  const body = ex.body === undefined ? null : Buffer.from(ex.body, 'utf8');
  if (body !== null && !givenNames.has('content-length') && !givenNames.has('transfer-encoding')) headers.push(['Content-Length', String(body.length)]);
  return { method: ex.method ?? (body ? 'POST' : 'GET'), url: ex.uri, httpVersion: '1.1', headers, body };
}

/** A one-line description of an example for messages. */
export function describeExample(ex: ExampleRequest): string {
  if (typeof ex === 'string') return `GET ${ex}`;
  const text = `${ex.method ?? (ex.body ? 'POST' : 'GET')} ${ex.uri}${ex.body ? ' body=' + JSON.stringify(ex.body.slice(0, 80)) : ''}`;
  return text.length > 160 ? text.slice(0, 157) + '...' : text;
}
