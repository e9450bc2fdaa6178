import type { Node } from 'kubernetes-types/core/v1.js';
import { sameLabels } from '../api/selectors.js';
import { NodeInfo } from './nodeinfo.js';
import type { PodInfo } from './podinfo.js';
import { SpreadIndex } from './spreadindex.js';

// The scheduler's picture of the cluster: one NodeInfo per node with the pods bound to it, plus pods the
// scheduler has assumed onto a node while their binding is in flight, so the next cycle already counts
// them. The informer's view of a bound pod replaces the assumption when the watch confirms it.

export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';

export interface ClusterTraits {
  unschedulableNodes: number;
  hardTaintedNodes: number;
  preferNoScheduleNodes: number;
}

interface PodState {
  info: PodInfo;
  node: string;
  assumed: boolean;
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  private list: NodeInfo[] = [];
  private listDirty = false;
  private zoneOf = new Map<string, string>();
  // Nodes running pods with (anti-)affinity terms: the inter-pod affinity plugin only needs to visit these.
  private readonly withAffinity = new Set<NodeInfo>();
  private readonly withRequiredAntiAffinity = new Set<NodeInfo>();
  private affinityList: NodeInfo[] | undefined = [];
  private antiAffinityList: NodeInfo[] | undefined = [];
  // Nodes that are cordoned or tainted: when there are none, those filters have nothing to check.
  private readonly cordoned = new Set<string>();
  private readonly hardTainted = new Set<string>();
  private readonly softTainted = new Set<string>();
  /** Matching-pod counts per topology domain for topology spreading. */
  readonly spread = new SpreadIndex(() => this.nodeList());

  get nodeCount(): number {
    return this.nodeList().length;
  }

  getNode(name: string): NodeInfo | undefined {
    const n = this.nodes.get(name);
    return n?.node ? n : undefined;
  }

  /** Nodes in scheduling order: zones interleaved, so a partial scan still spreads across zones. */
  nodeList(): readonly NodeInfo[] {
    if (this.listDirty) this.rebuildList();
    return this.list;
  }

  addNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    let info = this.nodes.get(name);
    if (!info) this.nodes.set(name, (info = new NodeInfo(name)));
    const hadNode = !!info.node;
    const labelsBefore = info.labels;
    info.setNode(node);
    mark(this.cordoned, name, info.unschedulable);
    mark(this.hardTainted, name, info.hasHardTaints);
    mark(this.softTainted, name, info.hasPreferNoScheduleTaints);
    const zone = zoneKey(info.labels);
    if (!hadNode || this.zoneOf.get(name) !== zone) {
      this.zoneOf.set(name, zone);
      this.listDirty = true;
      this.affinityList = this.antiAffinityList = undefined;
    }
    if (!hadNode || !sameLabels(labelsBefore, info.labels)) this.spread.nodesChanged();
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  removeNode(name: string): void {
    const info = this.nodes.get(name);
    if (!info) return;
    for (const set of [this.cordoned, this.hardTainted, this.softTainted]) set.delete(name);
    this.spread.nodesChanged();
    this.zoneOf.delete(name);
    this.listDirty = true;
    this.affinityList = this.antiAffinityList = undefined;
    // Pods still bound to a deleted node keep their accounting until they are deleted themselves.
    if (info.pods.length) info.setNode(undefined);
    else {
      this.nodes.delete(name);
      this.withAffinity.delete(info);
      this.withRequiredAntiAffinity.delete(info);
    }
  }

  isAssumed(uid: string): boolean {
    return this.pods.get(uid)?.assumed ?? false;
  }

  /** The pod, as bound by the API (from the informer): confirms an assumption or records it. */
  addPod(info: PodInfo): void {
    const prev = this.pods.get(info.uid);
    if (prev) this.detach(prev);
    this.attach({ info, node: info.nodeName, assumed: false });
  }

