/** Cookie header parsing for inspection: every `name=value` pair of every Cookie header, in order. */

/**
 * Split one Cookie header into pairs. Separator is `;` (RFC 6265; what Django and Node read),
 * names and values are trimmed, a value wrapped in double quotes is unwrapped, a piece without
 * `=` becomes a pair with an empty name (Django does the same). Values are not percent-decoded:
 * that is left to the signatures' transforms. At most `max` pairs are returned.
 */
export function parseCookieHeader(header: string, out: Array<[string, string]> = [], max = 10_000): Array<[string, string]> {
  let start = 0;
  const n = header.length;
  while (start <= n && out.length < max) {
    let end = header.indexOf(';', start);
    if (end < 0) end = n;
    const piece = header.slice(start, end);
    start = end + 1;
    const eq = piece.indexOf('=');
    let name: string;
    let value: string;
    if (eq < 0) {
      name = '';
      value = piece.trim();
    } else {
      name = piece.slice(0, eq).trim();
      value = piece.slice(eq + 1).trim();
    }
    if (name === '' && value === '') continue;
    if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) {
      value = value.slice(1, -1);
    }
    out.push([name, value]);
  }
  return out;
}
