import type { Node, Taint } from 'kubernetes-types/core/v1.js';
import { fromResourceList, wholeValue } from './resources.js';
import { hasAffinity, type HostPort, type PodInfo } from './podinfo.js';

// A node as the scheduler sees it: the Node object plus running totals of what the pods bound to it (or
// assumed bound) take. Kept up to date incrementally by the cache so a scheduling cycle only reads numbers.

export const NO_SCHEDULE_EFFECTS: ReadonlySet<string> = new Set(['NoSchedule', 'NoExecute']);

export class NodeInfo {
  node: Node | undefined;
  name: string;
  labels: Record<string, string> = {};
  // Resource totals are flat fields, not nested objects: filters and scores read them for hundreds of
  // nodes per cycle, and each indirection is a likely cache miss.
  allocatableCPU = 0;
  allocatableMemory = 0;
  allocatableEphemeral = 0;
  allocatableScalar: Map<string, number> | undefined = undefined;
  allowedPods = 0;
  unschedulable = false;
  taints: readonly Taint[] = [];
  /** Whether any taint has effect NoSchedule or NoExecute, or PreferNoSchedule: lets filters skip work. */
  hasHardTaints = false;
  hasPreferNoScheduleTaints = false;

  requestedCPU = 0;
  requestedMemory = 0;
  requestedEphemeral = 0;
  requestedScalar: Map<string, number> | undefined = undefined;
  nonZeroCPU = 0;
  nonZeroMemory = 0;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  usedPorts: HostPort[] = [];
  /** Bumped on every change; lets callers notice a node changed under them. */
  generation = 0;

  constructor(nameOrNode: string | Node) {
    if (typeof nameOrNode === 'string') this.name = nameOrNode;
    else {
      this.name = nameOrNode.metadata?.name ?? '';
      this.setNode(nameOrNode);
    }
  }

  setNode(node: Node | undefined): void {
    this.node = node;
    this.generation++;
    if (!node) return;
    this.labels = node.metadata?.labels ?? {};
    // The API server defaults allocatable from capacity; be as lenient with objects that skipped that.
    const alloc = (node.status?.allocatable ?? node.status?.capacity) as Record<string, string> | undefined;
    const a = fromResourceList(alloc);
    this.allocatableCPU = a.milliCPU;
    this.allocatableMemory = a.memory;
    this.allocatableEphemeral = a.ephemeralStorage;
    this.allocatableScalar = a.scalar;
    this.allowedPods = alloc?.pods !== undefined ? wholeValue(alloc.pods) : 0;
    this.unschedulable = !!node.spec?.unschedulable;
    this.taints = node.spec?.taints ?? [];
    this.hasHardTaints = this.taints.some((t) => NO_SCHEDULE_EFFECTS.has(t.effect));
    this.hasPreferNoScheduleTaints = this.taints.some((t) => t.effect === 'PreferNoSchedule');
  }

  addPod(p: PodInfo): void {
    this.pods.push(p);
    if (hasAffinity(p)) this.podsWithAffinity.push(p);
    if (p.requiredAntiAffinity.length > 0) this.podsWithRequiredAntiAffinity.push(p);
    this.addRequests(p, 1);
    this.nonZeroCPU += p.nonZeroCPU;
    this.nonZeroMemory += p.nonZeroMemory;
    for (const hp of p.hostPorts) this.usedPorts.push(hp);
    this.generation++;
  }

  removePod(uid: string): PodInfo | undefined {
    const i = this.pods.findIndex((p) => p.uid === uid);
    if (i < 0) return undefined;
    const p = this.pods[i];
    this.pods.splice(i, 1);
    const drop = (list: PodInfo[]) => {
      const j = list.indexOf(p);
      if (j >= 0) list.splice(j, 1);
    };
    drop(this.podsWithAffinity);
    drop(this.podsWithRequiredAntiAffinity);
    this.addRequests(p, -1);
    this.nonZeroCPU -= p.nonZeroCPU;
    this.nonZeroMemory -= p.nonZeroMemory;
    for (const hp of p.hostPorts) {
      const j = this.usedPorts.indexOf(hp);
      if (j >= 0) this.usedPorts.splice(j, 1);
    }
    this.generation++;
    return p;
  }

  private addRequests(p: PodInfo, sign: number): void {
    const r = p.requests;
    this.requestedCPU += sign * r.milliCPU;
    this.requestedMemory += sign * r.memory;
    this.requestedEphemeral += sign * r.ephemeralStorage;
    if (r.scalar) {
      const m = (this.requestedScalar ??= new Map());
      for (const [k, v] of r.scalar) m.set(k, (m.get(k) ?? 0) + sign * v);
    }
  }

  /** A copy whose pod lists and totals can change without touching this one (preemption, nominated pods). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.allocatableCPU = this.allocatableCPU;
    c.allocatableMemory = this.allocatableMemory;
    c.allocatableEphemeral = this.allocatableEphemeral;
    c.allocatableScalar = this.allocatableScalar;
    c.allowedPods = this.allowedPods;
    c.unschedulable = this.unschedulable;
    c.taints = this.taints;
    c.hasHardTaints = this.hasHardTaints;
    c.hasPreferNoScheduleTaints = this.hasPreferNoScheduleTaints;
    c.requestedCPU = this.requestedCPU;
    c.requestedMemory = this.requestedMemory;
    c.requestedEphemeral = this.requestedEphemeral;
    c.requestedScalar = this.requestedScalar ? new Map(this.requestedScalar) : undefined;
    c.nonZeroCPU = this.nonZeroCPU;
    c.nonZeroMemory = this.nonZeroMemory;
    c.pods = this.pods.slice();
    c.podsWithAffinity = this.podsWithAffinity.slice();
    c.podsWithRequiredAntiAffinity = this.podsWithRequiredAntiAffinity.slice();
    c.usedPorts = this.usedPorts.slice();
    c.generation = this.generation;
    return c;
  }
}

/** Two host ports collide when protocol and port agree and either address is the wildcard or both agree. */
export function portsConflict(used: readonly HostPort[], wanted: readonly HostPort[]): boolean {
  for (const w of wanted) {
    for (const u of used) {
      if (u.port !== w.port || u.protocol !== w.protocol) continue;
      if (u.ip === w.ip || u.ip === '0.0.0.0' || w.ip === '0.0.0.0') return true;
    }
  }
  return false;
}
