import type { Controller } from '../runtime.js';
import { JobController } from './job.js';
import { CronJobController } from './cronjob.js';
import { TTLAfterFinishedController } from './ttlafterfinished.js';
import { HorizontalPodAutoscalerController } from './hpa.js';

// The batch controllers (and the autoscaler), registered with the controller manager under the names
// kube-controller-manager uses for --controllers.
export function batchControllers(): Controller[] {
  return [new JobController(), new CronJobController(), new TTLAfterFinishedController(), new HorizontalPodAutoscalerController()];
}
