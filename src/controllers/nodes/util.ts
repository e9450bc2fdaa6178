import type { Node, NodeCondition, Pod, PodCondition, Taint } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { resource, type RestClient } from '../../client/rest.js';
import type { Informer } from '../../client/informer.js';
import { swapTaints, taintsEqual } from './taints.js';

// What the node controllers share: typed views of informer objects, the pods-by-node index, taint writes
// with optimistic concurrency, and pod condition patches.

export const NODES = resource('', 'v1', 'nodes');
export const PODS = resource('', 'v1', 'pods');
export const LEASES = resource('coordination.k8s.io', 'v1', 'leases');
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** Pods informer index from node name to the pods bound there (kube-controller-manager's spec.nodeName). */
export const POD_NODE_INDEX = 'spec.nodeName';

export function asNode(o: KubeObject): Node {
  return o as unknown as Node;
}

export function asPod(o: KubeObject): Pod {
  return o as unknown as Pod;
}

export function indexPodsByNode(pods: Informer): void {
  pods.addIndexer(POD_NODE_INDEX, (o) => {
    const n = asPod(o).spec?.nodeName;
    return n ? [n] : [];
  });
}

export function podsOnNode(pods: Informer, nodeName: string): Pod[] {
  return pods.byIndex(POD_NODE_INDEX, nodeName).map(asPod).filter((p) => p.spec?.nodeName === nodeName);
}

export function nodeCondition(node: Node | undefined, type: string): NodeCondition | undefined {
  return node?.status?.conditions?.find((c) => c.type === type);
}

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isNodeReady(node: Node | undefined): boolean {
  return nodeCondition(node, 'Ready')?.status === 'True';
}

/** metav1.Time: whole seconds. */
export function timestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseTime(t: string | undefined | null): number | undefined {
  if (!t) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export function isCode(e: unknown, ...codes: number[]): boolean {
  return e instanceof StatusError && codes.includes(e.code);
}

/** Run `fn` over `items` with at most `limit` at once (client-go's ParallelizeUntil). */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Add and remove taints on a node, conditional on the resourceVersion the change was computed from; on a
 * conflict read the node again and recompute. New taints get timeAdded now. Returns false when the node is gone.
 */
export async function updateNodeTaints(client: RestClient, nodes: Informer, nodeName: string, add: Taint[], remove: Taint[]): Promise<boolean> {
  const now = timestamp();
  const stamped = add.map((t) => ({ ...t, timeAdded: now }));
  let node = nodes.get(nodeName) ? asNode(nodes.get(nodeName)!) : undefined;
  for (let attempt = 0; ; attempt++) {
    if (!node) {
      try {
        node = asNode(await client.get(NODES, undefined, nodeName));
      } catch (e) {
        if (isCode(e, 404)) return false;
        throw e;
      }
    }
    const taints = swapTaints(node.spec?.taints, stamped, remove);
    if (taintsEqual(taints, node.spec?.taints)) return true;
    try {
      await client.patch(NODES, undefined, nodeName, 'merge', { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: taints.length ? taints : null } });
      return true;
    } catch (e) {
      if (isCode(e, 404)) return false;
      if (!isCode(e, 409) || attempt >= 4) throw e;
      node = undefined;
    }
  }
}

/** Set one pod condition through the status subresource (merged by type), keeping the others. */
export async function patchPodCondition(client: RestClient, pod: Pod, cond: PodCondition, extra: Record<string, unknown> = {}): Promise<void> {
  const old = podCondition(pod, cond.type);
  const changed = !old || old.status !== cond.status;
  const condition = { ...cond, lastTransitionTime: changed ? timestamp() : (old?.lastTransitionTime ?? timestamp()) };
  await client.patch(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', 'strategic', { metadata: { uid: pod.metadata?.uid }, status: { ...extra, conditions: [condition] } }, { subresource: 'status' });
}
