import type { Node, Pod, ContainerStatus } from 'kubernetes-types/core/v1.js';
import { StatusError, badRequest } from '../../api/errors.js';
import { findResource } from '../../api/resources.js';
import type { Registries } from '../registries.js';

// Where a pod's streams are served and whether they can be: the pod's node agent address, container
// defaulting, and the checks kube-apiserver and the kubelet make before logs, exec, attach or port-forward.

export interface NodeEndpoint {
  nodeName: string;
  host: string;
  port: number;
}

const podsInfo = findResource('', 'v1', 'pods')!;
const nodesInfo = findResource('', 'v1', 'nodes')!;

export async function getPod(registries: Registries, namespace: string, name: string): Promise<Pod> {
  return (await registries.get(podsInfo).get(namespace, name)) as unknown as Pod;
}

function serviceUnavailable(message: string): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message);
}

/** The address and port of a node's agent, from its status (InternalIP first, as kube-apiserver prefers). */
export function nodeEndpoint(node: Node): NodeEndpoint {
  const name = node.metadata?.name ?? '';
  const addrs = node.status?.addresses ?? [];
  const addr = ['InternalIP', 'ExternalIP', 'Hostname'].map((t) => addrs.find((a) => a.type === t)?.address).find((a) => !!a);
  if (!addr) throw serviceUnavailable(`node "${name}" has no address in its status: its agent has not reported yet, check that it is running`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (!port) throw serviceUnavailable(`node "${name}" has no agent endpoint (status.daemonEndpoints.kubeletEndpoint.Port): its agent has not reported yet, check that it is running`);
  return { nodeName: name, host: addr, port };
}

/** The agent serving a pod. */
export async function podNode(registries: Registries, pod: Pod): Promise<NodeEndpoint> {
  const name = pod.metadata?.name ?? '';
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  const node = (await registries.get(nodesInfo).tryGet(undefined, nodeName)) as unknown as Node | undefined;
  if (!node) throw serviceUnavailable(`node "${nodeName}" of pod ${name} does not exist`);
  return nodeEndpoint(node);
}

/** Go's fmt of a string slice: [a b c]. */
const goList = (xs: string[]) => `[${xs.join(' ')}]`;

/** The container a request is about: the named one, or the only one (kube-apiserver's defaulting). */
export function chooseContainer(pod: Pod, requested: string | null): string {
  const name = pod.metadata?.name ?? '';
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const init = (pod.spec?.initContainers ?? []).map((c) => c.name);
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) => c.name);
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
    if (annotated && containers.includes(annotated)) return annotated;
    let msg = `a container name must be specified for pod ${name}, choose one of: ${goList(containers)}`;
    if (init.length) msg += ` or one of the init containers: ${goList(init)}`;
    if (ephemeral.length) msg += ` or one of the ephemeral containers: ${goList(ephemeral)}`;
    throw badRequest(msg);
  }
  if (![...containers, ...init, ...ephemeral].includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

function statusOf(pod: Pod, container: string): ContainerStatus | undefined {
  const s = pod.status;
  return [...(s?.containerStatuses ?? []), ...(s?.initContainerStatuses ?? []), ...(s?.ephemeralContainerStatuses ?? [])].find((c) => c.name === container);
}

/** Whether the container has a log to read (the kubelet's check, made here from the pod status it reported). */
export function checkLogs(pod: Pod, container: string, previous: boolean): void {
  const name = pod.metadata?.name ?? '';
  const cs = statusOf(pod, container);
  if (!cs) throw badRequest(`container "${container}" in pod "${name}" is not available`);
  if (previous) {
    if (!cs.lastState?.terminated) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    return;
  }
  // A container waiting to restart still has its last instance's log.
  if (cs.state?.waiting && !cs.lastState?.terminated) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${cs.state.waiting.reason || 'ContainerCreating'}`);
}

/** exec and attach need a running pod and a running container. */
export function checkRunning(pod: Pod, container: string, what: 'exec' | 'attach'): void {
  const name = pod.metadata?.name ?? '';
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Succeeded' || phase === 'Failed') throw badRequest(`cannot ${what} into a container in a completed pod; current phase is ${phase}`);
  if (phase !== 'Running') throw badRequest(`pod ${name} is not running (phase ${phase}): wait until it is Running, then try again`);
  const cs = statusOf(pod, container);
  if (cs?.state?.waiting) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${cs.state.waiting.reason || 'ContainerCreating'}`);
  if (!cs?.state?.running) throw badRequest(`container "${container}" in pod "${name}" is not running`);
}

export function checkPodRunning(pod: Pod): void {
  const name = pod.metadata?.name ?? '';
  const phase = pod.status?.phase ?? 'Pending';
  if (phase !== 'Running') throw badRequest(`pod ${name} is not running (phase ${phase}): port-forward needs a Running pod`);
}
