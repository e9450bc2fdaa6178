import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ageOf, humanDuration } from '../../src/api/duration.js';
import type { KubeObject } from '../../src/api/object.js';
import { columnDefinitionsFor, parseIncludeObject, tableFor, type Cell, type Table } from '../../src/api/printers/index.js';
import { findResource, type ResourceInfo } from '../../src/api/resources.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const ago = (ms: number) => new Date(NOW - ms).toISOString();
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

function res(group: string, version: string, resource: string): ResourceInfo {
  const r = findResource(group, version, resource);
  assert.ok(r, `${group}/${version}/${resource}`);
  return r;
}

function cells(r: ResourceInfo, o: KubeObject): Cell[] {
  return tableFor(r, [o], { now: NOW }).rows[0].cells;
}

function headers(r: ResourceInfo): string[] {
  return columnDefinitionsFor(r).map((c) => (c.priority ? `${c.name}*` : c.name));
}

const meta = (name: string, created = ago(5 * MIN), extra: Record<string, unknown> = {}) => ({ name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: created, ...extra });

describe('humanDuration', () => {
  const cases: Array<[number, string]> = [
    [-5 * S, '<invalid>'],
    [-2 * S, '<invalid>'],
    [-1500, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [59 * S, '59s'],
    [119 * S + 999, '119s'],
    [120 * S, '2m'],
    [125 * S, '2m5s'],
    [9 * MIN + 59 * S, '9m59s'],
    [10 * MIN + 30 * S, '10m'],
    [179 * MIN, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * MIN, '3h5m'],
    [7 * H + 59 * MIN, '7h59m'],
    [8 * H + 30 * MIN, '8h'],
    [47 * H, '47h'],
    [48 * H, '2d'],
    [50 * H, '2d2h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D + 5 * H, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [731 * D, '2y1d'],
    [8 * 365 * D - D, '7y364d'],
    [8 * 365 * D, '8y'],
    [20 * 365 * D, '20y'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(humanDuration(ms), want));

  it('ageOf', () => {
    assert.equal(ageOf(undefined, NOW), '<unknown>');
    assert.equal(ageOf('', NOW), '<unknown>');
    assert.equal(ageOf(ago(90 * S), NOW), '90s');
  });
});

describe('Table envelope', () => {
  const pods = res('', 'v1', 'pods');
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...meta('nginx'), labels: { run: 'nginx' }, resourceVersion: '42', managedFields: [{ manager: 'kubectl' }] },
    spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
    status: { phase: 'Pending' },
  };

  it('defaults to PartialObjectMetadata rows with headers', () => {
    const t: Table = tableFor(pods, [pod], { now: NOW });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.metadata, {});
    assert.deepEqual(Object.keys(t), ['kind', 'apiVersion', 'metadata', 'columnDefinitions', 'rows']);
    assert.equal(t.columnDefinitions?.[0].format, 'name');
    const obj = t.rows[0].object as { kind: string; apiVersion: string; metadata: Record<string, unknown> };
    assert.equal(obj.kind, 'PartialObjectMetadata');
    assert.equal(obj.apiVersion, 'meta.k8s.io/v1');
    assert.equal(obj.metadata.namespace, 'default');
    assert.deepEqual(obj.metadata.labels, { run: 'nginx' });
    assert.equal(obj.metadata.resourceVersion, '42');
    assert.equal('managedFields' in obj.metadata, false);
    assert.ok(pod.metadata.managedFields, 'input not mutated');
  });

  it('includeObject=Object and None, noHeaders', () => {
    const full = tableFor(pods, [{ metadata: pod.metadata, spec: pod.spec }], { now: NOW, includeObject: 'Object' });
    const o = full.rows[0].object as KubeObject;
    assert.equal(o.kind, 'Pod');
    assert.equal(o.apiVersion, 'v1');
    assert.ok(o.spec);
    const none = tableFor(pods, [pod], { now: NOW, includeObject: 'None', noHeaders: true });
    assert.equal(none.rows[0].object, null);
    assert.equal('columnDefinitions' in none, false);
    assert.equal(parseIncludeObject('Object'), 'Object');
    assert.equal(parseIncludeObject(undefined), 'Metadata');
  });

  it('falls back to Name and Created At', () => {
    const roles = res('rbac.authorization.k8s.io', 'v1', 'roles');
    const t = tableFor(roles, [{ metadata: { name: 'r', creationTimestamp: '2024-05-06T07:08:09Z' } }, { metadata: { name: 'x' } }], { now: NOW });
    assert.deepEqual(
      t.columnDefinitions?.map((c) => [c.name, c.type, c.format]),
      [
        ['Name', 'string', 'name'],
        ['Created At', 'date', ''],
      ],
    );
    assert.deepEqual(t.rows[0].cells, ['r', '2024-05-06T07:08:09Z']);
    assert.deepEqual(t.rows[1].cells, ['x', '0001-01-01T00:00:00Z']);
    assert.deepEqual(headers(res('', 'v1', 'limitranges')), ['Name', 'Created At']);
    assert.deepEqual(headers(res('rbac.authorization.k8s.io', 'v1', 'clusterroles')), ['Name', 'Created At']);
  });
});

