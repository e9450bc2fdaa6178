import type { Controller } from '../runtime.js';

// The apps controllers, registered with the controller manager.
export function appsControllers(): Controller[] {
  return [];
}
