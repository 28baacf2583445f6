/** Connection-level limits: concurrent connections per peer address, and requests in flight per client. */
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

/**
 * Caps concurrent TCP connections per peer address on a listening server: a connection over the cap is closed at
 * once (before any byte is parsed). Returns a function giving the current count for an address (for tests/metrics).
 */
export function capConnectionsPerPeer(server: Server, maxPerPeer: number, onReject?: (peer: string) => void): (peer: string) => number {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    const n = (open.get(peer) ?? 0) + 1;
    if (n > maxPerPeer) {
      onReject?.(peer);
      socket.destroy();
      return;
    }
    open.set(peer, n);
    socket.once('close', () => {
      const left = (open.get(peer) ?? 1) - 1;
      if (left <= 0) open.delete(peer);
      else open.set(peer, left);
    });
  });
  return (peer) => open.get(peer) ?? 0;
}

/** Counts requests in flight per client key; `enter` says whether one more is allowed. */
export class InFlight {
  private readonly counts = new Map<string, number>();
  constructor(private readonly max: number) {}

  enter(key: string): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  leave(key: string): void {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  current(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