  removePod(uid: string): PodInfo | undefined {
    const prev = this.pods.get(uid);
    if (!prev) return undefined;
    this.detach(prev);
    this.pods.delete(uid);
    return prev.info;
  }

  /** Count the pod on `nodeName` before its binding is confirmed. */
  assumePod(info: PodInfo, nodeName: string): void {
    const prev = this.pods.get(info.uid);
    if (prev) this.detach(prev);
    this.attach({ info, node: nodeName, assumed: true });
  }

  /** The binding failed: take the assumption back (unless the watch has confirmed the pod meanwhile). */
  forgetPod(uid: string): void {
    const prev = this.pods.get(uid);
    if (!prev || !prev.assumed) return;
    this.detach(prev);
    this.pods.delete(uid);
  }

  /** How many nodes are cordoned, carry NoSchedule/NoExecute taints, carry PreferNoSchedule taints. */
  traits(): ClusterTraits {
    return { unschedulableNodes: this.cordoned.size, hardTaintedNodes: this.hardTainted.size, preferNoScheduleNodes: this.softTainted.size };
  }

  /** Nodes with at least one pod that has pod affinity or anti-affinity terms. */
  nodesWithAffinityPods(): readonly NodeInfo[] {
    return (this.affinityList ??= [...this.withAffinity].filter((n) => n.node));
  }

  /** Nodes with at least one pod that has required anti-affinity terms. */
  nodesWithRequiredAntiAffinityPods(): readonly NodeInfo[] {
    return (this.antiAffinityList ??= [...this.withRequiredAntiAffinity].filter((n) => n.node));
  }

  private attach(st: PodState): void {
    this.pods.set(st.info.uid, st);
    let n = this.nodes.get(st.node);
    if (!n) this.nodes.set(st.node, (n = new NodeInfo(st.node)));
    n.addPod(st.info);
    this.trackAffinity(n);
    this.spread.podAdded(st.info, n);
  }

  private trackAffinity(n: NodeInfo): void {
    const has = n.podsWithAffinity.length > 0;
    if (has !== this.withAffinity.has(n)) {
      if (has) this.withAffinity.add(n);
      else this.withAffinity.delete(n);
      this.affinityList = undefined;
    }
    const anti = n.podsWithRequiredAntiAffinity.length > 0;
    if (anti !== this.withRequiredAntiAffinity.has(n)) {
      if (anti) this.withRequiredAntiAffinity.add(n);
      else this.withRequiredAntiAffinity.delete(n);
      this.antiAffinityList = undefined;
    }
  }

  private detach(st: PodState): void {
    const n = this.nodes.get(st.node);
    if (!n) return;
    n.removePod(st.info.uid);
    this.trackAffinity(n);
    this.spread.podRemoved(st.info, n);
    if (!n.node && n.pods.length === 0) this.nodes.delete(st.node);
  }

  private rebuildList(): void {
    const byZone = new Map<string, NodeInfo[]>();
    for (const n of this.nodes.values()) {
      if (!n.node) continue;
      const z = this.zoneOf.get(n.name) ?? '';
      let l = byZone.get(z);
      if (!l) byZone.set(z, (l = []));
      l.push(n);
    }
    const zones = [...byZone.values()];
    const out: NodeInfo[] = [];
    if (zones.length === 1) out.push(...zones[0]);
    else {
      const total = zones.reduce((n, z) => n + z.length, 0);
      for (let i = 0; out.length < total; i++) for (const z of zones) if (i < z.length) out.push(z[i]);
    }
    this.list = out;
    this.listDirty = false;
  }
}

function mark(set: Set<string>, name: string, on: boolean): void {
  if (on) set.add(name);
  else set.delete(name);
}

function zoneKey(labels: Record<string, string>): string {
  const region = labels[REGION_LABEL] ?? '';
  const zone = labels[ZONE_LABEL] ?? '';
  return region || zone ? `${region}:\0:${zone}` : '';
}
