import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { watchBindings, type BindWatch } from './lib/bindwatch.js';
import { startKite, startSim, type KiteServer, type SimProcess } from './lib/cluster.js';
import { freePort } from './lib/proc.js';
import { summariseProfiles } from './lib/cpuprofile.js';
import { HttpsClient, runLoad, unexpected } from './lib/https.js';
import { deployment, pendingPod, storedPod } from './lib/pods.js';
import { rawSqlite } from './lib/raw.js';
import { renderTable, type Row } from './lib/report.js';
import { fmt, latency, type Latency } from './lib/stats.js';

// The control-loop benchmark (issue 3): scheduler throughput and time in queue at two cluster sizes, a
// Deployment's rolling update, and the control plane's memory with a large cluster. A real `kite server
// --disable-agent` (SQLite, fresh data dir) runs in its own process; `kite sim` runs the nodes in another
// process, as it would in use, so neither the simulated kubelets nor this process add to the server's CPU
// profile or its RSS. Everything talks to 127.0.0.1. Progress goes to stderr, the table to stdout.
//
// The scheduler's own throughput is measured on pods that are all pending before it starts: the server first
// runs without its scheduler while the pods are created, then restarts on the same data dir and port with it
// (the sim stays up and reconnects). That is a scheduler starting with a backlog, as after a fail-over,
// and needs no bench-only switch in the product; pods created while the scheduler runs are a second figure.

const HELP = `Usage: node dist/bench/scheduler.js [--quick] [flags]

  --quick                   a smoke test in about a minute (50 and 300 nodes, 1,000 pods, 100 replicas)
  --nodes A,B               cluster sizes for the scheduling phases (default 500,5000)
  --pods N                  pods per scheduling phase: pending at the scheduler's start, then as many created
                            while it runs (default 10000 each)
  --replicas N              replicas of the rolled-out Deployment (default 1000; 0 skips)
  --rss-pods N              pods in the largest cluster for the memory figure (default 30000; 0 skips)
  --heartbeat-interval D    lease renewal period of the simulated nodes (default 10s, the kubelet's)
  --clients N               concurrent HTTPS clients creating pods (default 50)
  --timeout-s S             how long to wait for any one phase (default 600)
  --cpu-prof                run the server under node --cpu-prof and print its hottest functions
  --keep                    keep the data dirs (and profiles)`;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    nodes: { type: 'string' },
    pods: { type: 'string' },
    replicas: { type: 'string' },
    'rss-pods': { type: 'string' },
    'heartbeat-interval': { type: 'string', default: '10s' },
    clients: { type: 'string', default: '50' },
    'timeout-s': { type: 'string', default: '600' },
    'cpu-prof': { type: 'boolean', default: false },
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
  nodes: (flags.nodes ?? (quick ? '50,300' : '500,5000')).split(',').map(Number),
  pods: Number(flags.pods ?? (quick ? 1000 : 10_000)),
  replicas: Number(flags.replicas ?? (quick ? 100 : 1000)),
  rssPods: Number(flags['rss-pods'] ?? (quick ? 3000 : 30_000)),
  heartbeat: flags['heartbeat-interval']!,
  clients: Number(flags.clients),
  timeoutMs: Number(flags['timeout-s']) * 1000,
};
for (const n of [...cfg.nodes, cfg.pods, cfg.replicas, cfg.rssPods, cfg.clients]) if (!Number.isInteger(n) || n < 0) throw new Error(`counts must be whole numbers (see --help)`);

// This file is dist/bench/scheduler.js; the CLI it drives is the same build's dist/src/cli/main.js.
const KITE = process.env.KITE_BIN ?? fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCHED_NS = 'bench-sched';
const DEPLOY_NS = 'bench-deploy';
const TARGET_RATE = 1000;
const TARGET_RSS = 1024 ** 3;

const t0 = performance.now();
function log(msg: string): void {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ScheduleResult {
  nodes: number;
  pods: number;
  /** pods ÷ (last binding seen − first create sent). */
  rate: number;
  createRate: number;
  /** From the create's 201 to the binding seen through the watch. */
  inQueue: Latency;
  bound: number;
  /** The scheduler's own summary of the burst ("per cycle of N nodes: F filtered, S scored..."). */
  cycles?: string;
  serverCpuPerPodMs: number;
  errors: string[];
}

async function namespace(c: HttpsClient, name: string): Promise<void> {
  const r = await c.call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating namespace ${name}: ${unexpected(r, 201)}`);
  // The default ServiceAccount must exist before pods are admitted into the namespace.
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const sa = await c.call('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`);
    if (sa.status === 200) return;
    await sleep(50);
  }
  throw new Error(`namespace ${name}: no default ServiceAccount after 30 s`);
}

