import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import { nextActivation, parseCronSchedule, type CronSchedule } from '../../api/validation/cron.js';
import { parseTime } from './clock.js';

// CronJob time: schedules evaluated in a time zone, the most recent missed activation, the deterministic
// Job name that makes creation idempotent, and the Job a CronJob creates.

export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Added to every requeue so the sync lands just after the activation, not just before it. */
export const NEXT_SCHEDULE_DELTA_MS = 100;
const TOO_MANY_MISSED = 100;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  if (tz === '' || tz === 'UTC' || tz === 'Local') return true;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at `instant`, in milliseconds (wall clock = instant + offset). */
export function zoneOffset(instant: number, tz: string | undefined): number {
  if (!tz || tz === 'UTC') return 0;
  const whole = Math.floor(instant / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(whole))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
  return wall - whole;
}

/** The first activation strictly after `after`, with the schedule's fields read as wall-clock time in `tz`. */
export function nextInZone(sched: CronSchedule, tz: string | undefined, after: number): number | undefined {
  if (!tz || tz === 'UTC' || sched.everySeconds !== undefined) return nextActivation(sched, new Date(after))?.getTime();
  let wallAfter = after + zoneOffset(after, tz);
  for (let i = 0; i < 8; i++) {
    const wall = nextActivation(sched, new Date(wallAfter))?.getTime();
    if (wall === undefined) return undefined;
    // Two passes settle the offset at the candidate; in a DST gap the wall time maps just past the gap.
    let instant = wall - zoneOffset(wall, tz);
    instant = wall - zoneOffset(instant, tz);
    if (instant > after) return instant;
    wallAfter = wall;
  }
  return undefined;
}

/** RFC 3339 of `instant` in `tz`, as Go's time.Format(RFC3339) writes it ("Z" for a zero offset). */
export function formatInZone(instant: number, tz: string | undefined): string {
  const off = zoneOffset(instant, tz);
  const wall = new Date(Math.floor(instant / 1000) * 1000 + off).toISOString().replace(/\.\d{3}Z$/, '');
  if (off === 0) return `${wall}Z`;
  const m = Math.abs(off) / 60_000;
  const hh = String(Math.floor(m / 60)).padStart(2, '0');
  const mm = String(m % 60).padStart(2, '0');
  return `${wall}${off < 0 ? '-' : '+'}${hh}:${mm}`;
}

export interface ParsedSchedule {
  sched: CronSchedule;
  /** The zone the fields are read in: spec.timeZone, or a TZ=/CRON_TZ= prefix. */
  tz?: string;
  /** The schedule itself named a zone (TZ=...), which Kubernetes warns about. */
  inlineZone: boolean;
}

/** Throws the parser's error for an unparseable schedule. */
export function parseSchedule(cj: CronJob): ParsedSchedule {
  const text = cj.spec?.schedule ?? '';
  const sched = parseCronSchedule(text);
  if (text.includes('TZ')) return { sched, tz: sched.timeZone, inlineZone: true };
  const tz = cj.spec?.timeZone ?? undefined;
  return { sched, tz: tz && isValidTimeZone(tz) ? tz : undefined, inlineZone: false };
}

export type Missed = 'none' | 'few' | 'many';

export interface RecentSchedule {
  /** Where the search started: last schedule time, creation time, or the starting deadline. */
  earliest: number;
  /** The latest activation at or before now that is due, if any. */
  mostRecent?: number;
  missed: Missed;
}

/**
 * The most recent activation between the last one handled and `now`. Long outages are not walked minute
 * by minute: the number of missed activations is estimated from the schedule's period.
 */
export function mostRecentScheduleTime(cj: CronJob, now: number, ps: ParsedSchedule, includeStartingDeadline: boolean): RecentSchedule {
  let earliest = parseTime(cj.status?.lastScheduleTime) ?? parseTime(cj.metadata?.creationTimestamp) ?? now;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && sds !== undefined && sds !== null) earliest = Math.max(earliest, now - sds * 1000);
  const next = (t: number) => nextInZone(ps.sched, ps.tz, t);
  const t1 = next(earliest);
  if (t1 === undefined || now < t1) return { earliest, missed: 'none' };
  const t2 = next(t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const period = Math.round((t2 - t1) / 1000);
  if (period < 1) throw new Error('time difference between two schedules is less than 1 second');
  const missedCount = Math.floor((now - t1) / 1000 / period) + 1;
  let mostRecent: number | undefined;
  const from = t1 + (missedCount - 2) * period * 1000;
  for (let t = next(from); t !== undefined && t <= now; t = next(t)) mostRecent = t;
  const missed: Missed = missedCount > TOO_MANY_MISSED ? 'many' : missedCount > 0 ? 'few' : 'none';
  return { earliest, mostRecent, missed };
}

/** How long to wait before the next activation is due (plus a small delta). */
export function nextScheduleDelay(cj: CronJob, now: number, ps: ParsedSchedule): number {
  let r: RecentSchedule;
  try {
    r = mostRecentScheduleTime(cj, now, ps, false);
  } catch {
    return NEXT_SCHEDULE_DELTA_MS;
  }
  const base = r.mostRecent ?? (r.missed === 'none' ? r.earliest : now);
  const t = nextInZone(ps.sched, ps.tz, base);
  if (t === undefined) return 24 * 3600_000;
  return t + NEXT_SCHEDULE_DELTA_MS - now;
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`: the same activation always gets the same name. */
export function jobNameFor(cj: CronJob, scheduled: number): string {
  return `${cj.metadata?.name}-${Math.floor(scheduled / 60_000)}`;
}

/** The Job a CronJob creates for one activation. */
export function jobFromTemplate(cj: CronJob, scheduled: number, tz: string | undefined): Job {
  const tmpl = cj.spec?.jobTemplate ?? {};
  const labels = { ...(tmpl.metadata?.labels ?? {}) };
  const annotations = { ...(tmpl.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: formatInZone(scheduled, tz) };
  const job: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj, scheduled),
      annotations,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata?.name ?? '', uid: cj.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(tmpl.spec ?? { template: {} }),
  };
  if (Object.keys(labels).length) job.metadata!.labels = labels;
  return job;
}