describe('pods', () => {
  const pods = res('', 'v1', 'pods');
  const running = (name: string, ready = true) => ({ name, ready, restartCount: 0, started: true, state: { running: { startedAt: ago(MIN) } } });

  it('columns', () => {
    assert.deepEqual(headers(pods), ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP*', 'Node*', 'Nominated Node*', 'Readiness Gates*']);
  });

  it('running pod', () => {
    const p: KubeObject = {
      metadata: meta('web', ago(3 * H + 5 * MIN)),
      spec: { nodeName: 'node1', containers: [{ name: 'a' }, { name: 'b' }], readinessGates: [{ conditionType: 'example.com/gate' }] },
      status: {
        phase: 'Running',
        podIP: '10.244.0.7',
        podIPs: [{ ip: '10.244.0.7' }, { ip: 'fd00::7' }],
        conditions: [{ type: 'Ready', status: 'True' }, { type: 'example.com/gate', status: 'True' }],
        containerStatuses: [running('a'), running('b')],
      },
    };
    assert.deepEqual(cells(pods, p), ['web', '2/2', 'Running', '0', '3h5m', '10.244.0.7', 'node1', '<none>', '1/1']);
  });

  it('CrashLoopBackOff with restarts', () => {
    const p: KubeObject = {
      metadata: meta('crash', ago(20 * MIN)),
      spec: { nodeName: 'node1', containers: [{ name: 'app' }] },
      status: {
        phase: 'Running',
        podIPs: [{ ip: '10.0.0.9' }],
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(5 * MIN) } },
          },
        ],
      },
    };
    assert.deepEqual(cells(pods, p).slice(0, 5), ['crash', '0/1', 'CrashLoopBackOff', '5 (5m ago)', '20m']);
  });

  it('Terminating and NodeLost', () => {
    const base = { spec: { containers: [{ name: 'a' }] }, status: { phase: 'Running', containerStatuses: [running('a')] } };
    const terminating: KubeObject = { metadata: meta('t', ago(MIN), { deletionTimestamp: ago(0) }), ...base };
    assert.equal(cells(pods, terminating)[2], 'Terminating');
    const lost: KubeObject = { metadata: meta('l', ago(MIN), { deletionTimestamp: ago(0) }), ...base, status: { ...base.status, reason: 'NodeLost' } };
    assert.equal(cells(pods, lost)[2], 'Unknown');
    const done: KubeObject = { metadata: meta('d', ago(MIN), { deletionTimestamp: ago(0) }), spec: base.spec, status: { phase: 'Succeeded' } };
    assert.equal(cells(pods, done)[2], 'Succeeded', 'terminal pods keep their phase');
  });

  it('pending states', () => {
    const creating: KubeObject = {
      metadata: meta('c'),
      spec: { nodeName: 'n', containers: [{ name: 'a' }] },
      status: { phase: 'Pending', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] },
    };
    assert.deepEqual(cells(pods, creating).slice(1, 4), ['0/1', 'ContainerCreating', '0']);
    const unscheduled: KubeObject = { metadata: meta('u'), spec: { containers: [{ name: 'a' }] }, status: { phase: 'Pending' } };
    assert.deepEqual(cells(pods, unscheduled).slice(1, 7), ['0/1', 'Pending', '0', '5m', '<none>', '<none>']);
    const gated: KubeObject = {
      metadata: meta('g'),
      spec: { containers: [{ name: 'a' }] },
      status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] },
    };
    assert.equal(cells(pods, gated)[2], 'SchedulingGated');
    const evicted: KubeObject = { metadata: meta('e'), spec: { containers: [{ name: 'a' }] }, status: { phase: 'Failed', reason: 'Evicted' } };
    assert.equal(cells(pods, evicted)[2], 'Evicted');
  });

  it('init containers', () => {
    const spec = { initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }] };
    const done = { name: 'i1', ready: true, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
    const pending = { name: 'a', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } };
    const withInit = (second: Record<string, unknown>): KubeObject => ({
      metadata: meta('i'),
      spec,
      status: { phase: 'Pending', initContainerStatuses: [done, { name: 'i2', ready: false, restartCount: 0, ...second }], containerStatuses: [pending] },
    });
    assert.equal(cells(pods, withInit({ state: { running: {} } }))[2], 'Init:1/2');
    assert.equal(cells(pods, withInit({ state: { waiting: { reason: 'ImagePullBackOff' } } }))[2], 'Init:ImagePullBackOff');
    assert.equal(cells(pods, withInit({ state: { waiting: { reason: 'PodInitializing' } } }))[2], 'Init:1/2');
    assert.equal(cells(pods, withInit({ state: { terminated: { exitCode: 2 } } }))[2], 'Init:ExitCode:2');
    assert.equal(cells(pods, withInit({ state: { terminated: { exitCode: 137, signal: 9 } } }))[2], 'Init:Signal:9');
    assert.equal(cells(pods, withInit({ state: { terminated: { exitCode: 1, reason: 'Error' } }, restartCount: 3 }))[2], 'Init:Error');
    assert.equal(cells(pods, withInit({ state: { terminated: { exitCode: 1, reason: 'Error' } }, restartCount: 3 }))[3], '3');
  });

  it('sidecars count towards READY', () => {
    const p: KubeObject = {
      metadata: meta('s'),
      spec: { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'app' }] },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
        initContainerStatuses: [{ ...running('proxy'), restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: ago(90 * S) } } }],
        containerStatuses: [running('app')],
      },
    };
    assert.deepEqual(cells(pods, p).slice(1, 4), ['2/2', 'Running', '2 (90s ago)']);
  });

  it('completed pods get a row condition', () => {
    const p: KubeObject = {
      metadata: meta('job-x'),
      spec: { containers: [{ name: 'a' }] },
      status: { phase: 'Succeeded', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
    };
    const row = tableFor(pods, [p], { now: NOW }).rows[0];
    assert.deepEqual(row.cells.slice(1, 3), ['0/1', 'Completed']);
    assert.equal(row.conditions?.[0].type, 'Completed');
    assert.equal(row.conditions?.[0].status, 'True');
    assert.equal(row.conditions?.[0].reason, 'Succeeded');
    const failed: KubeObject = { ...p, status: { phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] } };
    const frow = tableFor(pods, [failed], { now: NOW }).rows[0];
    assert.equal(frow.cells[2], 'ExitCode:3');
    assert.equal(frow.conditions?.[0].reason, 'Failed');
    const runningPod: KubeObject = { ...p, status: { phase: 'Running' } };
    assert.equal('conditions' in tableFor(pods, [runningPod], { now: NOW }).rows[0], false);
  });

  it('Completed with a container still running shows Running or NotReady', () => {
    const status = (ready: boolean) => ({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }, running('b')],
    });
    const spec = { containers: [{ name: 'a' }, { name: 'b' }] };
    assert.deepEqual(cells(pods, { metadata: meta('x'), spec, status: status(true) }).slice(1, 3), ['1/2', 'Running']);
    assert.deepEqual(cells(pods, { metadata: meta('x'), spec, status: status(false) }).slice(1, 3), ['1/2', 'NotReady']);
  });

  it('pod templates', () => {
    const pt = res('', 'v1', 'podtemplates');
    assert.deepEqual(headers(pt), ['Name', 'Containers', 'Images', 'Pod Labels']);
    const o: KubeObject = { metadata: meta('t'), template: { metadata: { labels: { b: '2', a: '1' } }, spec: { containers: [{ name: 'x', image: 'i1' }, { name: 'y', image: 'i2' }] } } };
    assert.deepEqual(cells(pt, o), ['t', 'x,y', 'i1,i2', 'a=1,b=2']);
  });
});

