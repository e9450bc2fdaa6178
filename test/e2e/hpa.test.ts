import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { PodSim } from '../helpers/podsim.js';
import { RestClient, configFromKubeconfig, resource } from '../../src/client/rest.js';
import { InformerFactory } from '../../src/client/informer.js';
import { EventRecorder } from '../../src/client/events.js';
import { HorizontalPodAutoscalerController, type MetricsSource } from '../../src/controllers/batch/hpa.js';
import type { PodMetrics } from '../../src/controllers/batch/hpacalc.js';

// HorizontalPodAutoscalers against a real `kite server` whose pods run on no agent, so metrics.k8s.io has no
// figures for them (as metrics-server answers an empty list): the HPA says why it cannot act on CPU, in the
// words Kubernetes uses, and still enforces minReplicas/maxReplicas through the target's scale subresource.

async function getJson<T>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

async function hpaEvents(c: Cluster, name: string): Promise<Array<[string, string, string]>> {
  const list = await getJson<{ items: Event[] }>(c, 'events', '--field-selector', `involvedObject.kind=HorizontalPodAutoscaler,involvedObject.name=${name}`);
  return list.items.map((e) => [e.type ?? '', e.reason ?? '', e.message ?? '']);
}

const NO_METRICS = 'failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API';

test('HorizontalPodAutoscaler without pod metrics', async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  try {
    await t.test('reports <unknown> CPU and why it cannot scale', async () => {
      await c.k('create', 'deployment', 'web', '--image=nginx');
      await c.k('autoscale', 'deployment', 'web', '--cpu-percent=80', '--min=1', '--max=5');
      const hpa = await waitFor('the ScalingActive condition', async () => {
        const h = await getJson<HorizontalPodAutoscaler>(c, 'hpa', 'web');
        return h.status?.conditions?.some((x) => x.type === 'ScalingActive') ? h : undefined;
      });
      assert.deepEqual(
        hpa.status?.conditions?.map((x) => [x.type, x.status, x.reason, x.message]),
        [
          ['AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale"],
          ['ScalingActive', 'False', 'FailedGetResourceMetric', `the HPA was unable to compute the replica count: ${NO_METRICS}`],
        ],
      );
      assert.equal(hpa.status?.currentReplicas, 1);
      assert.equal(hpa.status?.desiredReplicas, 0);
      const out = await c.k('get', 'hpa');
      assert.match(out, /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\n/);
      assert.match(out, /\nweb\s+Deployment\/web\s+cpu: <unknown>\/80%\s+1\s+5\s+1\s+\d+s\n/);
      const described = await c.k('describe', 'hpa', 'web');
      assert.match(described, /ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to compute the replica count: failed to get cpu utilization/);
      assert.match(described, /<unknown> \/ 80%/);
      await waitFor('the warning events', async () => {
        const evs = await hpaEvents(c, 'web');
        return (
          evs.some(([type, reason, msg]) => type === 'Warning' && reason === 'FailedGetResourceMetric' && msg === NO_METRICS) &&
          evs.some(([type, reason, msg]) => type === 'Warning' && reason === 'FailedComputeMetricsReplicas' && msg === `invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: ${NO_METRICS}`)
        );
      });
    });

    await t.test('brings the target within minReplicas and maxReplicas through its scale subresource', async () => {
      await c.k('create', 'deployment', 'small', '--image=nginx', '--replicas=1');
      await c.k('autoscale', 'deployment', 'small', '--min=2', '--max=4');
      await waitFor('small to be scaled to 2', async () => (await c.k('get', 'deployment', 'small', '-o', 'jsonpath={.spec.replicas}')) === '2');
      await c.k('create', 'deployment', 'big', '--image=nginx', '--replicas=6');
      await c.k('autoscale', 'deployment', 'big', '--min=1', '--max=3');
      await waitFor('big to be scaled to 3', async () => (await c.k('get', 'deployment', 'big', '-o', 'jsonpath={.spec.replicas}')) === '3');
      await waitFor('the rescale events and conditions', async () => {
        const small = await hpaEvents(c, 'small');
        const big = await hpaEvents(c, 'big');
        const h = await getJson<HorizontalPodAutoscaler>(c, 'hpa', 'big');
        return (
          small.some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulRescale' && msg === 'New size: 2; reason: Current number of replicas below Spec.MinReplicas') &&
          big.some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulRescale' && msg === 'New size: 3; reason: Current number of replicas above Spec.MaxReplicas') &&
          h.status?.lastScaleTime !== undefined &&
          h.status.conditions?.some((x) => x.type === 'AbleToScale' && x.status === 'True' && x.reason === 'SucceededRescale' && x.message === 'the HPA controller was able to update the target scale to 3')
        );
      });
    });

    await t.test('a missing target is reported as FailedGetScale', async () => {
      await c.kubectl(['apply', '-f', '-'], {
        input: `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ghost }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: ghost }
  minReplicas: 1
  maxReplicas: 3
  metrics: [ { type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } } } ]
`,
      });
      await waitFor('the FailedGetScale condition', async () => {
        const h = await getJson<HorizontalPodAutoscaler>(c, 'hpa', 'ghost');
        const able = h.status?.conditions?.find((x) => x.type === 'AbleToScale');
        return able?.status === 'False' && able.reason === 'FailedGetScale' && /^the HPA controller was unable to get the target's current scale: /.test(able.message ?? '');
      });
      await waitFor('the FailedGetScale event', async () => (await hpaEvents(c, 'ghost')).some(([type, reason]) => type === 'Warning' && reason === 'FailedGetScale'));
    });
  } finally {
    await c.stop();
  }
});

