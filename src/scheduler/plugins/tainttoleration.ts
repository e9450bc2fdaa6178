import type { Toleration } from 'kubernetes-types/core/v1.js';
import { SKIP, defaultNormalize, unresolvable, type FilterPlugin, type ScorePlugin } from '../framework.js';
import { firstUntoleratedTaint, tolerates } from '../matching.js';
import { NO_SCHEDULE_EFFECTS } from '../nodeinfo.js';

// TaintToleration: NoSchedule and NoExecute taints keep out pods that do not tolerate them; each
// untolerated PreferNoSchedule taint lowers the node's score.

export const TAINT_TOLERATION = 'TaintToleration';

/** `anyTainted` lets the caller say no node has NoSchedule/NoExecute taints, so there is nothing to check. */
export function taintTolerationFilter(anyTainted?: () => boolean): FilterPlugin {
  return {
    name: TAINT_TOLERATION,
    preFilter: (_pod, nodes) => ((anyTainted ? anyTainted() : nodes.some((n) => n.hasHardTaints)) ? undefined : SKIP),
    filter: taintFilter,
  };
}

const taintFilter: FilterPlugin['filter'] = (_state, pod, node) => {
  if (!node.hasHardTaints) return undefined;
  const t = firstUntoleratedTaint(node.taints, pod.tolerations, NO_SCHEDULE_EFFECTS);
  return t ? unresolvable(TAINT_TOLERATION, `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`) : undefined;
};

/** `anySoftTainted` lets the caller say no node has PreferNoSchedule taints (all would score alike). */
export function taintTolerationScore(anySoftTainted?: () => boolean): ScorePlugin {
  return { ...taintScore, preScore: (pod, feasible) => ((anySoftTainted ? anySoftTainted() : feasible.some((n) => n.hasPreferNoScheduleTaints)) ? softTolerations(pod.tolerations) : SKIP) };
}

function softTolerations(tolerations: readonly Toleration[]): Toleration[] {
  return tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
}

const taintScore: ScorePlugin = {
  name: TAINT_TOLERATION,
  weight: 3,
  score(state, _pod, node) {
    if (!node.hasPreferNoScheduleTaints) return 0;
    const tolerations = state as Toleration[];
    let n = 0;
    for (const taint of node.taints) if (taint.effect === 'PreferNoSchedule' && !tolerates(tolerations, taint)) n++;
    return n;
  },
  normalize: (_state, scores) => defaultNormalize(scores, true),
};
