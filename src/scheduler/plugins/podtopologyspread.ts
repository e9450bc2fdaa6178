import type { TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { matchesLabels, selectorFromLabelSelector, NOTHING, type LabelSelector, type MetaLabelSelector } from '../../api/selectors.js';
import { MAX_NODE_SCORE, SKIP, unresolvable, unschedulable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import { firstUntoleratedTaint } from '../matching.js';
import { NO_SCHEDULE_EFFECTS, type NodeInfo } from '../nodeinfo.js';
import type { PodInfo } from '../podinfo.js';

// PodTopologySpread: matching pods must stay spread across the values of a node label. DoNotSchedule
// constraints filter (skew = pods in this domain + the pod − pods in the emptiest domain ≤ maxSkew);
// ScheduleAnyway constraints score, fewer matching pods scoring higher. Pods with no constraints get the
// cluster defaults (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway) over the pods of their Service or
// controller, as kube-scheduler's system defaulting.

export const POD_TOPOLOGY_SPREAD = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = "node(s) didn't match pod topology spread constraints (missing required label)";
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: LabelSelector;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorNodeTaints: boolean;
}

export interface PodTopologySpreadOptions {
  /** The selector of the pods a constraint-less pod should spread with (its Services, its controller). */
  defaultSelector?: (pod: PodInfo) => LabelSelector | undefined;
  /** Maintained counts of matching pods per domain (the cache's SpreadIndex), instead of a full scan. */
  spreadCounts?: (namespace: string, selector: LabelSelector, topologyKey: string, requiredKeys: readonly string[]) => ReadonlyMap<string, number>;
}

function parseConstraint(pod: PodInfo, c: TopologySpreadConstraint): Constraint {
  let selector: LabelSelector;
  try {
    selector = selectorFromLabelSelector(c.labelSelector as MetaLabelSelector | undefined);
  } catch {
    selector = NOTHING;
  }
  const extra = (c.matchLabelKeys ?? []).filter((k) => pod.labels[k] !== undefined);
  if (extra.length && !selector.nothing) {
    selector = { requirements: [...selector.requirements, ...extra.map((k) => ({ key: k, operator: 'In' as const, values: [pod.labels[k]] }))] };
  }
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    selector,
    minDomains: c.minDomains ?? 1,
    honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorNodeTaints: c.nodeTaintsPolicy === 'Honor',
  };
}

function constraintsOf(pod: PodInfo, when: 'DoNotSchedule' | 'ScheduleAnyway', opts: PodTopologySpreadOptions): { list: Constraint[]; defaulted: boolean } {
  const given = pod.pod.spec?.topologySpreadConstraints ?? [];
  if (given.length) return { list: given.filter((c) => c.whenUnsatisfiable === when).map((c) => parseConstraint(pod, c)), defaulted: false };
  if (when !== 'ScheduleAnyway' || !opts.defaultSelector) return { list: [], defaulted: true };
  const selector = opts.defaultSelector(pod);
  if (!selector || selector.nothing || selector.requirements.length === 0) return { list: [], defaulted: true };
  const base = { selector, minDomains: 1, honorNodeAffinity: true, honorNodeTaints: false };
  return {
    list: [
      { ...base, maxSkew: 3, topologyKey: HOSTNAME_LABEL },
      { ...base, maxSkew: 5, topologyKey: ZONE_LABEL },
    ],
    defaulted: true,
  };
}

function hasAllKeys(node: NodeInfo, constraints: readonly Constraint[]): boolean {
  for (const c of constraints) if (node.labels[c.topologyKey] === undefined) return false;
  return true;
}

function includes(c: Constraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorNodeAffinity && pod.hasNodeSelector && !pod.matchesNodeSelector(node.labels, node.name)) return false;
  if (c.honorNodeTaints && node.hasHardTaints && firstUntoleratedTaint(node.taints, pod.tolerations, NO_SCHEDULE_EFFECTS)) return false;
  return true;
}

