/** Append-only JSON-lines file with rotation by size and count (events.jsonl → .1 → .2 ...), written asynchronously in order. */
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export interface JsonlOptions {
  path: string;
  /** Rotate when the current file would grow past this many bytes. */
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  maxFiles: number;
  onError?: (err: Error) => void;
}

export class JsonlFile {
  private size = -1;
  private pending: string[] = [];
  private writing: Promise<void> | null = null;

  constructor(private readonly opts: JsonlOptions) {}

  /** Queue one record; returns at once. */
  append(record: unknown): void {
    this.pending.push(`${JSON.stringify(record)}\n`);
    this.writing ??= this.drain();
  }

  /** Resolves when everything appended so far is on disk. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length) {
        const lines = this.pending;
        this.pending = [];
        let chunk = '';
        let chunkBytes = 0;
        if (this.size < 0) this.size = await stat(this.opts.path).then((s) => s.size, () => 0);
        for (const line of lines) {
          const bytes = Buffer.byteLength(line);
          const current = this.size + chunkBytes;
          if (current > 0 && current + bytes > this.opts.maxBytes) {
            if (chunk) await this.write(chunk);
            chunk = '';
            chunkBytes = 0;
            await this.rotate();
          }
          chunk += line;
          chunkBytes += bytes;
        }
        if (chunk) await this.write(chunk);
      }
    } catch (e) {
      this.opts.onError?.(e as Error);
    } finally {
      this.writing = null;
      if (this.pending.length) this.writing = this.drain();
    }
  }

  private async write(chunk: string): Promise<void> {
    await mkdir(dirname(this.opts.path), { recursive: true });
    await appendFile(this.opts.path, chunk);
    this.size += Buffer.byteLength(chunk);
  }

  private async rotate(): Promise<void> {
    const { path, maxFiles } = this.opts;
    await rm(`${path}.${maxFiles}`, { force: true });
    for (let i = maxFiles - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
    if (maxFiles >= 1) await rename(path, `${path}.1`).catch(() => {});
    else await rm(path, { force: true });
    this.size = 0;
  }

  /** Files oldest first (rotated ones, then the current). */
  files(): string[] {
    const out: string[] = [];
    for (let i = this.opts.maxFiles; i >= 1; i--) out.push(`${this.opts.path}.${i}`);
    out.push(this.opts.path);
    return out;
  }

  /** Read every record, oldest first; lines that do not parse are skipped. */
  async *records(): AsyncGenerator<unknown> {
    for (const f of this.files()) {
      const exists = await stat(f).then(() => true, () => false);
      if (!exists) continue;
      const rl = createInterface({ input: createReadStream(f, 'utf8'), crlfDelay: Infinity });
      for await (const line of rl) {
        if (!line) continue;
        try {
          yield JSON.parse(line);
        } catch {
          /* a torn last line after a crash */
        }
      }
    }
  }
}
