import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { buildImage } from '../helpers/images.js';
import { isReady, isRunning, waitPod } from '../helpers/node.js';

// Issue 4's acceptance, part 2: the node agent keeps containers healthy — liveness restarts, readiness gates
// Ready, crashes back off, memory over the limit is OOMKilled.

let c: Cluster;

before(async () => {
  c = await startCluster({ agent: true });
  await buildImage(c.dataDir, 'tools:v1', { cmd: ['sh'] });
});

after(async () => {
  await c?.stop();
});

async function apply(manifest: unknown): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  assert.equal(r.code, 0, r.stderr);
}

const pod = (name: string, container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'tools:v1', ...container }], ...extra },
});

test('a failing liveness probe restarts the container', async () => {
  await apply(pod('liveness', { command: ['sh', '-c', 'touch /tmp/healthy; sleep 3600'], livenessProbe: { exec: { command: ['cat', '/tmp/nothere'] }, periodSeconds: 1, failureThreshold: 2 } }));
  await waitPod(c, 'liveness', 'restarted', (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 90_000);
  const events = await c.k('get', 'events', '--field-selector', 'involvedObject.name=liveness');
  assert.match(events, /Unhealthy\s+pod\/liveness\s+Liveness probe failed/);
  assert.match(events, /Killing\s+pod\/liveness\s+Container app failed liveness probe, will be restarted/);
});

test('a failing readiness probe keeps the pod un-Ready while it runs; passing makes it Ready', async () => {
  await apply(pod('readiness', { command: ['sh', '-c', 'sleep 3600'], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 } }));
  const running = await waitPod(c, 'readiness', 'Running', isRunning);
  assert.equal(isReady(running), false);
  await waitPod(c, 'readiness', 'probed not ready', (p) => p.status?.containerStatuses?.[0]?.ready === false && (p.status.containerStatuses[0].started ?? false));
  assert.match(await c.k('get', 'pod', 'readiness'), /readiness\s+0\/1\s+Running/);
  await c.k('exec', 'readiness', '--', 'touch', '/tmp/ready');
  await waitPod(c, 'readiness', 'Ready', isReady);
});

test('a crashing container reaches CrashLoopBackOff with growing delays', async () => {
  await apply(pod('crasher', { command: ['sh', '-c', 'echo crashing; exit 1'] }));
  const p = await waitPod(c, 'crasher', 'CrashLoopBackOff after two restarts', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' && (x.status.containerStatuses[0].restartCount ?? 0) >= 2, 120_000);
  const cs = p.status!.containerStatuses![0];
  assert.equal(cs.lastState?.terminated?.exitCode, 1);
  assert.equal(cs.lastState?.terminated?.reason, 'Error');
  // The back-off doubles: the message names a delay of 20s or more after the second crash.
  assert.match(cs.state!.waiting!.message ?? '', /back-off (20s|40s|1m20s) restarting failed container=app pod=crasher_default/);
  assert.match(await c.k('get', 'pod', 'crasher'), /CrashLoopBackOff/);
  assert.match(await c.k('logs', 'crasher', '--previous'), /crashing/);
});

test('a memory hog over its limit is OOMKilled', async () => {
  await apply(
    pod('hog', { command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], resources: { limits: { memory: '32Mi' } } }, { restartPolicy: 'Never' }),
  );
  const p = await waitPod(c, 'hog', 'OOMKilled', (x) => x.status?.containerStatuses?.[0]?.state?.terminated?.reason === 'OOMKilled', 60_000);
  assert.equal(p.status!.containerStatuses![0].state!.terminated!.exitCode, 137);
  assert.equal(p.status!.phase, 'Failed');
  assert.match(await c.k('get', 'pod', 'hog'), /hog\s+0\/1\s+OOMKilled/);
});
