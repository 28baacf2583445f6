/**
 * The live ruleset holder: keeps one compiled snapshot, follows the store (pub/sub, reconnect, poll), compiles and
 * self-tests a new version off the request path and swaps it in with one assignment, so a request that read
 * `current()` is evaluated wholly by one version. A version that fails to compile never replaces the live one.
 */
import type { Mode } from '../types.ts';
import type { RuleStore } from './store.ts';
import { contentOf, makeSnapshot, type RuleSnapshot, type SnapshotContent } from './snapshot.ts';

/** Compile (and self-test) snapshot content; throw (or reject) with a clear message when it is unusable. */
export type Compiler<T> = (content: SnapshotContent, version: number) => T | Promise<T>;

export interface Live<T> {
  version: number;
  compiled: T;
  snapshot: RuleSnapshot;
  loadedAt: number;
}

export interface LiveStatus {
  version: number;
  store: 'memory' | 'redis';
  storeReachable: boolean;
  lastError: string | null;
  loadedAt: string;
  /** Milliseconds the last swap took to compile. */
  compileMs: number;
}

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface LiveOptions<T> {
  store: RuleStore;
  compile: Compiler<T>;
  /** What to run before the store answers: the library from signatures/ plus the config file. */
  base: SnapshotContent;
  log?: Logger;
  /** Re-check the latest version this often (covers a lost pub/sub message). 0 disables. */
  pollMs?: number;
  /** How long start() waits for the store before serving the base snapshot. */
  startWaitMs?: number;
}

const noLog: Logger = { info() {}, warn() {}, error() {} };

export class LiveRuleset<T> {
  private state!: Live<T>;
  private lastError: string | null = null;
  private compileMs = 0;
  private syncing: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly unsubs: Array<() => void> = [];
  private readonly log: Logger;

  constructor(private readonly opts: LiveOptions<T>) {
    this.log = opts.log ?? noLog;
  }

  /** The compiled ruleset of the live version (read once per request). */
  current(): T {
    if (!this.state) throw new Error('live ruleset not started');
    return this.state.compiled;
  }

  /** Version, compiled ruleset and snapshot together (all of one version). */
  live(): Live<T> {
    return this.state;
  }

  /** The mode a site has in the live snapshot, if one was set through the store. */
  modeFor(site: string): Mode | undefined {
    return this.state.snapshot.siteModes[site];
  }

  status(): LiveStatus {
    const s = this.opts.store.status();
    return {
      version: this.state?.version ?? -1,
      store: s.kind,
      storeReachable: s.reachable,
      lastError: this.lastError ?? s.lastError,
      loadedAt: this.state ? new Date(this.state.loadedAt).toISOString() : '',
      compileMs: Math.round(this.compileMs * 10) / 10,
    };
  }

  /** Connect to the store and follow it. Resolves after the first sync or `startWaitMs`, whichever is first. */
  async start(): Promise<void> {
    const { store } = this.opts;
    let reached!: () => void;
    const reachable = new Promise<void>((r) => { reached = r; });
    this.unsubs.push(store.onPublished((v) => { if (this.state && v !== this.state.version) this.sync(); }));
    this.unsubs.push(store.onReconnect(() => { reached(); if (this.state) this.sync(); }));
    await store.start();
    const wait = this.opts.startWaitMs ?? 2000;
    await Promise.race([reachable, new Promise<void>((r) => setTimeout(r, wait).unref())]);
    // First version: the store's latest (or ours, seeded into an empty store), compiled once; else the local base.
    if (store.status().reachable) await this.initialFromStore();
    if (!this.state) {
      const snapshot = makeSnapshot(this.opts.base, { version: 0, author: 'local', change: 'signatures/ and config file' });
      const t0 = performance.now();
      this.state = { version: 0, compiled: await this.opts.compile(snapshot, 0), snapshot, loadedAt: Date.now() };
      this.compileMs = performance.now() - t0;
      if (!store.status().reachable) this.log.warn(`rule store (${store.kind}) not reachable: serving signatures/ and config, will load the published version when it is`);
    }
    if (this.opts.pollMs) {
      this.timer = setInterval(() => { if (store.status().reachable) this.sync(); }, this.opts.pollMs);
      this.timer.unref();
    }
    // Anything published while we compiled.
    if (store.status().reachable) await this.sync();
  }

