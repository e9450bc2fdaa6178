import { test } from 'node:test';
import assert from 'node:assert/strict';
import { node, pod } from '../../src/scheduler/fixtures.js';
import { SKIP, NodeSubset, PreFilterFailure, type FilterPlugin, type ScorePlugin, type Status } from '../../src/scheduler/framework.js';
import type { NodeInfo } from '../../src/scheduler/nodeinfo.js';
import type { PodInfo } from '../../src/scheduler/podinfo.js';
import { nodeResourcesFitFilter, nodeResourcesFitScore, nodeResourcesBalancedAllocation } from '../../src/scheduler/plugins/noderesources.js';
import { nodeName } from '../../src/scheduler/plugins/nodename.js';
import { nodeUnschedulable } from '../../src/scheduler/plugins/nodeunschedulable.js';
import { nodeAffinityFilter, nodeAffinityScore } from '../../src/scheduler/plugins/nodeaffinity.js';
import { taintTolerationFilter, taintTolerationScore } from '../../src/scheduler/plugins/tainttoleration.js';
import { nodePorts } from '../../src/scheduler/plugins/nodeports.js';
import { interPodAffinityFilter, interPodAffinityScore } from '../../src/scheduler/plugins/interpodaffinity.js';
import { podTopologySpreadFilter, podTopologySpreadScore } from '../../src/scheduler/plugins/podtopologyspread.js';
import { selectorFromSet } from '../../src/api/selectors.js';

// Each filter and score plugin as a pure function of a pod and node infos.

/** Run a filter plugin's preFilter over `nodes`, then its filter on each: reasons per node ('' = fits). */
function filter(p: FilterPlugin, po: PodInfo, nodes: NodeInfo[]): string[] {
  let st = p.preFilter ? p.preFilter(po, nodes) : undefined;
  if (st === SKIP) return nodes.map(() => '');
  assert.ok(!(st instanceof PreFilterFailure));
  if (st instanceof NodeSubset) st = st.state;
  return nodes.map((n) => {
    const s: Status | undefined = p.filter(st, po, n);
    return s ? `${s.code}: ${s.reasons.join(', ')}` : '';
  });
}

/** Scores after normalisation (before the plugin weight); undefined when the plugin skips the pod. */
function score(p: ScorePlugin, po: PodInfo, feasible: NodeInfo[], all = feasible): number[] | undefined {
  const st = p.preScore ? p.preScore(po, feasible, all) : undefined;
  if (st === SKIP) return undefined;
  const raw = feasible.map((n) => p.score(st, po, n));
  p.normalize?.(st, raw, feasible);
  return raw;
}

test('NodeResourcesFit: requests against allocatable minus bound pods, every missing resource named', () => {
  const busy = node('busy', { cpu: '2', memory: '4Gi' }, [pod('a', { cpu: '1500m', memory: '1Gi' })]);
  const full = node('full', { cpu: '8', pods: 1 }, [pod('b')]);
  const free = node('free', { cpu: '2', memory: '4Gi' });
  const p = pod('p', { cpu: '1', memory: '3Gi' });
  assert.deepEqual(filter(nodeResourcesFitFilter, p, [busy, full, free]), ['Unschedulable: Insufficient cpu', 'Unschedulable: Too many pods', '']);
  const big = pod('big', { cpu: '3', memory: '5Gi', requests: { 'ephemeral-storage': '1Gi' } });
  assert.deepEqual(filter(nodeResourcesFitFilter, big, [free]), ['Unschedulable: Insufficient cpu, Insufficient memory, Insufficient ephemeral-storage']);
});

test('NodeResourcesFit: extended resources, and the max rule for init containers and sidecars', () => {
  const gpuNode = node('gpu', { extra: { 'example.com/gpu': '2' } });
  const plain = node('plain');
  const gpu = pod('g', { requests: { 'example.com/gpu': '2' } });
  assert.deepEqual(filter(nodeResourcesFitFilter, gpu, [gpuNode, plain]), ['', 'Unschedulable: Insufficient example.com/gpu']);

  // Init containers run one at a time: the pod needs max(biggest init, sum of containers).
  const withInit = pod('i', {
    containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }, { name: 'b', resources: { requests: { cpu: '1' } } }],
    spec: { initContainers: [{ name: 'init', resources: { requests: { cpu: '3' } } }] },
  });
  assert.equal(withInit.requests.milliCPU, 3000);
  // A sidecar runs beside everything after it.
  const withSidecar = pod('s', {
    containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }],
    spec: { initContainers: [{ name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '500m' } } }, { name: 'init', resources: { requests: { cpu: '2' } } }] },
  });
  assert.equal(withSidecar.requests.milliCPU, 2500);
  assert.deepEqual(filter(nodeResourcesFitFilter, withInit, [node('n', { cpu: '2500m' })]), ['Unschedulable: Insufficient cpu']);
});

