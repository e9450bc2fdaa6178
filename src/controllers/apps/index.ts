import type { Controller } from '../runtime.js';
import { DaemonSetController } from './daemonset.js';
import { StatefulSetController } from './statefulset.js';

// The apps controllers, registered with the controller manager.
export function appsControllers(): Controller[] {
  return [new DaemonSetController(), new StatefulSetController()];
}
