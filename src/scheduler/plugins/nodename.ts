import { SKIP, unresolvable, type FilterPlugin } from '../framework.js';

// NodeName: a pod that names its node fits only there.

export const NODE_NAME = 'NodeName';
export const ERR_REASON_NODE_NAME = "node(s) didn't match the requested node name";

export const nodeName: FilterPlugin = {
  name: NODE_NAME,
  preFilter: (pod) => (pod.nodeName ? undefined : SKIP),
  filter: (_state, pod, node) => (pod.nodeName && pod.nodeName !== node.name ? unresolvable(NODE_NAME, ERR_REASON_NODE_NAME) : undefined),
};
