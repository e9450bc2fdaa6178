import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';

// A server process under measurement: start-to-ready time, resident memory, and a bounded stop.

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  /** From just before spawn() to the first /readyz answering 200 "ok". */
  readyMs: number;
  output(): string;
  /** VmRSS, bytes. */
  rss(): number;
  /** VmHWM (peak RSS of this process so far), bytes. */
  peakRss(): number;
  /** CPU time (user + system) the process has used so far, seconds. */
  cpuSeconds(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves to whether the process exited by itself. */
  stop(graceMs?: number): Promise<boolean>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

function procStatus(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** One /readyz probe: a fresh connection each time, as the server may not have written its CA yet. */
function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', method: 'GET', agent: false, rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'ok'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** `onStderr` sees the server's stderr from its first byte, with no ring-buffer limit. */
export async function startServer(cmd: string, args: string[], port: number, opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; onStderr?: (d: Buffer) => void } = {}): Promise<ServerProcess> {
  let out = '';
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  if (opts.onStderr) child.stderr?.on('data', opts.onStderr);
  const deadline = t0 + (opts.timeoutMs ?? 30_000);
  let readyMs = NaN;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before ready:\n${out}`);
    if (await probe(port)) {
      readyMs = performance.now() - t0;
      break;
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${cmd} not ready after ${opts.timeoutMs ?? 30_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const pid = child.pid as number;
  return {
    child,
    pid,
    readyMs,
    output: () => out,
    rss: () => procStatus(pid, 'VmRSS'),
    peakRss: () => procStatus(pid, 'VmHWM'),
    cpuSeconds: () => cpuSeconds(pid),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return true;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const clean = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
      if (!clean) {
        child.kill('SIGKILL');
        await exited;
      }
      return clean;
    },
  };
}
