import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Database from 'better-sqlite3';
import { openStore } from '../src/storage/open.js';
import { WatchCache } from '../src/storage/watchcache.js';
import { Registries } from '../src/apiserver/registries.js';
import { AdmissionChain } from '../src/apiserver/admission/chain.js';
import { ServiceAllocator, parseCidr } from '../src/apiserver/admission/serviceips.js';
import { managedFieldsHooks } from '../src/apiserver/registry/managedfields.js';
import { handleResource, type Ctx } from '../src/apiserver/handler.js';
import { serveWatch } from '../src/apiserver/watch.js';
import { parsePath } from '../src/apiserver/requestinfo.js';
import { findResource } from '../src/api/resources.js';
import type { KubeObject } from '../src/api/object.js';
import { runningPodStatus } from '../src/sim/objects.js';
import type { Pod } from 'kubernetes-types/core/v1.js';

// CPU per write on the API server's write path without HTTP or TLS: requests go straight into handleResource
// (the same decoding, admission, validation, managedFields, storage and response encoding as over HTTPS), on the
// embedded SQLite store behind the watch cache, as `kite server` opens them. The writes are the ones a scheduled
// pod and a node heartbeat cost the server: pod create, pods/binding, the Scheduled Event, the kubelet's
// pods/status merge patch, and the node Lease's merge patch. Beside them, in the same run: a raw better-sqlite3
// insert of the same bytes, one transaction per write and grouped. Plain node script, so
// `node --cpu-prof dist/bench/registry.js` profiles it.

const HELP = `Usage: node dist/bench/registry.js [--ops N] [--concurrency C] [--watchers W] [--rounds R]

  --ops N          writes of each kind per round (default 2000)
  --concurrency C  requests in flight at once (default 16)
  --watchers W     watch streams on pods, events and leases each, encoding every event (default 2)
  --rounds R       rounds; the figures are the median round's (default 3)
  --profile KIND   write a .cpuprofile of the last round's KIND writes only (e.g. "pod create") to --profile-dir
  --profile-dir D  where (default .)
  --keep           keep the data dir`;

