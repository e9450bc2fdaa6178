import { SKIP, unschedulable, type FilterPlugin } from '../framework.js';
import { portsConflict } from '../nodeinfo.js';

// NodePorts: a hostPort (protocol, address, port) can be taken by one pod per node.

export const NODE_PORTS = 'NodePorts';
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

export const nodePorts: FilterPlugin = {
  name: NODE_PORTS,
  preFilter: (pod) => (pod.hostPorts.length ? undefined : SKIP),
  filter: (_state, pod, node) => (node.usedPorts.length && portsConflict(node.usedPorts, pod.hostPorts) ? unschedulable(NODE_PORTS, ERR_REASON_NODE_PORTS) : undefined),
};
