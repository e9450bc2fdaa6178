import { MAX_NODE_SCORE, unschedulable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../nodeinfo.js';
import type { PodInfo } from '../podinfo.js';

// NodeResourcesFit: the pod's requests must fit in allocatable minus what the node's pods request, and the
// node must have a pod slot left. Scoring: LeastAllocated (the emptier the better, on cpu and memory with
// default requests for containers that state none) and BalancedAllocation (cpu and memory used in the same
// proportion), as kube-scheduler's defaults.

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';
export const NODE_RESOURCES_BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

/** Every resource the pod lacks on the node, in kube-scheduler's words (pods, cpu, memory, storage, others). */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  if (node.pods.length + 1 > node.allowedPods) out.push('Too many pods');
  const r = pod.requests;
  if (r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && !r.scalar) return out;
  if (r.milliCPU > 0 && r.milliCPU > node.allocatableCPU - node.requestedCPU) out.push('Insufficient cpu');
  if (r.memory > 0 && r.memory > node.allocatableMemory - node.requestedMemory) out.push('Insufficient memory');
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > node.allocatableEphemeral - node.requestedEphemeral) out.push('Insufficient ephemeral-storage');
  if (r.scalar) {
    for (const [name, v] of r.scalar) {
      if (v === 0) continue;
      if (v > (node.allocatableScalar?.get(name) ?? 0) - (node.requestedScalar?.get(name) ?? 0)) out.push(`Insufficient ${name}`);
    }
  }
  return out;
}

export const nodeResourcesFitFilter: FilterPlugin = {
  name: NODE_RESOURCES_FIT,
  filter(_state, pod, node) {
    // The common case, checked without allocating.
    const r = pod.requests;
    if (
      node.pods.length < node.allowedPods &&
      r.milliCPU <= node.allocatableCPU - node.requestedCPU &&
      r.memory <= node.allocatableMemory - node.requestedMemory &&
      r.ephemeralStorage <= node.allocatableEphemeral - node.requestedEphemeral &&
      !r.scalar
    )
      return undefined;
    const reasons = insufficientResources(pod, node);
    return reasons.length ? unschedulable(NODE_RESOURCES_FIT, ...reasons) : undefined;
  },
};

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** (cpu + memory) / 2 of the free share after placing the pod, each 0..100. */
export function leastAllocatedScore(pod: PodInfo, node: NodeInfo): number {
  let sum = 0;
  let weights = 0;
  if (node.allocatableCPU > 0) {
    sum += leastRequested(node.nonZeroCPU + pod.nonZeroCPU, node.allocatableCPU);
    weights++;
  }
  if (node.allocatableMemory > 0) {
    sum += leastRequested(node.nonZeroMemory + pod.nonZeroMemory, node.allocatableMemory);
    weights++;
  }
  return weights ? Math.trunc(sum / weights) : 0;
}

/** 100 × (1 − the spread of the cpu and memory fractions requested after placing the pod). */
export function balancedAllocationScore(pod: PodInfo, node: NodeInfo): number {
  if (node.allocatableCPU <= 0 || node.allocatableMemory <= 0) return MAX_NODE_SCORE;
  const cpu = Math.min(1, (node.requestedCPU + pod.requests.milliCPU) / node.allocatableCPU);
  const mem = Math.min(1, (node.requestedMemory + pod.requests.memory) / node.allocatableMemory);
  return Math.trunc((1 - Math.abs((cpu - mem) / 2)) * MAX_NODE_SCORE);
}

export const nodeResourcesFitScore: ScorePlugin = {
  name: NODE_RESOURCES_FIT,
  weight: 1,
  score(_state, pod, node) {
    return leastAllocatedScore(pod, node);
  },
};

export const nodeResourcesBalancedAllocation: ScorePlugin = {
  name: NODE_RESOURCES_BALANCED_ALLOCATION,
  weight: 1,
  score(_state, pod, node) {
    return balancedAllocationScore(pod, node);
  },
};
