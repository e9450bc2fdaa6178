import type { Taint } from 'kubernetes-types/core/v1.js';
import { SKIP, unresolvable, type FilterPlugin } from '../framework.js';
import { tolerates } from '../matching.js';

// NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that tolerate the unschedulable
// taint, as DaemonSet pods do.

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

/** `anyCordoned` lets the caller say no node is cordoned, so there is nothing to check. */
export function nodeUnschedulable(anyCordoned?: () => boolean): FilterPlugin {
  return {
    name: NODE_UNSCHEDULABLE,
    preFilter(pod, nodes) {
      const any = anyCordoned ? anyCordoned() : nodes.some((n) => n.unschedulable);
      return !any || tolerates(pod.tolerations, UNSCHEDULABLE_TAINT) ? SKIP : undefined;
    },
    filter: (_state, _pod, node) => (node.unschedulable ? unresolvable(NODE_UNSCHEDULABLE, ERR_REASON_UNSCHEDULABLE) : undefined),
  };
}
