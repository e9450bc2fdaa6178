// Launches a throwaway single-member etcd for tests: loopback only, free ports, a temp data dir removed on
// stop.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BIN = process.env.KITE_ETCD_BIN ?? '/usr/bin/etcd';

/** A `skip` value for node:test: false when etcd is installed, else the reason. */
export const etcdSkip: string | false = existsSync(ETCD_BIN) ? false : `${ETCD_BIN} not found: etcd tests skipped`;

export interface RunningEtcd {
  endpoint: string;
  /** Kill etcd (SIGKILL) and start it again on the same ports and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Runs etcd on the given ports and data dir until it reports healthy. */
async function run(dataDir: string, clientPort: number, peerPort: number): Promise<ChildProcess> {
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    ETCD_BIN,
    [
      '--name=kite-test',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=kite-test=${peer}`,
      '--initial-cluster-state=new',
      '--logger=zap',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const deadline = Date.now() + 30_000;
  while (!(await healthy(endpoint))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await kill(child);
      throw new Error(`etcd did not become healthy (exit ${child.exitCode}): ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

async function launch(): Promise<RunningEtcd> {
  const dir = await mkdtemp(join(tmpdir(), 'kite-etcd-'));
  const dataDir = join(dir, 'data');
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  let child: ChildProcess;
  try {
    child = await run(dataDir, clientPort, peerPort);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${clientPort}`,
    async restart() {
      await kill(child);
      child = await run(dataDir, clientPort, peerPort);
    },
    async stop() {
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts etcd; retries a few times, since a port found free may be taken before etcd binds it. */
export async function startEtcd(): Promise<RunningEtcd> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch();
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
