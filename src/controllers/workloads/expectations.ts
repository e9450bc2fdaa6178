// client-go's controller expectations: after a controller asks for N creations or deletions, it does not act
// on the same key again until its informer has observed them (or the expectations expire), so a burst of
// creates is never repeated because the cache was a little behind.

export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  /** Keys ("ns/name") of pods whose deletion is awaited; each is counted once however often it is seen. */
  deletions: Set<string>;
  at: number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True when the controller may act on `key`: nothing awaited, everything observed, or expired. */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.deletions.size === 0) return true;
    return this.now() - e.at > EXPECTATIONS_TIMEOUT_MS;
  }

  expectCreations(key: string, n: number): void {
    this.byKey.set(key, { add: n, deletions: new Set(), at: this.now() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.byKey.set(key, { add: 0, deletions: new Set(podKeys), at: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.add--;
  }

  deletionObserved(key: string, podKey: string): void {
    this.byKey.get(key)?.deletions.delete(podKey);
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** For tests and logs: what is still awaited. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.byKey.get(key);
    return e && { add: e.add, del: e.deletions.size };
  }
}