describe('services', () => {
  const svc = res('', 'v1', 'services');
  const mk = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({ metadata: meta('s', ago(10 * MIN)), spec, status });

  it('columns', () => {
    assert.deepEqual(headers(svc), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector*']);
  });

  it('ClusterIP', () => {
    const o = mk({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], selector: { app: 'web' }, ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] });
    assert.deepEqual(cells(svc, o), ['s', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP,53/UDP', '10m', 'app=web']);
    const headless = mk({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] });
    assert.deepEqual(cells(svc, headless).slice(2, 5), ['None', '<none>', '<none>']);
    assert.equal(cells(svc, headless)[6], '<none>');
    assert.equal(cells(svc, mk({ type: 'ClusterIP', externalIPs: ['1.1.1.1', '2.2.2.2'] }))[3], '1.1.1.1,2.2.2.2');
  });

  it('NodePort', () => {
    const o = mk({ type: 'NodePort', clusterIPs: ['10.96.1.1'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] });
    assert.deepEqual(cells(svc, o).slice(1, 5), ['NodePort', '10.96.1.1', '<none>', '80:30080/TCP']);
  });

  it('LoadBalancer pending and provisioned', () => {
    const spec = { type: 'LoadBalancer', clusterIPs: ['10.96.2.2'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] };
    assert.equal(cells(svc, mk(spec))[3], '<pending>');
    const ingress = [{ ip: '5.6.7.8' }, { hostname: 'lb.example.com' }, { ip: '1.2.3.4' }, { ip: '1.2.3.4' }];
    assert.equal(cells(svc, mk(spec, { loadBalancer: { ingress } }))[3], '1.2.3.4,5.6.7.8,lb.example.com');
    assert.equal(cells(svc, mk({ ...spec, externalIPs: ['9.9.9.9'] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }))[3], '1.2.3.4,9.9.9.9');
    assert.equal(cells(svc, mk({ ...spec, externalIPs: ['9.9.9.9'] }))[3], '9.9.9.9');
  });

  it('ExternalName', () => {
    const o = mk({ type: 'ExternalName', externalName: 'db.example.com' });
    assert.deepEqual(cells(svc, o).slice(1, 5), ['ExternalName', '<none>', 'db.example.com', '<none>']);
  });
});

