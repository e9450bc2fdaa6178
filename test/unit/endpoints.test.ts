import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from '../../src/api/object.js';
import { computeSubsets, truncateSubsets } from '../../src/controllers/lifecycle/endpoints.js';
import { planSlices, addressTypes, type SlicePlan } from '../../src/controllers/lifecycle/sliceplan.js';
import { findPort, podEndpointsChanged, TriggerTimeTracker, WriteTracker } from '../../src/controllers/lifecycle/endpointutil.js';

// What the Endpoints and EndpointSlice controllers compute from a service and its pods.

function svc(spec: Partial<NonNullable<Service['spec']>> = {}, name = 'web'): Service {
  return {
    metadata: { name, namespace: 'default', uid: 'svc-uid', labels: { app: 'web', tier: 'front' }, creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { selector: { app: 'web' }, clusterIP: '10.0.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' as unknown as number }], ...spec },
  };
}

function pod(name: string, ip: string | undefined, opts: { ready?: boolean; node?: string; port?: number; deleting?: boolean; phase?: string; hostname?: string; subdomain?: string } = {}): Pod {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'web' }, ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: {
      nodeName: opts.node ?? 'n1',
      hostname: opts.hostname,
      subdomain: opts.subdomain,
      containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: opts.port ?? 8080, protocol: 'TCP' }] }],
    },
    status: {
      phase: opts.phase ?? 'Running',
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-02T00:00:00Z' }],
    },
  };
}

