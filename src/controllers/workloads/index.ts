import type { Controller } from '../runtime.js';
import { DeploymentController } from './deployment.js';
import { ReplicaSetController } from './replicaset.js';

// The workloads controllers, registered with the controller manager under kube-controller-manager's names.
export function workloadsControllers(): Controller[] {
  return [new DeploymentController(), new ReplicaSetController()];
}

export { DeploymentController } from './deployment.js';
export { ReplicaSetController } from './replicaset.js';