/** Pods on the node in `namespace` that the selector picks, terminating ones left out. */
export function countMatching(pods: readonly PodInfo[], selector: LabelSelector, namespace: string): number {
  let n = 0;
  for (const p of pods) if (p.namespace === namespace && !p.terminating && matchesLabels(selector, p.labels)) n++;
  return n;
}

interface FilterState {
  constraints: Constraint[];
  /** Matching pods per "key\0value" over the eligible nodes (zero entries included: they are domains). */
  counts: Map<string, number>;
  /** Per constraint: the smallest count over its domains, and how many domains there are. */
  minMatch: number[];
  domains: number[];
}

function pairKey(key: string, value: string): string {
  return `${key}\0${value}`;
}

function computeMins(st: FilterState): void {
  st.constraints.forEach((c, i) => {
    let min = Infinity;
    let n = 0;
    const prefix = `${c.topologyKey}\0`;
    for (const [k, v] of st.counts) {
      if (!k.startsWith(prefix)) continue;
      n++;
      if (v < min) min = v;
    }
    st.minMatch[i] = min;
    st.domains[i] = n;
  });
}

export function podTopologySpreadFilter(opts: PodTopologySpreadOptions = {}): FilterPlugin {
  const update = (st: FilterState, pod: PodInfo, other: PodInfo, node: NodeInfo, by: number) => {
    if (other.namespace !== pod.namespace || other.terminating || !hasAllKeys(node, st.constraints)) return;
    let changed = false;
    for (const c of st.constraints) {
      if (!includes(c, pod, node) || !matchesLabels(c.selector, other.labels)) continue;
      const k = pairKey(c.topologyKey, node.labels[c.topologyKey]);
      st.counts.set(k, (st.counts.get(k) ?? 0) + by);
      changed = true;
    }
    if (changed) computeMins(st);
  };
  return {
    name: POD_TOPOLOGY_SPREAD,
    preFilter(pod, nodes) {
      const { list } = constraintsOf(pod, 'DoNotSchedule', opts);
      if (!list.length) return SKIP;
      const st: FilterState = { constraints: list, counts: new Map(), minMatch: [], domains: [] };
      for (const node of nodes) {
        if (!hasAllKeys(node, list)) continue;
        for (const c of list) {
          if (!includes(c, pod, node)) continue;
          const k = pairKey(c.topologyKey, node.labels[c.topologyKey]);
          st.counts.set(k, (st.counts.get(k) ?? 0) + countMatching(node.pods, c.selector, pod.namespace));
        }
      }
      computeMins(st);
      return st;
    },
    filter(state, pod, node) {
      const st = state as FilterState;
      for (let i = 0; i < st.constraints.length; i++) {
        const c = st.constraints[i];
        const v = node.labels[c.topologyKey];
        if (v === undefined) return unresolvable(POD_TOPOLOGY_SPREAD, ERR_REASON_NODE_LABEL_NOT_MATCH);
        const self = matchesLabels(c.selector, pod.labels) ? 1 : 0;
        const min = st.domains[i] < c.minDomains ? 0 : st.minMatch[i];
        const skew = (st.counts.get(pairKey(c.topologyKey, v)) ?? 0) + self - min;
        if (skew > c.maxSkew) return unschedulable(POD_TOPOLOGY_SPREAD, ERR_REASON_CONSTRAINTS_NOT_MATCH);
      }
      return undefined;
    },
    cloneState(state) {
      const st = state as FilterState;
      return { constraints: st.constraints, counts: new Map(st.counts), minMatch: st.minMatch.slice(), domains: st.domains.slice() } satisfies FilterState;
    },
    addPod: (state, pod, added, node) => update(state as FilterState, pod, added, node, 1),
    removePod: (state, pod, removed, node) => update(state as FilterState, pod, removed, node, -1),
  };
}