/** Creates pods [from, to) as fast as `clients` connections allow and waits until all are bound. */
async function schedulePods(k: KiteServer, client: HttpsClient, from: number, to: number, watch: Awaited<ReturnType<typeof watchBindings>>): Promise<ScheduleResult> {
  const n = to - from;
  const t201 = new Float64Array(n).fill(NaN);
  const cpu0 = k.proc.cpuSeconds();
  const drained0 = k.logLines(/queue drained/).length;
  const begin = performance.now();
  const create = await runLoad(n, cfg.clients, async (j) => {
    const r = await client.call('POST', `/api/v1/namespaces/${SCHED_NS}/pods`, pendingPod(`p-${from + j}`));
    if (r.status === 201) t201[j] = performance.now();
    return unexpected(r, 201);
  });
  const createdAt = performance.now();
  log(`  created ${fmt.int(n)} pods in ${fmt.ms(createdAt - begin)} (${fmt.rate(n / ((createdAt - begin) / 1000))}); ${fmt.int(watch.bound() - from)} bound so far`);
  const all = await watch.waitBound(to, cfg.timeoutMs);
  let last = begin;
  const inQueue = new Float64Array(n);
  let bound = 0;
  for (let j = 0; j < n; j++) {
    const at = watch.boundAt[from + j];
    inQueue[j] = at - t201[j];
    if (Number.isFinite(at)) {
      bound++;
      if (at > last) last = at;
    }
  }
  const serverCpu = k.proc.cpuSeconds() - cpu0;
  const cycles = await drainSummary(k, drained0);
  const errors = [...create.firstErrors.map((e) => `create: ${e}`), ...watch.errors];
  if (!all) errors.push(`only ${fmt.int(bound)} of ${fmt.int(n)} pods bound within ${cfg.timeoutMs / 1000} s`);
  return { nodes: 0, pods: n, rate: bound / ((last - begin) / 1000), createRate: n / ((createdAt - begin) / 1000), inQueue: latency(inQueue), bound, cycles, serverCpuPerPodMs: (serverCpu * 1000) / n, errors };
}

interface PendingResult {
  pods: number;
  /** Pods ÷ creation time, with no scheduler running. */
  createRate: number;
  /** SIGTERM to the first server → its successor answering /readyz. */
  restartMs: number;
  /** The successor's "became leader" log line → the first binding seen through the watch. */
  firstBindingMs: number;
  /** pods ÷ (last binding seen − "became leader"): the scheduler's throughput from its start. */
  rate: number;
  /** "became leader" → each pod's binding seen through the watch. */
  sinceStart: Latency;
  bound: number;
  cycles?: string;
  /** The successor's CPU from /readyz until the last binding, ÷ pods. */
  serverCpuPerPodMs: number;
  errors: string[];
}

/** Creates pods [0, cfg.pods) on a server running without its scheduler, stops that server and starts it again
 *  (same data dir and port) with the scheduler; returns the successor and a watch opened across the restart. */
