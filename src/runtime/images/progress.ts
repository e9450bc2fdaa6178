import { formatBytes } from './fsutil.js';

// Progress lines for a pull or push: a start line, byte counts at most once a second, and a summary.

export class Progress {
  private done = 0;
  private lastReported = -1;
  private timer?: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(
    private readonly report: ((m: string) => void) | undefined,
    private readonly total: number,
    private readonly verb: string,
  ) {
    if (report && total > 0) {
      this.timer = setInterval(() => this.tick(), 1000);
      this.timer.unref();
    }
  }

  add(n: number): void {
    this.done += n;
  }

  private tick(): void {
    if (this.done === this.lastReported) return;
    this.lastReported = this.done;
    this.report?.(`${this.verb} ${formatBytes(this.done)} of ${formatBytes(this.total)}`);
  }

  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)}s`;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
