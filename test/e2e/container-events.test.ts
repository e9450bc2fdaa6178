import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type Agent } from '../../src/agent/agent.js';
import { configFromKubeconfig } from '../../src/client/rest.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { FakeImages, FakeRuntime, FakeVolumes } from '../unit/agent-fakes.js';

// The node agent's container events name their container in involvedObject.fieldPath, as the kubelet's do:
// `kubectl get events -o wide` shows it as SUBOBJECT. Runs the real agent against a real API server with an
// in-memory runtime, so no containers are started.

let c: Cluster;
let agent: Agent;
let runtime: FakeRuntime;
let tmp: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'kite-events-test-'));
  c = await startCluster();
  runtime = new FakeRuntime();
  runtime.execHandler = (_id, argv) => (argv[0] === 'fail-liveness' ? 1 : 0);
  agent = await startAgent({
    server: configFromKubeconfig(c.kubeconfig),
    nodeName: 'events-node',
    nodeIP: '127.0.0.1',
    podCidr: '10.88.3.0/24',
    clusterDns: ['10.43.0.10'],
    clusterDomain: 'cluster.local',
    kubeletPort: 0,
    dataDir: join(tmp, 'agent'),
    runtime,
    images: new FakeImages(),
    volumes: new FakeVolumes(join(tmp, 'volumes')),
    streaming: false,
    timing: { resyncMs: 300, leaseRenewMs: 500, statusUpdateMs: 500, housekeepingMs: 500, crashBackoffInitialMs: 1000, crashBackoffMaxMs: 8000 },
    log: () => undefined,
  });
});

after(async () => {
  await agent?.stop();
  await runtime?.close();
  await c?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface EventRow {
  reason: string;
  message: string;
  involvedObject: { name: string; fieldPath?: string };
}

async function events(pod: string): Promise<EventRow[]> {
  const list = JSON.parse(await c.k('get', 'events', '--field-selector', `involvedObject.name=${pod}`, '-o', 'json')) as { items: EventRow[] };
  return list.items;
}

test('Pulling, Pulled, Created, Started, Unhealthy and Killing name their container', async () => {
  const pod = `apiVersion: v1
kind: Pod
metadata: {name: ev1}
spec:
  nodeName: events-node
  initContainers: [{name: setup, image: busybox:1.35, command: [exit, '0']}]
  containers:
  - name: app
    image: busybox:1.35
    imagePullPolicy: Always
    livenessProbe: {exec: {command: [fail-liveness]}, periodSeconds: 1, failureThreshold: 2}
`;
  const r = await c.kubectl(['apply', '-f', '-'], { input: pod });
  assert.equal(r.code, 0, r.stderr);
  const wanted = ['Pulling', 'Pulled', 'Created', 'Started', 'Unhealthy', 'Killing'];
  let seen: EventRow[] = [];
  const got = await waitFor(
    'the container events of ev1',
    async () => {
      const list = (seen = await events('ev1'));
      const app = list.filter((e) => e.involvedObject.fieldPath === 'spec.containers{app}').map((e) => e.reason);
      return wanted.every((w) => app.includes(w)) ? list : undefined;
    },
    30_000,
    300,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; events so far: ${seen.map((x) => `${x.reason}@${x.involvedObject.fieldPath ?? '-'}`).join(' ')}`);
  });
  const setup = got.filter((e) => e.involvedObject.fieldPath === 'spec.initContainers{setup}').map((e) => e.reason);
  for (const reason of ['Pulled', 'Created', 'Started']) assert.ok(setup.includes(reason), `init container ${reason} (got ${setup.join(', ')})`);
  const killing = got.find((e) => e.reason === 'Killing' && e.involvedObject.fieldPath === 'spec.containers{app}');
  assert.equal(killing?.message, 'Container app failed liveness probe, will be restarted');

  const wide = await c.k('get', 'events', '-o', 'wide', '--field-selector', 'involvedObject.name=ev1,reason=Started');
  assert.match(wide, /SUBOBJECT/);
  assert.match(wide, /Started\s+pod\/ev1\s+spec\.containers\{app\}/);
  await c.k('delete', 'pod', 'ev1', '--grace-period=0', '--force');
});
