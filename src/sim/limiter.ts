// At most `max` requests in flight; the rest wait in order. Thousands of simulated nodes share one API
// server, which must not see a burst of thousands of concurrent requests.

export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error('a limiter needs at least one slot');
  }

  /** Calls waiting for a slot. */
  get pending(): number {
    return this.waiting.length;
  }

  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next caller, so `active` never drops and rises again in between.
      if (next) next();
      else this.active--;
    }
  }
}
