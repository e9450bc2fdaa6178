import type { Controller } from '../runtime.js';

// The workloads controllers, registered with the controller manager.
export function workloadsControllers(): Controller[] {
  return [];
}
