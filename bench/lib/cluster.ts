import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint } from './https.js';
import { freePort, startServer, type ServerProcess } from './proc.js';

// A `kite server --disable-agent` on its own data dir and port, and `kite sim` processes against it.

export interface KiteServer {
  proc: ServerProcess;
  dataDir: string;
  kubeconfig: string;
  endpoint: Endpoint;
  /** Lines of the server's log that match `re`, so far. */
  logLines(re: RegExp): string[];
  /** performance.now() when the first log line matching `re` arrived (NaN if none yet). */
  loggedAt(re: RegExp): number;
}

/** `port` reuses a stopped server's port, so that clients of it (a running `kite sim`) reconnect to its successor. */
export async function startKite(kite: string, dataDir: string, opts: { profDir?: string; extraArgs?: string[]; port?: number } = {}): Promise<KiteServer> {
  const port = opts.port ?? (await freePort());
  const args = [
    ...(opts.profDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profDir}`] : []),
    kite,
    'server',
    '--disable-agent',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    String(port),
    '--bind-address',
    '127.0.0.1',
    ...(opts.extraArgs ?? []),
  ];
  // The whole log is kept line by line only for what callers look for (the ring in proc is short), from the
  // first byte: the control plane may log before /readyz answers.
  const lines: Array<{ at: number; text: string }> = [];
  let partial = '';
  const onStderr = (d: Buffer) => {
    const at = performance.now();
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (l.includes('scheduler:') || l.includes('became leader')) lines.push({ at, text: l });
  };
  const proc = await startServer(process.execPath, args, port, { timeoutMs: 60_000, onStderr });
  const tls = join(dataDir, 'server', 'tls');
  return {
    proc,
    dataDir,
    kubeconfig: join(dataDir, 'kubeconfig.yaml'),
    endpoint: { port, ca: readFileSync(join(tls, 'ca.crt')), token: readFileSync(join(tls, 'token'), 'utf8').trim() },
    logLines: (re) => lines.filter((l) => re.test(l.text)).map((l) => l.text),
    loggedAt: (re) => lines.find((l) => re.test(l.text))?.at ?? NaN,
  };
}

export interface SimProcess {
  child: ChildProcess;
  pid: number;
  /** From spawn to "ready" (every node registered, informers synced). */
  readyMs: number;
  output(): string;
  stop(): Promise<void>;
}

export async function startSim(kite: string, kubeconfig: string, args: string[], timeoutMs: number): Promise<SimProcess> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [kite, 'sim', '--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  const deadline = t0 + timeoutMs;
  while (!/kite sim: ready:/.test(out)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`kite sim exited before ready:\n${out}`);
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`kite sim not ready after ${timeoutMs} ms:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, pid: child.pid as number, readyMs: performance.now() - t0, output: () => out, stop };
}
