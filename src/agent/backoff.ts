// Per-key exponential back-off, as the kubelet keeps it for crashing containers and failing image pulls:
// the first retry is immediate, then each retry waits twice as long as the one before, up to a ceiling.

export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; updatedAt: number }>();

  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
  ) {}

  /** Milliseconds left before `key` may be retried, counting from `since` (the failure time); 0 when free. */
  remaining(key: string, since: number, now = Date.now()): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    // An entry untouched for twice the ceiling is stale: the thing behaved for long enough.
    if (now - e.updatedAt > 2 * this.maxMs) {
      this.entries.delete(key);
      return 0;
    }
    return Math.max(0, since + e.delayMs - now);
  }

  /** The current delay of `key` (for messages). */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? this.initialMs;
  }

  /** Records a retry: the next failure waits longer. */
  next(key: string, now = Date.now()): void {
    const e = this.entries.get(key);
    this.entries.set(key, { delayMs: e ? Math.min(e.delayMs * 2, this.maxMs) : this.initialMs, updatedAt: now });
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key with the prefix (a pod that went away). */
  forget(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
