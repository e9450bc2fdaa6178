import { MAX_NODE_SCORE, SKIP, unresolvable, unschedulable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import type { NodeInfo } from '../nodeinfo.js';
import { termMatches, type AffinityTerm, type NamespaceLabels, type PodInfo } from '../podinfo.js';

// InterPodAffinity: required pod affinity and anti-affinity by topology domain (the node label named by
// topologyKey), including the anti-affinity of pods already running; preferred terms, and the existing
// pods' terms towards the incoming pod, score the domains.

export const INTER_POD_AFFINITY = 'InterPodAffinity';
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
/** Weight of an existing pod's required affinity towards the incoming pod (kube-scheduler's default). */
const HARD_POD_AFFINITY_WEIGHT = 1;

export interface InterPodAffinityOptions {
  namespaceLabels?: NamespaceLabels;
  /** The nodes running pods with affinity terms / required anti-affinity terms, when the caller keeps
   *  track (the cache does); otherwise they are found among all nodes. */
  nodesWithAffinityPods?: () => readonly NodeInfo[];
  nodesWithRequiredAntiAffinityPods?: () => readonly NodeInfo[];
}

/** Matching pods per topology pair ("key\0value"); pairs at zero are removed. */
type Counts = Map<string, number>;

interface FilterState {
  existingAntiAffinity: Counts;
  affinity: Counts;
  antiAffinity: Counts;
}

function pair(key: string, value: string): string {
  return `${key}\0${value}`;
}

function bump(m: Counts, key: string, node: NodeInfo, by: number): void {
  const v = node.labels[key];
  if (v === undefined) return;
  const k = pair(key, v);
  const n = (m.get(k) ?? 0) + by;
  if (n === 0) m.delete(k);
  else m.set(k, n);
}

function matchesAll(terms: readonly AffinityTerm[], pod: PodInfo, ns: NamespaceLabels | undefined): boolean {
  for (const t of terms) if (!termMatches(t, pod, ns)) return false;
  return terms.length > 0;
}

export function interPodAffinityFilter(opts: InterPodAffinityOptions = {}): FilterPlugin {
  const ns = opts.namespaceLabels;

  // How `existing` (on `node`) changes the counts for the incoming `pod`.
  const account = (st: FilterState, pod: PodInfo, existing: PodInfo, node: NodeInfo, by: number): void => {
    for (const t of existing.requiredAntiAffinity) if (termMatches(t, pod, ns)) bump(st.existingAntiAffinity, t.topologyKey, node, by);
    if (pod.requiredAffinity.length && matchesAll(pod.requiredAffinity, existing, ns)) for (const t of pod.requiredAffinity) bump(st.affinity, t.topologyKey, node, by);
    for (const t of pod.requiredAntiAffinity) if (termMatches(t, existing, ns)) bump(st.antiAffinity, t.topologyKey, node, by);
  };

  return {
    name: INTER_POD_AFFINITY,
    preFilter(pod, nodes) {
      const own = pod.requiredAffinity.length > 0 || pod.requiredAntiAffinity.length > 0;
      const guarded = opts.nodesWithRequiredAntiAffinityPods ? opts.nodesWithRequiredAntiAffinityPods() : nodes.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
      if (!own && guarded.length === 0) return SKIP;
      const st: FilterState = { existingAntiAffinity: new Map(), affinity: new Map(), antiAffinity: new Map() };
      for (const node of guarded) {
        for (const e of node.podsWithRequiredAntiAffinity) for (const t of e.requiredAntiAffinity) if (termMatches(t, pod, ns)) bump(st.existingAntiAffinity, t.topologyKey, node, 1);
      }
      if (own) {
        for (const node of nodes) {
          for (const e of node.pods) {
            if (pod.requiredAffinity.length && matchesAll(pod.requiredAffinity, e, ns)) for (const t of pod.requiredAffinity) bump(st.affinity, t.topologyKey, node, 1);
            for (const t of pod.requiredAntiAffinity) if (termMatches(t, e, ns)) bump(st.antiAffinity, t.topologyKey, node, 1);
          }
        }
      }
      return st;
    },
    filter(state, pod, node) {
      const st = state as FilterState;
      if (pod.requiredAffinity.length) {
        let podsExist = true;
        for (const t of pod.requiredAffinity) {
          const v = node.labels[t.topologyKey];
          if (v === undefined) return unresolvable(INTER_POD_AFFINITY, ERR_REASON_AFFINITY);
          if ((st.affinity.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
        }
        // The first pod of a group that has affinity to itself may go anywhere the topology exists.
        if (!podsExist && !(st.affinity.size === 0 && matchesAll(pod.requiredAffinity, pod, ns))) return unresolvable(INTER_POD_AFFINITY, ERR_REASON_AFFINITY);
      }
      if (st.antiAffinity.size) {
        for (const t of pod.requiredAntiAffinity) {
          const v = node.labels[t.topologyKey];
          if (v !== undefined && (st.antiAffinity.get(pair(t.topologyKey, v)) ?? 0) > 0) return unschedulable(INTER_POD_AFFINITY, ERR_REASON_ANTI_AFFINITY);
        }
      }
      if (st.existingAntiAffinity.size) {
        for (const k in node.labels) {
          if ((st.existingAntiAffinity.get(pair(k, node.labels[k])) ?? 0) > 0) return unschedulable(INTER_POD_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY);
        }
      }
      return undefined;
    },
    cloneState(state) {
      const st = state as FilterState;
      return { existingAntiAffinity: new Map(st.existingAntiAffinity), affinity: new Map(st.affinity), antiAffinity: new Map(st.antiAffinity) } satisfies FilterState;
    },
    addPod: (state, pod, added, node) => account(state as FilterState, pod, added, node, 1),
    removePod: (state, pod, removed, node) => account(state as FilterState, pod, removed, node, -1),
  };
}

/** Score per topology key, per value of that key. */
type TopologyScore = Map<string, Map<string, number>>;

export function interPodAffinityScore(opts: InterPodAffinityOptions = {}): ScorePlugin {
  const ns = opts.namespaceLabels;
  return {
    name: INTER_POD_AFFINITY,
    weight: 2,
    preScore(pod, _feasible, all) {
      const preferred = pod.preferredAffinity.length > 0 || pod.preferredAntiAffinity.length > 0;
      const visit = preferred ? all : opts.nodesWithAffinityPods ? opts.nodesWithAffinityPods() : all.filter((n) => n.podsWithAffinity.length > 0);
      if (visit.length === 0) return SKIP;
      const scores: TopologyScore = new Map();
      const add = (key: string, node: NodeInfo, w: number) => {
        const v = node.labels[key];
        if (v === undefined || w === 0) return;
        let m = scores.get(key);
        if (!m) scores.set(key, (m = new Map()));
        m.set(v, (m.get(v) ?? 0) + w);
      };
      for (const node of visit) {
        const list = preferred ? node.pods : node.podsWithAffinity;
        for (const e of list) {
          for (const t of pod.preferredAffinity) if (termMatches(t, e, ns)) add(t.topologyKey, node, t.weight);
          for (const t of pod.preferredAntiAffinity) if (termMatches(t, e, ns)) add(t.topologyKey, node, -t.weight);
          for (const t of e.requiredAffinity) if (termMatches(t, pod, ns)) add(t.topologyKey, node, HARD_POD_AFFINITY_WEIGHT);
          for (const t of e.preferredAffinity) if (termMatches(t, pod, ns)) add(t.topologyKey, node, t.weight);
          for (const t of e.preferredAntiAffinity) if (termMatches(t, pod, ns)) add(t.topologyKey, node, -t.weight);
        }
      }
      return scores.size ? scores : SKIP;
    },
    score(state, _pod, node) {
      let s = 0;
      for (const [key, values] of state as TopologyScore) {
        const v = node.labels[key];
        if (v !== undefined) s += values.get(v) ?? 0;
      }
      return s;
    },
    normalize(_state, scores) {
      let min = Infinity;
      let max = -Infinity;
      for (const s of scores) {
        if (s < min) min = s;
        if (s > max) max = s;
      }
      const diff = max - min;
      for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc((MAX_NODE_SCORE * (scores[i] - min)) / diff) : 0;
    },
  };
}
