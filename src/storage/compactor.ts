import type { Store } from './interface.js';

// Periodic compaction, as kube-apiserver drives etcd's: at every tick, compact to the revision seen at the
// previous tick, so at least one interval of history stays available for watches that resume.

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private lastSeen = 0;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: (msg: string) => void = () => undefined,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async tick(): Promise<void> {
    try {
      const target = this.lastSeen;
      this.lastSeen = await this.store.currentRevision();
      if (target > 0 && target > (await this.store.compactedRevision())) await this.store.compact(target);
    } catch (e) {
      this.log(`compaction failed (will retry next interval): ${(e as Error).message}`);
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** "5m", "30s", "1h", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    consumed += m[0].length;
  }
  if (consumed !== text.length || text.length === 0) throw new Error(`invalid duration "${text}": use forms like 5m, 30s, 1h30m, 500ms`);
  return total;
}
