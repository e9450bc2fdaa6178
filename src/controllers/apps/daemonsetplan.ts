import type { DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { REVISION_HASH_LABEL } from './history.js';
import { daemonPodSpec, nodeShouldRunDaemonPod } from './nodefit.js';
import { isPodAvailable, isPodReady } from './podutil.js';

// The DaemonSet controller's decisions, free of API calls: which nodes need a pod, which pods must go,
// which old pods a rolling update replaces next, and the status counters.

export type NodePods = Map<string, Pod[]>;

export interface Plan {
  /** Nodes to create a daemon pod on. */
  create: string[];
  /** Names of pods to delete. */
  remove: string[];
  /** Failed pods found (for the FailedDaemonPod event): [pod name, node name]. */
  failed: Array<[string, string]>;
}

/** Oldest first; among equals, a running pod before one that is not. */
export function byCreation(a: Pod, b: Pod): number {
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

/** An integer or a percentage of `total` (rounded up or down), as intstr.GetScaledValueFromIntOrPercent. */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function allowsSurge(ds: DaemonSet): boolean {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  return ds.spec?.updateStrategy?.type !== 'OnDelete' && ru?.maxSurge !== undefined && scaledValue(ru.maxSurge as number | string, 1, true) !== 0;
}

export function isPodUpdated(pod: Pod, hash: string): boolean {
  return hash !== '' && pod.metadata?.labels?.[REVISION_HASH_LABEL] === hash;
}

/** Create/delete decisions for every node (and for pods pinned to nodes that no longer exist). */
export function planNodes(ds: DaemonSet, nodes: Node[], nodePods: NodePods, hash: string, now: number): Plan {
  const plan: Plan = { create: [], remove: [], failed: [] };
  const spec = daemonPodSpec(ds);
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const surge = allowsSurge(ds);
  const names = new Set<string>();
  for (const node of nodes) {
    const name = node.metadata?.name ?? '';
    names.add(name);
    const [shouldRun, shouldContinue] = nodeShouldRunDaemonPod(node, ds, spec);
    const pods = nodePods.get(name);
    if (shouldRun && !pods?.length) {
      plan.create.push(name);
      continue;
    }
    if (!pods?.length) continue;
    if (!shouldContinue) {
      for (const p of pods) if (!p.metadata?.deletionTimestamp) plan.remove.push(p.metadata?.name ?? '');
      continue;
    }
    const running: Pod[] = [];
    for (const p of pods) {
      if (p.metadata?.deletionTimestamp) continue;
      if (p.status?.phase === 'Failed') {
        plan.failed.push([p.metadata?.name ?? '', name]);
        plan.remove.push(p.metadata?.name ?? '');
      } else if (p.status?.phase === 'Succeeded') plan.remove.push(p.metadata?.name ?? '');
      else running.push(p);
    }
    running.sort(byCreation);
    if (!surge) {
      // One pod per node: the oldest stays.
      for (const p of running.slice(1)) plan.remove.push(p.metadata?.name ?? '');
      continue;
    }
    if (running.length <= 1) {
      if (running.length === 0 && shouldRun) plan.create.push(name);
      continue;
    }
    // Surging: an old and a new pod may coexist until the new one is available.
    let oldestNew: Pod | undefined;
    let oldestOld: Pod | undefined;
    for (const p of running) {
      if (isPodUpdated(p, hash)) {
        if (!oldestNew) {
          oldestNew = p;
          continue;
        }
      } else if (!oldestOld) {
        oldestOld = p;
        continue;
      }
      plan.remove.push(p.metadata?.name ?? '');
    }
    if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, minReady, now))) plan.remove.push(oldestOld.metadata?.name ?? '');
  }
  for (const [nodeName, pods] of nodePods) {
    if (names.has(nodeName)) continue;
    for (const p of pods) if (!p.spec?.nodeName && !p.metadata?.deletionTimestamp) plan.remove.push(p.metadata?.name ?? '');
  }
  return plan;
}

/** The new and the old pod on a node; ok=false when there are several of either (the manage loop cleans up). */
function updatedPodsOnNode(pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(p, hash)) {
      if (newPod) return { ok: false };
      newPod = p;
    } else {
      if (oldPod) return { ok: false };
      oldPod = p;
    }
  }
  return { newPod, oldPod, ok: true };
}

export function desiredCount(ds: DaemonSet, nodes: Node[]): number {
  const spec = daemonPodSpec(ds);
  return nodes.filter((n) => nodeShouldRunDaemonPod(n, ds, spec)[0]).length;
}

