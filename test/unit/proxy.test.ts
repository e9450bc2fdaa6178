import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { KubeObject } from '../../src/api/object.js';
import { servicePorts, type ServicePortInfo } from '../../src/proxy/model.js';
import { renderRuleset } from '../../src/proxy/render.js';
import { diffScript, fullScript } from '../../src/proxy/nftscript.js';
import { nftRunner } from '../../src/proxy/nft.js';
import { ingressAddresses } from '../../src/proxy/loadbalancer.js';

// The proxier's pure parts (Service + EndpointSlices → service ports → ruleset → nft text) and, as root, the
// kernel accepting the text for 10,000 services, in a private network namespace so the host is untouched.

const TABLE = 'kite_test_proxy';
const CFG = { nodeName: 'node-a', serviceCidr: '10.89.0.0/16' };

function svc(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns' }, spec, ...(status ? { status } : {}) };
}

function slice(svcName: string, ports: Array<{ name?: string; port: number; protocol?: string }>, endpoints: Array<{ ip: string; ready?: boolean; terminating?: boolean; node?: string }>): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svcName}-x`, namespace: 'ns', labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], nodeName: e.node, conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

test('service ports keep only ready, non-terminating endpoints of the matching port name and protocol', () => {
  const s = svc('web', { type: 'ClusterIP', clusterIP: '10.89.0.10', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] });
  const sl = slice('web', [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }], [
    { ip: '10.88.5.3', node: 'node-a' },
    { ip: '10.88.5.2', node: 'node-b' },
    { ip: '10.88.5.4', ready: false },
    { ip: '10.88.5.5', ready: false, terminating: true },
  ]);
  const ports = servicePorts(s, [sl, sl], undefined);
  assert.equal(ports.length, 2);
  assert.deepEqual(ports[0]!.endpoints.map((e) => `${e.ip}:${e.port}`), ['10.88.5.2:8080', '10.88.5.3:8080']);
  assert.equal(ports[1]!.protocol, 'udp');
  assert.deepEqual(ports[1]!.endpoints.map((e) => `${e.ip}:${e.port}`), ['10.88.5.2:5353', '10.88.5.3:5353']);
});

test('headless and ExternalName services get no rules; selector-less services fall back to Endpoints', () => {
  assert.deepEqual(servicePorts(svc('h', { clusterIP: 'None', ports: [{ port: 80 }] }), [], undefined), []);
  assert.deepEqual(servicePorts(svc('e', { type: 'ExternalName', externalName: 'example.com' }), [], undefined), []);
  const manual = svc('db', { type: 'ClusterIP', clusterIP: '10.89.0.20', ports: [{ port: 5432 }] });
  const eps: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'ns' }, subsets: [{ addresses: [{ ip: '10.88.5.9' }], notReadyAddresses: [{ ip: '10.88.5.8' }], ports: [{ port: 5432, protocol: 'TCP' }] }] };
  assert.deepEqual(servicePorts(manual, [], eps)[0]!.endpoints, [{ ip: '10.88.5.9', port: 5432, nodeName: undefined }]);
});

test('rendering: balancing, no-endpoint rejects, Local policies, affinity and load balancer IPs', () => {
  const s = svc(
    'web',
    { type: 'LoadBalancer', clusterIP: '10.89.0.10', selector: { a: 'b' }, externalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80, nodePort: 30080 }] },
    { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } },
  );
  const ports = servicePorts(s, [slice('web', [{ port: 8080 }], [{ ip: '10.88.5.2', node: 'node-a' }, { ip: '10.88.5.3', node: 'node-b' }])], undefined);
  const rs = renderRuleset(ports, CFG);
  const id = 'ns/web/tcp/80';
  assert.equal(rs.sets.get('service-ips')!.elements!.get('10.89.0.10 . tcp . 80'), `goto service-${id}`);
  assert.equal(rs.sets.get('service-ips')!.elements!.get('192.0.2.2 . tcp . 80'), `goto external-${id}`);
  assert.equal(rs.sets.get('service-nodeports')!.elements!.get('tcp . 30080'), `goto external-${id}`);
  // Equal chances: the first of two endpoints with probability 1/2, else the second.
  assert.deepEqual(rs.chains.get(`service-${id}`)!.rules.slice(-2), [`numgen random mod 2 == 0 goto endpoint-${id}__10.88.5.2/8080`, `goto endpoint-${id}__10.88.5.3/8080`]);
  // Local: only the endpoint on node-a, and masquerade only for node-local clients.
  assert.deepEqual(rs.chains.get(`external-${id}`)!.rules, [
    'fib saddr type local jump mark-for-masquerade',
    `ip saddr @affinity-${id}__10.88.5.2/8080 goto endpoint-${id}__10.88.5.2/8080`,
    `goto endpoint-${id}__10.88.5.2/8080`,
  ]);
  assert.match(rs.sets.get(`affinity-${id}__10.88.5.3/8080`)!.decl, /timeout 60s/);
  assert.deepEqual(rs.chains.get(`endpoint-${id}__10.88.5.3/8080`)!.rules, [
    'ip saddr 10.88.5.3 jump mark-for-masquerade',
    `update @affinity-${id}__10.88.5.3/8080 { ip saddr }`,
    'meta l4proto tcp dnat to 10.88.5.3:8080',
  ]);

  // Only remote endpoints: the ClusterIP still works, external traffic is dropped.
  const remote = servicePorts(s, [slice('web', [{ port: 8080 }], [{ ip: '10.88.5.3', node: 'node-b' }])], undefined);
  const rs2 = renderRuleset(remote, CFG);
  assert.equal(rs2.sets.get('no-endpoint-nodeports')!.elements!.get('tcp . 30080'), 'drop');
  assert.equal(rs2.sets.get('no-endpoint-services')!.elements!.get('192.0.2.2 . tcp . 80'), 'drop');
  assert.ok(!rs2.chains.has(`external-${id}`));
  // No endpoints at all: rejected, so clients fail at once.
  const none = renderRuleset(servicePorts(s, [], undefined), CFG);
  assert.equal(none.sets.get('no-endpoint-services')!.elements!.get('10.89.0.10 . tcp . 80'), 'goto reject-chain');
  assert.equal(none.sets.get('no-endpoint-nodeports')!.elements!.get('tcp . 30080'), 'goto reject-chain');
  assert.ok(![...none.chains.keys()].some((c) => c.startsWith('endpoint-')));
});

test('load balancer addresses: the pool, else this node and the other Ready nodes', () => {
  const node = (name: string, ip: string, ready: string): KubeObject => ({ metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: ready }] } });
  const nodes = [node('a', '10.0.0.1', 'Unknown'), node('b', '10.0.0.3', 'True'), node('c', '10.0.0.2', 'False')];
  assert.deepEqual(ingressAddresses(nodes, { nodeName: 'a', nodeIPs: ['192.0.2.2'] }), ['10.0.0.3', '192.0.2.2']);
  assert.deepEqual(ingressAddresses(nodes, { nodeName: 'a', nodeIPs: ['192.0.2.2'] }, ['10.0.9.9', '10.0.9.1']), ['10.0.9.1', '10.0.9.9']);
});

/** 10,000 services of three ports' worth of variety: ClusterIP, NodePort with Local policy, UDP and SCTP, affinity. */
function manyServices(n: number): { services: KubeObject[]; slices: Map<string, KubeObject[]> } {
  const services: KubeObject[] = [];
  const slices = new Map<string, KubeObject[]>();
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    const ip = `10.89.${(i >> 8) & 255}.${i & 255}`;
    const kind = i % 10;
    const proto = kind === 7 ? 'UDP' : kind === 8 ? 'SCTP' : 'TCP';
    services.push(
      svc(name, {
        type: kind === 3 ? 'NodePort' : 'ClusterIP',
        clusterIP: ip,
        selector: { app: name },
        externalTrafficPolicy: kind === 3 && i % 20 === 3 ? 'Local' : 'Cluster',
        ...(kind === 5 ? { sessionAffinity: 'ClientIP' } : {}),
        ports: [{ name: 'p', port: 80, protocol: proto, ...(kind === 3 ? { nodePort: 30000 + Math.floor(i / 10) } : {}) }],
      }),
    );
    const eps = kind === 9 ? [] : [0, 1].map((k) => ({ ip: `10.${100 + k}.${(i >> 8) & 255}.${i & 255}`, node: k === 0 ? 'node-a' : 'node-b' }));
    slices.set(`ns/${name}`, [slice(name, [{ name: 'p', port: 8080, protocol: proto }], eps)]);
  }
  return { services, slices };
}

function portsOf(m: { services: KubeObject[]; slices: Map<string, KubeObject[]> }): ServicePortInfo[] {
  return m.services.flatMap((s) => servicePorts(s, m.slices.get(`ns/${s.metadata.name}`) ?? [], undefined));
}

/** The table as nft lists it, with objects in name order (the kernel lists them in creation order). */
async function listing(nft: ReturnType<typeof nftRunner>): Promise<string> {
  const text = await nft.run(['list', 'table', 'ip', TABLE]);
  return text.split('\n\n').map((b) => b.trim()).sort().join('\n\n');
}

const NETNS = 'kitep-unit';
let netnsMade = false;
after(() => {
  if (netnsMade) execFileSync('ip', ['netns', 'del', NETNS]);
});

test('10,000 services render deterministically and nft applies the table and a diff in one transaction each', { skip: process.getuid?.() !== 0 ? 'needs root for nft' : false }, async () => {
  const world = manyServices(10_000);
  const ports = portsOf(world);
  const rs = renderRuleset(ports, CFG);
  const text = fullScript('ip', TABLE, rs);
  assert.equal(fullScript('ip', TABLE, renderRuleset([...ports].reverse(), CFG)), text, 'input order must not change the text');
  assert.equal(diffScript('ip', TABLE, rs, renderRuleset(ports, CFG)), '', 'an unchanged world needs no commands');

  execFileSync('ip', ['netns', 'add', NETNS]);
  netnsMade = true;
  const nft = nftRunner(['ip', 'netns', 'exec', NETNS]);
  await nft.apply(text);
  const counts = JSON.parse(await nft.run(['-j', 'list', 'map', 'ip', TABLE, 'service-ips'])) as { nftables: Array<{ map?: { elem?: unknown[] } }> };
  assert.equal(counts.nftables.find((x) => x.map)!.map!.elem!.length, 9_000);

  // Change the world: a service goes away, one loses an endpoint, one gains affinity, one gets a new port.
  world.services.splice(1, 1);
  const s2 = world.slices.get('ns/svc-2')![0]!;
  (s2.endpoints as unknown[]).pop();
  const s4 = world.services.find((s) => s.metadata.name === 'svc-4')!;
  Object.assign(s4.spec as object, { sessionAffinity: 'ClientIP' });
  (world.services.find((s) => s.metadata.name === 'svc-6')!.spec as { ports: unknown[] }).ports.push({ name: 'q', port: 81, protocol: 'TCP' });
  const rs2 = renderRuleset(portsOf(world), CFG);
  const diff = diffScript('ip', TABLE, rs, rs2);
  assert.ok(diff.split('\n').length < 40, `a small change gives a small diff:\n${diff}`);
  await nft.apply(diff);
  const viaDiff = await listing(nft);
  await nft.apply(fullScript('ip', TABLE, rs2));
  const viaFull = await listing(nft);
  assert.equal(viaDiff, viaFull, 'applying the diff must give the same table as writing it whole');
});
