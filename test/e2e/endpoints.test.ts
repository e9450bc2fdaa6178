import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// Endpoints and EndpointSlices for services with selectors, seen through the real kubectl. Pods are placed
// on hand-made nodes and their IP and readiness set through the status subresource, as a kubelet would.

let c: Cluster;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  for (const [name, zone] of [['n1', 'zone-a'], ['n2', '']] as const) {
    const labels = zone ? `{topology.kubernetes.io/zone: ${zone}}` : '{}';
    const r = await c.kubectl(['apply', '-f', '-'], { input: `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: ${labels}}\n` });
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await c?.stop();
});

async function apply(yaml: string): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

async function makePod(name: string, app: string, opts: { node?: string; port?: number } = {}): Promise<void> {
  await apply(`apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${app}}}
spec:
  nodeName: ${opts.node ?? 'n1'}
  containers: [{name: c, image: nginx, ports: [{name: http, containerPort: ${opts.port ?? 8080}}]}]
`);
}

/** What a kubelet reports: running, with an IP, ready or not. */
async function setStatus(name: string, ip: string, ready: boolean): Promise<void> {
  const status = {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    hostIP: '192.168.0.1',
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }],
  };
  await c.k('patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
}

interface Address {
  ip: string;
  nodeName?: string;
  targetRef?: { kind: string; name: string; namespace: string; uid: string };
}
interface Subset {
  addresses?: Address[];
  notReadyAddresses?: Address[];
  ports?: Array<{ name?: string; port: number; protocol: string }>;
}
interface Slice {
  metadata: { name: string; generateName?: string; labels: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }> };
  addressType: string;
  ports?: Array<{ name?: string; port: number; protocol: string }>;
  endpoints?: Array<{ addresses: string[]; conditions: { ready: boolean; serving: boolean; terminating: boolean }; nodeName?: string; zone?: string; targetRef?: { name: string } }>;
}

async function subsets(svc: string): Promise<Subset[]> {
  const r = await c.kubectl(['get', 'endpoints', svc, '-o', 'json']);
  if (r.code !== 0) return [];
  return ((JSON.parse(r.stdout) as { subsets?: Subset[] }).subsets ?? []);
}

async function slices(svc: string): Promise<Slice[]> {
  return (JSON.parse(await c.k('get', 'endpointslices', '-l', `kubernetes.io/service-name=${svc}`, '-o', 'json')) as { items: Slice[] }).items;
}

const readyIPs = (ss: Subset[]) => [...new Set(ss.flatMap((s) => s.addresses ?? []).map((a) => a.ip))].sort();
const notReadyIPs = (ss: Subset[]) => [...new Set(ss.flatMap((s) => s.notReadyAddresses ?? []).map((a) => a.ip))].sort();

