import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { buildImage } from '../helpers/images.js';
import { bridgePorts, cgroupsUnder, isRunning, mountsUnder, waitPod } from '../helpers/node.js';

// Issue 4's acceptance, part 4: an agent killed with -9 comes back without restarting healthy containers, and
// pods created and deleted leave nothing on the node.

let c: Cluster;
const BRIDGE = 'kitee0';
const CGROUP_PARENT = '/kite-test-e2e';

before(async () => {
  c = await startCluster({ agent: true });
  await buildImage(c.dataDir, 'tools:v1', { cmd: ['sh'] });
});

after(async () => {
  await c?.stop();
});

test('kill -9 of the agent: running containers keep running, with the same start time', async () => {
  await c.k('run', 'survivor', '--image=tools:v1', '--', 'sh', '-c', 'echo started; sleep 3600');
  const before = await waitPod(c, 'survivor', 'Running', isRunning);
  const startedAt = before.status!.containerStatuses![0].state!.running!.startedAt;
  const pidBefore = await c.k('exec', 'survivor', '--', 'sh', '-c', 'cat /proc/uptime');
  assert.ok(pidBefore.length > 0);

  await c.kill9();
  await c.restart();
  // The node heartbeats again and the pod is still the same container.
  await waitFor('the node to be Ready again', async () => /\sReady\s/.test(await c.k('get', 'nodes')), 60_000, 250);
  const after = await waitPod(c, 'survivor', 'Running after the restart', (p) => isRunning(p) && p.status?.containerStatuses?.[0]?.ready === true);
  assert.equal(after.status!.containerStatuses![0].restartCount, 0);
  assert.equal(after.status!.containerStatuses![0].state!.running!.startedAt, startedAt);
  assert.equal(after.status!.containerStatuses![0].containerID, before.status!.containerStatuses![0].containerID);
  assert.match(await c.k('logs', 'survivor'), /^started\n$/);
  await c.k('delete', 'pod', 'survivor', '--grace-period=1', '--wait=true');
});

test('50 pods created and deleted leave no mount, network namespace, veth, cgroup or tmpfs behind', async () => {
  const names = Array.from({ length: 50 }, (_, i) => `churn-${i}`);
  // A stream of documents (kubectl validates a v1 List against OpenAPI v2 in protobuf, which kite does not serve yet).
  const manifest = names.map((name) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app: 'churn' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'app', image: 'tools:v1', command: ['sleep', '3600'], volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }, { name: 'scratch', mountPath: '/scratch' }] }],
        volumes: [{ name: 'cfg', secret: { secretName: 'churn' } }, { name: 'scratch', emptyDir: { medium: 'Memory' } }],
      },
    }),
  ).join('---\n');
  await c.k('create', 'secret', 'generic', 'churn', '--from-literal=k=v');
  const r = await c.kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(r.code, 0, r.stderr);
  await waitFor(
    'all 50 pods Running',
    async () => {
      const list = JSON.parse(await c.k('get', 'pods', '-l', 'app=churn', '-o', 'json')) as { items: Array<{ status?: { phase?: string } }> };
      return list.items.length === 50 && list.items.every((p) => p.status?.phase === 'Running');
    },
    240_000,
    1000,
  );
  assert.equal(bridgePorts(BRIDGE).length >= 50, true);
  await c.k('delete', 'pods', '-l', 'app=churn', '--wait=true', '--timeout=180s');
  await waitFor('the node to be clean', async () => {
    const mounts = mountsUnder(c.dataDir).filter((m) => !m.endsWith('/netns'));
    return mounts.length === 0 && cgroupsUnder(CGROUP_PARENT).length === 0 && bridgePorts(BRIDGE).length === 0 ? true : undefined;
  }, 60_000, 500).catch((e: Error) => {
    throw new Error(`${e.message}\nmounts: ${JSON.stringify(mountsUnder(c.dataDir))}\ncgroups: ${JSON.stringify(cgroupsUnder(CGROUP_PARENT))}\nveths: ${JSON.stringify(bridgePorts(BRIDGE))}`);
  });
  const netnsDir = join(c.dataDir, 'agent', 'netns');
  if (existsSync(netnsDir)) assert.deepEqual(readdirSync(netnsDir), []);
  const pod = await c.kubectl(['get', 'pod', 'churn-0']);
  assert.match(pod.stderr, /NotFound|not found/);
});
