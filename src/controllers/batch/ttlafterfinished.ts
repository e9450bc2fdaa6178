import type { Job } from 'kubernetes-types/batch/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import type { Informer } from '../../client/informer.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { Requeuer } from '../apps/requeue.js';
import { realClock, type Clock } from './clock.js';
import { JOBS } from './job.js';
import { isJobFinished, jobFinishTime } from './jobutil.js';

// ttlSecondsAfterFinished: a finished Job is deleted once its TTL has passed, with foreground propagation
// so its pods go first (through the garbage collector), as Kubernetes' ttl-after-finished controller does.

function asJob(o: KubeObject): Job {
  return o as unknown as Job;
}

function needsCleanup(job: Job): boolean {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  return ttl !== undefined && ttl !== null && !job.metadata?.deletionTimestamp && isJobFinished(job);
}

/** Milliseconds until the Job expires (<= 0: expired), or undefined when it has no TTL or has not finished. */
export function timeLeft(job: Job, now: number): number | undefined {
  if (!needsCleanup(job)) return undefined;
  const finished = jobFinishTime(job);
  if (finished === undefined) return undefined;
  return finished + (job.spec!.ttlSecondsAfterFinished ?? 0) * 1000 - now;
}

export class TTLAfterFinishedController extends QueueController {
  readonly name = 'ttl-after-finished';
  private jobs!: Informer;
  private requeue!: Requeuer;

  constructor(private readonly clock: Clock = realClock) {
    super();
  }

  override stop(): void {
    super.stop();
    this.requeue?.stop();
  }

  protected register(ctx: ControllerContext): void {
    this.requeue = new Requeuer(this.queue);
    this.jobs = ctx.informers.for(JOBS);
    const maybe = (o: KubeObject) => {
      if (needsCleanup(asJob(o))) this.enqueue(o);
    };
    this.jobs.addHandlers({ add: maybe, update: (_o, n) => maybe(n) });
  }

  protected async reconcile(key: string): Promise<void> {
    const o = this.jobs.get(key);
    if (!o) return;
    const left = timeLeft(asJob(o), this.clock.now());
    if (left === undefined) return;
    if (left > 0) {
      this.requeue.after(key, left);
      return;
    }
    // The cache may be stale: the TTL could have been changed or removed since.
    let fresh: Job;
    try {
      fresh = asJob(await this.ctx.client.get(JOBS, o.metadata.namespace, o.metadata.name ?? ''));
    } catch (e) {
      if (e instanceof StatusError && e.code === 404) return;
      throw e;
    }
    const freshLeft = timeLeft(fresh, this.clock.now());
    if (freshLeft === undefined) return;
    if (freshLeft > 0) {
      this.requeue.after(key, freshLeft);
      return;
    }
    try {
      await this.ctx.client.delete(JOBS, o.metadata.namespace, o.metadata.name ?? '', {
        propagationPolicy: 'Foreground',
        preconditions: { uid: fresh.metadata?.uid },
      });
    } catch (e) {
      if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
    }
  }
}