async function pendingPhase(first: KiteServer, profDir: string | undefined, capacity: number): Promise<{ k: KiteServer; watch: BindWatch; result: PendingResult }> {
  const n = cfg.pods;
  const client = new HttpsClient(first.endpoint, cfg.clients);
  const begin = performance.now();
  let create;
  try {
    create = await runLoad(n, cfg.clients, async (j) => unexpected(await client.call('POST', `/api/v1/namespaces/${SCHED_NS}/pods`, pendingPod(`p-${j}`)), 201));
  } finally {
    client.close();
  }
  const createRate = n / ((performance.now() - begin) / 1000);
  log(`  created ${fmt.int(n)} pending pods at ${fmt.rate(createRate)}; restarting the server with its scheduler...`);
  const errors = create.firstErrors.map((e) => `create: ${e}`);
  const stopAt = performance.now();
  if (!(await first.proc.stop(30_000))) errors.push('the scheduler-less server did not exit within 30 s of SIGTERM (killed)');
  const k = await startKite(KITE, first.dataDir, { port: first.endpoint.port, profDir });
  const restartMs = performance.now() - stopAt;
  const cpu0 = k.proc.cpuSeconds();
  const drained0 = k.logLines(/queue drained/).length;
  // The watch starts with the current state: a binding made before it connected counts as made when it is
  // seen, which can only make the figures worse.
  const watch = await watchBindings(k.endpoint, SCHED_NS, 'p-', capacity, '');
  const all = await watch.waitBound(n, cfg.timeoutMs);
  const serverCpu = k.proc.cpuSeconds() - cpu0;
  const leaderAt = k.loggedAt(/became leader/);
  let firstAt = Infinity;
  let lastAt = -Infinity;
  let bound = 0;
  const sinceStart = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const at = watch.boundAt[j];
    sinceStart[j] = at - leaderAt;
    if (!Number.isFinite(at)) continue;
    bound++;
    firstAt = Math.min(firstAt, at);
    lastAt = Math.max(lastAt, at);
  }
  const cycles = await drainSummary(k, drained0);
  errors.push(...watch.errors);
  if (!Number.isFinite(leaderAt)) errors.push('the restarted server never logged "became leader"');
  if (!all) errors.push(`only ${fmt.int(bound)} of ${fmt.int(n)} pending pods bound within ${cfg.timeoutMs / 1000} s`);
  const result: PendingResult = {
    pods: n,
    createRate,
    restartMs,
    firstBindingMs: firstAt - leaderAt,
    rate: bound / ((lastAt - leaderAt) / 1000),
    sinceStart: latency(sinceStart),
    bound,
    cycles,
    serverCpuPerPodMs: (serverCpu * 1000) / n,
    errors,
  };
  return { k, watch, result };
}

/** The scheduler logs its burst summary once its queue has been idle for a second. */
async function drainSummary(k: KiteServer, seenBefore: number): Promise<string | undefined> {
  for (const deadline = performance.now() + 5000; performance.now() < deadline; await sleep(100)) {
    const lines = k.logLines(/queue drained/).slice(seenBefore);
    if (lines.length) return lines.map((l) => l.replace(/^.*queue drained: /, '')).join(' | ');
  }
  return undefined;
}

interface RolloutResult {
  replicas: number;
  createMs: number;
  updateMs: number;
  errors: string[];
}

interface DeploymentStatus {
  metadata: { generation: number };
  spec: { replicas: number };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; readyReplicas?: number };
}

/** `kubectl rollout status`'s test: every replica updated, available, and no old ones left. */
async function waitRolledOut(client: HttpsClient, path: string): Promise<void> {
  const deadline = performance.now() + cfg.timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    const r = await client.call('GET', path);
    if (r.status === 200) {
      const d = JSON.parse(r.body.toString('utf8')) as DeploymentStatus;
      const s = d.status ?? {};
      last = JSON.stringify(s);
      const want = d.spec.replicas;
      if ((s.observedGeneration ?? 0) >= d.metadata.generation && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want) return;
    }
    await sleep(100);
  }
  throw new Error(`rollout not complete after ${cfg.timeoutMs / 1000} s; status ${last}`);
}

async function rollout(client: HttpsClient): Promise<RolloutResult> {
  await namespace(client, DEPLOY_NS);
  const base = `/apis/apps/v1/namespaces/${DEPLOY_NS}/deployments`;
  const t1 = performance.now();
  const created = await client.call('POST', base, deployment('web', cfg.replicas, 'registry.k8s.io/pause:3.9'));
  if (created.status !== 201) throw new Error(`creating the Deployment: ${unexpected(created, 201)}`);
  await waitRolledOut(client, `${base}/web`);
  const createMs = performance.now() - t1;
  log(`  ${fmt.int(cfg.replicas)} replicas rolled out in ${fmt.ms(createMs)}; changing the image...`);
  const t2 = performance.now();
  const patch = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] } } } });
  const patched = await client.call('PATCH', `${base}/web`, patch, { 'Content-Type': 'application/strategic-merge-patch+json' });
  if (patched.status !== 200) throw new Error(`patching the Deployment: ${unexpected(patched, 200)}`);
  await waitRolledOut(client, `${base}/web`);
  return { replicas: cfg.replicas, createMs, updateMs: performance.now() - t2, errors: [] };
}