test('NodeResourcesFit score: least allocated, with default requests for containers that state none', () => {
  const empty = node('empty', { cpu: '4', memory: '8Gi' });
  const half = node('half', { cpu: '4', memory: '8Gi' }, [pod('x', { cpu: '2', memory: '4Gi' })]);
  assert.deepEqual(score(nodeResourcesFitScore, pod('p', { cpu: '1', memory: '2Gi' }), [empty, half]), [75, 25]);
  // 100m and 200Mi stand in for a best-effort pod: (4000-100)/4000 → 97, (8192-200)/8192 → 97.
  assert.deepEqual(score(nodeResourcesFitScore, pod('be'), [empty]), [97]);
});

test('NodeResourcesBalancedAllocation: cpu and memory used in the same proportion score best', () => {
  const n = node('n', { cpu: '4', memory: '8Gi' });
  assert.deepEqual(score(nodeResourcesBalancedAllocation, pod('even', { cpu: '2', memory: '4Gi' }), [n]), [100]);
  // cpu 50%, memory 25%: spread 0.125 → 87.
  assert.deepEqual(score(nodeResourcesBalancedAllocation, pod('odd', { cpu: '2', memory: '2Gi' }), [n]), [87]);
});

test('NodeName: only the named node', () => {
  const p = pod('p', { spec: { nodeName: 'b' } });
  assert.deepEqual(filter(nodeName, p, [node('a'), node('b')]), ["UnschedulableAndUnresolvable: node(s) didn't match the requested node name", '']);
  assert.deepEqual(filter(nodeName, pod('q'), [node('a')]), ['']);
});

test('NodeUnschedulable: cordoned nodes, unless the pod tolerates node.kubernetes.io/unschedulable', () => {
  const nodes = [node('cordoned', { unschedulable: true }), node('ok')];
  assert.deepEqual(filter(nodeUnschedulable(), pod('p'), nodes), ['UnschedulableAndUnresolvable: node(s) were unschedulable', '']);
  const tolerant = pod('t', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] });
  assert.deepEqual(filter(nodeUnschedulable(), tolerant, nodes), ['', '']);
});

test('NodeAffinity: nodeSelector and required terms (In, NotIn, Exists, Gt, matchFields)', () => {
  const nodes = [node('a', { labels: { disk: 'ssd', gen: '3' } }), node('b', { labels: { disk: 'hdd', gen: '5' } }), node('c')];
  const msg = "UnschedulableAndUnresolvable: node(s) didn't match Pod's node affinity/selector";
  assert.deepEqual(filter(nodeAffinityFilter, pod('sel', { spec: { nodeSelector: { disk: 'ssd' } } }), nodes), ['', msg, msg]);
  const affinity = (terms: object[]) => pod('aff', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms as never } } } } });
  assert.deepEqual(filter(nodeAffinityFilter, affinity([{ matchExpressions: [{ key: 'disk', operator: 'NotIn', values: ['ssd'] }] }]), nodes), [msg, '', '']);
  assert.deepEqual(filter(nodeAffinityFilter, affinity([{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }]), nodes), [msg, '', msg]);
  // Terms are ORed, requirements inside a term ANDed.
  const or = affinity([{ matchExpressions: [{ key: 'disk', operator: 'Exists' }, { key: 'gen', operator: 'Lt', values: ['4'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['c'] }] }]);
  assert.deepEqual(filter(nodeAffinityFilter, or, nodes), ['', msg, '']);
  // An empty term selects nothing.
  assert.deepEqual(filter(nodeAffinityFilter, affinity([{}]), nodes), [msg, msg, msg]);
});