/** maxSurge and maxUnavailable as pod counts for `desired` nodes (both rounded up; never both zero). */
export function updateBudget(ds: DaemonSet, desired: number): { maxSurge: number; maxUnavailable: number } {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  const maxSurge = allowsSurge(ds) ? scaledValue(ru?.maxSurge as number | string | undefined, desired, true) : 0;
  let maxUnavailable = scaledValue((ru?.maxUnavailable as number | string | undefined) ?? 1, desired, true);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

/**
 * One step of a rolling update. Without surge: delete old pods while fewer than maxUnavailable nodes are
 * unavailable (the manage loop then creates new ones). With surge: create new pods next to old available
 * ones on up to maxSurge nodes, and delete each old pod once its replacement is available.
 */
export function planRollingUpdate(ds: DaemonSet, nodes: Node[], nodePods: NodePods, hash: string, now: number): { create: string[]; remove: string[] } {
  const desired = desiredCount(ds, nodes);
  const { maxSurge, maxUnavailable } = updateBudget(ds, desired);
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: Pod) => isPodAvailable(p, minReady, now);
  const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
  const spec = daemonPodSpec(ds);
  const shouldRun = (nodeName: string) => {
    const n = byName.get(nodeName);
    return n ? nodeShouldRunDaemonPod(n, ds, spec)[0] : false;
  };
  const nodeNames = [...nodePods.keys()].sort();
  if (maxSurge === 0) {
    let unavailable = 0;
    const replace: string[] = [];
    const candidates: string[] = [];
    for (const nodeName of nodeNames) {
      const { newPod, oldPod, ok } = updatedPodsOnNode(nodePods.get(nodeName)!, hash);
      if (!ok || (!oldPod && !newPod) || (oldPod && newPod)) {
        unavailable++;
        continue;
      }
      if (newPod) {
        if (!available(newPod)) unavailable++;
        continue;
      }
      if (!available(oldPod!)) replace.push(oldPod!.metadata?.name ?? '');
      else if (unavailable < maxUnavailable) candidates.push(oldPod!.metadata?.name ?? '');
    }
    const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
    return { create: [], remove: [...replace, ...candidates.slice(0, room)] };
  }
  const remove: string[] = [];
  const shouldNotRun: string[] = [];
  const candidates: string[] = [];
  const allowed: string[] = [];
  let surging = 0;
  let numAvailable = 0;
  for (const nodeName of nodeNames) {
    const { newPod, oldPod, ok } = updatedPodsOnNode(nodePods.get(nodeName)!, hash);
    if (!ok) {
      surging++;
      continue;
    }
    if (oldPod ? available(oldPod) : newPod ? available(newPod) : false) numAvailable++;
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRun(nodeName)) remove.push(oldPod.metadata?.name ?? '');
        else allowed.push(nodeName);
      } else if (!shouldRun(nodeName)) shouldNotRun.push(oldPod.metadata?.name ?? '');
      else if (surging < maxSurge) candidates.push(nodeName);
      continue;
    }
    if (!available(newPod)) {
      surging++;
      continue;
    }
    remove.push(oldPod.metadata?.name ?? '');
  }
  const deletable = Math.min(numAvailable - desired, shouldNotRun.length);
  if (deletable > 0) remove.push(...shouldNotRun.slice(0, deletable));
  const room = Math.min(Math.max(0, maxSurge - surging), candidates.length);
  return { create: [...allowed, ...candidates.slice(0, room)], remove };
}

/** The status counters, from the oldest pod on each node. */
export function computeStatus(ds: DaemonSet, nodes: Node[], nodePods: NodePods, hash: string, now: number): DaemonSetStatus {
  const spec = daemonPodSpec(ds);
  const minReady = ds.spec?.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const node of nodes) {
    const [shouldRun] = nodeShouldRunDaemonPod(node, ds, spec);
    const pods = nodePods.get(node.metadata?.name ?? '') ?? [];
    if (!shouldRun) {
      if (pods.length) misscheduled++;
      continue;
    }
    desired++;
    if (!pods.length) continue;
    current++;
    const pod = [...pods].sort(byCreation)[0]!;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
    if (isPodUpdated(pod, hash)) updated++;
  }
  const st: DaemonSetStatus = {
    currentNumberScheduled: current,
    desiredNumberScheduled: desired,
    numberMisscheduled: misscheduled,
    numberReady: ready,
    observedGeneration: ds.metadata?.generation,
  };
  if (updated) st.updatedNumberScheduled = updated;
  if (available) st.numberAvailable = available;
  if (desired - available) st.numberUnavailable = desired - available;
  if (ds.status?.collisionCount !== undefined) st.collisionCount = ds.status.collisionCount;
  return st;
}
