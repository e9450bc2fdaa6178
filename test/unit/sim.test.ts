import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { nodeAddresses, offsetInBlock } from '../../src/sim/addresses.js';
import { buildLease, buildNode, finishedPodStatus, healthyConditions, looksRunning, microTimestamp, normalizeImage, runningPodStatus, type SimNodeSpec } from '../../src/sim/objects.js';
import { Limiter } from '../../src/sim/limiter.js';
import { parseTaints } from '../../src/cli/sim.js';
import { matchingTolerations, minTolerationSeconds, swapTaints, toleratesTaint } from '../../src/controllers/nodes/taints.js';
import { computeZoneState } from '../../src/controllers/nodes/lifecycle.js';
import { evictionClockStart } from '../../src/controllers/nodes/tainteviction.js';
import { RateLimitedQueue, TokenBucket } from '../../src/controllers/nodes/ratelimit.js';

// Simulated nodes and the node controllers' decisions, without a server.

test('node addresses: one /24 per node in 240.0.0.0/4, stable per name, distinct per ordinal', () => {
  const a = nodeAddresses('sim-', 0);
  const b = nodeAddresses('sim-', 1);
  assert.deepEqual(nodeAddresses('sim-', 0).hostIP, a.hostIP);
  assert.notEqual(a.hostIP, b.hostIP);
  assert.match(a.hostIP, /^(24\d|25[0-5])\.\d+\.\d+\.1$/);
  assert.equal(a.podCIDR, `${a.hostIP.replace(/\.1$/, '.0')}/24`);
  assert.equal(a.podIP(7).replace(/\.7$/, ''), a.hostIP.replace(/\.1$/, ''));
  assert.equal(offsetInBlock(a.hostIP, a.podIP(9)), 9);
  assert.equal(offsetInBlock(a.hostIP, b.podIP(9)), undefined);
  const seen = new Set(Array.from({ length: 5000 }, (_, i) => nodeAddresses('sim-', i).hostIP));
  assert.equal(seen.size, 5000);
});

const spec: SimNodeSpec = {
  name: 'sim-3',
  addresses: nodeAddresses('sim-', 3),
  cpu: '4',
  memory: '16Gi',
  pods: 110,
  ephemeralStorage: '100Gi',
  extendedResources: { 'example.com/gpu': '2' },
  labels: { 'topology.kubernetes.io/zone': 'z1' },
  taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
  bootID: 'boot',
};

test('a simulated node looks like a kubelet-registered one', () => {
  const n = buildNode(spec, Date.UTC(2026, 0, 1));
  assert.equal(n.metadata?.labels?.['kubernetes.io/hostname'], 'sim-3');
  assert.equal(n.metadata?.labels?.['beta.kubernetes.io/os'], 'linux');
  assert.equal(n.metadata?.labels?.type, 'sim');
  assert.equal(n.metadata?.labels?.['topology.kubernetes.io/zone'], 'z1');
  assert.deepEqual(n.spec?.taints, spec.taints);
  assert.equal(n.status?.capacity?.['example.com/gpu'], '2');
  assert.deepEqual(n.status?.allocatable, n.status?.capacity);
  assert.equal(n.status?.nodeInfo?.kubeletVersion, 'v1.32.0-kite-sim');
  assert.deepEqual(n.status?.addresses?.map((a) => a.type), ['InternalIP', 'Hostname']);
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
  assert.deepEqual({ status: ready?.status, reason: ready?.reason, at: ready?.lastHeartbeatTime }, { status: 'True', reason: 'KubeletReady', at: '2026-01-01T00:00:00Z' });
});

test('node heartbeats keep lastTransitionTime unless the status changes', () => {
  const first = healthyConditions(undefined, Date.UTC(2026, 0, 1));
  const later = healthyConditions(first, Date.UTC(2026, 0, 2));
  const ready = later.find((c) => c.type === 'Ready')!;
  assert.equal(ready.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(ready.lastHeartbeatTime, '2026-01-02T00:00:00Z');
  const unknown = first.map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown' } : c));
  assert.equal(healthyConditions(unknown, Date.UTC(2026, 0, 3)).find((c) => c.type === 'Ready')!.lastTransitionTime, '2026-01-03T00:00:00Z');
});

test('leases: microsecond renew times and an owner reference to the node', () => {
  assert.equal(microTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 123)), '2026-01-01T00:00:00.123000Z');
  const l = buildLease('sim-1', 'uid-1', 40, Date.UTC(2026, 0, 1));
  assert.equal(l.metadata?.namespace, 'kube-node-lease');
  assert.deepEqual(l.metadata?.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'sim-1', uid: 'uid-1' }]);
  assert.deepEqual(l.spec, { holderIdentity: 'sim-1', leaseDurationSeconds: 40, renewTime: '2026-01-01T00:00:00.000000Z' });
});

