import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { openImageStore } from '../src/runtime/images/store.js';
import { removeCgroup } from '../src/runtime/runc/cgroups.js';
import { busyboxRootfs } from '../test/helpers/images.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { HttpsClient, unexpected, type Endpoint } from './lib/https.js';
import { freePort, startServer } from './lib/proc.js';
import { watchReady } from './lib/readywatch.js';
import { renderTable, type Row } from './lib/report.js';
import { createRuncFloor, type RuncFloor } from './lib/runcfloor.js';
import { createRuntimePods, type RuntimePods, type StepTimes } from './lib/runtimepods.js';
import { fmt, latency, median, type Latency } from './lib/stats.js';

// Issue 4's figures: pod start latency (create → Ready, image present) for 1, 10 and 50 pods at once beside the
// floor measured in the same run (overlay + fresh netns + CNI loopback/bridge ADD + `runc run -d`, same image,
// same count at once), the agent's RSS with 50 pods, and pull + unpack of a ~50 MB image from a local registry
// beside `skopeo copy` of it. Real containers: needs root, runc, conmon, CNI plugins, docker-registry, skopeo.
// Progress goes to stderr, the table to stdout.

const HELP = `Usage: node dist/bench/pods.js [--quick] [flags]

  --quick            smoke run (1 and 10 pods, 3 and 1 rounds, an 8 MB pull image, no separate agent)
  --counts A,B,C     pods started at once per round (default 1,10,50)
  --rounds A,B,C     rounds per count (default 10,3,2)
  --pull-mb N        size of the random-data layer of the pull image (default 48; 0 skips the pull figures)
  --pull-reps N      pulls of it by each tool (default 3)
  --no-split         skip kite agent as its own process against kite server --disable-agent
  --timeout-s S      how long to wait for any round (default 180)
  --server-log FILE  append the kite server's (and kite agent's) log to FILE
  --keep             keep the work directory`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    counts: { type: 'string' },
    rounds: { type: 'string' },
    'pull-mb': { type: 'string' },
    'pull-reps': { type: 'string', default: '3' },
    'no-split': { type: 'boolean', default: false },
    'server-log': { type: 'string' },
    'timeout-s': { type: 'string', default: '180' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
const quick = flags.quick;
const cfg = {
  counts: (flags.counts ?? (quick ? '1,10' : '1,10,50')).split(',').map(Number),
  rounds: (flags.rounds ?? (quick ? '3,1' : '10,3,2')).split(',').map(Number),
  pullMb: Number(flags['pull-mb'] ?? (quick ? 8 : 48)),
  pullReps: Number(flags['pull-reps']),
  split: !flags['no-split'] && !quick,
  timeoutMs: Number(flags['timeout-s']) * 1000,
};
for (const n of [...cfg.counts, ...cfg.rounds, cfg.pullMb, cfg.pullReps]) if (!Number.isInteger(n) || n < 0) throw new Error('counts must be whole numbers (see --help)');
if (process.getuid?.() !== 0) throw new Error('the pod benchmark runs real containers: run it as root');

// This file is dist/bench/pods.js; the CLI it drives is the same build's dist/src/cli/main.js.
const KITE = process.env.KITE_BIN ?? fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const IMAGE = 'bench/busybox:1';
const NS = 'bench-pods';
// Names and addresses of this benchmark only (kite's tests use kitee0 / 10.88.3.0/24 / /kite-test-e2e).
const BRIDGE = 'kitebench0';
const POD_CIDR = '10.88.7.0/25';
const FLOOR_BRIDGE = 'kitebench1';
const FLOOR_CIDR = '10.88.7.128/25';
const FLOOR_GW = '10.88.7.129';
const CGROUP_PARENT = '/kite-bench';
const TARGET_P99_MS = 1000;
const TARGET_RSS = 100 * 1024 * 1024;

const t0 = performance.now();
function log(msg: string): void {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (e) => resolve({ code: 127, out: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

async function kiteImage(args: string[]): Promise<void> {
  const r = await run(process.execPath, [KITE, 'image', ...args]);
  if (r.code !== 0) throw new Error(`kite image ${args.join(' ')} failed: ${r.out.slice(-2000)}`);
}

/** The pod image: a busybox-static root filesystem, built into the store of `dataDir` (no network). */
async function buildBusybox(dir: string, dataDir: string): Promise<void> {
  const ctx = join(dir, `ctx-${randomBytes(4).toString('hex')}`);
  busyboxRootfs(ctx);
  try {
    await kiteImage(['build', ctx, '-t', IMAGE, '--data-dir', dataDir, '--cmd', 'sh']);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

function procStatusBytes(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

/** Busy share of the whole machine over `ms` (before anything of ours runs: what others are using). */
async function machineBusy(ms: number): Promise<number> {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + f[4];
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

// ------------------------------------------------------------------------------------------------- kite side

interface RoundsResult {
  count: number;
  samples: number[];
  lat: Latency;
  /** CPU of the process doing the work (kite server; the bench for the floor and the runtime), per pod, ms. */
  cpuPerPodMs: number;
  errors: string[];
}

/** User + system CPU of this process so far, seconds. */
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function podBody(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'pod-bench' } },
    spec: {
      // Not 0: a graceful delete keeps the pod in the API until the agent has torn it down and removed it.
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  });
}

async function waitNodeReady(client: HttpsClient, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const r = await client.call('GET', '/api/v1/nodes');
    if (r.status === 200) {
      const list = JSON.parse(r.body.toString('utf8')) as { items: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }> };
      const ready = list.items.find((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (ready) return ready.metadata.name;
    }
    await sleep(200);
  }
  throw new Error(`no node Ready after ${timeoutMs / 1000} s`);
}

async function ensureNamespace(client: HttpsClient): Promise<void> {
  const r = await client.call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }));
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${NS}: ${unexpected(r, 201)}`);
  for (const deadline = performance.now() + 30_000; performance.now() < deadline; await sleep(50)) {
    if ((await client.call('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`)).status === 200) return;
  }
  throw new Error(`namespace ${NS}: no default ServiceAccount after 30 s`);
}

