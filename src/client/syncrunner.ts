// A whole-state sync (the service proxy's nft ruleset, the ingress controller's nginx configuration) that many
// informer events ask for: requests arriving while a sync waits or runs fold into the next one, syncs start at
// most once per interval, a failed sync is retried with doubling back-off, and a caller that needs its change
// applied can wait for the first sync that started after its request (kube-proxy's bounded-frequency runner
// plays the same part).

export interface SyncRunnerOptions {
  /** Brings the world in line with the caches; a throw is logged and retried. */
  sync(): Promise<void>;
  /** Least time between the end of one sync and the start of the next, unless a caller asks with syncNow(). */
  minIntervalMs: number;
  /** The first retry's delay after a failure; it doubles up to maxBackoffMs and resets on success. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Whether syncing makes sense yet (the informers have synced); requests made before wait for the next one. */
  ready(): boolean;
  log(m: string): void;
}

interface Waiter {
  gen: number;
  resolve(): void;
  reject(e: Error): void;
}

export class SyncRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastSyncEnd = 0;
  private backoff = 0;
  /** Generation of the newest request, and the newest one a successful sync covered. */
  private requested = 0;
  private completed = 0;
  private readonly waiters: Waiter[] = [];
  private stoppedWith: Error | undefined;

  constructor(private readonly o: SyncRunnerOptions) {}

  /** Something changed: sync soon (rate-limited). */
  request(): void {
    this.requested++;
    if (this.o.ready()) this.schedule();
  }

  /** Sync now, past the rate limit; resolves when a sync that started after this call succeeded. */
  syncNow(): Promise<void> {
    if (this.stoppedWith) return Promise.reject(this.stoppedWith);
    this.requested++;
    const gen = this.requested;
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ gen, resolve, reject }));
    if (!this.o.ready()) return p; // the first sync once ready serves it
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.running) {
      this.lastSyncEnd = 0;
      this.schedule();
    }
    return p;
  }

  /** Something outside failed (e.g. a process the sync manages exited): wait longer before the next sync. */
  backOff(): void {
    this.backoff = Math.min(Math.max(this.backoff * 2, this.o.initialBackoffMs), this.o.maxBackoffMs);
  }

  /** No more syncs; waits for the one running, and fails the callers still waiting with `reason`. */
  async stop(reason: Error): Promise<void> {
    this.stoppedWith = reason;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    for (const w of this.waiters.splice(0)) w.reject(reason);
  }

  private schedule(): void {
    if (this.stoppedWith || this.timer || this.running) return;
    const wait = Math.max(0, this.lastSyncEnd + Math.max(this.o.minIntervalMs, this.backoff) - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.completed < this.requested) this.schedule();
      });
    }, wait);
  }

  private async run(): Promise<void> {
    const gen = this.requested;
    try {
      await this.o.sync();
      this.backoff = 0;
      this.completed = gen;
      this.settle(gen);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.backOff();
      this.o.log(`sync failed, retrying in ${this.backoff} ms: ${err.message}`);
      this.settle(gen, err);
    } finally {
      this.lastSyncEnd = Date.now();
    }
  }

  private settle(gen: number, err?: Error): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.gen > gen) continue;
      const w = this.waiters.splice(i, 1)[0]!;
      if (err) w.reject(err);
      else w.resolve();
    }
  }
}
