// One watcher's outbox, shared by the backends and the watch cache. Producers push events synchronously at
// the moment they are committed or fanned out; delivery happens on a later microtask. That keeps user
// callbacks out of commit and fan-out loops (a callback may cancel itself or open another watch), while the
// order of pushes, and so revision order, is preserved.

import type { WatchCallbacks, WatchEvent, Watcher } from './interface.js';

export class WatchSink implements Watcher {
  private pending: WatchEvent[] = [];
  private failure: Error | null = null;
  private scheduled = false;
  private done = false;
  /** Highest revision pushed so far; producers use it to drop duplicates. */
  lastRevision: number;

  constructor(private readonly cb: WatchCallbacks, afterRevision: number, private readonly onCancel?: () => void) {
    this.lastRevision = afterRevision;
  }

  get closed(): boolean {
    return this.done;
  }

  /** Queue events; any at or below lastRevision are skipped, so producers may overlap harmlessly. */
  push(events: readonly WatchEvent[]): void {
    if (this.done) return;
    // Compared with the floor at entry, so several events of one revision (an etcd transaction written by
    // another client) survive when they arrive together.
    const floor = this.lastRevision;
    for (const ev of events) {
      if (ev.kv.modRevision <= floor) continue;
      this.lastRevision = Math.max(this.lastRevision, ev.kv.modRevision);
      this.pending.push(ev);
    }
    if (this.pending.length > 0) this.schedule();
  }

  /** End the watch abnormally after the events already queued have been delivered. */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.failure = err;
    this.onCancel?.();
    this.schedule();
  }

  cancel(): void {
    this.pending = [];
    this.failure = null;
    if (this.done) return;
    this.done = true;
    this.onCancel?.();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      try {
        this.cb.onEvents(batch);
      } catch (err) {
        // A consumer that throws cannot be trusted to have seen the batch; end its watch rather than skip.
        if (!this.done) {
          this.done = true;
          this.onCancel?.();
          this.failure = err instanceof Error ? err : new Error(String(err));
        }
      }
    }
    if (this.failure) {
      const err = this.failure;
      this.failure = null;
      this.pending = [];
      this.cb.onError(err);
    }
  }
}
