import type { Controller } from '../controllers/runtime.js';
import { Scheduler, type SchedulerOptions } from './scheduler.js';

// kube-scheduler's role: binds pods that name this scheduler to the best node.

export { Scheduler, schedulerStats, type SchedulerOptions, type SchedulerStats } from './scheduler.js';
export { SchedulerCache } from './cache.js';
export { SchedulingQueue, Nominator, type QueuedPod, type ClusterEvent } from './queue.js';
export { NodeInfo } from './nodeinfo.js';
export { newPodInfo, type PodInfo } from './podinfo.js';
export { defaultProfile, type Profile } from './plugins/index.js';
export * from './framework.js';

export function scheduler(opts: SchedulerOptions = {}): Controller | undefined {
  return new Scheduler(opts);
}