test('HorizontalPodAutoscaler with pod metrics scales a StatefulSet on CPU utilisation', async () => {
  // The server's own autoscaler is off; this one runs in the test with a metrics source standing in for
  // metrics.k8s.io, and reaches the cluster through the API like the real one.
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler,horizontalpodautoscaling'] });
  const sim = await PodSim.start({ kubeconfig: c.kubeconfig, nodes: ['n1', 'n2'] });
  const client = new RestClient(configFromKubeconfig(c.kubeconfig, 'hpa-test'));
  const informers = new InformerFactory(client);
  // A fixed total load shared by the running pods: more pods, less each.
  let totalMilli = 900;
  const metrics: MetricsSource = {
    async podMetrics(namespace, selector) {
      const pods = (await client.list(resource('', 'v1', 'pods'), namespace, { labelSelector: selector })).items.filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
      const out: PodMetrics = new Map();
      for (const p of pods) out.set(p.metadata.name ?? '', { value: Math.trunc(totalMilli / pods.length), timestamp: Date.now(), windowMs: 0 });
      return out;
    },
  };
  const hpa = new HorizontalPodAutoscalerController({ metrics, syncPeriodMs: 500 });
  try {
    await c.kubectl(['apply', '-f', '-'], {
      input: `
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: cpu }
spec:
  serviceName: cpu
  replicas: 2
  podManagementPolicy: Parallel
  selector: { matchLabels: { app: cpu } }
  template:
    metadata: { labels: { app: cpu } }
    spec:
      containers: [ { name: c, image: busy, resources: { requests: { cpu: 500m } } } ]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: cpu }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: StatefulSet, name: cpu }
  minReplicas: 1
  maxReplicas: 10
  metrics: [ { type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } } } ]
`,
    });
    await waitFor('two running pods', async () => (await c.k('get', 'sts', 'cpu', '-o', 'jsonpath={.status.readyReplicas}')) === '2', 30_000);
    hpa.start({
      client,
      informers,
      recorder: (component) => new EventRecorder(client, component),
      log: () => undefined,
      options: { nodeMonitorGracePeriodMs: 40_000, defaultUnreachableTolerationSeconds: 300 },
    });
    informers.start();
    // 900m over two pods of 500m is 90% against 50%: ceil(2 × 1.8) = 4; over four pods it is 45%, within
    // the tolerance, so the size holds.
    await waitFor('the StatefulSet to be scaled to 4', async () => (await c.k('get', 'sts', 'cpu', '-o', 'jsonpath={.spec.replicas}')) === '4', 30_000);
    await waitFor('the SuccessfulRescale event', async () =>
      (await hpaEvents(c, 'cpu')).some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulRescale' && msg === 'New size: 4; reason: cpu resource utilization (percentage of request) above target'),
    );
    const h = await waitFor('four ready pods sharing the load', async () => {
      const x = await getJson<HorizontalPodAutoscaler>(c, 'hpa', 'cpu');
      return x.status?.currentReplicas === 4 && x.status.currentMetrics?.[0]?.resource?.current.averageUtilization === 45 ? x : undefined;
    }, 30_000);
    assert.deepEqual(h.status?.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageValue: '225m', averageUtilization: 45 } } }]);
    assert.equal(h.status?.desiredReplicas, 4);
    assert.ok(h.status?.lastScaleTime);
    assert.ok(h.status?.conditions?.some((x) => x.type === 'ScalingActive' && x.status === 'True' && x.reason === 'ValidMetricFound' && x.message === 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)'));
    assert.match(await c.k('get', 'hpa', 'cpu'), /cpu\s+StatefulSet\/cpu\s+cpu: 45%\/50%\s+1\s+10\s+4\s+/);
    // Load drops to 5%: the five-minute downscale window holds the size.
    totalMilli = 100;
    await waitFor('the scale-down to be stabilised', async () => {
      const x = await getJson<HorizontalPodAutoscaler>(c, 'hpa', 'cpu');
      return x.status?.conditions?.some((y) => y.type === 'AbleToScale' && y.reason === 'ScaleDownStabilized') && x.status.currentMetrics?.[0]?.resource?.current.averageUtilization === 5;
    }, 30_000);
    assert.equal(await c.k('get', 'sts', 'cpu', '-o', 'jsonpath={.spec.replicas}'), '4');
    assert.deepEqual(sim.errors, []);
  } finally {
    hpa.stop();
    await informers.stop();
    client.close();
    await sim.stop();
    await c.stop();
  }
});
