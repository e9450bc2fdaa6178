import type { Controller } from '../runtime.js';

// The lifecycle controllers, registered with the controller manager.
export function lifecycleControllers(): Controller[] {
  return [];
}
