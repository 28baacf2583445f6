/**
 * A string's UTF-16 code units in a shared typed array, for the per-character loops of the engine (literal scan,
 * trigger bits, whitespace removal).
 *
 * Why: the engine meets every kind of V8 string (sliced out of a body, concatenated, external for a large body,
 * one- or two-byte), and a `charCodeAt` loop that has seen several kinds runs the generic path: measured ~11 ns a
 * character against ~2.3 ns over a typed array. Copying the units is one native call (~0.1 ms per MiB, ~0.1 µs a
 * call), so it pays for itself from about ten characters on.
 */

type UnitsWriter = (this: Buffer, s: string, offset: number) => number;
const proto = Buffer.prototype as unknown as { ucs2Write?: UnitsWriter };
const fastWrite = typeof proto.ucs2Write === 'function' ? proto.ucs2Write : undefined;

let bytes = Buffer.allocUnsafeSlow(1 << 16);
let units = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);

/**
 * The code units of `s` at [0, s.length) of the returned array (shared: valid until the next call, so a caller must
 * not call anything that loads units while it reads them).
 */
export function codeUnits(s: string): Uint16Array {
  if (units.length < s.length) {
    bytes = Buffer.allocUnsafeSlow(s.length * 2 + 1024);
    units = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  }
  // Buffer's own ucs2Write skips `write`'s argument checks (a third of the cost on short strings).
  if (fastWrite !== undefined) fastWrite.call(bytes, s, 0);
  else bytes.write(s, 0, 'utf16le');
  return units;
}

/** Whether every character of `s` is ASCII. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) return false;
  return true;
}
