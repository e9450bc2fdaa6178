import { spawn, type SpawnOptions } from 'node:child_process';
import { readFile } from 'node:fs/promises';

// Running the node's helper binaries (runc, mount, nsenter, CNI plugins) and collecting their output.
//
// A process that hands its stdio to a container (runc exec, runc create) may leave the write ends open in
// processes that outlive it, so we never wait for EOF: the result is taken when the process *exits*, and the
// pipes get a short grace period to drain before they are cut.

export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Called on timeout instead of killing the process with SIGKILL (e.g. to kill what it started). */
  onTimeout?: () => void;
}

const DRAIN_MS = 200;

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? minimalEnv(), cwd: opts.cwd };
    const child = spawn(cmd, args, spawnOpts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.stdin?.on('error', () => undefined);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${e.message}`));
    });
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        if (opts.onTimeout) opts.onTimeout();
        else child.kill('SIGKILL');
      }, opts.timeoutMs);
    }
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      const finish = (): void => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ code: code ?? (signal ? 128 + signalNumber(signal) : 255), signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut });
      };
      const drained = setTimeout(finish, DRAIN_MS);
      child.on('close', () => {
        clearTimeout(drained);
        finish();
      });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Runs a command that must succeed; the error carries its stderr so the user sees the tool's own words. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const msg = (r.stderr.toString().trim() || r.stdout.toString().trim()).slice(0, 2000);
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${msg}`);
  }
  return r.stdout.toString();
}

/** The environment helpers run with: enough PATH to find system tools, nothing of the agent's own settings. */
export function minimalEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...extra };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? 1;
}

/** Sends SIGKILL to the pid written in a pid file (runc exec --pid-file); false if there was none to kill. */
export async function killPidFile(pidFile: string): Promise<boolean> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