test('named target ports resolve per pod; ready and not-ready addresses are split', () => {
  const subsets = computeSubsets(svc(), [pod('a', '10.1.0.2'), pod('b', '10.1.0.3', { ready: false }), pod('c', '10.1.0.4', { port: 9090 }), pod('none', undefined)]);
  assert.equal(subsets.length, 2);
  const s8080 = subsets.find((s) => s.ports?.[0]?.port === 8080)!;
  assert.deepEqual(s8080.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.deepEqual(s8080.addresses, [{ ip: '10.1.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }]);
  assert.deepEqual(s8080.notReadyAddresses?.map((a) => a.ip), ['10.1.0.3']);
  const s9090 = subsets.find((s) => s.ports?.[0]?.port === 9090)!;
  assert.deepEqual(s9090.addresses?.map((a) => a.ip), ['10.1.0.4']);
});

test('several ports served by the same pods share one subset; unresolvable ports are skipped', () => {
  const s = svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' as unknown as number }, { name: 'metrics', port: 9100, protocol: 'TCP', targetPort: 9100 }, { name: 'missing', port: 81, protocol: 'TCP', targetPort: 'nope' as unknown as number }] });
  const subsets = computeSubsets(s, [pod('a', '10.1.0.2'), pod('b', '10.1.0.3')]);
  assert.equal(subsets.length, 1);
  assert.deepEqual(subsets[0]!.ports?.map((p) => `${p.name}:${p.port}`), ['http:8080', 'metrics:9100']);
  assert.deepEqual(subsets[0]!.addresses?.map((a) => a.ip), ['10.1.0.2', '10.1.0.3']);
});

test('terminating and finished pods leave Endpoints; publishNotReadyAddresses keeps everything ready', () => {
  const pods = [pod('a', '10.1.0.2'), pod('gone', '10.1.0.5', { deleting: true }), pod('done', '10.1.0.6', { phase: 'Succeeded' }), pod('b', '10.1.0.3', { ready: false })];
  assert.deepEqual(computeSubsets(svc(), pods).flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].map((a) => a.ip)).sort(), ['10.1.0.2', '10.1.0.3']);
  const all = computeSubsets(svc({ publishNotReadyAddresses: true }), pods);
  assert.deepEqual(all.flatMap((s) => s.addresses ?? []).map((a) => a.ip), ['10.1.0.2', '10.1.0.3', '10.1.0.5']);
  assert.ok(all.every((s) => !s.notReadyAddresses));
});

test('a headless service without ports lists bare addresses, with hostnames for its subdomain', () => {
  const s = svc({ clusterIP: 'None', ports: [] });
  const subsets = computeSubsets(s, [pod('web-0', '10.1.0.2', { hostname: 'web-0', subdomain: 'web' })]);
  assert.deepEqual(subsets, [{ addresses: [{ ip: '10.1.0.2', hostname: 'web-0', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-0', uid: 'uid-web-0' } }] }]);
  assert.deepEqual(computeSubsets(svc({ ports: [] }), [pod('a', '10.1.0.2')]), [], 'a service with a cluster IP and no ports gets nothing');
});

test('more than 1000 addresses are truncated, ready ones kept first', () => {
  const ready = Array.from({ length: 1200 }, (_, i) => ({ ip: `10.2.${i >> 8}.${i & 255}` }));
  const { subsets, truncated } = truncateSubsets([{ addresses: ready, notReadyAddresses: [{ ip: '10.9.9.9' }] }]);
  assert.equal(truncated, true);
  assert.equal(subsets[0]!.addresses!.length, 1000);
  assert.equal(subsets[0]!.notReadyAddresses, undefined);
  assert.equal(truncateSubsets([{ addresses: ready.slice(0, 10) }]).truncated, false);
});

test('findPort: numbers as they are, names by protocol, restartable init containers included', () => {
  const p = pod('a', '10.1.0.2');
  p.spec!.initContainers = [{ name: 'side', image: 'x', restartPolicy: 'Always', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] }];
  assert.equal(findPort(p, { port: 80, targetPort: 8081 }), 8081);
  assert.equal(findPort(p, { port: 80 }), 80);
  assert.equal(findPort(p, { port: 53, protocol: 'UDP', targetPort: 'dns' as unknown as number }), 53);
  assert.equal(findPort(p, { port: 53, protocol: 'TCP', targetPort: 'dns' as unknown as number }), undefined);
});

const nodes = (name: string): KubeObject | undefined => (name === 'n1' ? { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } } : name === 'n2' ? { metadata: { name: 'n2' } } : undefined);

/** Apply a plan to a fake store, naming created slices as the API server would. */
function apply(existing: EndpointSlice[], plan: SlicePlan, counter: { n: number }): EndpointSlice[] {
  const out = existing.filter((s) => !plan.delete.some((d) => d.metadata?.name === s.metadata?.name) && !plan.update.some((u) => u.metadata?.name === s.metadata?.name));
  out.push(...plan.update);
  for (const c of plan.create) out.push({ ...c, metadata: { ...c.metadata, name: `${c.metadata!.generateName}${counter.n++}`, uid: `slice-${counter.n}` } });
  return out;
}

test('slices: owned, labelled, with conditions, ports, node and zone; unchanged state plans nothing', () => {
  const service = svc();
  const pods = [pod('a', '10.1.0.2'), pod('b', '10.1.0.3', { ready: false, node: 'n2' }), pod('t', '10.1.0.4', { deleting: true })];
  const plan = planSlices({ service, pods, existing: [], node: nodes, triggerTime: '2024-01-02T00:00:00Z' });
  assert.equal(plan.create.length, 1);
  const s = plan.create[0]!;
  assert.equal(s.addressType, 'IPv4');
  assert.equal(s.metadata?.generateName, 'web-');
  assert.deepEqual(s.metadata?.labels, { app: 'web', tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  assert.deepEqual(s.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
  assert.equal(s.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], '2024-01-02T00:00:00Z');
  assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const byName = new Map(s.endpoints.map((e) => [e.targetRef?.name, e]));
  assert.deepEqual(byName.get('a'), { addresses: ['10.1.0.2'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' }, nodeName: 'n1', zone: 'z1' });
  assert.deepEqual(byName.get('b')?.conditions, { ready: false, serving: false, terminating: false });
  assert.deepEqual(byName.get('t')?.conditions, { ready: false, serving: true, terminating: true }, 'terminating pods stay in slices');

  const store = apply([], plan, { n: 0 });
  const again = planSlices({ service, pods, existing: store, node: nodes, triggerTime: '2024-01-02T00:00:00Z' });
  assert.deepEqual([again.create.length, again.update.length, again.delete.length], [0, 0, 0]);
});

test('slices: a placeholder when nothing backs the service, reused once pods appear', () => {
  const service = svc();
  const counter = { n: 0 };
  const empty = planSlices({ service, pods: [], existing: [], node: nodes });
  assert.equal(empty.create.length, 1);
  assert.deepEqual([empty.create[0]!.endpoints, empty.create[0]!.ports], [[], []]);
  let store = apply([], empty, counter);
  const stillEmpty = planSlices({ service, pods: [], existing: store, node: nodes });
  assert.deepEqual([stillEmpty.create.length, stillEmpty.update.length, stillEmpty.delete.length], [0, 0, 0], 'the placeholder is kept as it is');
  const filled = planSlices({ service, pods: [pod('a', '10.1.0.2')], existing: store, node: nodes });
  assert.deepEqual([filled.create.length, filled.update.length, filled.delete.length], [0, 1, 0], 'the placeholder is rewritten rather than replaced');
  assert.equal(filled.update[0]!.metadata?.name, store[0]!.metadata?.name);
  store = apply(store, filled, counter);
  const emptied = planSlices({ service, pods: [], existing: store, node: nodes });
  assert.equal(emptied.create.length + emptied.update.length, 1);
  assert.equal(emptied.delete.length, 0);
});

test('slices: at most 100 endpoints each; a removed pod updates only its slice', () => {
  const service = svc();
  const pods = Array.from({ length: 250 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, `10.3.${i >> 8}.${i & 255}`));
  const counter = { n: 0 };
  const plan = planSlices({ service, pods, existing: [], node: nodes });
  assert.deepEqual(plan.create.map((s) => s.endpoints.length).sort(), [100, 100, 50]);
  const store = apply([], plan, counter);
  const fewer = planSlices({ service, pods: pods.slice(1), existing: store, node: nodes });
  assert.deepEqual([fewer.create.length, fewer.update.length, fewer.delete.length], [0, 1, 0]);
  const more = planSlices({ service, pods: [...pods, pod('extra', '10.4.0.1')], existing: store, node: nodes });
  assert.deepEqual([more.create.length, more.update.length], [0, 1], 'a new endpoint goes into a slice with room');
  assert.equal(more.update[0]!.endpoints.length, 51);
});

test('slices: unknown nodes leave pods out unless not-ready addresses are published; foreign slices go', () => {
  const service = svc();
  const plan = planSlices({ service, pods: [pod('a', '10.1.0.2', { node: 'ghost' })], existing: [], node: nodes });
  assert.deepEqual(plan.missingNodes, ['ghost']);
  assert.deepEqual(plan.create[0]!.endpoints, []);
  const published = planSlices({ service: svc({ publishNotReadyAddresses: true }), pods: [pod('a', '10.1.0.2', { node: 'ghost' })], existing: [], node: nodes });
  assert.equal(published.create[0]!.endpoints.length, 1);
  const stale: EndpointSlice = { addressType: 'IPv4', endpoints: [], metadata: { name: 'web-old', uid: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'previous-service' }] } };
  const replaced = planSlices({ service, pods: [pod('a', '10.1.0.2')], existing: [stale], node: nodes });
  assert.deepEqual([replaced.create.length, replaced.delete.map((s) => s.metadata?.name)], [1, ['web-old']], 'a slice of an earlier service of the same name is never reused');
});

test('address types follow the IP families; headless without families gets both', () => {
  assert.deepEqual(addressTypes(svc()), ['IPv4']);
  assert.deepEqual(addressTypes(svc({ ipFamilies: undefined, clusterIP: 'fd00::10' })), ['IPv6']);
  assert.deepEqual(addressTypes(svc({ ipFamilies: undefined, clusterIP: 'None' })), ['IPv4', 'IPv6']);
});

test('trigger time: the service creation first, then the earliest changed pod', () => {
  const t = new TriggerTimeTracker();
  const s = svc();
  assert.equal(t.compute('default/web', s, []), '2024-01-01T00:00:00Z');
  assert.equal(t.compute('default/web', s, []), undefined);
  const p = pod('a', '10.1.0.2');
  assert.equal(t.compute('default/web', s, [p]), '2024-01-02T00:00:00Z');
  assert.equal(t.compute('default/web', s, [p]), undefined);
});

test('write tracker: a cache behind our own writes is stale until it catches up', () => {
  const w = new WriteTracker();
  w.expect('svc', 'a', '10');
  assert.equal(w.stale('svc', new Map()), true);
  assert.equal(w.stale('svc', new Map([['a', '9']])), true);
  assert.equal(w.stale('svc', new Map([['a', '10']])), false);
  w.expect('svc', 'b', -1);
  assert.equal(w.stale('svc', new Map([['b', '3']])), true);
  assert.equal(w.stale('svc', new Map()), false);
});

test('podEndpointsChanged: only the fields endpoints are built from count', () => {
  const base = pod('a', '10.1.0.5', { ready: true });
  const copy = (): Pod => JSON.parse(JSON.stringify(base)) as Pod;
  assert.equal(podEndpointsChanged(base, copy()), false);
  const statusOnly = copy();
  statusOnly.status!.startTime = '2024-01-01T00:00:01Z';
  statusOnly.status!.containerStatuses = [{ name: 'c', image: 'nginx', imageID: '', ready: true, restartCount: 0 }];
  assert.equal(podEndpointsChanged(base, statusOnly), false);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.5', { ready: false })), true);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.6', { ready: true })), true);
  assert.equal(podEndpointsChanged(base, pod('a', undefined, { ready: true })), true);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.5', { ready: true, node: 'n2' })), true);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.5', { ready: true, deleting: true })), true);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.5', { ready: true, phase: 'Succeeded' })), true);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.5', { ready: true, hostname: 'h' })), true);
  assert.equal(podEndpointsChanged(base, pod('a', '10.1.0.5', { ready: true, port: 9090 })), true);
  const sidecar = copy();
  sidecar.spec!.initContainers = [{ name: 's', image: 'x', restartPolicy: 'Always', ports: [{ containerPort: 53 }] }];
  assert.equal(podEndpointsChanged(base, sidecar), true);
});
