import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { resource } from '../../client/rest.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { CONTROLLER_UID_INDEX, asObject, controllerRefOf, controllerUIDIndex } from '../apps/podutil.js';
import { Requeuer } from '../apps/requeue.js';
import { realClock, rfc3339, parseTime, type Clock } from './clock.js';
import { JOBS } from './job.js';
import { finishedType, isJobFinished } from './jobutil.js';
import { isValidTimeZone, jobFromTemplate, jobNameFor, mostRecentScheduleTime, nextScheduleDelay, parseSchedule, type ParsedSchedule } from './cronschedule.js';

// The CronJob controller: at each activation of the schedule it creates a Job named after the scheduled
// minute (so a retry never makes a second one), honours concurrencyPolicy and startingDeadlineSeconds,
// tracks active Jobs in status, and prunes finished Jobs beyond the history limits.

export const CRONJOBS = resource('batch', 'v1', 'cronjobs');

function asCronJob(o: KubeObject): CronJob {
  return o as unknown as CronJob;
}

function asJob(o: KubeObject): Job {
  return o as unknown as Job;
}

function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function inActive(cj: CronJob, uid: string | undefined): boolean {
  return (cj.status?.active ?? []).some((r) => r.uid === uid);
}

function removeActive(cj: CronJob, uid: string | undefined): void {
  const st = (cj.status ??= {});
  st.active = (st.active ?? []).filter((r) => r.uid !== uid);
  if (st.active.length === 0) delete st.active;
}

function jobRef(job: Job): ObjectReference {
  return {
    kind: 'Job',
    namespace: job.metadata?.namespace,
    name: job.metadata?.name,
    uid: job.metadata?.uid,
    apiVersion: 'batch/v1',
    resourceVersion: job.metadata?.resourceVersion,
  };
}