interface ClusterResult {
  nodes: number;
  simReadyMs: number;
  pending?: PendingResult;
  schedule?: ScheduleResult;
  rss?: { pods: number; rss: number; peak: number; schedule: ScheduleResult };
  rollout?: RolloutResult;
  idleRss: number;
  notes: string[];
  profile?: string;
}

// Node size for the sim: large enough that 110 pods (the kubelet's default maximum) always fit by CPU and
// memory, so both scheduling phases and the rollout fit even in the smallest cluster.
const SIM_NODE = ['--cpu', '32', '--memory', '64Gi'];

async function runCluster(nodes: number, work: { rollout: boolean; rssPods: number }, dir: string): Promise<ClusterResult> {
  const dataDir = join(dir, `kite-${nodes}`);
  const profDir = flags['cpu-prof'] ? join(dir, `prof-${nodes}`) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  let k = await startKite(KITE, dataDir, { port: await freePort(), extraArgs: ['--disable-controllers', 'scheduler'] });
  const r: ClusterResult = { nodes, simReadyMs: NaN, idleRss: NaN, notes: [] };
  let sim: SimProcess | undefined;
  let client: HttpsClient | undefined;
  let watch: BindWatch | undefined;
  try {
    log(`${fmt.int(nodes)} nodes: server (no scheduler) ready in ${fmt.ms(k.proc.readyMs)}; starting kite sim...`);
    sim = await startSim(KITE, k.kubeconfig, ['--nodes', String(nodes), '--heartbeat-interval', cfg.heartbeat, ...SIM_NODE], cfg.timeoutMs);
    r.simReadyMs = sim.readyMs;
    const setup = new HttpsClient(k.endpoint, 1);
    await namespace(setup, SCHED_NS).finally(() => setup.close());
    // The controllers' node informer has every node once the sim's informers saw them; give it a moment.
    await sleep(2000);
    r.idleRss = k.proc.rss();
    log(`${fmt.int(nodes)} nodes registered and ready in ${fmt.ms(sim.readyMs)}; server RSS ${fmt.mb(r.idleRss)}; creating ${fmt.int(cfg.pods)} pending pods...`);
    const capacity = Math.max(2 * cfg.pods, work.rssPods);
    const pending = await pendingPhase(k, profDir, capacity);
    k = pending.k;
    watch = pending.watch;
    r.pending = pending.result;
    const p = r.pending;
    log(`${fmt.int(nodes)} nodes: restart ${fmt.ms(p.restartMs)}; became leader → first binding ${fmt.ms(p.firstBindingMs)}; ${fmt.int(p.bound)} pending pods bound at ${fmt.rate(p.rate)}; ${p.cycles ?? 'no scheduler summary'}`);
    client = new HttpsClient(k.endpoint, cfg.clients);
    log(`${fmt.int(nodes)} nodes: creating ${fmt.int(cfg.pods)} more pods while the scheduler runs...`);
    const s = await schedulePods(k, client, cfg.pods, 2 * cfg.pods, watch);
    s.nodes = nodes;
    r.schedule = s;
    log(`${fmt.int(nodes)} nodes: ${fmt.int(s.bound)} pods bound at ${fmt.rate(s.rate)}; time in queue p50/p99 ${fmt.p50p99(s.inQueue)}; ${s.cycles ?? 'no scheduler summary'}`);
    if (work.rssPods > 2 * cfg.pods) {
      log(`${fmt.int(nodes)} nodes: ${fmt.int(work.rssPods - 2 * cfg.pods)} more pods for the memory figure...`);
      const more = await schedulePods(k, client, 2 * cfg.pods, work.rssPods, watch);
      more.nodes = nodes;
      await sleep(3000);
      r.rss = { pods: work.rssPods, rss: k.proc.rss(), peak: k.proc.peakRss(), schedule: more };
      log(`${fmt.int(nodes)} nodes, ${fmt.int(work.rssPods)} pods: RSS ${fmt.mb(r.rss.rss)} (peak ${fmt.mb(r.rss.peak)}); these pods bound at ${fmt.rate(more.rate)}`);
    }
    watch.close();
    watch = undefined;
    if (work.rollout && cfg.replicas > 0) {
      log(`${fmt.int(nodes)} nodes: Deployment of ${fmt.int(cfg.replicas)} replicas...`);
      r.rollout = await rollout(client);
      log(`  rolling update (image change → complete) in ${fmt.ms(r.rollout.updateMs)}`);
    }
  } catch (e) {
    r.notes.push(`aborted: ${(e as Error).stack ?? String(e)}\nserver log (tail):\n${k.proc.output().slice(-3000)}${sim ? `\nsim output (tail):\n${sim.output().slice(-1500)}` : ''}`);
    log(`${fmt.int(nodes)} nodes: ABORTED: ${(e as Error).message}`);
  } finally {
    watch?.close();
    client?.close();
    await sim?.stop();
    const grace = profDir ? 180_000 : 30_000;
    const stopAt = performance.now();
    if (!(await k.proc.stop(grace))) r.notes.push(`the server did not exit within ${grace / 1000} s of SIGTERM (killed); log tail:\n${k.proc.output().slice(-1500)}`);
    else log(`${fmt.int(nodes)} nodes: server stopped in ${fmt.ms(performance.now() - stopAt)}`);
  }
  if (profDir) {
    const s = summariseProfiles(profDir, REPO, 25);
    r.profile = [
      `CPU profile of the server with its scheduler at ${fmt.int(nodes)} nodes (${(s.totalMs / 1000).toFixed(1)} s sampled; ${profDir}):`,
      ...s.areas.slice(0, 12).map((h) => `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`),
      '  hottest functions (self time):',
      ...s.functions.map((h) => `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`),
    ].join('\n');
  }
  return r;
}

