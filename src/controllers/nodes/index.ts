import type { Controller } from '../runtime.js';

// The nodes controllers, registered with the controller manager.
export function nodesControllers(): Controller[] {
  return [];
}
