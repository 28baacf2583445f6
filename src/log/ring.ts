/** A fixed-size in-memory ring of recent events (newest last), with lookup by id; serves queries when Redis is absent. */
import type { WafEvent } from '../types.ts';

export class EventRing {
  private readonly buf: Array<WafEvent | undefined>;
  private next = 0;
  private size = 0;
  private readonly byId = new Map<string, WafEvent>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be a positive integer');
    this.buf = new Array(capacity);
  }

  /** Add an event (an id already held is ignored); the oldest falls out when full. */
  push(e: WafEvent): void {
    if (this.byId.has(e.id)) return;
    const old = this.buf[this.next];
    if (old) this.byId.delete(old.id);
    this.buf[this.next] = e;
    this.byId.set(e.id, e);
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  get(id: string): WafEvent | undefined {
    return this.byId.get(id);
  }

  get length(): number {
    return this.size;
  }

  /** Events newest first. */
  newestFirst(): WafEvent[] {
    const out: WafEvent[] = [];
    for (let i = 1; i <= this.size; i++) out.push(this.buf[(this.next - i + this.capacity) % this.capacity]!);
    return out;
  }
}