/** Oldest first by start time (never-started last), names breaking ties. */
function byStartTime(a: Job, b: Job): number {
  const sa = parseTime(a.status?.startTime);
  const sb = parseTime(b.status?.startTime);
  if (sa === undefined && sb === undefined) return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
  if (sa === undefined) return 1;
  if (sb === undefined) return -1;
  if (sa !== sb) return sa - sb;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

export class CronJobController extends QueueController {
  readonly name = 'cronjob';
  private cronjobs!: Informer;
  private jobs!: Informer;
  private recorder!: EventRecorder;
  private requeue!: Requeuer;

  constructor(private readonly clock: Clock = realClock) {
    super();
  }

  override stop(): void {
    super.stop();
    this.requeue?.stop();
  }

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('cronjob-controller');
    this.requeue = new Requeuer(this.queue);
    this.cronjobs = ctx.informers.for(CRONJOBS);
    this.jobs = ctx.informers.for(JOBS);
    this.jobs.addIndexer(CONTROLLER_UID_INDEX, controllerUIDIndex);
    this.cronjobs.addHandlers({ add: (o) => this.enqueue(o), update: (_o, n) => this.enqueue(n) });
    const parent = (o: KubeObject) => {
      const ref = controllerRefOf(o);
      if (ref?.kind !== 'CronJob') return;
      const cj = this.cronjobs.get(`${o.metadata.namespace}/${ref.name}`);
      if (cj && cj.metadata.uid === ref.uid) this.enqueue(cj);
    };
    this.jobs.addHandlers({ add: parent, update: (_o, n) => parent(n), delete: parent });
  }

  protected async reconcile(key: string): Promise<void> {
    const o = this.cronjobs.get(key);
    if (!o) {
      this.requeue.forget(key);
      return;
    }
    const cj = structuredClone(asCronJob(o));
    const jobs = this.jobs.byIndex(CONTROLLER_UID_INDEX, o.metadata.uid ?? '').map(asJob);
    let update = await this.cleanupFinishedJobs(cj, jobs);
    const r = await this.syncCronJob(cj, jobs);
    update ||= r.update;
    if (update) await this.ctx.client.updateStatus(CRONJOBS, asObject(cj));
    if (r.requeueAfter !== undefined) this.requeue.after(key, r.requeueAfter);
  }

  /** Mutates `cj` (its status) in place; the caller writes the status when `update` says so. */
  private async syncCronJob(cj: CronJob, jobs: Job[]): Promise<{ requeueAfter?: number; update: boolean }> {
    const now = this.clock.now();
    let update = false;
    const children = new Set<string>();
    for (const j of jobs) {
      const uid = j.metadata?.uid ?? '';
      children.add(uid);
      const found = inActive(cj, uid);
      if (!found && !isJobFinished(j)) {
        const fresh = asCronJob(await this.ctx.client.get(CRONJOBS, cj.metadata?.namespace, cj.metadata?.name ?? ''));
        if (inActive(fresh, uid)) {
          Object.assign(cj, fresh);
          continue;
        }
        this.recorder.event(asObject(cj), 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata?.name}`);
      } else if (found && isJobFinished(j)) {
        removeActive(cj, uid);
        this.recorder.event(asObject(cj), 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata?.name}, status: ${finishedType(j)}`);
        update = true;
      }
      if (finishedType(j) === 'Complete' && j.status?.completionTime) {
        const last = parseTime(cj.status?.lastSuccessfulTime);
        const done = parseTime(j.status.completionTime)!;
        if (last === undefined || done > last) {
          (cj.status ??= {}).lastSuccessfulTime = j.status.completionTime;
          update = true;
        }
      }
    }
    // Active Jobs that no longer exist (checked against the API, not a possibly slow cache).
    for (const ref of [...(cj.status?.active ?? [])]) {
      if (children.has(ref.uid ?? '')) continue;
      try {
        await this.ctx.client.get(JOBS, ref.namespace, ref.name ?? '');
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.recorder.event(asObject(cj), 'Normal', 'MissingJob', `Active job went missing: ${ref.name}`);
        removeActive(cj, ref.uid);
        update = true;
      }
    }
    if (cj.metadata?.deletionTimestamp) return { update };

    const tz = cj.spec?.timeZone ?? undefined;
    if (tz !== undefined && !isValidTimeZone(tz)) {
      this.recorder.event(asObject(cj), 'Warning', 'UnknownTimeZone', `invalid timeZone: ${JSON.stringify(tz)}: unknown time zone ${tz}`);
      return { update };
    }
    if (cj.spec?.suspend === true) return { update };

    let ps: ParsedSchedule;
    try {
      ps = parseSchedule(cj);
    } catch (e) {
      this.recorder.event(asObject(cj), 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(cj.spec?.schedule ?? '')} : ${errMessage(e)}`);
      return { update };
    }
    if (ps.inlineZone) {
      this.recorder.event(
        asObject(cj),
        'Warning',
        'UnsupportedSchedule',
        `CRON_TZ or TZ used in schedule ${JSON.stringify(cj.spec?.schedule ?? '')} is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`,
      );
    }
    let scheduled: number | undefined;
    try {
      const r = mostRecentScheduleTime(cj, now, ps, true);
      scheduled = r.mostRecent;
      if (scheduled !== undefined && r.missed === 'many') {
        this.recorder.event(asObject(cj), 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
      }
    } catch (e) {
      this.recorder.event(asObject(cj), 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule} : ${errMessage(e)}`);
      return { update };
    }
    const requeueAfter = nextScheduleDelay(cj, now, ps);
    if (scheduled === undefined) return { requeueAfter, update };

    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds !== undefined && sds !== null && scheduled + sds * 1000 < now) {
      this.recorder.event(asObject(cj), 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(scheduled).toUTCString().replace('GMT', '+0000')}`);
      return { requeueAfter, update };
    }
    const name = jobNameFor(cj, scheduled);
    if ((cj.status?.active ?? []).some((r) => r.name === name) || parseTime(cj.status?.lastScheduleTime) === scheduled) {
      return { requeueAfter, update };
    }
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && (cj.status?.active?.length ?? 0) > 0) {
      this.recorder.event(asObject(cj), 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return { requeueAfter, update };
    }
    if (policy === 'Replace') {
      for (const ref of [...(cj.status?.active ?? [])]) {
        let job: Job;
        try {
          job = asJob(await this.ctx.client.get(JOBS, ref.namespace, ref.name ?? ''));
        } catch (e) {
          this.recorder.event(asObject(cj), 'Warning', 'FailedGet', `Get job: ${errMessage(e)}`);
          throw e;
        }
        if (!(await this.deleteJob(cj, job))) throw new Error(`could not replace job ${ref.namespace}/${ref.name}`);
        update = true;
      }
    }

    const want = jobFromTemplate(cj, scheduled, tz);
    let created: Job;
    try {
      created = asJob(await this.ctx.client.create(JOBS, cj.metadata?.namespace, asObject(want)));
      this.recorder.event(asObject(cj), 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name}`);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists')) {
        this.recorder.event(asObject(cj), 'Warning', 'FailedCreate', `Error creating job: ${errMessage(e)}`);
        throw e;
      }
      // Created earlier but the status update was lost: adopt it into the active list if it is ours.
      created = asJob(await this.ctx.client.get(JOBS, cj.metadata?.namespace, name));
      const ref = controllerRefOf(asObject(created));
      if (ref?.uid !== cj.metadata?.uid || inActive(cj, created.metadata?.uid)) return { update };
    }
    const st = (cj.status ??= {});
    st.active = [...(st.active ?? []), jobRef(created)];
    st.lastScheduleTime = rfc3339(scheduled);
    return { requeueAfter, update: true };
  }

  /** Delete a Job (its pods follow in the background) and drop it from the active list. */
  private async deleteJob(cj: CronJob, job: Job): Promise<boolean> {
    try {
      await this.ctx.client.delete(JOBS, job.metadata?.namespace, job.metadata?.name ?? '', { propagationPolicy: 'Background' });
    } catch (e) {
      if (!isNotFound(e)) {
        this.recorder.event(asObject(cj), 'Warning', 'FailedDelete', `Deleted job: ${errMessage(e)}`);
        return false;
      }
    }
    removeActive(cj, job.metadata?.uid);
    this.recorder.event(asObject(cj), 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata?.name}`);
    return true;
  }

  /** Keep at most successfulJobsHistoryLimit / failedJobsHistoryLimit finished Jobs, deleting the oldest. */
  private async cleanupFinishedJobs(cj: CronJob, jobs: Job[]): Promise<boolean> {
    const okLimit = cj.spec?.successfulJobsHistoryLimit;
    const failLimit = cj.spec?.failedJobsHistoryLimit;
    if ((okLimit === undefined || okLimit === null) && (failLimit === undefined || failLimit === null)) return false;
    const live = jobs.filter((j) => !j.metadata?.deletionTimestamp);
    const ok = live.filter((j) => finishedType(j) === 'Complete');
    const failed = live.filter((j) => finishedType(j) === 'Failed');
    let update = false;
    for (const [list, limit] of [
      [ok, okLimit],
      [failed, failLimit],
    ] as const) {
      if (limit === undefined || limit === null || list.length <= limit) continue;
      const sorted = [...list].sort(byStartTime);
      for (const j of sorted.slice(0, list.length - limit)) if (await this.deleteJob(cj, j)) update = true;
    }
    return update;
  }
}