test('NodeAffinity score: weights of the preferred terms a node matches, normalised to 100', () => {
  const nodes = [node('a', { labels: { disk: 'ssd', zone: 'z1' } }), node('b', { labels: { disk: 'ssd' } }), node('c')];
  const p = pod('p', {
    spec: {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 30, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
            { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] } },
          ],
        },
      },
    },
  });
  assert.deepEqual(score(nodeAffinityScore, p, nodes), [100, 75, 0]);
  assert.equal(score(nodeAffinityScore, pod('none'), nodes), undefined);
});

test('TaintToleration: the first untolerated NoSchedule/NoExecute taint, in kube-scheduler words', () => {
  const cp = node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
  const gpu = node('gpu', { taints: [{ key: 'gpu', value: 'true', effect: 'NoExecute' }] });
  const soft = node('soft', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] });
  assert.deepEqual(filter(taintTolerationFilter(), pod('p'), [cp, gpu, soft]), [
    'UnschedulableAndUnresolvable: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }',
    'UnschedulableAndUnresolvable: node(s) had untolerated taint {gpu: true}',
    '',
  ]);
  const tolerant = pod('t', { tolerations: [{ key: 'gpu', operator: 'Equal', value: 'true' }, { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] });
  assert.deepEqual(filter(taintTolerationFilter(), tolerant, [cp, gpu]), ['', '']);
  const wrongValue = pod('w', { tolerations: [{ key: 'gpu', operator: 'Equal', value: 'false' }] });
  assert.deepEqual(filter(taintTolerationFilter(), wrongValue, [gpu]), ['UnschedulableAndUnresolvable: node(s) had untolerated taint {gpu: true}']);
  const everything = pod('e', { tolerations: [{ operator: 'Exists' }] });
  assert.deepEqual(filter(taintTolerationFilter(), everything, [cp, gpu]), ['', '']);
});

test('TaintToleration score: fewer untolerated PreferNoSchedule taints score higher', () => {
  const nodes = [node('two', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }] }), node('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] }), node('none')];
  assert.deepEqual(score(taintTolerationScore(), pod('p'), nodes), [0, 50, 100]);
  assert.deepEqual(score(taintTolerationScore(), pod('t', { tolerations: [{ key: 'a', operator: 'Exists' }] }), nodes), [0, 100, 100]);
});

test('NodePorts: a host port is taken per protocol and address', () => {
  const withPort = (name: string, port: number, extra: object = {}) => pod(name, { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: port, ...extra }] }] });
  const taken = node('taken', {}, [withPort('web', 8080)]);
  const udp = node('udp', {}, [withPort('dns', 8080, { protocol: 'UDP' })]);
  const ip = node('ip', {}, [withPort('one', 8080, { hostIP: '10.0.0.1' })]);
  const msg = "Unschedulable: node(s) didn't have free ports for the requested pod ports";
  assert.deepEqual(filter(nodePorts, withPort('p', 8080), [taken, udp, ip, node('free')]), [msg, '', msg, '']);
  assert.deepEqual(filter(nodePorts, withPort('q', 8080, { hostIP: '10.0.0.2' }), [ip]), ['']);
});

const zoneNodes = () => [node('a1', { labels: { zone: 'a' } }), node('a2', { labels: { zone: 'a' } }), node('b1', { labels: { zone: 'b' } }), node('none')];

test('InterPodAffinity: required affinity by topology domain, and the first pod of a self-affine group', () => {
  const nodes = zoneNodes();
  nodes[1].addPod(pod('db', { labels: { app: 'db' } }));
  const term = (app: string) => ({ labelSelector: { matchLabels: { app } }, topologyKey: 'zone' });
  const affine = pod('web', { labels: { app: 'web' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db')] } } } });
  const msg = "UnschedulableAndUnresolvable: node(s) didn't match pod affinity rules";
  assert.deepEqual(filter(interPodAffinityFilter(), affine, nodes), ['', '', msg, msg]);
  // No pod matches anywhere, but the pod matches its own term: it may start the group where the key exists.
  const self = pod('s1', { labels: { app: 'solo' }, spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('solo')] } } } });
  assert.deepEqual(filter(interPodAffinityFilter(), self, nodes), ['', '', '', msg]);
});