const { values: flags } = parseArgs({
  options: {
    ops: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    watchers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    profile: { type: 'string' },
    'profile-dir': { type: 'string', default: '.' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  console.log(HELP);
  process.exit(0);
}
const OPS = Number(flags.ops);
const CONCURRENCY = Number(flags.concurrency);
const WATCHERS = Number(flags.watchers);
const ROUNDS = Number(flags.rounds);

// ---- requests without a socket ---------------------------------------------------------------------------------

class FakeRequest extends EventEmitter {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Record<string, string>,
    body: Buffer | undefined,
  ) {
    super();
    // readBody attaches its listeners in the same turn as the handler starts; deliver the body after it.
    setImmediate(() => {
      if (body?.length) this.emit('data', body);
      this.emit('end');
    });
  }
}

class FakeResponse extends EventEmitter {
  statusCode = 0;
  headersSent = false;
  writableLength = 0;
  body: Buffer | string | undefined;
  writes = 0;
  writeHead(code: number): this {
    this.statusCode = code;
    this.headersSent = true;
    return this;
  }
  flushHeaders(): void {}
  setHeader(): void {}
  write(chunk: string | Buffer): boolean {
    this.writes++;
    void chunk;
    return true;
  }
  cork(): void {}
  uncork(): void {}
  end(payload?: Buffer | string): void {
    this.body = payload;
    this.emit('finish');
  }
  destroy(): void {
    this.emit('close');
  }
}

const USER_AGENT = 'kite/v1.32.0 (linux/amd64) kubernetes/bench';

function contextFor(registries: Registries, method: string, path: string, query: string, body: unknown, contentType = 'application/json'): { ctx: Ctx; res: FakeResponse } {
  const url = new URL(`https://kite${path}${query ? `?${query}` : ''}`);
  const parsed = parsePath(method, url.pathname, url.searchParams);
  if (parsed.type !== 'resource') throw new Error(`${path} is not a resource path`);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: 'application/json', host: 'kite' };
  if (payload) headers['content-type'] = contentType;
  const req = new FakeRequest(method, url.pathname + url.search, headers, payload);
  const res = new FakeResponse();
  return { ctx: { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse, url, rr: parsed.req, registries }, res };
}

async function call(registries: Registries, method: string, path: string, query: string, body: unknown, contentType?: string): Promise<KubeObject> {
  const { ctx, res } = contextFor(registries, method, path, query, body, contentType);
  await handleResource(ctx);
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${String(res.body)}`);
  return JSON.parse(String(res.body)) as KubeObject;
}

// ---- the objects ---------------------------------------------------------------------------------------------

function podOf(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      labels: { app: 'bench', 'pod-template-hash': '5d8f9c7b6d', tier: 'web' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'bench-5d8f9c7b6d', uid: '0b7c1f7e-9a59-4d2c-8d7e-6a3a4e6b9c10', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '100m', memory: '64Mi' } }, ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
    },
  };
}

function eventFor(pod: KubeObject, node: string): KubeObject {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: 'default' },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, namespace: 'default', uid: pod.metadata.uid, resourceVersion: pod.metadata.resourceVersion },
    reason: 'Scheduled',
    message: `Successfully assigned default/${pod.metadata.name} to ${node}`,
    type: 'Normal',
    source: { component: 'default-scheduler' },
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    reportingComponent: 'default-scheduler',
    reportingInstance: '',
  };
}

function microTime(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

// ---- measuring -------------------------------------------------------------------------------------------------

async function pool(n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
}

/** CPU µs per op of `fn` run `n` times; lets pending watch deliveries finish inside the measurement. */
async function cpuPerOp(n: number, fn: (i: number) => Promise<unknown>, profileAs?: string): Promise<number> {
  const session = profileAs ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const c0 = process.cpuUsage();
  await pool(n, fn);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 5));
  const c = process.cpuUsage(c0);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(flags['profile-dir']!, `registry-${profileAs!.replace(/\W+/g, '-')}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  return (c.user + c.system) / n;
}

function rawSqlite(dir: string, values: string[]): { single: number; grouped: number } {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE kv (revision INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
  let c0 = process.cpuUsage();
  for (let i = 0; i < values.length; i++) db.transaction(() => ins.run(`/registry/raw/${i}`, values[i]!))();
  let c = process.cpuUsage(c0);
  const single = (c.user + c.system) / values.length;
  c0 = process.cpuUsage();
  const group = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) ins.run(`/registry/raw/g${i}`, values[i]!);
  });
  for (let i = 0; i < values.length; i += CONCURRENCY) group(i, Math.min(values.length, i + CONCURRENCY));
  c = process.cpuUsage(c0);
  db.close();
  return { single, grouped: (c.user + c.system) / values.length };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kite-bench-registry-'));
  const backend = await openStore({ dataDir: dir, sqlite: { compactIntervalMs: 0 } });
  const store = new WatchCache(backend);
  const allocator = new ServiceAllocator(parseCidr('10.43.0.0/16'), { min: 30000, max: 32767 });
  const admission = new AdmissionChain(allocator, { defaultTolerationSeconds: 300 });
  const registries = new Registries(store, admission, managedFieldsHooks);
  const pcInfo = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  admission.setPriorityClassSource(async () => (await registries.get(pcInfo).list(undefined, { cached: true })).items);
  const nsReg = registries.get(findResource('', 'v1', 'namespaces')!);
  for (const name of ['default', 'kube-node-lease']) await nsReg.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { fieldManager: 'kite' });

  const stopWatches: Array<() => void> = [];
  for (let i = 0; i < WATCHERS; i++) {
    for (const path of ['/api/v1/pods', '/api/v1/events', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases']) {
      const { ctx, res } = contextFor(registries, 'GET', path, 'watch=true&resourceVersion=1', undefined);
      await serveWatch(ctx);
      stopWatches.push(() => res.emit('close'));
    }
  }

  const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
  const nodes = Math.min(OPS, 1000);
  await pool(nodes, (i) =>
    call(registries, 'POST', leases, 'fieldManager=kite', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `sim-${i}` },
      spec: { holderIdentity: `sim-${i}`, leaseDurationSeconds: 40, renewTime: microTime() },
    }),
  );

  const kinds = ['lease patch', 'pod create', 'pods/binding', 'pods/status patch', 'event create'] as const;
  const results = new Map<string, number[]>(kinds.map((k) => [k, []]));
  const sizes = new Map<string, number>();
  const samples: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const tag = `r${round}-${randomBytes(2).toString('hex')}`;
    const pods: KubeObject[] = new Array<KubeObject>(OPS);
    const prof = (k: (typeof kinds)[number]) => (round === ROUNDS - 1 && flags.profile === k ? k : undefined);
    results.get('lease patch')!.push(
      await cpuPerOp(OPS, (i) => call(registries, 'PATCH', `${leases}/sim-${i % nodes}`, 'fieldManager=kite', { spec: { holderIdentity: `sim-${i % nodes}`, renewTime: microTime() } }, 'application/merge-patch+json'), prof('lease patch')),
    );
    results.get('pod create')!.push(
      await cpuPerOp(OPS, async (i) => {
        pods[i] = await call(registries, 'POST', '/api/v1/namespaces/default/pods', 'fieldManager=kube-controller-manager', podOf(`bench-${tag}-${i}`));
      }, prof('pod create')),
    );
    results.get('pods/binding')!.push(
      await cpuPerOp(OPS, (i) =>
        call(registries, 'POST', `/api/v1/namespaces/default/pods/${pods[i]!.metadata.name}/binding`, '', {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pods[i]!.metadata.name, namespace: 'default', uid: pods[i]!.metadata.uid },
          target: { apiVersion: 'v1', kind: 'Node', name: `sim-${i % nodes}` },
        }),
        prof('pods/binding'),
      ),
    );
    results.get('event create')!.push(await cpuPerOp(OPS, (i) => call(registries, 'POST', '/api/v1/namespaces/default/events', 'fieldManager=kube-scheduler', eventFor(pods[i]!, `sim-${i % nodes}`)), prof('event create')));
    const bound = pods.map((p, i) => ({ ...p, spec: { ...(p.spec as object), nodeName: `sim-${i % nodes}` } }) as KubeObject);
    results.get('pods/status patch')!.push(
      await cpuPerOp(OPS, (i) => {
        const status = runningPodStatus(bound[i] as unknown as Pod, { hostIP: '10.0.0.1', podIP: `10.244.${(i >> 8) & 255}.${i & 255}` });
        return call(registries, 'PATCH', `/api/v1/namespaces/default/pods/${pods[i]!.metadata.name}/status`, 'fieldManager=kite', { status }, 'application/merge-patch+json');
      }, prof('pods/status patch')),
    );
    if (round === 0) {
      for (const [k, p] of [
        ['lease patch', `/registry/coordination.k8s.io/leases/kube-node-lease/sim-0`],
        ['pod', `/registry/core/pods/default/${pods[0]!.metadata.name}`],
      ] as const) {
        const kv = await store.get(p);
        sizes.set(k, kv?.value.length ?? 0);
        if (kv) samples.push(kv.value);
      }
    }
  }
  // The stored pod's bytes, OPS times, for the floor.
  const podBytes = samples[1] ?? '';
  const raw = rawSqlite(dir, Array.from({ length: OPS }, () => podBytes));

  for (const stop of stopWatches) stop();
  await store.close();
  if (!flags.keep) rmSync(dir, { recursive: true, force: true });

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`kite registry write path, in process (handleResource, SQLite + watch cache), ${OPS} ops x ${ROUNDS} rounds, concurrency ${CONCURRENCY}, ${WATCHERS * 3} watchers`);
  console.log(`${'write'.padEnd(22)}${'CPU µs/op'.padStart(12)}   rounds`);
  for (const k of kinds) {
    const xs = results.get(k)!;
    console.log(`${k.padEnd(22)}${median(xs).toFixed(0).padStart(12)}   ${xs.map((x) => x.toFixed(0)).join(' ')}`);
  }
  console.log(`${'raw sqlite, 1 tx/op'.padEnd(22)}${raw.single.toFixed(0).padStart(12)}   (insert of the stored pod's ${podBytes.length} bytes)`);
  console.log(`${`raw sqlite, ${CONCURRENCY} op/tx`.padEnd(22)}${raw.grouped.toFixed(0).padStart(12)}`);
  console.log(`stored bytes: lease ${sizes.get('lease patch')}, pod (after create) ${sizes.get('pod')}`);
  if (flags.profile && !(kinds as readonly string[]).includes(flags.profile)) console.error(`--profile: no write kind ${JSON.stringify(flags.profile)}; kinds: ${kinds.join(', ')}`);
}

await main();