test('ready and not-ready pods, named target ports, and what kubectl shows of them', async () => {
  await apply(`apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`);
  await makePod('web-a', 'web');
  await makePod('web-b', 'web', { node: 'n2' });
  await setStatus('web-a', '10.1.0.2', true);
  await setStatus('web-b', '10.1.0.3', false);

  const ss = await waitFor('Endpoints with one ready and one not-ready address', async () => {
    const s = await subsets('web');
    return readyIPs(s).join() === '10.1.0.2' && notReadyIPs(s).join() === '10.1.0.3' ? s : undefined;
  });
  assert.deepEqual(ss.length, 1);
  assert.deepEqual(ss[0]!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const a = ss[0]!.addresses![0]!;
  assert.equal(a.nodeName, 'n1');
  assert.deepEqual({ ...a.targetRef, uid: undefined }, { kind: 'Pod', name: 'web-a', namespace: 'default', uid: undefined });
  assert.equal(a.targetRef?.uid, (await c.k('get', 'pod', 'web-a', '-o', 'jsonpath={.metadata.uid}')).trim());

  assert.match(await c.k('get', 'endpoints', 'web'), /^NAME\s+ENDPOINTS\s+AGE\nweb\s+10\.1\.0\.2:8080\s+/);
  const slice = await waitFor('an EndpointSlice with both pods', async () => {
    const s = await slices('web');
    return s.length === 1 && s[0]!.endpoints?.length === 2 ? s[0]! : undefined;
  });
  assert.match(slice.metadata.name, /^web-[a-z0-9]{5}$/);
  assert.equal(slice.metadata.generateName, 'web-');
  assert.equal(slice.addressType, 'IPv4');
  assert.equal(slice.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
  assert.equal(slice.metadata.labels.app, 'web');
  const svcUid = (await c.k('get', 'service', 'web', '-o', 'jsonpath={.metadata.uid}')).trim();
  assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svcUid, controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(slice.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const byPod = new Map(slice.endpoints!.map((e) => [e.targetRef?.name, e]));
  assert.deepEqual(byPod.get('web-a')?.conditions, { ready: true, serving: true, terminating: false });
  assert.equal(byPod.get('web-a')?.zone, 'zone-a');
  assert.deepEqual(byPod.get('web-b')?.conditions, { ready: false, serving: false, terminating: false });
  assert.equal(byPod.get('web-b')?.nodeName, 'n2');
  assert.match(await c.k('get', 'endpointslices', '-l', 'kubernetes.io/service-name=web'), new RegExp(`^NAME\\s+ADDRESSTYPE\\s+PORTS\\s+ENDPOINTS\\s+AGE\\n${slice.metadata.name}\\s+IPv4\\s+8080\\s+10\\.1\\.0\\.(2,10\\.1\\.0\\.3|3,10\\.1\\.0\\.2)\\s+`));
  assert.match(await c.k('describe', 'service', 'web'), /\nEndpoints:\s+10\.1\.0\.2:8080\n/);

  await setStatus('web-b', '10.1.0.3', true);
  await waitFor('both addresses ready', async () => readyIPs(await subsets('web')).join() === '10.1.0.2,10.1.0.3');
  assert.match(await c.k('get', 'endpoints', 'web'), /\nweb\s+10\.1\.0\.2:8080,10\.1\.0\.3:8080\s+/);
});

test('a terminating pod leaves Endpoints but stays in its slice as terminating', async () => {
  // web-a is on a node, so its deletion is graceful and it stays Terminating (no kubelet finishes it).
  await c.k('delete', 'pod', 'web-a', '--wait=false');
  await waitFor('Endpoints without the terminating pod', async () => readyIPs(await subsets('web')).join() === '10.1.0.3' && notReadyIPs(await subsets('web')).length === 0);
  const ep = await waitFor('the slice to mark it terminating', async () => {
    const e = (await slices('web'))[0]?.endpoints?.find((x) => x.targetRef?.name === 'web-a');
    return e?.conditions.terminating ? e : undefined;
  });
  assert.deepEqual(ep.conditions, { ready: false, serving: true, terminating: true });
  await c.k('delete', 'pod', 'web-a', '--grace-period=0', '--force');
  await waitFor('the slice to drop the pod', async () => (await slices('web'))[0]?.endpoints?.length === 1);
});

test('publishNotReadyAddresses, ports per service port, and pods without an IP', async () => {
  await apply(`apiVersion: v1
kind: Service
metadata: {name: multi}
spec:
  selector: {app: multi}
  publishNotReadyAddresses: true
  ports: [{name: http, port: 80, targetPort: http}, {name: admin, port: 9000, targetPort: 9001}]
`);
  await makePod('multi-a', 'multi', { port: 8080 });
  await makePod('multi-b', 'multi', { port: 8081 });
  await makePod('multi-c', 'multi');
  await setStatus('multi-a', '10.2.0.2', false);
  await setStatus('multi-b', '10.2.0.3', false);
  const ss = await waitFor('Endpoints listing not-ready pods as ready', async () => {
    const s = await subsets('multi');
    return readyIPs(s).length === 2 ? s : undefined;
  });
  assert.equal(notReadyIPs(ss).length, 0);
  const ports = (ip: string) => ss.filter((s) => s.addresses?.some((a) => a.ip === ip)).flatMap((s) => s.ports ?? []).map((p) => `${p.name}:${p.port}`).sort();
  assert.deepEqual(ports('10.2.0.2'), ['admin:9001', 'http:8080']);
  assert.deepEqual(ports('10.2.0.3'), ['admin:9001', 'http:8081']);
  const sl = await waitFor('one slice per port set', async () => {
    const s = await slices('multi');
    return s.length === 2 && s.every((x) => x.endpoints?.length === 1) ? s : undefined;
  });
  assert.ok(sl.every((x) => x.endpoints![0]!.conditions.ready && !x.endpoints![0]!.conditions.serving));
});

test('a service selecting nothing has empty Endpoints and one placeholder slice; deleting it cleans up', async () => {
  await c.k('create', 'service', 'clusterip', 'lonely', '--tcp=80:8080');
  await waitFor('empty Endpoints', async () => (await c.kubectl(['get', 'endpoints', 'lonely'])).code === 0);
  assert.match(await c.k('get', 'endpoints', 'lonely'), /\nlonely\s+<none>\s+/);
  const placeholder = await waitFor('a placeholder slice', async () => {
    const s = await slices('lonely');
    return s.length === 1 ? s[0]! : undefined;
  });
  assert.deepEqual([placeholder.endpoints ?? [], placeholder.ports ?? []], [[], []]);
  await c.k('delete', 'service', 'lonely');
  await waitFor('the Endpoints and slice to go with the service', async () => (await c.kubectl(['get', 'endpoints', 'lonely'])).code !== 0 && (await slices('lonely')).length === 0);
});

test('the kubernetes service is not managed here, and deleted Endpoints come back', async () => {
  assert.equal((await c.k('get', 'endpointslices', '-l', 'endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io,kubernetes.io/service-name=kubernetes', '-o', 'name')).trim(), '');
  await c.k('delete', 'endpoints', 'web');
  await waitFor('the web Endpoints to be recreated', async () => readyIPs(await subsets('web')).join() === '10.1.0.3');
});
