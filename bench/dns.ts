// Cluster DNS benchmark (issue "Cluster DNS"): queries/s and p50/p99 latency for cluster names over UDP with
// concurrent clients, beside a floor measured in the same run: a minimal dns-packet server on the same
// loopback (decode + encode of a fixed answer per query, src/dns/staticserver.ts), which is what Node itself
// reaches here for the same traffic. Cluster DNS runs in this process's main thread, fed by informers from
// a real `kite server --disable-agent`; the load comes from a worker thread, so the two use both cores.
// Everything talks to 127.0.0.1 only.
//
//   node dist/bench/dns.js        (env: BENCH_DNS_SECONDS, BENCH_DNS_CONCURRENCY, BENCH_DNS_SERVICES)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSocket } from 'node:dgram';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as packet from 'dns-packet';
import type { Answer, RecordType } from 'dns-packet';
import { configFromKubeconfig, resource, RestClient } from '../src/client/rest.js';
import { startClusterDns } from '../src/dns/server.js';
import { startStaticDns } from '../src/dns/staticserver.js';
import { freePort, startServer } from './lib/proc.js';
import { fmt, latency, type Latency } from './lib/stats.js';

interface LoadParams {
  port: number;
  questions: Array<{ name: string; type: RecordType }>;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

interface LoadResult {
  queries: number;
  lost: number;
  errors: number;
  seconds: number;
  latenciesMs: Float64Array;
}

function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(v)}`);
  return n;
}

/** The worker: `concurrency` queries in flight on one socket, each answered one replaced by the next. */
async function loadWorker(p: LoadParams): Promise<LoadResult> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    sock.setRecvBufferSize(4 << 20);
  } catch {
    // capped by the kernel; fine
  }
  const encoded = p.questions.map((q) => packet.encode({ type: 'query', id: 0, flags: packet.RECURSION_DESIRED, questions: [{ ...q, class: 'IN' }] }));
  const sentAt = new Float64Array(65536);
  const inFlight = new Uint8Array(65536);
  const lat: number[] = [];
  let measuring = false;
  let stopping = false;
  let queries = 0;
  let errors = 0;
  let lost = 0;
  let nextId = 0;
  let qi = 0;
  const send = () => {
    let id = nextId;
    while (inFlight[id]) id = (id + 1) & 0xffff;
    nextId = (id + 1) & 0xffff;
    const msg = Buffer.from(encoded[qi++ % encoded.length]!);
    msg.writeUInt16BE(id, 0);
    inFlight[id] = 1;
    sentAt[id] = performance.now();
    sock.send(msg, p.port, '127.0.0.1');
  };
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    if (!inFlight[id]) return;
    inFlight[id] = 0;
    if (measuring) {
      lat.push(performance.now() - sentAt[id]!);
      queries++;
      const rcode = m.readUInt16BE(2) & 0xf;
      if (rcode !== 0 && rcode !== 3) errors++;
    }
    if (!stopping) send();
  });
  // A lost datagram would leave its slot empty forever: re-fill slots that waited more than a second.
  const reaper = setInterval(() => {
    const now = performance.now();
    for (let id = 0; id < 65536; id++) {
      if (inFlight[id] && now - sentAt[id]! > 1000) {
        inFlight[id] = 0;
        if (measuring) lost++;
        if (!stopping) send();
      }
    }
  }, 250);
  for (let i = 0; i < p.concurrency; i++) send();
  await new Promise((r) => setTimeout(r, p.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, p.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stopping = true;
  await new Promise((r) => setTimeout(r, 200));
  clearInterval(reaper);
  sock.close();
  return { queries, lost, errors, seconds, latenciesMs: Float64Array.from(lat) };
}

function runLoad(p: LoadParams): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: p });
    w.once('message', (r: LoadResult) => resolve(r));
    w.once('error', reject);
  });
}

interface Row {
  what: string;
  rate: number;
  lat: Latency;
  lost: number;
  errors: number;
}

function row(what: string, r: LoadResult): Row {
  return { what, rate: r.queries / r.seconds, lat: latency(r.latenciesMs), lost: r.lost, errors: r.errors };
}

async function main(): Promise<void> {
  const seconds = envInt('BENCH_DNS_SECONDS', 5);
  const concurrency = envInt('BENCH_DNS_CONCURRENCY', 64);
  const nServices = envInt('BENCH_DNS_SERVICES', 200);
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const load = (port: number, questions: LoadParams['questions']) => runLoad({ port, questions, concurrency, warmupMs: 1000, durationMs: seconds * 1000 });

  const clusterQuestions: LoadParams['questions'] = [];
  for (let i = 0; i < nServices; i += Math.max(1, Math.floor(nServices / 50))) clusterQuestions.push({ name: `svc-${i}.bench.svc.cluster.local`, type: 'A' });
  clusterQuestions.push({ name: 'headless.bench.svc.cluster.local', type: 'A' });
  clusterQuestions.push({ name: '_http._tcp.headless.bench.svc.cluster.local', type: 'SRV' });
  clusterQuestions.push({ name: 'kubernetes.default.svc.cluster.local', type: 'A' });
  clusterQuestions.push({ name: 'ghost.bench.svc.cluster.local', type: 'A' });
  clusterQuestions.push({ name: 'svc-1.bench.svc.cluster.local', type: 'AAAA' });

  const rows: Row[] = [];
  const records: Record<string, Answer[]> = {};
  for (const q of clusterQuestions) records[q.name] = [{ name: q.name, type: 'A', ttl: 5, class: 'IN', data: '10.43.0.10' }];
  records['example.org'] = [{ name: 'example.org', type: 'A', ttl: 300, class: 'IN', data: '192.0.2.7' }];

  log('floor: minimal dns-packet server …');
  const floor = await startStaticDns({ records });
  rows.push(row('floor: dns-packet server, fixed answers', await load(floor.port, clusterQuestions)));

  log('kite server --disable-agent …');
  const REPO = fileURLToPath(new URL('../../', import.meta.url));
  const kiteJs = process.env.KITE_BIN ?? join(REPO, 'dist', 'src', 'cli', 'main.js');
  const dataDir = mkdtempSync(join(tmpdir(), 'kite-bench-dns-'));
  const apiPort = await freePort();
  const server = await startServer(process.execPath, [kiteJs, 'server', '--disable-agent', '--data-dir', dataDir, '--https-listen-port', String(apiPort), '--bind-address', '127.0.0.1'], apiPort);
  const client = new RestClient(configFromKubeconfig(join(dataDir, 'kubeconfig.yaml'), 'bench-dns'));
  let dns: Awaited<ReturnType<typeof startClusterDns>> | undefined;
  try {
    const nsInfo = resource('', 'v1', 'namespaces');
    const svcInfo = resource('', 'v1', 'services');
    await client.create(nsInfo, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    log(`creating ${nServices} services …`);
    for (let i = 0; i < nServices; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, nServices - i) }, (_, j) =>
          client.create(svcInfo, 'bench', { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i + j}` }, spec: { ports: [{ name: 'http', port: 80 }] } }),
        ),
      );
    }
    await client.create(svcInfo, 'bench', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } });
    await client.create(resource('discovery.k8s.io', 'v1', 'endpointslices'), 'bench', {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'headless-bench', labels: { 'kubernetes.io/service-name': 'headless' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: 5 }, (_, i) => ({ addresses: [`10.42.0.${i + 10}`], hostname: `web-${i}`, conditions: { ready: true } })),
    });

    const upstream = await startStaticDns({ records });
    const dnsPort = await freePort();
    dns = await startClusterDns({ client, listen: [{ address: '127.0.0.1', port: dnsPort }], clusterDomain: 'cluster.local', upstreams: [{ address: upstream.address, port: upstream.port }], log });
    await dns.ready();
    rows.push(row('kite cluster DNS: cluster names', await load(dnsPort, clusterQuestions)));
    rows.push(row('kite cluster DNS: forwarded (cached) names', await load(dnsPort, [{ name: 'example.org', type: 'A' }])));
    await upstream.stop();
  } finally {
    await dns?.stop();
    client.close();
    await server.stop();
    await floor.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const floorRate = rows[0]!.rate;
  const lines = [
    `cluster DNS over UDP, ${concurrency} queries in flight, ${seconds} s per row, ${nServices} services`,
    '',
    `| what | queries/s | p50 / p99 | lost | SERVFAIL etc. | ÷ floor |`,
    `| --- | --- | --- | --- | --- | --- |`,
    ...rows.map((r) => `| ${r.what} | ${fmt.rate(r.rate)} | ${fmt.p50p99(r.lat)} | ${r.lost} | ${r.errors} | ${fmt.ratio(r.rate / floorRate)} |`),
    '',
    `target: ≥ 20,000 queries/s for cluster names — ${rows[1] && rows[1].rate >= 20_000 ? 'met' : 'NOT met'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (isMainThread) {
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
} else {
  void loadWorker(workerData as LoadParams).then((r) => parentPort!.postMessage(r));
}
