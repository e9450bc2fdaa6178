// The node controller's brakes: a token bucket per zone, and the de-duplicating queue of nodes waiting to be
// tainted behind it. A zone that loses many nodes at once is tainted slowly or not at all, so a network
// partition does not evict a whole cluster.

export class TokenBucket {
  private tokens: number;

  constructor(
    readonly qps: number,
    readonly burst = 1,
    private last = Date.now(),
  ) {
    this.tokens = qps > 0 ? burst : 0;
  }

  tryAccept(now = Date.now()): boolean {
    if (this.qps <= 0) return false;
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) / 1000) * this.qps);
    this.last = Math.max(this.last, now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Timed {
  name: string;
  uid: string;
  processAt: number;
}

/** Returns [done, retryAfterMs]. */
export type TaintAction = (name: string, uid: string) => Promise<[boolean, number]>;

/**
 * Nodes to act on, each at most once until removed: a processed node stays in the set (so later health
 * passes do not queue it again) until remove() says its state changed.
 */
export class RateLimitedQueue {
  private readonly queue: Timed[] = [];
  private readonly members = new Set<string>();

  constructor(private limiter: TokenBucket) {}

  get qps(): number {
    return this.limiter.qps;
  }

  add(name: string, uid: string): boolean {
    if (this.members.has(name)) return false;
    this.members.add(name);
    this.queue.push({ name, uid, processAt: Date.now() });
    return true;
  }

  remove(name: string): boolean {
    const had = this.members.delete(name);
    const i = this.queue.findIndex((t) => t.name === name);
    if (i >= 0) this.queue.splice(i, 1);
    return had;
  }

  /** Swap the rate; a queue that was waiting for a token keeps waiting on the new bucket. */
  swapLimiter(qps: number): void {
    if (this.limiter.qps === qps) return;
    const next = new TokenBucket(qps, this.limiter.burst);
    if (!this.limiter.tryAccept()) next.tryAccept();
    this.limiter = next;
  }

  /** Process due items in order while the limiter allows. */
  async try(action: TaintAction): Promise<void> {
    for (;;) {
      const head = this.queue[0];
      if (!head) return;
      const now = Date.now();
      if (head.processAt > now) return;
      if (!this.limiter.tryAccept(now)) return;
      const [done, retryMs] = await action(head.name, head.uid);
      // The item may have been removed while the action ran.
      if (this.queue[0] !== head) continue;
      this.queue.shift();
      if (!done) {
        head.processAt = Date.now() + retryMs + 1;
        this.queue.push(head);
        this.queue.sort((a, b) => a.processAt - b.processAt);
      }
    }
  }
}