/** The scheduler's burst summary, short: "230 scored (230–230), 230 filtered of 500; 3,000 cycles at 1,200/s". */
function describeCycles(summary: string | undefined): string {
  if (!summary) return '— (no summary logged)';
  const parts = summary.split(' | ').map((one) => {
    const m = /^(\d+) cycles in \d+ ms \((\d+)\/s\).*per cycle of (\d+) nodes: (\d+) filtered, (\d+) scored(?: \((\d+)–(\d+)\))?/.exec(one);
    if (!m) return one;
    const range = m[6] ? ` (${fmt.int(Number(m[6]))}–${fmt.int(Number(m[7]))})` : '';
    return `${fmt.int(Number(m[5]))}${range} of ${fmt.int(Number(m[3]))} nodes (${fmt.int(Number(m[4]))} filtered); ${fmt.int(Number(m[1]))} cycles at ${fmt.int(Number(m[2]))}/s`;
  });
  return parts.join(' | ');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-sched-'));
  try {
    // Baseline: what SQLite alone does with the writes every scheduled pod needs at least (its create and
    // its binding), one durable commit each, in this process before any server starts.
    log(`raw SQLite baseline: ${fmt.int(cfg.pods)} pod-sized writes...`);
    mkdirSync(join(dir, 'raw'));
    const raw = rawSqlite(join(dir, 'raw'), cfg.pods, (i) => storedPod(`p-${i}`), cfg.clients, 500);
    const results: ClusterResult[] = [];
    const largest = Math.max(...cfg.nodes);
    const smallest = Math.min(...cfg.nodes);
    for (const nodes of cfg.nodes) {
      results.push(await runCluster(nodes, { rollout: nodes === smallest, rssPods: nodes === largest ? cfg.rssPods : 0 }, dir));
    }

    const rows: Row[] = [];
    const rawPerPod = raw.write.rate / 2;
    const groupPerPod = (raw.groupWrite?.rate ?? NaN) / 2;
    for (const r of results) {
      const label = `${fmt.int(r.nodes)} nodes`;
      const s = r.schedule;
      rows.push({ backend: label, figure: 'sim: nodes registered → ready', kite: fmt.ms(r.simReadyMs), baselines: [], target: '' });
      rows.push({ backend: label, figure: 'server RSS, nodes only', kite: fmt.mb(r.idleRss), baselines: [], target: '' });
      const p = r.pending;
      if (p) {
        const target = r.nodes === largest ? `≥ ${fmt.int(TARGET_RATE)}/s` : '';
        rows.push({
          backend: label,
          figure: `scheduler throughput, ${fmt.int(p.pods)} pending pods (binding included)`,
          kite: fmt.rate(p.rate),
          cpu: `${p.serverCpuPerPodMs.toFixed(2)} ms`,
          // Each scheduled pod is two writes: its binding and its Scheduled Event.
          baselines: [
            { name: 'raw SQLite 2 commits/pod', value: fmt.rate(rawPerPod), ratio: p.rate / rawPerPod },
            { name: 'grouped', value: fmt.rate(groupPerPod), ratio: p.rate / groupPerPod },
          ],
          target,
          met: target ? p.rate >= TARGET_RATE : undefined,
        });
        rows.push({ backend: label, figure: '  became leader → first binding seen', kite: fmt.ms(p.firstBindingMs), baselines: [], target: '' });
        rows.push({ backend: label, figure: '  time in queue p50 / p99 (became leader → bound)', kite: fmt.p50p99(p.sinceStart), baselines: [], target: '' });
        rows.push({ backend: label, figure: '  nodes scored per cycle (scheduler log)', kite: describeCycles(p.cycles), baselines: [], target: '' });
        rows.push({ backend: label, figure: '  pending pods created (no scheduler); server restart', kite: `${fmt.rate(p.createRate)}; ${fmt.ms(p.restartMs)}`, baselines: [], target: '' });
      }
      if (s) {
        rows.push({
          backend: label,
          figure: `end to end: ${fmt.int(s.pods)} more pods created while scheduling (first create → all bound)`,
          kite: fmt.rate(s.rate),
          cpu: `${s.serverCpuPerPodMs.toFixed(2)} ms`,
          baselines: [],
          target: '',
        });
        rows.push({ backend: label, figure: `  pod creates (${cfg.clients} clients, during scheduling)`, kite: fmt.rate(s.createRate), baselines: [], target: '' });
        rows.push({ backend: label, figure: '  time in queue p50 / p99 (201 → bound)', kite: fmt.p50p99(s.inQueue), baselines: [], target: '' });
        rows.push({ backend: label, figure: '  nodes scored per cycle (scheduler log)', kite: describeCycles(s.cycles), baselines: [], target: '' });
      }
      if (r.rss) {
        rows.push({ backend: label, figure: `pods scheduled (${fmt.int(r.rss.schedule.pods)} more)`, kite: fmt.rate(r.rss.schedule.rate), cpu: `${r.rss.schedule.serverCpuPerPodMs.toFixed(2)} ms`, baselines: [], target: '' });
        rows.push({ backend: label, figure: `server RSS at ${fmt.int(r.rss.pods)} pods (peak)`, kite: `${fmt.mb(r.rss.rss)} (${fmt.mb(r.rss.peak)})`, baselines: [], target: '< 1 GB', met: r.rss.peak < TARGET_RSS });
      }
      if (r.rollout) {
        rows.push({ backend: label, figure: `Deployment ${fmt.int(r.rollout.replicas)} replicas: create → rolled out`, kite: fmt.ms(r.rollout.createMs), baselines: [], target: '' });
        rows.push({ backend: label, figure: 'rolling update: image change → complete', kite: fmt.ms(r.rollout.updateMs), baselines: [], target: '' });
      }
    }
    const out = [
      `kite control-loop benchmark${quick ? ' (--quick)' : ''}: kite server --disable-agent (SQLite) + kite sim (separate processes), heartbeat ${cfg.heartbeat}, ${cfg.clients} creating clients`,
      `raw SQLite in this process: ${fmt.rate(raw.write.rate)} single-row commits, ${fmt.rate(raw.groupWrite?.rate ?? NaN)} in groups of ${cfg.clients}, of ~1.5 KB pod rows`,
      '',
      renderTable(rows, { backend: 'cluster', cpu: 'server CPU/pod' }),
    ];
    for (const r of results) {
      for (const e of [...(r.pending?.errors ?? []), ...(r.schedule?.errors ?? []), ...(r.rss?.schedule.errors ?? [])]) out.push(`${fmt.int(r.nodes)} nodes: ${e}`);
      for (const n of r.notes) out.push(`${fmt.int(r.nodes)} nodes: ${n}`);
      if (r.profile) out.push('', r.profile);
    }
    console.log(out.join('\n'));
  } finally {
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

await main();