  private async initialFromStore(): Promise<void> {
    const { store } = this.opts;
    try {
      let snap = await store.load();
      if (!snap) {
        const seed = makeSnapshot(this.opts.base, { version: 1, author: 'bulwark', change: 'seeded from signatures/ and config' });
        const r = await store.commit(seed, { version: 1, at: seed.createdAt, author: seed.author, action: 'seed', detail: seed.change }, 0);
        snap = r.ok ? seed : await store.load();
      }
      if (!snap) return;
      const t0 = performance.now();
      this.state = { version: snap.version, compiled: await this.opts.compile(snap, snap.version), snapshot: snap, loadedAt: Date.now() };
      this.compileMs = performance.now() - t0;
      this.log.info(`rules: version ${snap.version} live from the ${store.kind} store (${snap.change})`);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.error(`rule store: cannot use the stored version (${this.lastError}); serving signatures/ and config`);
    }
  }

  /** Bring the live version in line with the store (coalesces concurrent calls). */
  sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again);
    })().finally(() => { this.syncing = null; });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const { store } = this.opts;
    try {
      const latest = await store.latestVersion();
      if (latest === 0) {
        // Empty store (first start, or Redis came back without data): publish what we serve so others follow it.
        const seed = makeSnapshot(contentOf(this.state.snapshot), {
          version: Math.max(1, this.state.version), author: 'bulwark', change: this.state.version ? `re-seeded with version ${this.state.version} after the store lost its data` : 'seeded from signatures/ and config',
        });
        const r = await store.commit(seed, { version: seed.version, at: seed.createdAt, author: seed.author, action: 'seed', detail: seed.change }, 0);
        if (r.ok) await this.install(seed);
        else this.again = true;
        return;
      }
      if (latest === this.state.version) return;
      const snap = await store.load(latest);
      if (!snap) throw new Error(`version ${latest} is announced but not stored`);
      await this.install(snap);
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log.warn(`rule store sync failed: ${this.lastError}; keeping version ${this.state.version}`);
    }
  }

  /** Compile a snapshot and make it live; on failure keep the previous version and log. Returns whether it swapped. */
  async install(snap: RuleSnapshot): Promise<boolean> {
    if (snap.version === this.state.version) return true;
    const t0 = performance.now();
    let compiled: T;
    try {
      compiled = await this.opts.compile(snap, snap.version);
    } catch (err) {
      this.lastError = `version ${snap.version} refused: ${(err as Error).message}`;
      this.log.error(`rule store: ${this.lastError}; keeping version ${this.state.version}`);
      return false;
    }
    if (snap.version === this.state.version) return true; // installed meanwhile by the change path
    this.compileMs = performance.now() - t0;
    const from = this.state.version;
    this.state = { version: snap.version, compiled, snapshot: snap, loadedAt: Date.now() };
    this.lastError = null;
    this.log.info(`rules: version ${from} → ${snap.version} live (${snap.change}; compiled in ${this.compileMs.toFixed(0)} ms)`);
    return true;
  }

  /** Swap in a snapshot compiled by the caller (the change path compiled it to validate it already). */
  installCompiled(snap: RuleSnapshot, compiled: T): void {
    if (snap.version <= this.state.version && this.state.version !== 0) return;
    this.state = { version: snap.version, compiled, snapshot: snap, loadedAt: Date.now() };
    this.lastError = null;
    this.log.info(`rules: version ${snap.version} live (${snap.change})`);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubs.splice(0)) u();
    if (this.syncing) await this.syncing.catch(() => undefined);
  }
}
