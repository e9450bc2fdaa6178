import { NodeSubset, PreFilterFailure, SKIP, defaultNormalize, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import type { PodInfo } from '../podinfo.js';
import { compileNodeSelectorTerm } from '../matching.js';

// NodeAffinity: nodeSelector and required node affinity filter; preferred terms add their weight to the
// nodes they match.

export const NODE_AFFINITY = 'NodeAffinity';
export const ERR_REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";

export const ERR_REASON_CONFLICT = 'pod affinity terms conflict';

/**
 * The node names a pod is pinned to by `metadata.name In (...)` in every required term (DaemonSet pods
 * are), or undefined when some term leaves every node possible.
 */
export function pinnedNodeNames(pod: PodInfo): Set<string> | undefined {
  const terms = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return undefined;
  let all: Set<string> | undefined;
  for (const t of terms) {
    let names: Set<string> | undefined;
    for (const r of t.matchFields ?? []) {
      if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
      const vals = new Set(r.values ?? []);
      names = names ? new Set([...names].filter((n) => vals.has(n))) : vals;
    }
    if (!names) return undefined;
    all = all ? new Set([...all, ...names]) : names;
  }
  return all;
}

export const nodeAffinityFilter: FilterPlugin = {
  name: NODE_AFFINITY,
  preFilter(pod) {
    if (!pod.hasNodeSelector) return SKIP;
    const pinned = pinnedNodeNames(pod);
    if (!pinned) return undefined;
    if (pinned.size === 0) return new PreFilterFailure(unresolvable(NODE_AFFINITY, ERR_REASON_CONFLICT));
    return new NodeSubset(undefined, pinned);
  },
  filter: (_state, pod, node) => (pod.matchesNodeSelector(node.labels, node.name) ? undefined : unresolvable(NODE_AFFINITY, ERR_REASON_NODE_AFFINITY)),
};

interface Preferred {
  weight: number;
  match: (labels: Record<string, string>, nodeName: string) => boolean;
}

export const nodeAffinityScore: ScorePlugin = {
  name: NODE_AFFINITY,
  weight: 2,
  preScore(pod) {
    const terms = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const out: Preferred[] = [];
    for (const t of terms) {
      const match = t.weight ? compileNodeSelectorTerm(t.preference) : undefined;
      if (match) out.push({ weight: t.weight, match });
    }
    return out.length ? out : SKIP;
  },
  score(state, _pod, node) {
    let s = 0;
    for (const p of state as Preferred[]) if (p.match(node.labels, node.name)) s += p.weight;
    return s;
  },
  normalize: (_state, scores) => defaultNormalize(scores, false),
};
