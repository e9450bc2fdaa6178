import type { WorkQueue } from '../../client/workqueue.js';

// Timed re-syncs (deadlines, schedules, minReadySeconds): one pending timer per key that an earlier
// request always replaces, so a schedule moved sooner is not lost behind a later timer.

export class Requeuer {
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private stopped = false;

  constructor(private readonly queue: WorkQueue) {}

  after(key: string, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    const cur = this.timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.queue.add(key);
    }, Math.max(0, delayMs));
    timer.unref();
    this.timers.set(key, { timer, at });
  }

  forget(key: string): void {
    const cur = this.timers.get(key);
    if (cur) clearTimeout(cur.timer);
    this.timers.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }
}
