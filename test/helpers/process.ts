import type { ChildProcess } from 'node:child_process';

// Ending the processes a test started. A process that ignores SIGTERM must fail the test that started it,
// loudly and soon, rather than leave the test runner waiting for ever.

/** How long a kite process may take to exit after SIGTERM before it is killed and the test fails. */
export const EXIT_DEADLINE_MS = 20_000;

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export class ExitTimeoutError extends Error {}

/**
 * Sends `signal` and waits for the process to exit. With SIGTERM (or SIGINT), a process still running after
 * the deadline gets SIGKILL, and the call throws ExitTimeoutError naming it once it is gone.
 */
export async function stopProcess(child: ChildProcess, what: string, opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = opts.signal ?? 'SIGTERM';
  child.kill(signal);
  if (signal === 'SIGKILL') return exited;
  const timeoutMs = opts.timeoutMs ?? EXIT_DEADLINE_MS;
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([exited.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
  clearTimeout(timer);
  if (inTime) return;
  child.kill('SIGKILL');
  await exited;
  throw new ExitTimeoutError(`${what} did not exit within ${timeoutMs / 1000} s of ${signal}; killed it with SIGKILL`);
}
