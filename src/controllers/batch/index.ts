import type { Controller } from '../runtime.js';

// The batch controllers, registered with the controller manager.
export function batchControllers(): Controller[] {
  return [];
}