describe('nodes', () => {
  const nodes = res('', 'v1', 'nodes');
  it('columns', () => {
    assert.deepEqual(headers(nodes), ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP*', 'External-IP*', 'OS-Image*', 'Kernel-Version*', 'Container-Runtime*']);
  });

  it('NotReady,SchedulingDisabled with roles', () => {
    const n: KubeObject = {
      metadata: {
        name: 'node1',
        creationTimestamp: ago(3 * D),
        labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': '', 'kubernetes.io/role': 'infra', 'node-role.kubernetes.io/': 'x' },
      },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'False' }],
        addresses: [{ type: 'Hostname', address: 'node1' }, { type: 'InternalIP', address: '192.168.1.10' }],
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'kite://0.1.0' },
      },
    };
    assert.deepEqual(cells(nodes, n), ['node1', 'NotReady,SchedulingDisabled', 'control-plane,infra,master', '3d', 'v1.32.0', '192.168.1.10', '<none>', 'Debian GNU/Linux 12', '6.1.0', 'kite://0.1.0']);
  });

  it('ready, unknown and bare nodes', () => {
    const ready: KubeObject = { metadata: { name: 'n', creationTimestamp: ago(MIN) }, status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    assert.deepEqual(cells(nodes, ready), ['n', 'Ready', '<none>', '60s', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
    const bare: KubeObject = { metadata: { name: 'n' } };
    assert.equal(cells(nodes, bare)[1], 'Unknown');
    assert.equal(cells(nodes, bare)[3], '<unknown>');
  });
});

describe('events', () => {
  it('core v1', () => {
    const events = res('', 'v1', 'events');
    assert.deepEqual(headers(events), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject*', 'Source*', 'Message', 'First Seen*', 'Count*', 'Name*']);
    assert.equal(columnDefinitionsFor(events)[9].format, 'name');
    const e: KubeObject = {
      metadata: meta('web.17a'),
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'default', fieldPath: 'spec.containers{web}' },
      reason: 'BackOff',
      message: '  Back-off restarting failed container\n',
      source: { component: 'kubelet', host: 'node1' },
      firstTimestamp: ago(10 * MIN),
      lastTimestamp: ago(30 * S),
      count: 7,
      type: 'Warning',
    };
    assert.deepEqual(cells(events, e), ['30s', 'Warning', 'BackOff', 'pod/web', 'spec.containers{web}', 'kubelet, node1', 'Back-off restarting failed container', '10m', 7, 'web.17a']);
    const micro: KubeObject = {
      metadata: meta('n.1'),
      involvedObject: { kind: 'Node', name: '' },
      reason: 'RegisteredNode',
      message: 'registered',
      eventTime: '2025-01-01T11:58:00.123456Z',
      reportingComponent: 'node-controller',
      reportingInstance: '',
      type: 'Normal',
    };
    assert.deepEqual(cells(events, micro), ['119s', 'Normal', 'RegisteredNode', 'node', '', 'node-controller', 'registered', '119s', 1, 'n.1']);
  });

  it('events.k8s.io/v1 with a series', () => {
    const events = res('events.k8s.io', 'v1', 'events');
    const e: KubeObject = {
      metadata: meta('x.1'),
      eventTime: ago(H),
      series: { count: 12, lastObservedTime: ago(2 * MIN) },
      reportingController: 'kubelet',
      reportingInstance: 'node2',
      regarding: { kind: 'Pod', name: 'api' },
      reason: 'Unhealthy',
      note: 'Readiness probe failed',
      type: 'Warning',
    };
    assert.deepEqual(cells(events, e), ['2m', 'Warning', 'Unhealthy', 'pod/api', '', 'kubelet, node2', 'Readiness probe failed', '60m', 12, 'x.1']);
  });
});

describe('workloads', () => {
  const tmpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }, { name: 'log', image: 'busybox' }] } };

  it('deployments', () => {
    const d = res('apps', 'v1', 'deployments');
    assert.deepEqual(headers(d), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers*', 'Images*', 'Selector*']);
    const o: KubeObject = {
      metadata: meta('web', ago(2 * D + 3 * H)),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: tmpl },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    };
    assert.deepEqual(cells(d, o), ['web', '2/3', 3, 2, '2d3h', 'web,log', 'nginx:1.27,busybox', 'app=web']);
    const fresh: KubeObject = { metadata: meta('f'), spec: { replicas: 1, selector: {}, template: tmpl } };
    assert.deepEqual(cells(d, fresh).slice(1, 4), ['0/1', 0, 0]);
    assert.equal(cells(d, fresh)[7], '');
  });

  it('replicasets and replication controllers', () => {
    const rs = res('apps', 'v1', 'replicasets');
    assert.deepEqual(headers(rs), ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers*', 'Images*', 'Selector*']);
    const o: KubeObject = {
      metadata: meta('web-5d8f'),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d8f' } }, template: tmpl },
      status: { replicas: 3, readyReplicas: 1 },
    };
    assert.deepEqual(cells(rs, o), ['web-5d8f', 3, 3, 1, '5m', 'web,log', 'nginx:1.27,busybox', 'app=web,pod-template-hash=5d8f']);
    const rc = res('', 'v1', 'replicationcontrollers');
    const rco: KubeObject = { metadata: meta('rc'), spec: { replicas: 2, selector: { app: 'web' }, template: tmpl }, status: { replicas: 2, readyReplicas: 2 } };
    assert.deepEqual(cells(rc, rco), ['rc', 2, 2, 2, '5m', 'web,log', 'nginx:1.27,busybox', 'app=web']);
  });

  it('statefulsets and daemonsets', () => {
    const sts = res('apps', 'v1', 'statefulsets');
    assert.deepEqual(headers(sts), ['Name', 'Ready', 'Age', 'Containers*', 'Images*']);
    assert.deepEqual(cells(sts, { metadata: meta('db'), spec: { replicas: 3, template: tmpl }, status: { readyReplicas: 2 } }), ['db', '2/3', '5m', 'web,log', 'nginx:1.27,busybox']);
    const ds = res('apps', 'v1', 'daemonsets');
    assert.deepEqual(headers(ds), ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age', 'Containers*', 'Images*', 'Selector*']);
    const o: KubeObject = {
      metadata: meta('agent'),
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { ...tmpl, spec: { ...tmpl.spec, nodeSelector: { 'kubernetes.io/os': 'linux' } } } },
      status: { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2, numberAvailable: 1 },
    };
    assert.deepEqual(cells(ds, o), ['agent', 2, 2, 1, 2, 1, 'kubernetes.io/os=linux', '5m', 'web,log', 'nginx:1.27,busybox', 'app=agent']);
  });

  it('controller revisions', () => {
    const cr = res('apps', 'v1', 'controllerrevisions');
    const o: KubeObject = {
      metadata: { ...meta('web-7c9'), ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] },
      revision: 2,
    };
    assert.deepEqual(cells(cr, o), ['web-7c9', 'statefulset.apps/web', 2, '5m']);
    assert.equal(cells(cr, { metadata: meta('orphan'), revision: 1 })[1], '<none>');
  });

  it('jobs', () => {
    const jobs = res('batch', 'v1', 'jobs');
    assert.deepEqual(headers(jobs), ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers*', 'Images*', 'Selector*']);
    const base = { metadata: meta('pi', ago(10 * MIN)), spec: { completions: 1, parallelism: 1, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } }, template: tmpl } };
    const done: KubeObject = { ...base, status: { succeeded: 1, startTime: ago(10 * MIN), completionTime: ago(10 * MIN - 42 * S), conditions: [{ type: 'Complete', status: 'True' }] } };
    assert.deepEqual(cells(jobs, done), ['pi', 'Complete', '1/1', '42s', '10m', 'web,log', 'nginx:1.27,busybox', 'batch.kubernetes.io/controller-uid=abc']);
    const runningJob: KubeObject = { ...base, status: { active: 1, startTime: ago(3 * MIN) } };
    assert.deepEqual(cells(jobs, runningJob).slice(1, 4), ['Running', '0/1', '3m']);
    const notStarted: KubeObject = { ...base, spec: { ...base.spec, completions: undefined, parallelism: 3 } };
    assert.deepEqual(cells(jobs, notStarted).slice(1, 4), ['Running', '0/1 of 3', '']);
    const failed: KubeObject = { ...base, status: { failed: 1, conditions: [{ type: 'FailureTarget', status: 'True' }, { type: 'Failed', status: 'True' }] } };
    assert.equal(cells(jobs, failed)[1], 'Failed');
    const suspended: KubeObject = { ...base, status: { conditions: [{ type: 'Suspended', status: 'True' }] } };
    assert.equal(cells(jobs, suspended)[1], 'Suspended');
    const deleting: KubeObject = { ...base, metadata: { ...base.metadata, deletionTimestamp: ago(0) }, status: { conditions: [{ type: 'Suspended', status: 'True' }] } };
    assert.equal(cells(jobs, deleting)[1], 'Terminating');
  });

  it('cronjobs', () => {
    const cj = res('batch', 'v1', 'cronjobs');
    assert.deepEqual(headers(cj), ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers*', 'Images*', 'Selector*']);
    const o: KubeObject = {
      metadata: meta('hello', ago(H)),
      spec: { schedule: '*/5 * * * *', suspend: false, jobTemplate: { spec: { template: tmpl } } },
      status: { active: [{ name: 'hello-1' }], lastScheduleTime: ago(4 * MIN) },
    };
    assert.deepEqual(cells(cj, o), ['hello', '*/5 * * * *', '<none>', 'False', 1, '4m', '60m', 'web,log', 'nginx:1.27,busybox', '<none>']);
    const never: KubeObject = { metadata: meta('n'), spec: { schedule: '@daily', timeZone: 'Etc/UTC', jobTemplate: { spec: { template: tmpl } } } };
    assert.deepEqual(cells(cj, never).slice(2, 6), ['Etc/UTC', '<unset>', 0, '<none>']);
  });
});

