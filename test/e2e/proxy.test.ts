import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, waitFor, run, type Cluster } from '../helpers/cluster.js';
import { RestClient, configFromKubeconfig, resource } from '../../src/client/rest.js';
import type { KubeObject } from '../../src/api/object.js';
import { startServiceProxy, type ServiceProxy } from '../../src/proxy/proxier.js';

// The service proxy against a real API server, with "pods" that are network namespaces on a test bridge, each
// running busybox httpd that answers its own name. Traffic goes from the host and from inside the pods to
// ClusterIPs, NodePorts (127.0.0.1 and the node's address) and load balancer addresses.

const TABLE = 'kite_test_proxy';
const BRIDGE = 'kitep0';
const SERVICE_CIDR = '10.89.0.0/24';
const GATEWAY = '10.88.5.1';
const NODE = 'kitep-node';
const PODS = [1, 2, 3].map((n) => ({ name: `pod-${n}`, netns: `kitep-test-${n}`, hostVeth: `kitep-h${n}`, ip: `10.88.5.${10 + n}` }));
const isRoot = process.getuid?.() === 0;

let c: Cluster | undefined;
let client: RestClient | undefined;
let proxy: ServiceProxy | undefined;
let www: string | undefined;
const servers: ChildProcess[] = [];
const logs: string[] = [];
const hostIP = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '';

const services = resource('', 'v1', 'services');
const slices = resource('discovery.k8s.io', 'v1', 'endpointslices');
const nodes = resource('', 'v1', 'nodes');

function sh(cmd: string, args: string[], ignoreFailure = false): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if (!ignoreFailure) throw new Error(`${cmd} ${args.join(' ')}: ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
  }
}

function cleanupNetwork(): void {
  for (const p of PODS) sh('ip', ['netns', 'del', p.netns], true);
  sh('ip', ['link', 'del', BRIDGE], true);
  sh('ip', ['route', 'del', SERVICE_CIDR], true);
  sh('nft', ['delete', 'table', 'ip', TABLE], true);
}

function setupNetwork(): void {
  cleanupNetwork();
  sh('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
  sh('ip', ['link', 'set', BRIDGE, 'up']);
  www = mkdtempSync(join(tmpdir(), 'kitep-www-'));
  for (const p of PODS) {
    sh('ip', ['netns', 'add', p.netns]);
    sh('ip', ['link', 'add', p.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.netns]);
    sh('ip', ['link', 'set', p.hostVeth, 'master', BRIDGE, 'up']);
    // Hairpin: a pod reaching itself through its service gets its packets back out of the port they came in on.
    sh('ip', ['link', 'set', p.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
    const inNs = (...a: string[]) => sh('ip', ['netns', 'exec', p.netns, ...a]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0');
    inNs('ip', 'link', 'set', 'eth0', 'up');
    inNs('ip', 'route', 'add', 'default', 'via', GATEWAY);
    const dir = join(www, p.name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.html'), p.name);
    servers.push(spawn('ip', ['netns', 'exec', p.netns, 'busybox', 'httpd', '-f', '-p', '8080', '-h', dir], { stdio: 'ignore' }));
  }
}

before(async () => {
  if (!isRoot) return;
  setupNetwork();
  c = await startCluster({ extraArgs: ['--service-cidr', SERVICE_CIDR] });
  client = new RestClient(configFromKubeconfig(c.kubeconfig, 'kitep-test'));
  await client.create(nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
  await client.patch(nodes, undefined, NODE, 'merge', { status: { addresses: [{ type: 'InternalIP', address: hostIP }], conditions: [{ type: 'Ready', status: 'True', reason: 'KiteTest' }] } }, { subresource: 'status' });
  for (const p of PODS) await waitFor(`${p.name} to serve`, async () => (await fromPod(p.netns, `http://${p.ip}:8080/`)) === p.name, 10_000);
  proxy = await startServiceProxy({ client, nodeName: NODE, nodeIPs: [hostIP], serviceCidr: SERVICE_CIDR, bridge: BRIDGE, tableName: TABLE, log: (m) => logs.push(m) });
});

after(async () => {
  await proxy?.stop().catch(() => undefined);
  for (const s of servers) s.kill('SIGKILL');
  cleanupNetwork();
  if (www) rmSync(www, { recursive: true, force: true });
  client?.close();
  await c?.stop();
});

