import { createHash } from 'node:crypto';
import type { Container, ContainerStatus, Node, NodeCondition, Pod, PodCondition, PodStatus, Taint } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { NodeAddresses } from './addresses.js';

// The API objects a simulated kubelet writes: its Node, its Lease, and the status of the pods bound to it,
// shaped as a real kubelet 1.32 shapes them so that kubectl, the scheduler and the controllers cannot tell.

export const KUBELET_VERSION = 'v1.32.0-kite-sim';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const SIM_LABEL = 'type';
export const SIM_LABEL_VALUE = 'sim';

/** metav1.Time: whole seconds. */
export function timestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** metav1.MicroTime, as Lease.spec.renewTime carries it. */
export function microTimestamp(ms = Date.now()): string {
  // toISOString always ends in ".mmmZ": no pattern needed (this runs for every Lease renewal).
  return `${new Date(ms).toISOString().slice(0, -1)}000Z`;
}

function hex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

function uuidFrom(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface SimNodeSpec {
  name: string;
  addresses: NodeAddresses;
  cpu: string;
  memory: string;
  pods: number;
  ephemeralStorage: string;
  extendedResources: Record<string, string>;
  labels: Record<string, string>;
  taints: Taint[];
  bootID: string;
}

function resources(s: SimNodeSpec): Record<string, string> {
  return {
    cpu: s.cpu,
    'ephemeral-storage': s.ephemeralStorage,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: s.memory,
    pods: String(s.pods),
    ...s.extendedResources,
  };
}

/** The kubelet's four node conditions, all healthy; lastTransitionTime kept from `current` when unchanged. */
export function healthyConditions(current: NodeCondition[] | undefined, now = Date.now()): NodeCondition[] {
  const want: Array<[string, string, string, string]> = [
    ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
    ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
  ];
  const t = timestamp(now);
  return want.map(([type, status, reason, message]) => {
    const old = current?.find((c) => c.type === type);
    return { type, status, lastHeartbeatTime: t, lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : t, reason, message };
  });
}

/** What a kubelet reports about itself: capacity, addresses, version, daemon endpoint. */
export function nodeStatusFacts(s: SimNodeSpec): NonNullable<Node['status']> {
  const machine = hex('machine', s.name);
  return {
    capacity: resources(s),
    allocatable: resources(s),
    addresses: [
      { type: 'InternalIP', address: s.addresses.hostIP },
      { type: 'Hostname', address: s.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: machine.slice(0, 32),
      systemUUID: uuidFrom(hex('system', s.name)),
      bootID: s.bootID,
      kernelVersion: '6.1.0-kite-sim',
      osImage: 'kite simulated node',
      containerRuntimeVersion: 'sim://1.0.0',
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

export function buildNode(s: SimNodeSpec, now = Date.now()): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: s.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': s.name,
        'kubernetes.io/os': 'linux',
        ...s.labels,
        // The simulator finds its nodes by this label, so --node-labels cannot take it away.
        [SIM_LABEL]: SIM_LABEL_VALUE,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: s.addresses.podCIDR,
      podCIDRs: [s.addresses.podCIDR],
      ...(s.taints.length ? { taints: s.taints } : {}),
    },
    status: { ...nodeStatusFacts(s), conditions: healthyConditions(undefined, now) },
  };
}

export function buildLease(nodeName: string, nodeUID: string | undefined, durationSeconds: number, now = Date.now()): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      ...(nodeUID ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUID }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: microTimestamp(now) },
  };
}

/** docker.io/library/nginx:latest for "nginx", as container runtimes report image names. */
export function normalizeImage(image: string | undefined): string {
  if (!image) return '';
  let name = image;
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (slash < 0) name = `docker.io/library/${name}`;
  else if (!first.includes('.') && !first.includes(':') && first !== 'localhost') name = `docker.io/${name}`;
  const lastSlash = name.lastIndexOf('/');
  if (!name.includes('@') && !name.slice(lastSlash).includes(':')) name += ':latest';
  return name;
}

function imageID(image: string): string {
  const repo = image.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
  return `${repo}@sha256:${hex('image', image)}`;
}

function containerID(podUID: string, name: string): string {
  return `sim://${hex('container', podUID, name)}`;
}

function condition(pod: Pod, type: string, status: string, now: string, reason?: string): PodCondition {
  const old = pod.status?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : now;
  return { type, status, lastTransitionTime, ...(reason ? { reason } : {}) };
}

