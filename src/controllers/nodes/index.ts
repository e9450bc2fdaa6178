import type { Controller } from '../runtime.js';
import { NodeLifecycleController } from './lifecycle.js';
import { TaintEvictionController } from './tainteviction.js';
import { PodGCController } from './podgc.js';

// The nodes controllers, registered with the controller manager under kube-controller-manager's names:
// nodelifecycle (node health, conditions and taints), taint-eviction-controller (NoExecute evictions, a
// separate controller since Kubernetes 1.29) and podgc.
export function nodesControllers(): Controller[] {
  return [new NodeLifecycleController(), new TaintEvictionController(), new PodGCController()];
}

export { NodeLifecycleController, type NodeLifecycleOptions, computeZoneState } from './lifecycle.js';
export { TaintEvictionController, evictionClockStart } from './tainteviction.js';
export { PodGCController, type PodGCOptions } from './podgc.js';