/** GET from the host; resolves the body, or an error code ("ECONNREFUSED", "EHOSTUNREACH", "TIMEOUT"…). */
function fromHost(url: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body.trim()));
      res.on('error', () => resolve('ERROR'));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve('TIMEOUT');
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    req.end();
  });
}

/** GET from inside a pod's network namespace; busybox wget's -T segfaults, so `timeout` bounds it. */
async function fromPod(netns: string, url: string): Promise<string> {
  const r = await run('ip', ['netns', 'exec', netns, 'timeout', '3', 'busybox', 'wget', '-qO-', url], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout.trim() : `FAILED(${r.code}): ${r.stderr.trim()}`;
}

async function spread(get: () => Promise<string>, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const b = await get();
    seen.set(b, (seen.get(b) ?? 0) + 1);
  }
  return seen;
}

async function createService(name: string, spec: Record<string, unknown>): Promise<KubeObject & { spec: { clusterIP: string; ports: Array<{ port: number; nodePort?: number }> } }> {
  const svc = await client!.create(services, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80, targetPort: 8080 }], ...spec } });
  return svc as KubeObject & { spec: { clusterIP: string; ports: Array<{ port: number; nodePort?: number }> } };
}

interface Ep {
  pod: (typeof PODS)[number];
  ready?: boolean;
  terminating?: boolean;
  node?: string;
}

/** A hand-written EndpointSlice (the service has no selector, so no controller competes for it). */
async function setEndpoints(svc: string, eps: Ep[]): Promise<void> {
  const body = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-test`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'kitep-test' } },
    addressType: 'IPv4',
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.pod.ip], nodeName: e.node ?? NODE, conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.terminating ?? false } })),
  };
  try {
    const cur = await client!.get(slices, 'default', `${svc}-test`);
    await client!.update(slices, { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata.resourceVersion } });
  } catch {
    await client!.create(slices, 'default', body);
  }
}

const opts = { skip: isRoot ? false : 'needs root (network namespaces, bridge, nftables)' };
const [pod1, pod2, pod3] = PODS as [(typeof PODS)[number], (typeof PODS)[number], (typeof PODS)[number]];

test('ClusterIP spreads over ready endpoints, from the host and from a pod; a pod reaches itself (hairpin)', opts, async () => {
  const svc = await createService('web', {});
  await setEndpoints('web', [{ pod: pod1 }, { pod: pod2 }, { pod: pod3, ready: false }]);
  const url = `http://${svc.spec.clusterIP}/`;
  await waitFor('the ClusterIP to answer', async () => (await fromHost(url)).startsWith('pod-'), 10_000);
  const host = await spread(() => fromHost(url), 30);
  assert.deepEqual([...host.keys()].sort(), ['pod-1', 'pod-2'], `host saw ${JSON.stringify([...host])}`);
  const inPod = await spread(() => fromPod(pod3.netns, url), 16);
  assert.deepEqual([...inPod.keys()].sort(), ['pod-1', 'pod-2'], `pod-3 saw ${JSON.stringify([...inPod])}`);
  const hairpin = await spread(() => fromPod(pod1.netns, url), 16);
  assert.deepEqual([...hairpin.keys()].sort(), ['pod-1', 'pod-2'], `pod-1 saw ${JSON.stringify([...hairpin])}`);

  // A terminating endpoint leaves the rules at once; with none left, clients are refused instead of hanging.
  await setEndpoints('web', [{ pod: pod1 }, { pod: pod2, ready: false, terminating: true }]);
  // The proxy's informer sees the slice change a moment after the write: poll until the rules follow it.
  await waitFor('the terminating endpoint to leave the rules', async () => {
    const seen = await spread(() => fromHost(url), 10);
    return seen.size === 1 && seen.has('pod-1');
  }, 10_000);
  await setEndpoints('web', []);
  await waitFor('the ClusterIP to be refused', async () => ['EHOSTUNREACH', 'ECONNREFUSED'].includes(await fromHost(url)), 10_000);
  assert.match(await fromPod(pod3.netns, url), /^FAILED/);
});