function scheduledCondition(pod: Pod, now: string): PodCondition {
  const old = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  return old && old.status === 'True' ? old : condition(pod, 'PodScheduled', 'True', now);
}

function initStatuses(pod: Pod, startedAt: string): ContainerStatus[] | undefined {
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length === 0) return undefined;
  const uid = pod.metadata?.uid ?? '';
  return inits.map((c: Container) => {
    const image = normalizeImage(c.image);
    const id = containerID(uid, c.name);
    // Sidecars (restartPolicy Always) keep running next to the app containers; the others ran to completion.
    const sidecar = c.restartPolicy === 'Always';
    return {
      name: c.name,
      state: sidecar ? { running: { startedAt } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: startedAt, containerID: id } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image,
      imageID: imageID(image),
      containerID: id,
      started: sidecar,
    };
  });
}

export interface PodPlacement {
  hostIP: string;
  podIP: string;
}

/** Running and Ready, as the kubelet reports once every container started. Times already reported are kept. */
export function runningPodStatus(pod: Pod, at: PodPlacement, now = Date.now()): PodStatus {
  const t = timestamp(now);
  const startTime = pod.status?.startTime ?? t;
  const previous = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const uid = pod.metadata?.uid ?? '';
  const containerStatuses = (pod.spec?.containers ?? []).map((c): ContainerStatus => {
    const image = normalizeImage(c.image);
    const startedAt = previous.get(c.name)?.state?.running?.startedAt ?? startTime;
    return { name: c.name, state: { running: { startedAt } }, lastState: {}, ready: true, restartCount: 0, image, imageID: imageID(image), containerID: containerID(uid, c.name), started: true };
  });
  const inits = initStatuses(pod, startTime);
  return {
    phase: 'Running',
    conditions: [
      condition(pod, 'PodReadyToStartContainers', 'True', t),
      condition(pod, 'Initialized', 'True', t),
      condition(pod, 'Ready', 'True', t),
      condition(pod, 'ContainersReady', 'True', t),
      scheduledCondition(pod, t),
    ],
    hostIP: at.hostIP,
    hostIPs: [{ ip: at.hostIP }],
    podIP: at.podIP,
    podIPs: [{ ip: at.podIP }],
    startTime,
    containerStatuses,
    ...(inits ? { initContainerStatuses: inits } : {}),
  };
}

/** The pod's containers all exited: Succeeded with exit code 0, or Failed for an active deadline. */
export function finishedPodStatus(pod: Pod, outcome: 'Succeeded' | 'DeadlineExceeded', now = Date.now()): PodStatus {
  const t = timestamp(now);
  const uid = pod.metadata?.uid ?? '';
  const failed = outcome === 'DeadlineExceeded';
  const previous = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const containerStatuses = (pod.spec?.containers ?? []).map((c): ContainerStatus => {
    const image = normalizeImage(c.image);
    const startedAt = previous.get(c.name)?.state?.running?.startedAt ?? pod.status?.startTime ?? t;
    const id = containerID(uid, c.name);
    const terminated = failed ? { exitCode: 137, reason: 'Error', startedAt, finishedAt: t, containerID: id } : { exitCode: 0, reason: 'Completed', startedAt, finishedAt: t, containerID: id };
    return { name: c.name, state: { terminated }, lastState: {}, ready: false, restartCount: 0, image, imageID: imageID(image), containerID: id, started: false };
  });
  const reason = failed ? undefined : 'PodCompleted';
  return {
    phase: failed ? 'Failed' : 'Succeeded',
    ...(failed ? { reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' } : {}),
    conditions: [
      condition(pod, 'PodReadyToStartContainers', 'False', t),
      condition(pod, 'Initialized', 'True', t, reason),
      condition(pod, 'Ready', 'False', t, reason),
      condition(pod, 'ContainersReady', 'False', t, reason),
      scheduledCondition(pod, t),
    ],
    containerStatuses,
  };
}

/** Whether the pod already shows what runningPodStatus would report (so no write is needed). */
export function looksRunning(pod: Pod): boolean {
  const s = pod.status;
  if (s?.phase !== 'Running' || !s.podIP || !s.startTime) return false;
  if (s.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') return false;
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  const statuses = s.containerStatuses ?? [];
  return names.every((n) => statuses.some((cs) => cs.name === n && cs.ready && cs.state?.running));
}
