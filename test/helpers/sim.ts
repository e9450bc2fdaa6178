import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO, waitFor, type Cluster } from './cluster.js';
import { stopProcess } from './process.js';

// A `kite sim` process against a test cluster: started, awaited until its nodes are registered, stopped
// gracefully or killed like a machine that loses power.

const KITE = process.env.KITE_BIN ?? join(REPO, 'bin', 'kite');

export interface SimProcess {
  output(): string;
  /** SIGTERM, and wait for the process to exit (SIGKILL and an error if it has not within 20 s). */
  stop(): Promise<void>;
  /** SIGKILL: no goodbye, heartbeats just stop. */
  kill9(): Promise<void>;
  exited(): boolean;
}

export async function startSim(c: Cluster, args: string[], opts: { waitReady?: boolean; timeoutMs?: number } = {}): Promise<SimProcess> {
  const child: ChildProcess = spawn(process.execPath, [KITE, 'sim', ...args], { env: { ...process.env, KUBECONFIG: c.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exitCode: number | null | undefined;
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  child.once('exit', (code) => (exitCode = code));
  const sim: SimProcess = {
    output: () => out,
    stop: async () => {
      try {
        await stopProcess(child, `kite sim ${args.join(' ')}`);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nits output:\n${out.slice(-4000)}`);
      }
    },
    kill9: () => stopProcess(child, 'kite sim', { signal: 'SIGKILL' }),
    exited: () => exitCode !== undefined,
  };
  if (opts.waitReady !== false) {
    try {
      await waitFor(
        `kite sim ${args.join(' ')} to be ready`,
        async () => {
          if (exitCode !== undefined) throw new Error(`kite sim exited (${exitCode}):\n${out}`);
          return /ready: \d+ simulated node/.test(out);
        },
        opts.timeoutMs ?? 60_000,
        50,
      );
    } catch (e) {
      await sim.kill9();
      throw e;
    }
  }
  return sim;
}