test('image names are normalised as a container runtime reports them', () => {
  assert.equal(normalizeImage('nginx'), 'docker.io/library/nginx:latest');
  assert.equal(normalizeImage('ghost:0.7.7'), 'docker.io/library/ghost:0.7.7');
  assert.equal(normalizeImage('bitnami/redis:7'), 'docker.io/bitnami/redis:7');
  assert.equal(normalizeImage('registry.k8s.io/pause:3.9'), 'registry.k8s.io/pause:3.9');
  assert.equal(normalizeImage('localhost:5000/app'), 'localhost:5000/app:latest');
  assert.equal(normalizeImage('busybox@sha256:abc'), 'docker.io/library/busybox@sha256:abc');
});

const pending: Pod = {
  metadata: { name: 'p', namespace: 'default', uid: 'u1' },
  spec: { nodeName: 'sim-3', containers: [{ name: 'a', image: 'nginx' }, { name: 'b', image: 'redis' }], initContainers: [{ name: 'i', image: 'busybox' }] },
  status: { phase: 'Pending', qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T00:00:00Z' }] },
};

test('pod status: Running and Ready at once, then Succeeded', () => {
  assert.equal(looksRunning(pending), false);
  const running = runningPodStatus(pending, { hostIP: '240.0.0.1', podIP: '240.0.0.2' }, Date.UTC(2026, 0, 1));
  assert.equal(running.phase, 'Running');
  assert.equal(running.podIP, '240.0.0.2');
  assert.deepEqual(running.podIPs, [{ ip: '240.0.0.2' }]);
  assert.equal(running.startTime, '2026-01-01T00:00:00Z');
  assert.equal(running.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime, '2025-12-31T00:00:00Z', 'the scheduler’s condition is kept');
  assert.deepEqual(running.conditions?.map((c) => `${c.type}=${c.status}`).sort(), ['ContainersReady=True', 'Initialized=True', 'PodReadyToStartContainers=True', 'PodScheduled=True', 'Ready=True']);
  assert.deepEqual(running.containerStatuses?.map((s) => [s.name, s.ready, s.started, !!s.state?.running]), [['a', true, true, true], ['b', true, true, true]]);
  assert.equal(running.initContainerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  assert.equal('qosClass' in running, false, 'qosClass is left as the API server set it');
  const now: Pod = { ...pending, status: { ...pending.status, ...running } };
  assert.equal(looksRunning(now), true);
  const again = runningPodStatus(now, { hostIP: '240.0.0.1', podIP: '240.0.0.2' }, Date.UTC(2026, 0, 2));
  assert.equal(again.startTime, running.startTime);
  assert.equal(again.containerStatuses?.[0]?.state?.running?.startedAt, '2026-01-01T00:00:00Z');

  const done = finishedPodStatus(now, 'Succeeded', Date.UTC(2026, 0, 1, 0, 0, 1));
  assert.equal(done.phase, 'Succeeded');
  assert.deepEqual(done.containerStatuses?.map((s) => [s.state?.terminated?.exitCode, s.state?.terminated?.reason, s.ready]), [[0, 'Completed', false], [0, 'Completed', false]]);
  assert.equal(done.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  const failed = finishedPodStatus(now, 'DeadlineExceeded');
  assert.deepEqual([failed.phase, failed.reason], ['Failed', 'DeadlineExceeded']);
});

test('the limiter never runs more than its slots at once and runs everything', async () => {
  const l = new Limiter(3);
  let active = 0;
  let peak = 0;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      l.run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setImmediate(r));
        active--;
        return i;
      }),
    ),
  );
  assert.equal(peak, 3);
  assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(l.inFlight, 0);
});

