import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO, waitFor, type Cluster } from './cluster.js';

// A `kite sim` process against a test cluster: started, awaited until its nodes are registered, stopped
// gracefully or killed like a machine that loses power.

const KITE = process.env.KITE_BIN ?? join(REPO, 'bin', 'kite');

export interface SimProcess {
  output(): string;
  /** SIGTERM, and wait for the process to exit. */
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
  const exit = new Promise<void>((resolve) => child.once('exit', (code) => ((exitCode = code), resolve())));
  const signal = async (sig: NodeJS.Signals) => {
    if (exitCode === undefined) {
      child.kill(sig);
      await exit;
    }
  };
  const sim: SimProcess = {
    output: () => out,
    stop: () => signal('SIGTERM'),
    kill9: () => signal('SIGKILL'),
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
