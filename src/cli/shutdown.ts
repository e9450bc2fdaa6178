// The end of a role's life: its parts are stopped one after another, each given a deadline, so that one part
// that never finishes (a request nobody answers, a stream nobody closes) cannot keep the process from exiting.
// A part that overruns is named in the log and left behind; the next parts still stop in order.

export interface ShutdownStep {
  /** Says in the log which part was slow ("node agent", "API server"). */
  name: string;
  run(): unknown;
  /** Default: ShutdownOptions.stepTimeoutMs. */
  timeoutMs?: number;
}

export interface ShutdownOptions {
  /** Takes messages without a prefix; the role adds its own ("kite: ", "kite sim: "). */
  log(msg: string): void;
  /** How long each step may take before shutdown goes on without it (default 10 s). */
  stepTimeoutMs?: number;
  /** The exit code once every step has finished or been given up on (default 0). */
  exitCode?: number;
  /**
   * After the steps, the process exits within this long even if something forgotten (a timer, a socket)
   * still holds the event loop (default 2 s). The caller normally exits sooner by itself.
   */
  exitAfterMs?: number;
  /** How to exit (tests replace it); default process.exit. */
  exit?(code: number): void;
}

export const DEFAULT_STEP_TIMEOUT_MS = 10_000;
const DEFAULT_EXIT_AFTER_MS = 2_000;

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/**
 * Runs the steps in order, each bounded by its deadline, and resolves once all have finished, failed or timed
 * out. Failures are logged, never thrown: the later steps (closing the database last) matter more than an
 * error from an earlier one. Arms an unref'd timer that exits the process should it outlive its shutdown.
 */
export async function shutdown(steps: ShutdownStep[], opts: ShutdownOptions): Promise<void> {
  for (const step of steps) {
    const limit = step.timeoutMs ?? opts.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    // The deadline timer is referenced on purpose: it must fire even when nothing else keeps the loop alive.
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)));
    const work = (async () => {
      await step.run();
      return 'done' as const;
    })().catch((e: unknown) => {
      opts.log(`shutdown: ${step.name} failed: ${(e as Error)?.message ?? String(e)}`);
      return 'failed' as const;
    });
    const outcome = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') opts.log(`shutdown: ${step.name} did not finish within ${seconds(limit)} s; going on`);
  }
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const code = opts.exitCode ?? 0;
  const after = opts.exitAfterMs ?? DEFAULT_EXIT_AFTER_MS;
  const fallback = setTimeout(() => {
    opts.log(`shutdown: still running ${seconds(after)} s after shutdown, held by ${describeHandles()}; exiting`);
    exit(code);
  }, after);
  fallback.unref();
}

/** What keeps the event loop alive, for the log: "TCPSocketWrap x2, Timeout". */
export function describeHandles(): string {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => (n > 1 ? `${r} x${n}` : r));
  return parts.length ? parts.join(', ') : 'nothing visible';
}