describe('autoscaling', () => {
  const v2 = res('autoscaling', 'v2', 'horizontalpodautoscalers');
  const v1 = res('autoscaling', 'v1', 'horizontalpodautoscalers');

  it('columns are shared by both versions', () => {
    assert.deepEqual(headers(v2), ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']);
    assert.deepEqual(headers(v1), headers(v2));
  });

  it('v2 metrics', () => {
    const o: KubeObject = {
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '500Mi' } } },
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
        ],
      },
      status: {
        currentReplicas: 3,
        currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 42, averageValue: '120m' } } }],
      },
    };
    assert.deepEqual(cells(v2, o), ['web', 'Deployment/web', 'cpu: 42%/80%, memory: <unknown>/500Mi + 1 more...', '1', 10, 3, '5m']);
  });

  it('object, external and empty metrics', () => {
    const mk = (metrics: unknown[], currentMetrics: unknown[] = []): KubeObject => ({
      metadata: meta('h'),
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 5, metrics },
      status: { currentMetrics },
    });
    assert.equal(cells(v2, mk([]))[2], '<none>');
    assert.equal(cells(v2, mk([]))[3], '<unset>');
    assert.equal(
      cells(v2, mk([{ type: 'Object', object: { target: { type: 'AverageValue', averageValue: '2' } } }], [{ type: 'Object', object: { current: { averageValue: '1500m' } } }]))[2],
      '1500m/2 (avg)',
    );
    assert.equal(cells(v2, mk([{ type: 'External', external: { target: { type: 'Value', value: '100' } } }]))[2], '<unknown>/100');
    assert.equal(cells(v2, mk([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } }]))[2], 'cpu: <unknown>/<auto>');
  });

  it('v1 shape', () => {
    const o: KubeObject = {
      metadata: meta('web'),
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 50 },
      status: { currentReplicas: 2, currentCPUUtilizationPercentage: 12 },
    };
    assert.deepEqual(cells(v1, o), ['web', 'Deployment/web', 'cpu: 12%/50%', '2', 4, 2, '5m']);
    const unknown: KubeObject = { ...o, status: { currentReplicas: 0 } };
    assert.equal(cells(v1, unknown)[2], 'cpu: <unknown>/50%');
  });
});

