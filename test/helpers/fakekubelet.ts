import { StatusError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { Informer, objectKey, splitKey } from '../../src/client/informer.js';
import { RestClient, configFromKubeconfig, resource } from '../../src/client/rest.js';
import { WorkQueue, runWorkers } from '../../src/client/workqueue.js';
import type { Cluster } from './cluster.js';

// A stand-in node for tests until simulated nodes exist: registers one Ready Node, keeps its Lease fresh,
// binds unbound pods to it when no scheduler runs, moves its pods to Running and Ready at once, and removes
// terminating pods immediately. Everything goes through the API, as a kubelet would.

const NODES = resource('', 'v1', 'nodes');
const PODS = resource('', 'v1', 'pods');
const LEASES = resource('coordination.k8s.io', 'v1', 'leases');

export interface FakeKubelet {
  readonly nodeName: string;
  stop(): Promise<void>;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function micro(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

interface PodView extends KubeObject {
  spec?: { nodeName?: string; schedulerName?: string; containers?: Array<{ name: string; image?: string }> };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

function isRunningReady(p: PodView): boolean {
  return p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
}

export async function startFakeKubelet(c: Cluster, opts: { nodeName?: string; bind?: boolean } = {}): Promise<FakeKubelet> {
  const nodeName = opts.nodeName ?? 'fake-node';
  const bind = opts.bind ?? true;
  const client = new RestClient(configFromKubeconfig(c.kubeconfig, 'fake-kubelet'));
  const since = now();
  const capacity = { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  const condition = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now(), lastTransitionTime: since });
  // Status goes in by merge patch: the node lifecycle controller may write the node at the same moment.
  const postStatus = () =>
    client.patch(
      NODES,
      undefined,
      nodeName,
      'merge',
      {
        status: {
          capacity,
          allocatable: capacity,
          conditions: [
            condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
            condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
            condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
            condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
          ],
          addresses: [
            { type: 'InternalIP', address: '10.0.0.10' },
            { type: 'Hostname', address: nodeName },
          ],
          nodeInfo: { kubeletVersion: 'v1.32.0', containerRuntimeVersion: 'fake://1.0', operatingSystem: 'linux', architecture: 'amd64', osImage: 'fake', kernelVersion: '6.0', kubeProxyVersion: '', machineID: nodeName, systemUUID: nodeName, bootID: nodeName },
        },
      },
      { subresource: 'status' },
    );
  await client.create(NODES, undefined, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
    spec: {},
  });
  await postStatus();
  const leaseBody = () => ({ holderIdentity: nodeName, leaseDurationSeconds: 40, renewTime: micro() });
  await client.create(LEASES, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: nodeName, namespace: 'kube-node-lease' }, spec: leaseBody() }).catch(() => undefined);
  const heartbeat = setInterval(() => {
    void client.patch(LEASES, 'kube-node-lease', nodeName, 'merge', { spec: leaseBody() }).catch(() => undefined);
    void postStatus().catch(() => undefined);
  }, 10_000);

  let ip = 1;
  const queue = new WorkQueue({ baseDelayMs: 20, maxDelayMs: 2000 });
  const pods = new Informer(client, PODS);
  const enqueue = (o: KubeObject) => queue.add(objectKey(o));
  pods.addHandlers({ add: enqueue, update: (_o, n) => enqueue(n) });

  const reconcile = async (key: string): Promise<void> => {
    const p = pods.get(key) as PodView | undefined;
    if (!p) return;
    const { namespace, name } = splitKey(key);
    try {
      if (p.metadata.deletionTimestamp) {
        if (p.spec?.nodeName === nodeName) await client.delete(PODS, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } });
        return;
      }
      if (!p.spec?.nodeName) {
        if (bind && (p.spec?.schedulerName ?? 'default-scheduler') === 'default-scheduler') {
          await client.createSubresource(PODS, namespace, name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } });
        }
        return;
      }
      if (p.spec.nodeName !== nodeName || isRunningReady(p) || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return;
      const t = now();
      const cond = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t });
      const podIP = `10.244.0.${(ip++ % 250) + 2}`;
      await client.patch(
        PODS,
        namespace,
        name,
        'merge',
        {
          status: {
            phase: 'Running',
            conditions: [cond('PodReadyToStartContainers'), cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
            hostIP: '10.0.0.10',
            hostIPs: [{ ip: '10.0.0.10' }],
            podIP,
            podIPs: [{ ip: podIP }],
            startTime: t,
            containerStatuses: (p.spec.containers ?? []).map((ct) => ({
              name: ct.name,
              image: ct.image,
              imageID: `docker.io/library/${ct.image ?? ''}`,
              containerID: `containerd://${name}-${ct.name}`,
              ready: true,
              started: true,
              restartCount: 0,
              state: { running: { startedAt: t } },
            })),
          },
        },
        { subresource: 'status' },
      );
    } catch (e) {
      // Gone or changed meanwhile: the informer brings the next state.
      if (e instanceof StatusError && (e.code === 404 || e.code === 409)) return;
      throw e;
    }
  };

  const workers = runWorkers(queue, 4, reconcile, () => undefined);
  pods.start();
  await pods.waitForSync();
  return {
    nodeName,
    async stop() {
      clearInterval(heartbeat);
      queue.shutdown();
      await pods.stop();
      await workers;
      client.close();
    },
  };
}
