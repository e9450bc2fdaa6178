// client-go's controller expectations: after asking the API for N creations or deletions, a controller
// waits until its informer has seen them before it counts pods again, so that it never acts twice on a
// stale cache. Expectations lapse after five minutes in case a watch event was lost.

const TTL_MS = 5 * 60_000;

interface Record_ {
  add: number;
  del: number;
  at: number;
}

export class Expectations {
  private readonly m = new Map<string, Record_>();

  constructor(private readonly now: () => number = Date.now) {}

  private rec(key: string): Record_ {
    let r = this.m.get(key);
    if (!r) this.m.set(key, (r = { add: 0, del: 0, at: this.now() }));
    return r;
  }

  expectCreations(key: string, n: number): void {
    const r = this.rec(key);
    r.add += n;
    r.at = this.now();
  }

  expectDeletions(key: string, n: number): void {
    const r = this.rec(key);
    r.del += n;
    r.at = this.now();
  }

  creationObserved(key: string): void {
    const r = this.m.get(key);
    if (r && r.add > 0) r.add--;
  }

  deletionObserved(key: string): void {
    const r = this.m.get(key);
    if (r && r.del > 0) r.del--;
  }

  satisfied(key: string): boolean {
    const r = this.m.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.now() - r.at > TTL_MS;
  }

  delete(key: string): void {
    this.m.delete(key);
  }
}
