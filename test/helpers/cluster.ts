import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bridgeExists, cleanupNode, mountsUnder, type NodeFootprint } from './host.js';
import { ExitTimeoutError, stopProcess } from './process.js';

// A real `kite server` process for end-to-end tests, driven by the real kubectl.

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
// KITE_BIN points at another build of the CLI (a helper's private dist/src/cli/main.js).
const KITE = process.env.KITE_BIN ?? join(REPO, 'bin', 'kite');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cluster {
  dataDir: string;
  kubeconfig: string;
  port: number;
  url: string;
  /** With an agent: the ports its ingress controller listens on (HTTP and HTTPS, on every address). */
  ingress?: { http: number; https: number };
  logs(): string;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** A long-running kubectl (get -w, logs -f) whose output can be awaited. */
  watch(args: string[]): StreamingCommand;
  /** kubectl that must succeed; returns stdout. */
  k(...args: string[]): Promise<string>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
}

export interface StreamingCommand {
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export function streamCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv): StreamingCommand {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return {
    output: () => out,
    async waitFor(re, timeoutMs = 20_000) {
      await waitFor(`${cmd} ${args.join(' ')} to print ${re} (stdout so far: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)})`, async () => re.test(out), timeoutMs, 50);
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}

export async function freePort(): Promise<number> {
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

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 60_000, env: opts.env ?? process.env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface ClusterOptions {
  datastoreEndpoint?: string;
  extraArgs?: string[];
  /** Run the server's in-process node agent (real runc containers; needs root) instead of --disable-agent. */
  agent?: boolean;
  /** Extra agent flags, after the test defaults (a later flag wins). */
  agentArgs?: string[];
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kite-e2e-'));
  const port = await freePort();
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const cacheDir = join(dataDir, 'kubecache');
  let child: ChildProcess | undefined;
  let output = '';

  // Test agents get their own bridge, pod network and cgroup parent so they never meet a real node's, a
  // free streaming port, and a cluster DNS address inside the default service CIDR (10.43.0.0/16).
  const ingress = opts.agent ? { http: await freePort(), https: await freePort() } : undefined;
  const agentArgs = ingress
    ? ['--cni-bridge', 'kitee0', '--pod-cidr', '10.88.3.0/24', '--cgroup-parent', '/kite-test-e2e', '--kubelet-port', String(await freePort()), '--cluster-dns', '10.43.0.10', '--dns-port', String(await freePort()), '--ingress-http-port', String(ingress.http), '--ingress-https-port', String(ingress.https), ...(opts.agentArgs ?? [])]
    : ['--disable-agent'];
  // What the agent puts on the host, removed again by stop(). The bridge is the test's only if it is new.
  let node: NodeFootprint | undefined;
  if (ingress) {
    // A later flag wins, so the ports, bridge and cgroup the agent really uses are the last ones given.
    const last = (flag: string) => agentArgs[agentArgs.lastIndexOf(flag) + 1]!;
    ingress.http = Number(last('--ingress-http-port'));
    ingress.https = Number(last('--ingress-https-port'));
    node = { dataDir, bridge: last('--cni-bridge'), cgroupParent: last('--cgroup-parent'), ownsBridge: !bridgeExists(last('--cni-bridge')) };
  }
  const args = ['server', ...agentArgs, '--data-dir', dataDir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1', ...(opts.datastoreEndpoint ? ['--datastore-endpoint', opts.datastoreEndpoint] : []), ...(opts.extraArgs ?? [])];

  const env = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir };

  async function start(): Promise<void> {
    output += `--- start ${new Date().toISOString()}\n`;
    // A test cluster's agent removes its pods when the server stops, so no container outlives the test.
    const childEnv = opts.agent ? { ...process.env, KITE_AGENT_KILL_PODS_ON_EXIT: '1' } : process.env;
    const c = spawn(process.execPath, [KITE, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
    child = c;
    c.stdout.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let exited = false;
    c.once('exit', () => (exited = true));
    await waitFor(
      'kite server to be ready',
      async () => {
        if (exited) throw new Error(`kite server exited:\n${output}`);
        if (!existsSync(kubeconfig)) return false;
        const r = await run('kubectl', ['get', '--raw', '/readyz'], { env, timeoutMs: 5000 });
        return r.code === 0 && r.stdout.trim() === 'ok';
      },
      30_000,
      100,
    );
    // With an agent, "ready" also means the node registered (or the agent said why it could not).
    if (opts.agent) await waitFor('the node agent to be ready', async () => /kite agent: node \S+ Ready|the node agent could not start|no node agent in this process/.test(output), 60_000, 100);
  }

  // Set by kill9() until the next start: the agent's containers outlive it by design, so stop() removes them quietly.
  let killed = false;

  /** SIGTERM; a server that does not exit in time is killed, and the error says so with its log. */
  async function terminate(): Promise<void> {
    if (!child) return;
    try {
      await stopProcess(child, 'kite server');
    } catch (e) {
      if (!(e instanceof ExitTimeoutError)) throw e;
      killed = true;
      throw new Error(`${e.message}\nserver log tail:\n${output.slice(-4000)}`);
    }
  }

  try {
    await start();
  } catch (e) {
    // No Cluster reaches the test, so nothing else would stop this one.
    if (child) await stopProcess(child, 'kite server', { signal: 'SIGKILL' });
    if (node) await cleanupNode(node);
    if (!mountsUnder(dataDir).length) rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
  const cluster: Cluster = {
    dataDir,
    kubeconfig,
    port,
    url: `https://127.0.0.1:${port}`,
    ingress,
    logs: () => output,
    kubectl: (a, o = {}) => run('kubectl', a, { ...o, env }),
    watch: (a) => streamCommand('kubectl', a, env),
    async k(...a: string[]) {
      const r = await run('kubectl', a, { env });
      if (r.code !== 0) throw new Error(`kubectl ${a.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async stop() {
      let failure: unknown;
      try {
        await terminate();
      } catch (e) {
        failure = e;
      }
      if (node) {
        const left = await cleanupNode(node);
        if (left.length && !killed && !failure) failure = new Error(`the node agent left behind after a clean stop (now removed): ${left.join(', ')}\nserver log tail:\n${output.slice(-4000)}`);
      }
      // A mount still there would let rmSync reach into what it shows (a hostPath volume): keep the directory.
      const mounts = mountsUnder(dataDir);
      if (mounts.length) failure ??= new Error(`mounts left under ${dataDir}, which is kept: ${mounts.join(', ')}`);
      else rmSync(dataDir, { recursive: true, force: true });
      if (failure) throw failure;
    },
    async kill9() {
      if (child) await stopProcess(child, 'kite server', { signal: 'SIGKILL' });
      killed = true;
    },
    async restart() {
      await terminate();
      killed = false;
      await start();
    },
  };
  return cluster;
}

export function readKubeconfig(c: Cluster): string {
  return readFileSync(c.kubeconfig, 'utf8');
}