test('--register-with-taints parses kubelet syntax', () => {
  assert.deepEqual(parseTaints('dedicated=gpu:NoSchedule, spot:PreferNoSchedule'), [
    { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
    { key: 'spot', effect: 'PreferNoSchedule' },
  ]);
  assert.throws(() => parseTaints('a=b:Sometimes'), /key\[=value\]/);
});

test('tolerations: matching and the shortest bounded stay', () => {
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
  const notReady = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
  assert.equal(toleratesTaint({ operator: 'Exists' }, unreachable), true);
  assert.equal(toleratesTaint({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }, unreachable), false);
  assert.equal(toleratesTaint({ key: 'k', value: 'v' }, { key: 'k', value: 'v', effect: 'NoExecute' }), true);
  assert.equal(toleratesTaint({ key: 'k', value: 'w' }, { key: 'k', value: 'v', effect: 'NoExecute' }), false);
  const tolerations = [
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
  ];
  assert.deepEqual(matchingTolerations([unreachable], []), { all: false, used: [] });
  const m = matchingTolerations([unreachable, notReady], tolerations);
  assert.equal(m.all, true);
  assert.equal(minTolerationSeconds(m.used), 30);
  assert.equal(minTolerationSeconds([{ operator: 'Exists' }]), undefined, 'forever');
  assert.equal(minTolerationSeconds([{ operator: 'Exists', tolerationSeconds: -5 }]), 0);
});

test('taint swaps keep an existing taint (and its timeAdded)', () => {
  const old = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:00Z' }, { key: 'x', effect: 'NoSchedule' }];
  const same = swapTaints(old, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-02-01T00:00:00Z' }], []);
  assert.deepEqual(same, old);
  const swapped = swapTaints(old, [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: 't' }], [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]);
  assert.deepEqual(swapped.map((t) => t.key), ['x', 'node.kubernetes.io/not-ready']);
});

test('zone states: normal, partial and full disruption', () => {
  const c = (status: string) => ({ type: 'Ready', status });
  assert.deepEqual(computeZoneState([c('True'), c('True'), c('Unknown')], 0.55), [1, 'Normal']);
  assert.deepEqual(computeZoneState([c('Unknown'), c('Unknown')], 0.55), [2, 'FullDisruption']);
  assert.deepEqual(computeZoneState([c('True'), c('False'), c('Unknown'), undefined], 0.55), [3, 'PartialDisruption']);
  assert.deepEqual(computeZoneState([c('True'), c('True'), c('False'), c('Unknown'), undefined], 0.55), [3, 'PartialDisruption']);
  assert.deepEqual(computeZoneState([c('True'), c('True'), c('True'), c('False'), c('Unknown'), undefined], 0.55), [3, 'Normal']);
});

test('the eviction clock starts when the taint was added, or when the pod was bound if later', () => {
  const taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: '2026-01-01T00:00:10Z' }];
  const now = Date.UTC(2026, 0, 1, 0, 1);
  assert.equal(evictionClockStart(taints, pending, now), Date.UTC(2026, 0, 1, 0, 0, 10));
  const boundLater: Pod = { ...pending, status: { conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:30Z' }] } };
  assert.equal(evictionClockStart(taints, boundLater, now), Date.UTC(2026, 0, 1, 0, 0, 30));
  assert.equal(evictionClockStart([{ key: 'k', effect: 'NoExecute' }], pending, now), now);
});

test('tainting is rate-limited per zone, and a node is queued once until removed', async () => {
  const bucket = new TokenBucket(1, 1, 0);
  assert.equal(bucket.tryAccept(1000), true);
  assert.equal(bucket.tryAccept(1500), false);
  assert.equal(bucket.tryAccept(2100), true);
  assert.equal(new TokenBucket(0).tryAccept(), false);

  const q = new RateLimitedQueue(new TokenBucket(1000, 1));
  assert.equal(q.add('n1', 'u1'), true);
  assert.equal(q.add('n1', 'u1'), false);
  const done: string[] = [];
  await q.try(async (name) => {
    done.push(name);
    return [true, 0];
  });
  assert.deepEqual(done, ['n1']);
  assert.equal(q.add('n1', 'u1'), false, 'still a member after processing');
  assert.equal(q.remove('n1'), true);
  assert.equal(q.add('n1', 'u1'), true);
  q.swapLimiter(0);
  await q.try(async (name) => {
    done.push(name);
    return [true, 0];
  });
  assert.deepEqual(done, ['n1'], 'a stopped zone taints nothing');
});