/**
 * One round: `n` pods POSTed at once; each one's latency is from just before its POST to the watch showing it
 * Ready. `onAllReady` runs while they are all up (memory figures). Then they are deleted and the round waits
 * until the agent has removed them (the agent's final delete is what makes them disappear from the API).
 */
async function kiteRound(ep: Endpoint, client: HttpsClient, n: number, tag: string, cpu: () => number, onAllReady?: () => Promise<void>): Promise<{ samples: number[]; cpuSeconds: number; errors: string[] }> {
  const list = await client.call('GET', `/api/v1/namespaces/${NS}/pods`);
  const rv = (JSON.parse(list.body.toString('utf8')) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const watch = await watchReady(ep, NS, rv);
  const names = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  const sent = new Float64Array(n).fill(NaN);
  const errors: string[] = [];
  try {
    const cpu0 = cpu();
    await Promise.all(
      names.map(async (name, i) => {
        sent[i] = performance.now();
        const r = await client.call('POST', `/api/v1/namespaces/${NS}/pods`, podBody(name));
        const e = unexpected(r, 201);
        if (e) errors.push(`create ${name}: ${e}`);
      }),
    );
    if (!(await watch.waitReady(names, cfg.timeoutMs))) errors.push(`only ${watch.readyAt.size} of ${n} pods Ready within ${cfg.timeoutMs / 1000} s`);
    const samples = names.map((name, i) => (watch.readyAt.get(name) ?? NaN) - sent[i]);
    const cpuSeconds = cpu() - cpu0;
    if (onAllReady) await onAllReady();
    await Promise.all(names.map((name) => client.call('DELETE', `/api/v1/namespaces/${NS}/pods/${name}`)));
    if (!(await watch.waitDeleted(names, cfg.timeoutMs))) errors.push(`pods of round ${tag} not removed within ${cfg.timeoutMs / 1000} s`);
    errors.push(...watch.errors);
    return { samples, cpuSeconds, errors };
  } finally {
    watch.close();
  }
}

async function kiteRounds(ep: Endpoint, client: HttpsClient, label: string, cpu: () => number, onAllReady?: (count: number) => Promise<void>): Promise<RoundsResult[]> {
  const out: RoundsResult[] = [];
  for (const [ci, count] of cfg.counts.entries()) {
    const rounds = cfg.rounds[ci] ?? 1;
    const samples: number[] = [];
    const errors: string[] = [];
    let cpuSeconds = 0;
    for (let r = 0; r < rounds; r++) {
      const res = await kiteRound(ep, client, count, `p${count}-r${r}`, cpu, r === rounds - 1 && onAllReady ? () => onAllReady(count) : undefined);
      samples.push(...res.samples);
      errors.push(...res.errors);
      cpuSeconds += res.cpuSeconds;
    }
    const lat = latency(samples);
    const cpuPerPodMs = (cpuSeconds * 1000) / (count * rounds);
    log(`${label}: ${count} pod(s) at once × ${rounds}: create → Ready p50/p99 ${fmt.p50p99(lat)} (max ${fmt.ms(lat.max)}); server CPU ${cpuPerPodMs.toFixed(0)} ms/pod`);
    out.push({ count, samples, lat, cpuPerPodMs, errors });
  }
  return out;
}

const agentFlags = async () => [
  '--cni-bridge', BRIDGE,
  '--pod-cidr', POD_CIDR,
  '--cgroup-parent', CGROUP_PARENT,
  '--kubelet-port', String(await freePort()),
  '--cluster-dns', '10.43.0.10',
  '--dns-port', String(await freePort()),
  '--ingress-http-port', String(await freePort()),
  '--ingress-https-port', String(await freePort()),
  // The service proxy owns the node-global nft table "ip kite": a second node on this machine (a test cluster
  // running at the same time) would fight over it.
  '--disable', 'proxy',
];

function endpointOf(dataDir: string, port: number): Endpoint {
  const tls = join(dataDir, 'server', 'tls');
  return { port, ca: readFileSync(join(tls, 'ca.crt')), token: readFileSync(join(tls, 'token'), 'utf8').trim() };
}

/** --server-log: the process's output, appended line by line (only what it writes from now on). */
function teeLog(child: ChildProcess, tag: string): void {
  const file = flags['server-log'];
  if (!file) return;
  const write = (d: Buffer) => appendFileSync(file, d.toString().replace(/^(?=.)/gm, `${tag}: `));
  child.stdout?.on('data', write);
  child.stderr?.on('data', write);
}

const KILL_PODS_ENV = { ...process.env, KITE_AGENT_KILL_PODS_ON_EXIT: '1' };

interface KiteResult {
  rounds: RoundsResult[];
  readyMs: number;
  idleRss: number;
  rssAt: Map<number, { rss: number; peak: number }>;
  notes: string[];
}

/** `kite server` with its in-process agent: pod start latency for each count; RSS of the whole server. */
async function kiteInProcess(dir: string): Promise<KiteResult> {
  const dataDir = join(dir, 'server');
  await buildBusybox(dir, dataDir);
  const port = await freePort();
  const args = [KITE, 'server', ...(await agentFlags()), '--data-dir', dataDir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1'];
  const proc = await startServer(process.execPath, args, port, { timeoutMs: 60_000, env: KILL_PODS_ENV });
  teeLog(proc.child, 'server');
  const res: KiteResult = { rounds: [], readyMs: proc.readyMs, idleRss: NaN, rssAt: new Map(), notes: [] };
  const ep = endpointOf(dataDir, port);
  const client = new HttpsClient(ep, 64);
  try {
    const node = await waitNodeReady(client, 60_000);
    await ensureNamespace(client);
    await sleep(1000);
    res.idleRss = proc.rss();
    log(`kite server + agent: ready in ${fmt.ms(proc.readyMs)}, node ${node} Ready; RSS ${fmt.mb(res.idleRss)}`);
    res.rounds = await kiteRounds(ep, client, 'kite server (in-process agent)', () => proc.cpuSeconds(), async (count) => {
      await sleep(2000);
      res.rssAt.set(count, { rss: proc.rss(), peak: proc.peakRss() });
    });
  } catch (e) {
    res.notes.push(`kite server + agent aborted: ${(e as Error).stack ?? e}\nlog tail:\n${proc.output().slice(-3000)}`);
    log(`kite server + agent: ABORTED: ${(e as Error).message}`);
  } finally {
    client.close();
    const stopAt = performance.now();
    if (!(await proc.stop(60_000))) res.notes.push(`kite server did not exit within 60 s of SIGTERM (killed); log tail:\n${proc.output().slice(-3000)}`);
    else log(`kite server + agent: stopped in ${fmt.ms(performance.now() - stopAt)}`);
  }
  return res;
}

interface SplitResult {
  round?: RoundsResult;
  agentIdleRss: number;
  agentRss: number;
  agentPeak: number;
  serverRss: number;
  notes: string[];
}

/** `kite server --disable-agent` + `kite agent` as its own process: the agent's RSS with the largest count. */
async function kiteSplit(dir: string): Promise<SplitResult> {
  const count = Math.max(...cfg.counts);
  const dataDir = join(dir, 'split');
  await buildBusybox(dir, dataDir);
  const port = await freePort();
  const server = await startServer(process.execPath, [KITE, 'server', '--disable-agent', '--data-dir', dataDir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1'], port, { timeoutMs: 60_000 });
  const res: SplitResult = { agentIdleRss: NaN, agentRss: NaN, agentPeak: NaN, serverRss: NaN, notes: [] };
  const ep = endpointOf(dataDir, port);
  const client = new HttpsClient(ep, 64);
  let agent: ChildProcess | undefined;
  let agentOut = '';
  try {
    const agentArgs = [KITE, 'agent', '--server', `https://127.0.0.1:${port}`, '--token', ep.token, '--ca-file', join(dataDir, 'server', 'tls', 'ca.crt'), '--data-dir', join(dataDir, 'agent'), ...(await agentFlags())];
    agent = spawn(process.execPath, agentArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: KILL_PODS_ENV });
    teeLog(agent, 'agent');
    agent.stdout?.on('data', (d: Buffer) => (agentOut = (agentOut + d.toString()).slice(-20_000)));
    agent.stderr?.on('data', (d: Buffer) => (agentOut = (agentOut + d.toString()).slice(-20_000)));
    const pid = agent.pid as number;
    await waitNodeReady(client, 60_000);
    await ensureNamespace(client);
    await sleep(2000);
    res.agentIdleRss = procStatusBytes(pid, 'VmRSS');
    log(`kite agent (own process): node Ready; agent RSS ${fmt.mb(res.agentIdleRss)}, server RSS ${fmt.mb(server.rss())}`);
    const agentCpu = () => {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return (Number(x[11]) + Number(x[12])) / 100;
      } catch {
        return NaN;
      }
    };
    const r = await kiteRound(ep, client, count, `split-${count}`, agentCpu, async () => {
      await sleep(2000);
      res.agentRss = procStatusBytes(pid, 'VmRSS');
      res.agentPeak = procStatusBytes(pid, 'VmHWM');
      res.serverRss = server.rss();
    });
    const lat = latency(r.samples);
    res.round = { count, samples: r.samples, lat, cpuPerPodMs: (r.cpuSeconds * 1000) / count, errors: r.errors };
    log(`kite agent (own process): ${count} pods at once: p50/p99 ${fmt.p50p99(lat)}; agent RSS ${fmt.mb(res.agentRss)} (peak ${fmt.mb(res.agentPeak)})`);
  } catch (e) {
    res.notes.push(`kite agent (own process) aborted: ${(e as Error).stack ?? e}\nagent log tail:\n${agentOut.slice(-3000)}`);
    log(`kite agent (own process): ABORTED: ${(e as Error).message}`);
  } finally {
    client.close();
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      const t = setTimeout(() => agent!.kill('SIGKILL'), 60_000);
      await exited;
      clearTimeout(t);
    }
    await server.stop(30_000);
  }
  return res;
}

// ------------------------------------------------------------------------------------------------ the floor

interface FloorResult {
  rounds: RoundsResult[];
  notes: string[];
}

async function floorRounds(dir: string): Promise<FloorResult> {
  const store = await openImageStore({ dir: join(dir, 'server', 'agent', 'images') });
  const info = await store.imageStatus(IMAGE);
  if (!info) throw new Error(`${IMAGE} is not in the store; the build failed`);
  const res: FloorResult = { rounds: [], notes: [] };
  let floor: RuncFloor | undefined;
  try {
    floor = await createRuncFloor({
      dir: join(dir, 'floor'),
      layerDirs: store.layerDirs(info),
      bridge: FLOOR_BRIDGE,
      podCidr: FLOOR_CIDR,
      gateway: FLOOR_GW,
      cgroupParent: `${CGROUP_PARENT}/floor`,
      argv: ['sleep', '3600'],
    });
    for (const [ci, count] of cfg.counts.entries()) {
      const rounds = cfg.rounds[ci] ?? 1;
      const samples: number[] = [];
      let cpu = 0;
      for (let r = 0; r < rounds; r++) {
        const c0 = selfCpu();
        samples.push(...(await floor.startPods(count, `floor-${count}-${r}-`)));
        cpu += selfCpu() - c0;
        await floor.removePods();
      }
      const lat = latency(samples);
      const cpuPerPodMs = (cpu * 1000) / (count * rounds);
      log(`floor (runc run -d + CNI): ${count} pod(s) at once × ${rounds}: p50/p99 ${fmt.p50p99(lat)} (max ${fmt.ms(lat.max)}); bench CPU ${cpuPerPodMs.toFixed(0)} ms/pod`);
      res.rounds.push({ count, samples, lat, cpuPerPodMs, errors: [] });
    }
  } catch (e) {
    res.notes.push(`floor aborted: ${(e as Error).stack ?? e}`);
    log(`floor: ABORTED: ${(e as Error).message}`);
  } finally {
    await floor?.cleanup();
  }
  return res;
}

interface RuntimeResult {
  rounds: RoundsResult[];
  steps: Array<{ sandbox: Latency; create: Latency; start: Latency }>;
  notes: string[];
}

/** kite's runtime alone (no API server, no agent), on the floor's bridge and subnet after the floor is gone. */
async function runtimeRounds(dir: string): Promise<RuntimeResult> {
  const store = await openImageStore({ dir: join(dir, 'server', 'agent', 'images') });
  const info = await store.imageStatus(IMAGE);
  if (!info) throw new Error(`${IMAGE} is not in the store; the build failed`);
  const res: RuntimeResult = { rounds: [], steps: [], notes: [] };
  let pods: RuntimePods | undefined;
  try {
    pods = await createRuntimePods({
      dataDir: join(dir, 'runtime'),
      images: store,
      image: info,
      bridge: FLOOR_BRIDGE,
      podCidr: FLOOR_CIDR,
      cgroupParent: `${CGROUP_PARENT}/runtime`,
      argv: ['sleep', '3600'],
    });
    for (const [ci, count] of cfg.counts.entries()) {
      const rounds = cfg.rounds[ci] ?? 1;
      const times: StepTimes[] = [];
      let cpu = 0;
      for (let r = 0; r < rounds; r++) {
        const c0 = selfCpu();
        times.push(...(await pods.startPods(count, `rt-${count}-${r}-`)));
        cpu += selfCpu() - c0;
        await pods.removePods();
      }
      const cpuPerPodMs = (cpu * 1000) / (count * rounds);
      const lat = latency(times.map((t) => t.total));
      const steps = { sandbox: latency(times.map((t) => t.sandbox)), create: latency(times.map((t) => t.create)), start: latency(times.map((t) => t.start)) };
      log(`kite runtime alone: ${count} pod(s) at once × ${rounds}: p50/p99 ${fmt.p50p99(lat)}; p50 of RunPodSandbox ${fmt.ms(steps.sandbox.p50)}, CreateContainer ${fmt.ms(steps.create.p50)}, StartContainer ${fmt.ms(steps.start.p50)}; bench CPU ${cpuPerPodMs.toFixed(0)} ms/pod`);
      res.rounds.push({ count, samples: times.map((t) => t.total), lat, cpuPerPodMs, errors: [] });
      res.steps.push(steps);
    }
  } catch (e) {
    res.notes.push(`runtime phase aborted: ${(e as Error).stack ?? e}`);
    log(`kite runtime alone: ABORTED: ${(e as Error).message}`);
  } finally {
    await pods?.close();
  }
  return res;
}

/** Pod-network NAT rules of this benchmark's subnet still in the nat table (a teardown that did not happen). */
async function leftoverMasquerades(): Promise<string[]> {
  const r = await run('iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
  return r.out.split('\n').filter((l) => l.includes(' -s 10.88.7.'));
}

/** Removes them (so the machine is left clean); the report says they were there. */
async function removeMasquerades(rules: string[]): Promise<void> {
  for (const rule of rules) {
    const chain = /-j (CNI-[0-9a-f]+)/.exec(rule)?.[1];
    const m = /^-A POSTROUTING -s (\S+) -m comment --comment "(.*)" -j (\S+)$/.exec(rule);
    if (!m) continue;
    await run('iptables', ['-t', 'nat', '-D', 'POSTROUTING', '-s', m[1]!, '-m', 'comment', '--comment', m[2]!.replace(/\\"/g, '"'), '-j', m[3]!]);
    if (chain) {
      await run('iptables', ['-t', 'nat', '-F', chain]);
      await run('iptables', ['-t', 'nat', '-X', chain]);
    }
  }
}

// ---------------------------------------------------------------------------------------------------- pulls

interface PullResult {
  sizeBytes: number;
  kiteMs: number[];
  skopeoMs: number[];
  notes: string[];
}

async function pulls(dir: string): Promise<PullResult> {
  const res: PullResult = { sizeBytes: NaN, kiteMs: [], skopeoMs: [], notes: [] };
  let registry: TestRegistry | undefined;
  try {
    registry = await startRegistry();
    const build = join(dir, 'pull-build');
    await buildBusybox(dir, build);
    // One more layer of incompressible data on top, so the blob is as large as the issue asks.
    const ctx = join(dir, 'ctx-data');
    mkdirSync(join(ctx, 'data'), { recursive: true });
    for (let i = 0; i < cfg.pullMb; i++) writeFileSync(join(ctx, 'data', `chunk-${i}.bin`), randomBytes(1 << 20));
    const ref = `${registry.host}/bench/big:1`;
    await kiteImage(['build', ctx, '-t', 'bench/big:1', '--from', IMAGE, '--data-dir', build]);
    rmSync(ctx, { recursive: true, force: true });
    await kiteImage(['push', 'bench/big:1', '--to', ref, '--data-dir', build]);
    const built = await (await openImageStore({ dir: join(build, 'agent', 'images') })).imageStatus('bench/big:1');
    res.sizeBytes = built?.size ?? NaN;
    log(`pull image ${ref}: ${fmt.mb(res.sizeBytes)} in the store; pulling it ${cfg.pullReps}× with kite and with skopeo...`);
    for (let i = 0; i < cfg.pullReps; i++) {
      const storeDir = join(dir, `pull-kite-${i}`);
      const store = await openImageStore({ dir: storeDir });
      const a = performance.now();
      await store.pullImage(ref);
      res.kiteMs.push(performance.now() - a);
      rmSync(storeDir, { recursive: true, force: true });

      const oci = join(dir, `pull-skopeo-${i}`);
      const b = performance.now();
      const r = await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:big`]);
      if (r.code !== 0) throw new Error(`skopeo copy failed: ${r.out.slice(-1000)}`);
      res.skopeoMs.push(performance.now() - b);
      rmSync(oci, { recursive: true, force: true });
    }
    log(`pull: kite ${res.kiteMs.map((m) => fmt.ms(m)).join(', ')}; skopeo copy ${res.skopeoMs.map((m) => fmt.ms(m)).join(', ')}`);
  } catch (e) {
    res.notes.push(`pull figures aborted: ${(e as Error).stack ?? e}`);
    log(`pull: ABORTED: ${(e as Error).message}`);
  } finally {
    await registry?.stop();
  }
  return res;
}

// ----------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const busy = await machineBusy(1000);
  const load0 = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-pods-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  let floor: FloorResult | undefined;
  let runtime: RuntimeResult | undefined;
  let kite: KiteResult | undefined;
  let split: SplitResult | undefined;
  let pull: PullResult | undefined;
  try {
    const checkLeftovers = async (phase: string) => {
      const left = await leftoverMasquerades();
      if (!left.length) return;
      notes.push(`after ${phase}: ${left.length} pod masquerade rule(s) of 10.88.7.0/24 left in the nat table (CNI DEL did not remove them); removed:\n  ${left.join('\n  ')}`);
      await removeMasquerades(left);
    };
    kite = await kiteInProcess(dir);
    await checkLeftovers('kite server + agent');
    floor = await floorRounds(dir);
    await checkLeftovers('the floor');
    runtime = await runtimeRounds(dir);
    await checkLeftovers('kite runtime alone');
    if (cfg.split) split = await kiteSplit(dir);
    if (cfg.split) await checkLeftovers('kite agent alone');
    if (cfg.pullMb > 0) pull = await pulls(dir);
  } finally {
    const left = await leftoverMasquerades();
    if (left.length) {
      notes.push(`${left.length} pod masquerade rule(s) of 10.88.7.0/24 were left in the nat table (CNI DEL not run); removed:\n  ${left.join('\n  ')}`);
      await removeMasquerades(left);
    }
    await removeCgroup(CGROUP_PARENT).catch((e: Error) => notes.push(`cgroup ${CGROUP_PARENT} left behind: ${e.message}`));
    await run('ip', ['link', 'del', BRIDGE]);
    await run('ip', ['link', 'del', FLOOR_BRIDGE]);
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }

  for (const [i, count] of cfg.counts.entries()) {
    const k = kite.rounds[i];
    const f = floor.rounds[i];
    const rt = runtime.rounds[i];
    if (!k) continue;
    const label = `${count} pod${count === 1 ? '' : 's'} at once`;
    const target50 = f ? `p50 ≤ 2× floor` : '';
    rows.push({
      backend: label,
      figure: `create → Ready p50 (${k.lat.n} samples, ${cfg.rounds[i] ?? 1} round${(cfg.rounds[i] ?? 1) === 1 ? '' : 's'})`,
      kite: fmt.ms(k.lat.p50),
      cpu: `${k.cpuPerPodMs.toFixed(0)} ms (${f ? f.cpuPerPodMs.toFixed(0) : '—'}; ${rt ? rt.cpuPerPodMs.toFixed(0) : '—'})`,
      baselines: [
        ...(f ? [{ name: 'floor', value: fmt.ms(f.lat.p50), ratio: k.lat.p50 / f.lat.p50 }] : []),
        ...(rt ? [{ name: 'kite runtime alone', value: fmt.ms(rt.lat.p50), ratio: k.lat.p50 / rt.lat.p50 }] : []),
      ],
      target: target50,
      met: f ? k.lat.p50 <= 2 * f.lat.p50 : undefined,
    });
    const big = count === Math.max(...cfg.counts) && count >= 50;
    rows.push({
      backend: label,
      figure: 'create → Ready p99 (max)',
      kite: `${fmt.ms(k.lat.p99)} (${fmt.ms(k.lat.max)})`,
      baselines: [
        ...(f ? [{ name: 'floor', value: `${fmt.ms(f.lat.p99)} (${fmt.ms(f.lat.max)})`, ratio: k.lat.p99 / f.lat.p99 }] : []),
        ...(rt ? [{ name: 'kite runtime alone', value: `${fmt.ms(rt.lat.p99)} (${fmt.ms(rt.lat.max)})`, ratio: k.lat.p99 / rt.lat.p99 }] : []),
      ],
      target: big ? '< 1 s' : '',
      met: big ? k.lat.p99 < TARGET_P99_MS : undefined,
    });
    const st = runtime.steps[i];
    if (st) rows.push({ backend: label, figure: 'kite runtime alone: RunPodSandbox / CreateContainer / StartContainer p50', kite: `${fmt.ms(st.sandbox.p50)} / ${fmt.ms(st.create.p50)} / ${fmt.ms(st.start.p50)}`, baselines: [], target: '' });
    const rss = kite.rssAt.get(count);
    if (rss) rows.push({ backend: label, figure: 'kite server RSS (control plane + agent) with them (peak)', kite: `${fmt.mb(rss.rss)} (${fmt.mb(rss.peak)})`, baselines: [], target: '' });
  }
  rows.push({ backend: 'memory', figure: 'kite server + agent RSS, node idle', kite: fmt.mb(kite.idleRss), baselines: [], target: '' });
  if (split) {
    const s = split;
    if (s.round) {
      rows.push({
        backend: 'kite agent alone',
        figure: `${s.round.count} pods at once, create → Ready p50 / p99`,
        kite: fmt.p50p99(s.round.lat),
        cpu: `${s.round.cpuPerPodMs.toFixed(0)} ms`,
        baselines: [],
        target: s.round.count >= 50 ? 'p99 < 1 s' : '',
        met: s.round.count >= 50 ? s.round.lat.p99 < TARGET_P99_MS : undefined,
      });
    }
    rows.push({ backend: 'kite agent alone', figure: 'agent RSS, node idle', kite: fmt.mb(s.agentIdleRss), baselines: [], target: '' });
    rows.push({
      backend: 'kite agent alone',
      figure: `agent RSS with ${s.round?.count ?? '?'} pods (peak)`,
      kite: `${fmt.mb(s.agentRss)} (${fmt.mb(s.agentPeak)})`,
      baselines: [],
      target: '< 100 MB',
      met: Number.isFinite(s.agentRss) ? s.agentRss < TARGET_RSS : undefined,
    });
    rows.push({ backend: 'kite agent alone', figure: 'its kite server --disable-agent RSS meanwhile', kite: fmt.mb(s.serverRss), baselines: [], target: '' });
  }
  if (pull) {
    const k = median(pull.kiteMs);
    const s = median(pull.skopeoMs);
    rows.push({
      backend: 'image pull',
      figure: `pull + unpack ${fmt.mb(pull.sizeBytes)} from a local registry (median of ${pull.kiteMs.length})`,
      kite: fmt.ms(k),
      baselines: [{ name: 'skopeo copy docker:// → oci: (no unpack)', value: fmt.ms(s), ratio: k / s }],
      target: '',
    });
  }

  const out = [
    `kite pod benchmark${quick ? ' (--quick)' : ''}: busybox "sleep 3600" pods without probes (Ready as soon as the container runs), image present on the node;`,
    `latency = bench clock, from just before each pod's POST to the watch showing it Ready=True; the floor is an overlay of the same layers + a fresh netns + CNI loopback/bridge ADD + runc run -d, the same count at once;`,
    `"kite runtime alone" is kite's runc runtime in the bench process (RunPodSandbox + CreateContainer + StartContainer, no API server or agent), timed the same way.`,
    `machine: ${cpus().length} cores; busy ${(busy * 100).toFixed(0)}% in the second before the run (other work); load average ${load0} at start, ${loadavg()} at the end.`,
    '',
    renderTable(rows, { backend: 'case', cpu: 'CPU/pod: kite (floor; runtime)' }),
    '',
    'CPU/pod: user+system CPU of the process that does the work, from the first create until all are Ready, per pod: the kite server (or the',
    'kite agent) for kite; the bench process itself (spawning runc, mount, CNI plugins) for the floor and for kite runtime alone. The',
    'processes they start are not in it.',
  ];
  for (const r of [...kite.rounds, ...(split?.round ? [split.round] : [])]) for (const e of r.errors.slice(0, 5)) out.push(`error: ${e}`);
  for (const n of [...notes, ...kite.notes, ...floor.notes, ...runtime.notes, ...(split?.notes ?? []), ...(pull?.notes ?? [])]) out.push(n);
  console.log(out.join('\n'));
}

await main();
