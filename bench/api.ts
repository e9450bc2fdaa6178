// API server benchmark (issue "Foundation"): pod create/get/update/list throughput and latency with 50
// concurrent HTTPS clients, 100 watchers under create load, lists of 10,000 pods, RSS and start-to-ready, on
// SQLite and on etcd, each beside baselines measured in the same run:
//   - raw storage: better-sqlite3 (WAL, synchronous=FULL) and the etcd3 client, same writes, same values;
//   - "node floor": a minimal in-memory HTTPS+JSON pod server (bench/lib/floor-server.ts), the most Node
//     itself can do here with the same TLS and concurrency.
// Everything talks to 127.0.0.1 only. Counts are configurable by env (README.md); defaults are the issue's.
//
//   node dist/bench/api.js

import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePki } from '../src/apiserver/pki.js';
import { startEtcd, ETCD_BIN, type RunningEtcd } from '../test/helpers/etcd.js';
import { HttpsClient, runLoad, unexpected, type Endpoint, type LoadResult } from './lib/https.js';
import { freePort, startServer, type ServerProcess } from './lib/proc.js';
import { kubectlRunPod, relabelled, storedPod } from './lib/pods.js';
import { rawEtcd, rawSqlite, type RawStoreResult } from './lib/raw.js';
import { openWatchers } from './lib/watchers.js';
import { nowUs, summariseProfiles, type Window } from './lib/cpuprofile.js';
import { renderTable, type Baseline, type Row } from './lib/report.js';
import { fmt, latency, median, type Latency } from './lib/stats.js';
import { cpuSnapshot, othersCpu } from './lib/machine.js';
import { availableParallelism } from 'node:os';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const KITE = join(REPO, 'bin', 'kite');
const FLOOR = fileURLToPath(new URL('./lib/floor-server.js', import.meta.url));