describe('configuration and small core kinds', () => {
  it('secrets, configmaps, namespaces, service accounts', () => {
    const secrets = res('', 'v1', 'secrets');
    assert.deepEqual(headers(secrets), ['Name', 'Type', 'Data', 'Age']);
    assert.deepEqual(cells(secrets, { metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'eA==', 'tls.key': 'eQ==' } }), ['tls', 'kubernetes.io/tls', 2, '5m']);
    const cm = res('', 'v1', 'configmaps');
    assert.deepEqual(cells(cm, { metadata: meta('cfg'), data: { a: '1' }, binaryData: { b: 'AA==' } }), ['cfg', 2, '5m']);
    assert.deepEqual(cells(cm, { metadata: meta('empty') }), ['empty', 0, '5m']);
    const ns = res('', 'v1', 'namespaces');
    assert.deepEqual(headers(ns), ['Name', 'Status', 'Age']);
    assert.deepEqual(cells(ns, { metadata: { name: 'kube-system', creationTimestamp: ago(40 * D) }, status: { phase: 'Active' } }), ['kube-system', 'Active', '40d']);
    const sa = res('', 'v1', 'serviceaccounts');
    assert.deepEqual(cells(sa, { metadata: meta('default') }), ['default', 0, '5m']);
  });

  it('endpoints', () => {
    const ep = res('', 'v1', 'endpoints');
    assert.deepEqual(headers(ep), ['Name', 'Endpoints', 'Age']);
    assert.deepEqual(cells(ep, { metadata: meta('none') }), ['none', '<none>', '5m']);
    const two = { metadata: meta('web'), subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 80 }] }] };
    assert.equal(cells(ep, two)[1], '10.0.0.1:80,[fd00::1]:80');
    const many = {
      metadata: meta('web'),
      subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }], ports: [{ port: 80 }, { port: 443 }] }],
    };
    assert.equal(cells(ep, many)[1], '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...');
    const headless = { metadata: meta('h'), subsets: [{ addresses: [{ ip: '10.0.0.9' }] }] };
    assert.equal(cells(ep, headless)[1], '10.0.0.9');
  });

  it('persistent volumes and claims', () => {
    const pv = res('', 'v1', 'persistentvolumes');
    assert.deepEqual(headers(pv), ['Name', 'Capacity', 'Access Modes', 'Reclaim Policy', 'Status', 'Claim', 'StorageClass', 'VolumeAttributesClass', 'Reason', 'Age', 'VolumeMode*']);
    const o: KubeObject = {
      metadata: { name: 'pv1', creationTimestamp: ago(MIN) },
      spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'default', name: 'data' }, storageClassName: 'standard', volumeMode: 'Filesystem' },
      status: { phase: 'Bound' },
    };
    assert.deepEqual(cells(pv, o), ['pv1', '10Gi', 'RWO,RWX', 'Retain', 'Bound', 'default/data', 'standard', '<unset>', '', '60s', 'Filesystem']);
    const pvc = res('', 'v1', 'persistentvolumeclaims');
    assert.deepEqual(headers(pvc), ['Name', 'Status', 'Volume', 'Capacity', 'Access Modes', 'StorageClass', 'VolumeAttributesClass', 'Age', 'VolumeMode*']);
    const bound: KubeObject = {
      metadata: meta('data'),
      spec: { volumeName: 'pv1', storageClassName: 'standard', resources: { requests: { storage: '5Gi' } }, volumeMode: 'Filesystem' },
      status: { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'] },
    };
    assert.deepEqual(cells(pvc, bound), ['data', 'Bound', 'pv1', '10Gi', 'RWO', 'standard', '<unset>', '5m', 'Filesystem']);
    const pending: KubeObject = { metadata: meta('p'), spec: { resources: { requests: { storage: '1Gi' } } }, status: { phase: 'Pending' } };
    assert.deepEqual(cells(pvc, pending), ['p', 'Pending', '', '', '', '', '<unset>', '5m', '<unset>']);
  });

  it('resource quotas', () => {
    const rq = res('', 'v1', 'resourcequotas');
    assert.deepEqual(headers(rq), ['Name', 'Request', 'Limit', 'Age']);
    const o: KubeObject = {
      metadata: meta('q'),
      status: { hard: { pods: '10', 'requests.cpu': '2', 'limits.memory': '4Gi', 'limits.cpu': '4' }, used: { pods: '3', 'requests.cpu': '500m', 'limits.cpu': '1' } },
    };
    assert.deepEqual(cells(rq, o), ['q', 'pods: 3/10, requests.cpu: 500m/2', 'limits.cpu: 1/4, limits.memory: 0/4Gi', '5m']);
  });
});