interface ScoreState {
  constraints: Constraint[];
  /** Per constraint: matching pods per domain value; undefined for hostname without an index (counted
   *  on the node itself when scoring). */
  valueCounts: Array<ReadonlyMap<string, number> | undefined>;
  weights: number[];
  ignored: Set<string>;
}

export function podTopologySpreadScore(opts: PodTopologySpreadOptions = {}): ScorePlugin {
  return {
    name: POD_TOPOLOGY_SPREAD,
    weight: 2,
    preScore(pod, feasible, all) {
      const { list, defaulted } = constraintsOf(pod, 'ScheduleAnyway', opts);
      if (!list.length) return SKIP;
      const requireAll = !defaulted;
      const st: ScoreState = { constraints: list, valueCounts: [], weights: [], ignored: new Set() };
      const sizes = list.map(() => 0);
      const domains = list.map(() => new Set<string>());
      for (const node of feasible) {
        if (requireAll && !hasAllKeys(node, list)) {
          st.ignored.add(node.name);
          continue;
        }
        for (let i = 0; i < list.length; i++) {
          const key = list[i].topologyKey;
          const v = node.labels[key];
          if (v === undefined) continue;
          if (key === HOSTNAME_LABEL) sizes[i]++;
          else domains[i].add(v);
        }
      }
      const requiredKeys = requireAll ? list.map((c) => c.topologyKey) : [];
      const scan: number[] = [];
      list.forEach((c, i) => {
        if (c.topologyKey !== HOSTNAME_LABEL) sizes[i] = domains[i].size;
        st.weights[i] = Math.log(sizes[i] + 2);
        // The index counts over every node; it answers when this pod's node affinity and tolerations do not
        // narrow the nodes that count.
        const plain = !(c.honorNodeAffinity && pod.hasNodeSelector) && !c.honorNodeTaints;
        if (opts.spreadCounts && plain && (sizes[i] > 0 || domains[i].size > 0)) st.valueCounts[i] = opts.spreadCounts(pod.namespace, c.selector, c.topologyKey, requiredKeys);
        else if (c.topologyKey === HOSTNAME_LABEL) st.valueCounts[i] = undefined;
        else {
          st.valueCounts[i] = new Map([...domains[i]].map((v) => [v, 0]));
          if (domains[i].size > 0) scan.push(i);
        }
      });
      if (scan.length) {
        for (const node of all) {
          if (requireAll && !hasAllKeys(node, list)) continue;
          for (const i of scan) {
            const c = list[i];
            const m = st.valueCounts[i] as Map<string, number>;
            if (!includes(c, pod, node)) continue;
            const v = node.labels[c.topologyKey];
            const cur = v === undefined ? undefined : m.get(v);
            if (cur === undefined) continue;
            m.set(v!, cur + countMatching(node.pods, c.selector, pod.namespace));
          }
        }
      }
      return st;
    },
    score(state, pod, node) {
      const st = state as ScoreState;
      if (st.ignored.size && st.ignored.has(node.name)) return 0;
      let s = 0;
      const cs = st.constraints;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i];
        const v = node.labels[c.topologyKey];
        if (v === undefined) continue;
        const m = st.valueCounts[i];
        const cnt = m ? (m.get(v) ?? 0) : countMatching(node.pods, c.selector, pod.namespace);
        s += cnt * st.weights[i] + (c.maxSkew - 1);
      }
      return Math.round(s);
    },
    normalize(state, scores, nodes) {
      const st = state as ScoreState;
      let min = Infinity;
      let max = 0;
      const skip = (i: number) => st.ignored.size > 0 && st.ignored.has(nodes[i].name);
      for (let i = 0; i < scores.length; i++) {
        if (skip(i)) continue;
        if (scores[i] < min) min = scores[i];
        if (scores[i] > max) max = scores[i];
      }
      for (let i = 0; i < scores.length; i++) {
        if (skip(i)) scores[i] = 0;
        else if (max === 0) scores[i] = MAX_NODE_SCORE;
        else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i])) / max);
      }
    },
  };
}
