/**
 * Client→server WebSocket frame filter (RFC 6455 §5): sits between the client socket and the upstream socket, forwards
 * every frame's bytes unchanged, but holds each text message (all its fragments) until it is complete and a check
 * has passed. Control frames are forwarded at once (they may interleave a fragmented message); binary messages and
 * messages over the cap (with `oversize: pass`) stream through uninspected.
 */

export type MessageDecision = 'forward' | { close: number; reason: string };

export interface FrameFilterOptions {
  /** Largest text message (bytes) inspected. */
  maxBytes: number;
  /** What happens to a larger text message: close the connection with 1009, or forward it uninspected. */
  oversize: 'close' | 'pass';
  /** Decide about one complete text message. */
  check(text: string): MessageDecision;
  /** Bytes to send upstream (unchanged frames). */
  forward(b: Buffer): void;
  /** Close the client's connection with a status code (and drop the upstream). */
  close(code: number, reason: string): void;
  /** Called when an oversize text message is forwarded uninspected. */
  passed?(bytes: number): void;
}

interface Head {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  headLen: number;
  len: number;
}

function parseHead(b: Buffer): Head | null {
  if (b.length < 2) return null;
  const masked = (b[1] & 0x80) !== 0;
  let len = b[1] & 0x7f;
  let headLen = 2;
  if (len === 126) {
    if (b.length < 4) return null;
    len = b.readUInt16BE(2);
    headLen = 4;
  } else if (len === 127) {
    if (b.length < 10) return null;
    const big = b.readBigUInt64BE(2);
    len = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    headLen = 10;
  }
  if (masked) headLen += 4;
  if (b.length < headLen) return null;
  return { fin: (b[0] & 0x80) !== 0, rsv: b[0] & 0x70, opcode: b[0] & 0x0f, masked, headLen, len };
}

/** A close frame from the server side (unmasked): 2-byte code + a short reason. */
export function closeFrame(code: number, reason = ''): Buffer {
  const r = Buffer.from(reason.slice(0, 120), 'utf8');
  const out = Buffer.alloc(4 + r.length);
  out[0] = 0x88;
  out[1] = 2 + r.length;
  out.writeUInt16BE(code, 2);
  r.copy(out, 4);
  return out;
}

export class ClientFrameFilter {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes of the current frame's payload still to stream through (pass-through mode). */
  private streaming = 0;
  /** The current data message: 'text' (held and inspected), 'pass' (streamed through) or null (none). */
  private message: 'text' | 'pass' | null = null;
  private held: Buffer[] = [];
  private textParts: Buffer[] = [];
  private textBytes = 0;
  private closed = false;

  constructor(private readonly o: FrameFilterOptions) {}

  push(chunk: Buffer): void {
    if (this.closed) return;
    let data = chunk;
    while (data.length > 0 && !this.closed) {
      if (this.streaming > 0) {
        const n = Math.min(this.streaming, data.length);
        this.o.forward(data.subarray(0, n));
        this.streaming -= n;
        data = data.subarray(n);
        continue;
      }
      this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
      data = Buffer.alloc(0);
      this.drain();
    }
  }

  private fail(code: number, reason: string): void {
    this.closed = true;
    this.held = [];
    this.textParts = [];
    this.o.close(code, reason);
  }

  /** Handle every complete frame (or frame head, when streaming) in `buf`. */
  private drain(): void {
    while (!this.closed && this.buf.length > 0) {
      const h = parseHead(this.buf);
      if (!h) return;
      const control = h.opcode >= 8;
      if (h.rsv !== 0) return this.fail(1002, 'compressed or extended frames are not accepted');
      if (control) {
        if (h.len > 125 || !h.fin) return this.fail(1002, 'bad control frame');
        if (this.buf.length < h.headLen + h.len) return;
        this.o.forward(this.buf.subarray(0, h.headLen + h.len));
        this.buf = this.buf.subarray(h.headLen + h.len);
        continue;
      }
      // Data frame: a new message (text 1 / binary 2) or a continuation (0).
      if (h.opcode === 0 && this.message === null) return this.fail(1002, 'continuation without a message');
      if (h.opcode !== 0 && this.message !== null) return this.fail(1002, 'new message inside a fragmented one');
      if (h.opcode !== 0 && h.opcode !== 1 && h.opcode !== 2) return this.fail(1002, 'unknown opcode');
      const kind = h.opcode === 1 ? 'text' : h.opcode === 2 ? 'pass' : this.message;
      // A text frame within the cap is handled only once complete: no state changes before that.
      if (kind === 'text' && this.textBytes + h.len <= this.o.maxBytes && this.buf.length < h.headLen + h.len) return;
      this.message = kind;
      if (this.message === 'text' && this.textBytes + h.len > this.o.maxBytes) {
        if (this.o.oversize === 'close') return this.fail(1009, 'message too big to inspect');
        // Pass it uninspected: what was held goes first, then the rest streams.
        this.o.passed?.(this.textBytes + h.len);
        for (const b of this.held) this.o.forward(b);
        this.held = [];
        this.textParts = [];
        this.textBytes = 0;
        this.message = 'pass';
      }
      if (this.message === 'pass') {
        const have = Math.min(this.buf.length, h.headLen + h.len);
        this.o.forward(this.buf.subarray(0, have));
        this.streaming = h.headLen + h.len - have;
        this.buf = this.buf.subarray(have);
        if (h.fin) this.message = null;
        if (this.streaming > 0) {
          // The rest of this frame arrives later through push(); nothing else can be in buf now.
          return;
        }
        continue;
      }
      // Text: hold the whole frame, unmask its payload.
      if (this.buf.length < h.headLen + h.len) return;
      const frame = this.buf.subarray(0, h.headLen + h.len);
      this.buf = this.buf.subarray(h.headLen + h.len);
      const payload = Buffer.from(frame.subarray(h.headLen));
      if (h.masked) {
        const key = frame.subarray(h.headLen - 4, h.headLen);
        for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      }
      this.held.push(Buffer.from(frame));
      this.textParts.push(payload);
      this.textBytes += payload.length;
      if (!h.fin) continue;
      const text = Buffer.concat(this.textParts).toString('utf8');
      const held = this.held;
      this.held = [];
      this.textParts = [];
      this.textBytes = 0;
      this.message = null;
      const d = this.o.check(text);
      if (d !== 'forward') return this.fail(d.close, d.reason);
      for (const b of held) this.o.forward(b);
    }
  }
}