describe('networking and cluster kinds', () => {
  it('ingresses', () => {
    const ing = res('networking.k8s.io', 'v1', 'ingresses');
    assert.deepEqual(headers(ing), ['Name', 'Class', 'Hosts', 'Address', 'Ports', 'Age']);
    const o: KubeObject = { metadata: meta('web'), spec: { rules: [{ host: 'a.example.com' }, {}] } };
    assert.deepEqual(cells(ing, o), ['web', '<none>', 'a.example.com', '', '80', '5m']);
    const full: KubeObject = {
      metadata: meta('web'),
      spec: { ingressClassName: 'nginx', tls: [{ hosts: ['a'] }], rules: [{ host: 'a' }, { host: 'b' }, { host: 'c' }, { host: 'd' }, { host: 'e' }] },
      status: { loadBalancer: { ingress: [{ ip: '192.168.0.20' }, { hostname: 'very-long-hostname.example.com' }] } },
    };
    assert.deepEqual(cells(ing, full).slice(1, 5), ['nginx', 'a,b,c + 2 more...', '192.168.0.20,very-long-hostname.example.com', '80, 443']);
    assert.equal(cells(ing, { metadata: meta('x'), spec: {} })[2], '*');
  });

  it('ingress classes, network policies, endpoint slices', () => {
    const ic = res('networking.k8s.io', 'v1', 'ingressclasses');
    assert.deepEqual(cells(ic, { metadata: meta('nginx'), spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } }), [
      'nginx',
      'k8s.io/ingress-nginx',
      'IngressParameters.k8s.example.com/p',
      '5m',
    ]);
    assert.equal(cells(ic, { metadata: meta('x'), spec: { controller: 'c' } })[2], '<none>');
    const np = res('networking.k8s.io', 'v1', 'networkpolicies');
    assert.deepEqual(headers(np), ['Name', 'Pod-Selector', 'Age']);
    assert.deepEqual(cells(np, { metadata: meta('deny'), spec: { podSelector: {} } }), ['deny', '<none>', '5m']);
    assert.equal(cells(np, { metadata: meta('web'), spec: { podSelector: { matchLabels: { app: 'web' } } } })[1], 'app=web');
    const es = res('discovery.k8s.io', 'v1', 'endpointslices');
    assert.deepEqual(headers(es), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
    const slice: KubeObject = {
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      ports: [{ port: 80, name: 'http' }, { name: 'metrics' }, {}],
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }],
    };
    assert.deepEqual(cells(es, slice), ['web-abc', 'IPv4', '80,metrics,*', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '5m']);
    assert.deepEqual(cells(es, { metadata: meta('e'), addressType: 'IPv4' }).slice(2, 4), ['<unset>', '<unset>']);
  });

  it('rbac bindings', () => {
    const rb = res('rbac.authorization.k8s.io', 'v1', 'rolebindings');
    assert.deepEqual(headers(rb), ['Name', 'Role', 'Age', 'Users*', 'Groups*', 'ServiceAccounts*']);
    const o: KubeObject = {
      metadata: meta('b'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [
        { kind: 'User', name: 'alice' },
        { kind: 'User', name: 'bob' },
        { kind: 'Group', name: 'devs' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'tools' },
      ],
    };
    assert.deepEqual(cells(rb, o), ['b', 'ClusterRole/view', '5m', 'alice, bob', 'devs', 'tools/ci']);
    const crb = res('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings');
    assert.deepEqual(cells(crb, { metadata: meta('c'), roleRef: { kind: 'ClusterRole', name: 'admin' } }), ['c', 'ClusterRole/admin', '5m', '', '', '']);
  });

  it('priority classes, storage classes, leases, disruption budgets', () => {
    const pc = res('scheduling.k8s.io', 'v1', 'priorityclasses');
    assert.deepEqual(headers(pc), ['Name', 'Value', 'Global-Default', 'Age', 'PreemptionPolicy']);
    assert.deepEqual(cells(pc, { metadata: meta('high'), value: 1000000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' }), ['high', 1000000, false, '5m', 'PreemptLowerPriority']);
    const sc = res('storage.k8s.io', 'v1', 'storageclasses');
    assert.deepEqual(headers(sc), ['Name', 'Provisioner', 'ReclaimPolicy', 'VolumeBindingMode', 'AllowVolumeExpansion', 'Age']);
    const std: KubeObject = { metadata: { ...meta('standard'), annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } }, provisioner: 'kite.dev/hostpath' };
    assert.deepEqual(cells(sc, std), ['standard (default)', 'kite.dev/hostpath', 'Delete', 'Immediate', false, '5m']);
    const fast: KubeObject = { metadata: meta('fast'), provisioner: 'p', reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true };
    assert.deepEqual(cells(sc, fast), ['fast', 'p', 'Retain', 'WaitForFirstConsumer', true, '5m']);
    const leases = res('coordination.k8s.io', 'v1', 'leases');
    assert.deepEqual(headers(leases), ['Name', 'Holder', 'Age']);
    assert.deepEqual(cells(leases, { metadata: meta('node1'), spec: { holderIdentity: 'node1' } }), ['node1', 'node1', '5m']);
    assert.deepEqual(cells(leases, { metadata: meta('free'), spec: {} }), ['free', '', '5m']);
    const pdb = res('policy', 'v1', 'poddisruptionbudgets');
    assert.deepEqual(headers(pdb), ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age']);
    assert.deepEqual(cells(pdb, { metadata: meta('p'), spec: { minAvailable: 2 }, status: { disruptionsAllowed: 1 } }), ['p', '2', 'N/A', 1, '5m']);
    assert.deepEqual(cells(pdb, { metadata: meta('q'), spec: { maxUnavailable: '25%' } }), ['q', 'N/A', '25%', 0, '5m']);
  });
});