function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(v)}`);
  return n;
}

const PODS = envInt('BENCH_PODS', 10_000);
const cfg = {
  pods: PODS,
  clients: Math.max(1, envInt('BENCH_CLIENTS', 50)),
  gets: envInt('BENCH_GETS', PODS),
  lists: envInt('BENCH_LISTS', 100),
  listLimit: envInt('BENCH_LIST_LIMIT', 500),
  listReps: Math.max(1, envInt('BENCH_LIST_REPS', 3)),
  watchers: envInt('BENCH_WATCHERS', 100),
  watchEvents: envInt('BENCH_WATCH_EVENTS', 10_000),
  watchTimeoutMs: envInt('BENCH_WATCH_TIMEOUT_S', 120) * 1000,
  backends: (process.env.BENCH_BACKENDS ?? 'sqlite,etcd')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
  floor: process.env.BENCH_FLOOR !== '0',
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  keep: process.env.BENCH_KEEP === '1',
};

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

interface ListVariant {
  id: string;
  label: string;
  query: string;
  headers: Record<string, string>;
  /** The floor baseline only speaks plain JSON. */
  floor: boolean;
}

const LIST_VARIANTS: ListVariant[] = [
  { id: 'json', label: 'JSON', query: '', headers: {}, floor: true },
  { id: 'table', label: 'Table', query: '', headers: { Accept: TABLE_ACCEPT }, floor: false },
  { id: 'rv0', label: 'JSON, resourceVersion=0', query: '?resourceVersion=0', headers: {}, floor: true },
  { id: 'rv0-table', label: 'Table, resourceVersion=0', query: '?resourceVersion=0', headers: { Accept: TABLE_ACCEPT }, floor: false },
  { id: 'gzip', label: 'JSON, Accept-Encoding: gzip', query: '', headers: { 'Accept-Encoding': 'gzip' }, floor: false },
];

interface OpResult {
  rate: number;
  lat: Latency;
  errors: number;
  firstErrors: string[];
}

interface ListTiming {
  medianMs: number;
  firstMs: number;
  bytes: number;
  error?: string;
}

interface WatchResult {
  totalMs: number;
  delivered: number;
  expected: number;
  complete: boolean;
  creates: OpResult;
  from201: Latency;
  fromStart: Latency;
  errors: string[];
}

interface ServerResults {
  readyFresh: number;
  rssIdle: number;
  create?: OpResult;
  get?: OpResult;
  update?: OpResult;
  list?: OpResult;
  fullList: Record<string, ListTiming>;
  rssLoaded: number;
  peakLoaded: number;
  readyRestart?: number;
  rssRestart?: number;
  watch?: WatchResult;
  rssAfterWatch: number;
  peakAfterWatch: number;
  uncleanStops: number;
  notes: string[];
  /** When each phase ran, to slice CPU profiles by phase. */
  windows: Array<{ name: string } & Window>;
  /** Server CPU seconds used in each phase (for starts: until ready). Unlike rates, barely changed by other
   *  load on the machine. */
  cpu: Record<string, number>;
}

type PhaseFn = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** A server the API phases run against: kite on some backend, or the floor. */
interface Target {
  name: string;
  start(): Promise<ServerProcess>;
  endpoint(): Endpoint;
  persistent: boolean;
  namespaces: boolean;
  listVariants: ListVariant[];
}

const t0 = performance.now();
function log(msg: string): void {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function opResult(r: LoadResult): OpResult {
  return { rate: r.ops / (r.elapsedMs / 1000), lat: latency(r.latencies), errors: r.errors, firstErrors: r.firstErrors };
}

function describeOp(o: OpResult): string {
  return `${fmt.rate(o.rate)}, p50/p99 ${fmt.p50p99(o.lat)}${o.errors ? ` [${fmt.int(o.errors)} errors]` : ''}`;
}

/** Opens the clients' keep-alive connections (TLS handshakes are not what the phases measure). */
async function warmUp(client: HttpsClient): Promise<void> {
  await runLoad(cfg.clients * 4, cfg.clients, async () => {
    await client.call('GET', '/api/v1/namespaces/default/pods/warm-up');
    return undefined;
  });
}

async function podPhases(t: Target, client: HttpsClient, r: ServerResults, phase: PhaseFn): Promise<void> {
  const n = cfg.pods;
  const base = '/api/v1/namespaces/default/pods';
  await warmUp(client);
  const bodies = Array.from({ length: n }, (_, i) => kubectlRunPod(`bench-${i}`));
  const created: Array<string | undefined> = new Array<string | undefined>(n);
  r.create = opResult(
    await phase('create', () =>
      runLoad(n, cfg.clients, async (i) => {
        const res = await client.call('POST', `${base}?fieldManager=kubectl-run`, bodies[i]);
        if (res.status === 201) created[i] = res.body.toString('utf8');
        return unexpected(res, 201);
      }),
    ),
  );
  log(`${t.name}: create ${fmt.int(n)}: ${describeOp(r.create)}`);

  if (cfg.gets > 0 && n > 0) {
    r.get = opResult(
      await phase('get', () =>
        runLoad(cfg.gets, cfg.clients, async () => {
          const res = await client.call('GET', `${base}/bench-${Math.floor(Math.random() * n)}`);
          return unexpected(res, 200);
        }),
      ),
    );
    log(`${t.name}: get ${fmt.int(cfg.gets)}: ${describeOp(r.get)}`);
  }

  const updates = created.map((s) => (s === undefined ? undefined : relabelled(s, 'updated')));
  let conflicts = 0;
  r.update = opResult(
    await phase('update', () =>
      runLoad(n, cfg.clients, async (i) => {
        let body = updates[i];
        if (body === undefined) return 'its create had failed';
        const path = `${base}/bench-${i}`;
        for (let attempt = 0; ; attempt++) {
          const res = await client.call('PUT', `${path}?fieldManager=kubectl-edit`, body);
          // Something in the server (a controller) changed the pod since: read it again and retry, as a client would.
          if (res.status !== 409 || attempt === 3) return unexpected(res, 200);
          conflicts++;
          const cur = await client.call('GET', path);
          if (cur.status !== 200) return unexpected(cur, 200);
          body = relabelled(cur.body.toString('utf8'), 'updated');
        }
      }),
    ),
  );
  if (conflicts) r.notes.push(`update: ${conflicts} PUTs got 409 Conflict (the pod had changed since the client read it) and were retried after a GET`);
  log(`${t.name}: update ${fmt.int(n)}: ${describeOp(r.update)}${conflicts ? `, ${conflicts} conflicts retried` : ''}`);

  if (cfg.lists > 0) {
    r.list = opResult(
      await phase('list ?limit', () =>
        runLoad(cfg.lists, cfg.clients, async () => {
          const res = await client.call('GET', `${base}?limit=${cfg.listLimit}`);
          return unexpected(res, 200);
        }),
      ),
    );
    log(`${t.name}: list limit=${cfg.listLimit} ×${cfg.lists}: ${describeOp(r.list)}`);
  }

  for (const v of t.listVariants) {
    const times: number[] = [];
    let bytes = 0;
    let error: string | undefined;
    await phase(`list all, ${v.label}`, async () => {
      for (let i = 0; i < cfg.listReps; i++) {
        const s = performance.now();
        const res = await client.call('GET', `${base}${v.query}`, undefined, v.headers);
        times.push(performance.now() - s);
        bytes = res.body.length;
        error ??= unexpected(res, 200);
      }
    });
    r.fullList[v.id] = { medianMs: median(times), firstMs: times[0], bytes, error };
    log(`${t.name}: list all (${v.label}): median ${fmt.ms(median(times))}, first ${fmt.ms(times[0])}, ${fmt.mb(bytes)}${error ? ` ERROR ${error}` : ''}`);
  }
}

async function watchPhase(t: Target, ep: Endpoint, client: HttpsClient): Promise<WatchResult> {
  const ns = 'bench-watch';
  if (t.namespaces) {
    const res = await client.call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    if (res.status !== 201 && res.status !== 409) throw new Error(`creating namespace ${ns}: ${unexpected(res, 201)}`);
  }
  const path = `/api/v1/namespaces/${ns}/pods`;
  const lr = await client.call('GET', `${path}?limit=1`);
  if (lr.status !== 200) throw new Error(`listing ${path}: ${unexpected(lr, 200)}`);
  const rv = (JSON.parse(lr.body.toString('utf8')) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const W = cfg.watchers;
  const E = cfg.watchEvents;
  const ws = await openWatchers(ep, `${path}?watch=true&resourceVersion=${rv}`, W, E, 'w-');
  try {
    const bodies = Array.from({ length: E }, (_, i) => kubectlRunPod(`w-${i}`));
    const tStart = new Float64Array(E).fill(NaN);
    const t201 = new Float64Array(E).fill(NaN);
    const begin = performance.now();
    const creates = opResult(
      await runLoad(E, cfg.clients, async (i) => {
        tStart[i] = performance.now();
        const res = await client.call('POST', `${path}?fieldManager=kubectl-run`, bodies[i]);
        if (res.status === 201) t201[i] = performance.now();
        return unexpected(res, 201);
      }),
    );
    const complete = await ws.done(cfg.watchTimeoutMs);
    const from201 = new Float64Array(W * E).fill(NaN);
    const fromStart = new Float64Array(W * E).fill(NaN);
    let last = begin;
    for (let w = 0; w < W; w++) {
      const a = ws.arrivals[w];
      for (let i = 0; i < E; i++) {
        const at = a[i];
        if (Number.isNaN(at)) continue;
        if (at > last) last = at;
        from201[w * E + i] = at - t201[i];
        fromStart[w * E + i] = at - tStart[i];
      }
    }
    const delivered = ws.received.reduce((s, x) => s + x, 0);
    return { totalMs: last - begin, delivered, expected: W * E, complete, creates, from201: latency(from201), fromStart: latency(fromStart), errors: ws.errors };
  } finally {
    ws.close();
  }
}

async function runApiBench(t: Target): Promise<ServerResults> {
  const windows: ServerResults['windows'] = [];
  const cpu: Record<string, number> = {};
  // The server process of the moment (a restart replaces it).
  let proc: ServerProcess | undefined;
  const phase: PhaseFn = async (name, fn) => {
    const fromUs = nowUs();
    const before = proc;
    const cpu0 = before ? before.cpuSeconds() : 0;
    try {
      return await fn();
    } finally {
      windows.push({ name, fromUs, toUs: nowUs() });
      // A start phase counts the new process's CPU up to ready.
      const p = before ?? proc;
      if (p) cpu[name] = p.cpuSeconds() - cpu0;
    }
  };
  const start = async (name: string): Promise<ServerProcess> => {
    proc = undefined;
    return phase(name, async () => (proc = await t.start()));
  };
  const stop = async (p: ServerProcess) => {
    if (!(await p.stop())) {
      r.uncleanStops++;
      r.notes.push(`did not exit within 15 s of SIGTERM (killed); its last output:\n${p.output().slice(-1500)}`);
    }
  };

  let server = await start('start, fresh');
  log(`${t.name}: ready ${fmt.ms(server.readyMs)} after spawn (fresh data), ${fmt.ms(cpu['start, fresh'] * 1000)} CPU`);
  await sleep(1000);
  const r: ServerResults = {
    readyFresh: server.readyMs,
    rssIdle: server.rss(),
    fullList: {},
    rssLoaded: NaN,
    peakLoaded: NaN,
    rssAfterWatch: NaN,
    peakAfterWatch: NaN,
    uncleanStops: 0,
    notes: [],
    windows,
    cpu,
  };
  let client = new HttpsClient(t.endpoint(), cfg.clients);
  try {
    await podPhases(t, client, r, phase);
    r.rssLoaded = server.rss();
    r.peakLoaded = server.peakRss();
    log(`${t.name}: RSS ${fmt.mb(r.rssLoaded)} with the pods stored (peak ${fmt.mb(r.peakLoaded)})`);
    if (t.persistent) {
      client.close();
      await stop(server);
      server = await start('start, restart');
      r.readyRestart = server.readyMs;
      log(`${t.name}: restarted, ready ${fmt.ms(server.readyMs)} after spawn, ${fmt.ms(cpu['start, restart'] * 1000)} CPU`);
      await sleep(1000);
      r.rssRestart = server.rss();
      client = new HttpsClient(t.endpoint(), cfg.clients);
      await warmUp(client);
    }
    if (cfg.watchers > 0 && cfg.watchEvents > 0) {
      log(`${t.name}: ${cfg.watchers} watchers, ${fmt.int(cfg.watchEvents)} creates...`);
      const c = client;
      r.watch = await phase('watch', () => watchPhase(t, t.endpoint(), c));
      const w = r.watch;
      log(
        `${t.name}: watch: ${fmt.int(w.delivered)}/${fmt.int(w.expected)} events in ${fmt.ms(w.totalMs)}; since 201 p50/p99 ${fmt.p50p99(w.from201)}; since request ${fmt.p50p99(w.fromStart)}; creates ${describeOp(w.creates)}`,
      );
      for (const e of w.errors) r.notes.push(`watch: ${e}`);
    }
    r.rssAfterWatch = server.rss();
    r.peakAfterWatch = server.peakRss();
  } catch (e) {
    r.notes.push(`aborted: ${(e as Error).stack ?? String(e)}\nserver output (tail):\n${(proc ?? server).output().slice(-3000)}`);
    log(`${t.name}: ABORTED: ${(e as Error).message}`);
  } finally {
    client.close();
    if (proc) await stop(proc);
  }
  for (const [name, o] of [['create', r.create], ['get', r.get], ['update', r.update], ['list', r.list], ['create under watch', r.watch?.creates]] as const) {
    if (o?.errors) r.notes.push(`${name}: ${o.errors} errors, e.g. ${o.firstErrors.join(' | ')}`);
  }
  for (const [id, l] of Object.entries(r.fullList)) if (l.error) r.notes.push(`list all ${id}: ${l.error}`);
  return r;
}

function kiteTarget(name: string, dataDir: string, port: number, etcd: string | undefined, profDir: string | undefined): Target {
  const extra = (process.env.BENCH_KITE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  const args = [
    ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
    KITE,
    'server',
    '--disable-agent',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    String(port),
    '--bind-address',
    '127.0.0.1',
    ...(etcd ? ['--datastore-endpoint', etcd] : []),
    ...extra,
  ];
  return {
    name,
    start: () => startServer(process.execPath, args, port),
    endpoint: () => {
      const tls = join(dataDir, 'server', 'tls');
      return { port, ca: readFileSync(join(tls, 'ca.crt')), token: readFileSync(join(tls, 'token'), 'utf8').trim() };
    },
    persistent: true,
    namespaces: true,
    listVariants: LIST_VARIANTS,
  };
}

async function floorTarget(dir: string): Promise<Target> {
  const pki = await ensurePki(join(dir, 'tls'));
  const files = { cert: join(dir, 'floor.crt'), key: join(dir, 'floor.key'), ca: join(dir, 'floor-ca.crt') };
  writeFileSync(files.cert, pki.serverCertPem);
  writeFileSync(files.key, pki.serverKeyPem);
  writeFileSync(files.ca, pki.caCertPem);
  const port = await freePort();
  return {
    name: 'floor',
    start: () => startServer(process.execPath, [FLOOR, String(port), files.cert, files.key, files.ca, pki.token], port),
    endpoint: () => ({ port, ca: Buffer.from(pki.caCertPem), token: pki.token }),
    persistent: false,
    namespaces: false,
    listVariants: LIST_VARIANTS.filter((v) => v.floor),
  };
}

// ---- the closing table

const TARGETS = {
  createRate: 2_000,
  createP99: 50,
  listMs: 300,
  idleRss: 80 * 1024 * 1024,
  readyMs: 1_000,
  watchP99: 100,
};

function opCell(o: OpResult | undefined): string {
  return o ? describeOp(o) : '—';
}

function rateBase(name: string, kite: OpResult | undefined, rate: number, lat?: Latency): Baseline {
  return { name, value: `${fmt.rate(rate)}${lat ? ` (p99 ${fmt.num(lat.p99)} ms)` : ''}`, ratio: kite ? kite.rate / rate : NaN };
}

function cpuTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const us = seconds * 1e6;
  return us < 1000 ? `${us.toFixed(0)} µs` : us < 100_000 ? `${(us / 1000).toFixed(1)} ms` : `${fmt.int(us / 1000)} ms`;
}

/** Server CPU per operation of a phase: kite's, then the floor's in parentheses. */
function cpuCell(phase: string, ops: number, r: ServerResults, floor: ServerResults | undefined, floorPhase = phase): string {
  if (!(phase in r.cpu) || ops <= 0) return '';
  const f = floor && floorPhase in floor.cpu ? ` (${cpuTime(floor.cpu[floorPhase] / ops)})` : '';
  return `${cpuTime(r.cpu[phase] / ops)}${f}`;
}

function buildRows(backend: string, r: ServerResults, raw: RawStoreResult | undefined, floor: ServerResults | undefined): Row[] {
  const rows: Row[] = [];
  const sqlite = backend === 'sqlite';
  const writeBases = (kite: OpResult | undefined): Baseline[] => {
    const b: Baseline[] = [];
    if (raw) b.push(rateBase(sqlite ? 'raw txn/write' : 'raw put', kite, raw.write.rate, raw.write.lat));
    if (raw?.groupWrite) b.push(rateBase('raw group', kite, raw.groupWrite.rate, raw.groupWrite.lat));
    return b;
  };
  const floorOp = (kite: OpResult | undefined, o: OpResult | undefined): Baseline[] => (o ? [rateBase('floor', kite, o.rate, o.lat)] : []);

  rows.push({
    backend,
    figure: `pod create (${cfg.clients} clients)`,
    kite: opCell(r.create),
    cpu: cpuCell('create', cfg.pods, r, floor),
    baselines: [...writeBases(r.create), ...floorOp(r.create, floor?.create)],
    target: sqlite ? `≥ ${fmt.int(TARGETS.createRate)}/s, p99 < ${TARGETS.createP99} ms` : '',
    met: r.create && sqlite ? r.create.errors === 0 && r.create.rate >= TARGETS.createRate && r.create.lat.p99 < TARGETS.createP99 : undefined,
  });
  rows.push({
    backend,
    figure: 'pod get',
    kite: opCell(r.get),
    cpu: cpuCell('get', cfg.gets, r, floor),
    baselines: [...(raw ? [rateBase('raw get', r.get, raw.get.rate, raw.get.lat)] : []), ...floorOp(r.get, floor?.get)],
    target: '',
  });
  rows.push({
    backend,
    figure: 'pod update (PUT)',
    kite: opCell(r.update),
    cpu: cpuCell('update', cfg.pods, r, floor),
    baselines: [...writeBases(r.update), ...floorOp(r.update, floor?.update)],
    target: '',
  });
  rows.push({
    backend,
    figure: `pod list ?limit=${cfg.listLimit}`,
    kite: opCell(r.list),
    cpu: cpuCell('list ?limit', cfg.lists, r, floor),
    baselines: [
      ...(raw && r.list ? [{ name: 'raw range', value: fmt.ms(raw.rangePageMs), ratio: r.list.lat.p50 / raw.rangePageMs }] : []),
      ...floorOp(r.list, floor?.list),
    ],
    target: '',
  });
  for (const v of LIST_VARIANTS) {
    const l = r.fullList[v.id];
    if (!l) continue;
    const fl = floor?.fullList[v.floor ? v.id : 'json'];
    rows.push({
      backend,
      figure: `list ${fmt.int(cfg.pods)} pods, ${v.label}`,
      kite: `${fmt.ms(l.medianMs)} (first ${fmt.ms(l.firstMs)}, ${fmt.mb(l.bytes)})${l.error ? ' [error]' : ''}`,
      cpu: cpuCell(`list all, ${v.label}`, cfg.listReps, r, floor, `list all, ${(v.floor ? v : LIST_VARIANTS[0]).label}`),
      baselines: [
        ...(raw ? [{ name: 'raw range', value: fmt.ms(raw.rangeAllMs), ratio: l.medianMs / raw.rangeAllMs }] : []),
        ...(fl ? [{ name: 'floor', value: fmt.ms(fl.medianMs), ratio: l.medianMs / fl.medianMs }] : []),
      ],
      target: `< ${TARGETS.listMs} ms`,
      met: !l.error && l.medianMs < TARGETS.listMs,
    });
  }
  rows.push({
    backend,
    figure: 'RSS idle after start',
    kite: fmt.mb(r.rssIdle),
    baselines: floor ? [{ name: 'floor', value: fmt.mb(floor.rssIdle), ratio: r.rssIdle / floor.rssIdle }] : [],
    target: `< ${fmt.mb(TARGETS.idleRss)}`,
    met: r.rssIdle < TARGETS.idleRss,
  });
  rows.push({
    backend,
    figure: `RSS with ${fmt.int(cfg.pods)} pods (after lists)`,
    kite: `${fmt.mb(r.rssLoaded)} (peak ${fmt.mb(r.peakLoaded)})`,
    baselines: floor ? [{ name: 'floor', value: `${fmt.mb(floor.rssLoaded)} (peak ${fmt.mb(floor.peakLoaded)})`, ratio: r.rssLoaded / floor.rssLoaded }] : [],
    target: '',
  });
  rows.push({
    backend,
    figure: 'start → /readyz ok, fresh data dir',
    kite: fmt.ms(r.readyFresh),
    cpu: cpuCell('start, fresh', 1, r, floor),
    baselines: floor ? [{ name: 'floor', value: fmt.ms(floor.readyFresh), ratio: r.readyFresh / floor.readyFresh }] : [],
    target: `< ${fmt.int(TARGETS.readyMs)} ms`,
    met: r.readyFresh < TARGETS.readyMs,
  });
  if (r.readyRestart !== undefined) {
    rows.push({
      backend,
      figure: `start → /readyz ok, restart with ${fmt.int(cfg.pods)} pods`,
      kite: fmt.ms(r.readyRestart),
      cpu: cpuCell('start, restart', 1, r, floor, 'start, fresh'),
      baselines: floor ? [{ name: 'floor', value: fmt.ms(floor.readyFresh), ratio: r.readyRestart / floor.readyFresh }] : [],
      target: `< ${fmt.int(TARGETS.readyMs)} ms`,
      met: r.readyRestart < TARGETS.readyMs,
    });
    rows.push({ backend, figure: `RSS idle after restart with ${fmt.int(cfg.pods)} pods`, kite: fmt.mb(r.rssRestart ?? NaN), baselines: [], target: '' });
  }
  const w = r.watch;
  const fw = floor?.watch;
  if (w) {
    const eventsPerS = (x: WatchResult) => x.delivered / (x.totalMs / 1000);
    rows.push({
      backend,
      figure: `watch: ${cfg.watchers} watchers × ${fmt.int(cfg.watchEvents)} creates, all delivered`,
      kite: `${fmt.ms(w.totalMs)} (${fmt.int(w.delivered)}/${fmt.int(w.expected)} events, ${fmt.rate(eventsPerS(w))})${w.complete ? '' : ' [INCOMPLETE]'}`,
      cpu: `${cpuCell('watch', w.delivered, r, floor)} per event`,
      baselines: fw ? [{ name: 'floor', value: `${fmt.ms(fw.totalMs)} (${fmt.rate(eventsPerS(fw))})`, ratio: w.totalMs / fw.totalMs }] : [],
      target: '',
    });
    rows.push({
      backend,
      figure: 'watch delivery p50/p99, since the 201',
      kite: fmt.p50p99(w.from201),
      baselines: fw ? [{ name: 'floor', value: fmt.p50p99(fw.from201), ratio: w.from201.p99 / fw.from201.p99 }] : [],
      target: `p99 < ${TARGETS.watchP99} ms`,
      met: w.complete && w.from201.p99 < TARGETS.watchP99,
    });
    rows.push({
      backend,
      figure: 'watch delivery p50/p99, since the POST began',
      kite: fmt.p50p99(w.fromStart),
      baselines: fw ? [{ name: 'floor', value: fmt.p50p99(fw.fromStart), ratio: w.fromStart.p99 / fw.fromStart.p99 }] : [],
      target: '',
    });
    rows.push({
      backend,
      figure: `pod create while ${cfg.watchers} watch`,
      kite: opCell(w.creates),
      baselines: [...(r.create ? [{ name: 'no watchers', value: fmt.rate(r.create.rate), ratio: w.creates.rate / r.create.rate }] : []), ...floorOp(w.creates, fw?.creates)],
      target: '',
    });
    rows.push({
      backend,
      figure: 'RSS after the watch phase',
      kite: `${fmt.mb(r.rssAfterWatch)} (peak ${fmt.mb(r.peakAfterWatch)})`,
      baselines: floor ? [{ name: 'floor', value: `${fmt.mb(floor.rssAfterWatch)} (peak ${fmt.mb(floor.peakAfterWatch)})`, ratio: r.rssAfterWatch / floor.rssAfterWatch }] : [],
      target: '',
    });
  }
  return rows;
}

function profileReport(name: string, dir: string, windows: ServerResults['windows']): string {
  const lines: string[] = [];
  const hot = (label: string, top: number, w?: Window) => {
    const s = summariseProfiles(dir, REPO, top, w);
    const span = w ? ` of ${fmt.ms((w.toUs - w.fromUs) / 1000)} wall` : '';
    lines.push(`  ${label}: ${fmt.ms(s.totalMs)} sampled${span}; self time by function:`);
    for (const h of s.functions) lines.push(`    ${(h.share * 100).toFixed(1).padStart(5)}%  ${fmt.ms(h.ms).padStart(9)}  ${h.name}`);
    lines.push(w ? '   self time by area:' : '   self time by file:');
    for (const h of w ? s.areas.slice(0, 10) : s.files) lines.push(`    ${(h.share * 100).toFixed(1).padStart(5)}%  ${fmt.ms(h.ms).padStart(9)}  ${h.name}`);
  };
  lines.push(`CPU profile of ${name} (node --cpu-prof; profiles in ${dir}):`);
  hot('whole run', 25);
  for (const w of windows) hot(`phase "${w.name}"`, 12, w);
  return lines.join('\n');
}

// ---- main

async function main(): Promise<void> {
  const cpuAtStart = cpuSnapshot();
  const work = mkdtempSync(join(tmpdir(), 'kite-bench-'));
  log(
    `kite API bench: ${fmt.int(cfg.pods)} pods, ${cfg.clients} clients, ${fmt.int(cfg.gets)} gets, ${cfg.lists} lists of ${cfg.listLimit}, ${cfg.watchers} watchers × ${fmt.int(cfg.watchEvents)} events; backends ${cfg.backends.join(',')}; work dir ${work}`,
  );
  const rows: Row[] = [];
  const notes: string[] = [];
  const profiles: string[] = [];
  let floor: ServerResults | undefined;
  let etcd: RunningEtcd | undefined;
  try {
    if (cfg.floor) {
      const dir = join(work, 'floor');
      mkdirSync(dir);
      floor = await runApiBench(await floorTarget(dir));
      for (const n of floor.notes) notes.push(`floor: ${n}`);
    }
    for (const backend of cfg.backends) {
      if (backend !== 'sqlite' && backend !== 'etcd') throw new Error(`BENCH_BACKENDS: unknown backend ${backend} (sqlite, etcd)`);
      const dir = join(work, backend);
      mkdirSync(dir);
      let raw: RawStoreResult | undefined;
      let endpoint: string | undefined;
      const storedValue = (i: number) => storedPod(`bench-${i}`);
      if (backend === 'sqlite') {
        log(`raw sqlite: ${fmt.int(cfg.pods)} writes...`);
        raw = rawSqlite(dir, cfg.pods, storedValue, cfg.clients, cfg.listLimit);
      } else {
        log(`starting etcd (${ETCD_BIN})...`);
        etcd = await startEtcd();
        endpoint = etcd.endpoint;
        log(`raw etcd: ${fmt.int(cfg.pods)} puts...`);
        raw = await rawEtcd(endpoint, cfg.pods, storedValue, cfg.clients, cfg.listLimit);
      }
      log(
        `raw ${backend}: write ${fmt.rate(raw.write.rate)} (p99 ${fmt.num(raw.write.lat.p99)} ms)${raw.groupWrite ? `, group ${fmt.rate(raw.groupWrite.rate)}` : ''}, get ${fmt.rate(raw.get.rate)}, range ${cfg.listLimit} ${fmt.ms(raw.rangePageMs)}, range all ${fmt.ms(raw.rangeAllMs)}`,
      );
      // Outside the work dir, which is removed at the end.
      const profDir = cfg.cpuProf ? mkdtempSync(join(tmpdir(), `kite-bench-prof-${backend}-`)) : undefined;
      const r = await runApiBench(kiteTarget(`kite/${backend}`, join(dir, 'data'), await freePort(), endpoint, profDir));
      for (const n of r.notes) notes.push(`kite/${backend}: ${n}`);
      rows.push(...buildRows(backend, r, raw, floor));
      if (profDir) profiles.push(profileReport(`kite/${backend}`, profDir, r.windows));
      if (etcd) {
        await etcd.stop();
        etcd = undefined;
      }
    }
  } finally {
    if (etcd) await etcd.stop();
    if (cfg.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  const out = [
    '',
    `kite API server benchmark — ${fmt.int(cfg.pods)} pods, ${cfg.clients} concurrent HTTPS clients (keep-alive), ${cfg.watchers} watchers; node ${process.version}, loopback only`,
    '',
    renderTable(rows),
    '',
    'kite/base: kite ÷ baseline; for rates below 1 = kite slower, for times and sizes above 1 = kite slower/larger ("pod list ?limit" compares p50 with one raw range).',
    'CPU/op: user+system CPU of the server process (/proc/<pid>/stat) over the phase ÷ operations (starts: until ready; watch: per delivered event, creates included);',
    '  it varies much less than rates and latencies when other processes load the machine.',
  ];
  if (cfg.backends.includes('sqlite')) {
    out.push(
      `raw (sqlite): better-sqlite3 in the bench process, WAL, synchronous=FULL, ${fmt.int(cfg.pods)} pod-sized (~1.5 KB) rows; txn/write = one transaction (fsync) per write;`,
      `  group = ${cfg.clients} writes per transaction (group commit of ${cfg.clients} concurrent writers); get = point SELECT; range = SELECT of ${cfg.listLimit} / all rows.`,
    );
  }
  if (cfg.backends.includes('etcd')) {
    out.push(`raw (etcd): etcd3 client in the bench process against the same etcd, ${cfg.clients} requests in flight, same values; range = one Range of ${cfg.listLimit} / all keys.`);
  }
  if (cfg.floor) {
    out.push(
      'floor: bench/lib/floor-server.ts, a minimal in-memory Node HTTPS+JSON pod server (same TLS, token check, JSON parse/stringify, serialize-once watch fan-out):',
      '  what Node alone does on this machine; its list baseline is its plain-JSON list of the same pods.',
    );
  }
  if (notes.length) out.push('', 'Problems seen:', ...notes.map((n) => `  - ${n}`));
  if (profiles.length) out.push('', ...profiles);
  const others = othersCpu(cpuAtStart, cpuSnapshot(), availableParallelism());
  out.push(
    '',
    `total bench time ${((performance.now() - t0) / 1000).toFixed(0)} s; other processes used ${others.seconds.toFixed(0)} CPU-seconds meanwhile (${(others.share * 100).toFixed(0)}% of the machine)` +
      (others.share > 0.05 ? ': the machine was not quiet, and every figure above is lower than it would be on a quiet one' : ''),
  );
  process.stdout.write(out.join('\n') + '\n');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