test('InterPodAffinity: anti-affinity, the incoming pod’s and the running pods’', () => {
  const nodes = zoneNodes();
  nodes[0].addPod(pod('web-1', { labels: { app: 'web' } }));
  const anti = pod('web-2', { labels: { app: 'web' }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'zone' }] } } } });
  assert.deepEqual(filter(interPodAffinityFilter(), anti, nodes), ["Unschedulable: node(s) didn't match pod anti-affinity rules", "Unschedulable: node(s) didn't match pod anti-affinity rules", '', '']);
  // A running pod that wants no "batch" pods in its zone keeps them out.
  const guarded = zoneNodes();
  guarded[2].addPod(pod('guard', { spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { kind: 'batch' } }, topologyKey: 'zone' }] } } } }));
  assert.deepEqual(filter(interPodAffinityFilter(), pod('job', { labels: { kind: 'batch' } }), guarded), ['', '', "Unschedulable: node(s) didn't satisfy existing pods anti-affinity rules", '']);
  assert.deepEqual(filter(interPodAffinityFilter(), pod('other', { labels: { kind: 'web' } }), guarded), ['', '', '', '']);
  // Terms apply to the pod's own namespace unless they name others.
  assert.deepEqual(filter(interPodAffinityFilter(), pod('job2', { ns: 'other', labels: { kind: 'batch' } }), guarded), ['', '', '', '']);
});

test('InterPodAffinity score: preferred affinity and anti-affinity by domain, min-max normalised', () => {
  const nodes = zoneNodes();
  nodes[0].addPod(pod('cache', { labels: { app: 'cache' } }));
  nodes[2].addPod(pod('noisy', { labels: { app: 'noisy' } }));
  const p = pod('p', {
    spec: {
      affinity: {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' } }] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: { labelSelector: { matchLabels: { app: 'noisy' } }, topologyKey: 'zone' } }] },
      },
    },
  });
  // zone a: +10, zone b: −10, no zone: 0 → 100, 100, 0, 50.
  assert.deepEqual(score(interPodAffinityScore(), p, nodes), [100, 100, 0, 50]);
  assert.equal(score(interPodAffinityScore(), pod('plain'), zoneNodes()), undefined);
});

test('PodTopologySpread: DoNotSchedule skew against the emptiest domain, and nodes without the key', () => {
  const nodes = zoneNodes();
  nodes[0].addPod(pod('w1', { labels: { app: 'w' } }));
  nodes[1].addPod(pod('w2', { labels: { app: 'w' } }));
  const spread = (maxSkew: number) =>
    pod('w3', { labels: { app: 'w' }, spec: { topologySpreadConstraints: [{ maxSkew, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'w' } } }] } });
  const skewed = "Unschedulable: node(s) didn't match pod topology spread constraints";
  const missing = "UnschedulableAndUnresolvable: node(s) didn't match pod topology spread constraints (missing required label)";
  // zone a has 2, zone b 0: one more in a would make the skew 3.
  assert.deepEqual(filter(podTopologySpreadFilter(), spread(1), nodes), [skewed, skewed, '', missing]);
  assert.deepEqual(filter(podTopologySpreadFilter(), spread(3), nodes), ['', '', '', missing]);
  // minDomains above the number of domains counts the missing ones as empty.
  const minDomains = pod('w4', { labels: { app: 'w' }, spec: { topologySpreadConstraints: [{ maxSkew: 2, minDomains: 3, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'w' } } }] } });
  assert.deepEqual(filter(podTopologySpreadFilter(), minDomains, nodes.slice(0, 3)), [skewed, skewed, '']);
});

test('PodTopologySpread score: ScheduleAnyway prefers emptier domains; defaults spread a controller’s pods by hostname', () => {
  const nodes = zoneNodes().slice(0, 3);
  nodes[0].addPod(pod('w1', { labels: { app: 'w' } }));
  nodes[0].addPod(pod('w2', { labels: { app: 'w' } }));
  const p = pod('w3', { labels: { app: 'w' }, spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'w' } } }] } });
  const s = score(podTopologySpreadScore(), p, nodes)!;
  assert.ok(s[2] > s[0] && s[0] === s[1], `zone b scores highest: ${s}`);
  const defaults = podTopologySpreadScore({ defaultSelector: (po) => (po.labels.app ? selectorFromSet({ app: po.labels.app }) : undefined) });
  const d = score(defaults, pod('w4', { labels: { app: 'w' } }), nodes)!;
  assert.ok(d[1] > d[0] && d[2] > d[0], `nodes without replicas score higher: ${d}`);
  assert.equal(score(defaults, pod('bare'), nodes), undefined);
});
