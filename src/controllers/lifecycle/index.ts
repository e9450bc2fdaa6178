import type { Controller } from '../runtime.js';
import { GarbageCollector } from './garbagecollector.js';
import { NamespaceController } from './namespace.js';
import { ServiceAccountsController } from './serviceaccount.js';
import { EndpointsController } from './endpoints.js';
import { EndpointSliceController } from './endpointslice.js';

export { GarbageCollector, collectedResources, resolveKind } from './garbagecollector.js';
export { NamespaceController, namespacedResources } from './namespace.js';
export { ServiceAccountsController } from './serviceaccount.js';
export { EndpointsController, computeSubsets } from './endpoints.js';
export { EndpointSliceController } from './endpointslice.js';
export { planSlices } from './sliceplan.js';

// The lifecycle controllers, registered with the controller manager under kube-controller-manager's names:
// garbagecollector, namespace, serviceaccount, endpoint, endpointslice.
export function lifecycleControllers(): Controller[] {
  return [new GarbageCollector(), new NamespaceController(), new ServiceAccountsController(), new EndpointsController(), new EndpointSliceController()];
}