test('NodePort answers on 127.0.0.1 and on the node address, from the host and from a pod', opts, async () => {
  const svc = await createService('np', { type: 'NodePort' });
  await setEndpoints('np', [{ pod: pod1 }, { pod: pod2 }]);
  const np = svc.spec.ports[0]!.nodePort!;
  await waitFor('the NodePort on 127.0.0.1', async () => (await fromHost(`http://127.0.0.1:${np}/`)).startsWith('pod-'), 10_000);
  assert.deepEqual([...(await spread(() => fromHost(`http://127.0.0.1:${np}/`), 20)).keys()].sort(), ['pod-1', 'pod-2']);
  assert.deepEqual([...(await spread(() => fromHost(`http://${hostIP}:${np}/`), 20)).keys()].sort(), ['pod-1', 'pod-2']);
  assert.deepEqual([...(await spread(() => fromPod(pod3.netns, `http://${hostIP}:${np}/`), 12)).keys()].sort(), ['pod-1', 'pod-2']);
});

test('externalTrafficPolicy Local sends NodePort traffic only to endpoints on this node, and drops it when there are none', opts, async () => {
  const svc = await createService('local', { type: 'NodePort', externalTrafficPolicy: 'Local' });
  await setEndpoints('local', [{ pod: pod1 }, { pod: pod2, node: 'elsewhere' }]);
  const url = `http://${hostIP}:${svc.spec.ports[0]!.nodePort}/`;
  await waitFor('the Local NodePort', async () => (await fromPod(pod3.netns, url)).startsWith('pod-'), 10_000);
  assert.deepEqual([...(await spread(() => fromPod(pod3.netns, url), 12)).keys()], ['pod-1']);
  // The ClusterIP is not affected by the external policy.
  assert.deepEqual([...(await spread(() => fromPod(pod3.netns, `http://${svc.spec.clusterIP}/`), 16)).keys()].sort(), ['pod-1', 'pod-2']);
  await setEndpoints('local', [{ pod: pod2, node: 'elsewhere' }]);
  await proxy!.syncNow();
  assert.match(await fromPod(pod3.netns, url), /^FAILED/);
});

test('LoadBalancer services get the node address in their status and answer on it', opts, async () => {
  await createService('lb', { type: 'LoadBalancer', ports: [{ port: 8099, targetPort: 8080 }] });
  await setEndpoints('lb', [{ pod: pod2 }]);
  const ingress = await waitFor('status.loadBalancer.ingress', async () => {
    const s = await client!.get(services, 'default', 'lb');
    return ((s.status as { loadBalancer?: { ingress?: Array<{ ip: string }> } }).loadBalancer?.ingress ?? []).map((i) => i.ip).join(',') || undefined;
  });
  assert.equal(ingress, hostIP);
  assert.equal(await waitFor('the load balancer address', async () => (await fromPod(pod3.netns, `http://${hostIP}:8099/`)) === 'pod-2' && 'ok', 10_000), 'ok');
  assert.equal(await fromHost(`http://${hostIP}:8099/`), 'pod-2');
});

test('sessionAffinity ClientIP keeps a client on one endpoint', opts, async () => {
  const svc = await createService('sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
  await setEndpoints('sticky', [{ pod: pod1 }, { pod: pod2 }]);
  const url = `http://${svc.spec.clusterIP}/`;
  await waitFor('the sticky ClusterIP', async () => (await fromHost(url)).startsWith('pod-'), 10_000);
  assert.equal((await spread(() => fromHost(url), 20)).size, 1);
  assert.equal((await spread(() => fromPod(pod3.netns, url), 10)).size, 1);
});

test('an address of the service CIDR without a service stays on the node and is refused', opts, async () => {
  await proxy!.syncNow();
  const route = await run('ip', ['route', 'get', '10.89.0.250']);
  assert.match(route.stdout, new RegExp(`dev ${BRIDGE}\\b`));
  assert.ok(['EHOSTUNREACH', 'ECONNREFUSED'].includes(await fromHost('http://10.89.0.250/')));
  assert.match(await fromPod(pod3.netns, 'http://10.89.0.250/'), /^FAILED/);
});

test('stop removes the table and the route', opts, async () => {
  await proxy!.stop();
  proxy = undefined;
  const r = await run('nft', ['list', 'table', 'ip', TABLE]);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch((await run('ip', ['route', 'show', SERVICE_CIDR])).stdout, /kitep0/);
  assert.ok(!logs.some((l) => /sync failed/.test(l)), logs.join('\n'));
});
