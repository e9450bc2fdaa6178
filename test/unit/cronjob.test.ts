import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob } from 'kubernetes-types/batch/v1.js';
import { FakeClock, rfc3339 } from '../../src/controllers/batch/clock.js';
import {
  SCHEDULED_TIMESTAMP_ANNOTATION,
  formatInZone,
  isValidTimeZone,
  jobFromTemplate,
  jobNameFor,
  mostRecentScheduleTime,
  nextInZone,
  nextScheduleDelay,
  parseSchedule,
  zoneOffset,
} from '../../src/controllers/batch/cronschedule.js';

// CronJob time arithmetic, on a fake clock.

function cronJob(schedule: string, extra: Partial<NonNullable<CronJob['spec']>> = {}, status: CronJob['status'] = {}, created = '2024-01-15T09:00:30Z'): CronJob {
  return {
    metadata: { name: 'hello', namespace: 'default', uid: 'cj-uid', creationTimestamp: created },
    spec: { schedule, jobTemplate: { metadata: { labels: { team: 'a' } }, spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'OnFailure' } } } }, ...extra },
    status,
  };
}

const at = (s: string) => Date.parse(s);

test('no activation is due before the first one after creation', () => {
  const cj = cronJob('*/5 * * * *');
  const ps = parseSchedule(cj);
  const r = mostRecentScheduleTime(cj, at('2024-01-15T09:04:59Z'), ps, true);
  assert.equal(r.mostRecent, undefined);
  assert.equal(r.missed, 'none');
  // The controller wakes just after 09:05.
  assert.equal(nextScheduleDelay(cj, at('2024-01-15T09:04:59Z'), ps), 1_100);
});

test('the most recent activation is chosen when several were missed', () => {
  const cj = cronJob('*/5 * * * *');
  const ps = parseSchedule(cj);
  const r1 = mostRecentScheduleTime(cj, at('2024-01-15T09:05:10Z'), ps, true);
  assert.equal(rfc3339(r1.mostRecent!), '2024-01-15T09:05:00Z');
  assert.equal(r1.missed, 'none');
  const r2 = mostRecentScheduleTime(cj, at('2024-01-15T09:31:00Z'), ps, true);
  assert.equal(rfc3339(r2.mostRecent!), '2024-01-15T09:30:00Z');
  assert.equal(r2.missed, 'few');
  const r3 = mostRecentScheduleTime(cj, at('2024-01-16T09:31:00Z'), ps, true);
  assert.equal(rfc3339(r3.mostRecent!), '2024-01-16T09:30:00Z');
  assert.equal(r3.missed, 'many');
});

test('lastScheduleTime moves the search forward; startingDeadlineSeconds bounds how far back it looks', () => {
  const done = cronJob('0 * * * *', {}, { lastScheduleTime: '2024-01-15T10:00:00Z' });
  const ps = parseSchedule(done);
  assert.equal(mostRecentScheduleTime(done, at('2024-01-15T10:30:00Z'), ps, true).mostRecent, undefined);
  assert.equal(rfc3339(mostRecentScheduleTime(done, at('2024-01-15T11:00:05Z'), ps, true).mostRecent!), '2024-01-15T11:00:00Z');
  const bounded = cronJob('0 * * * *', { startingDeadlineSeconds: 60 }, { lastScheduleTime: '2024-01-15T10:00:00Z' });
  assert.equal(mostRecentScheduleTime(bounded, at('2024-01-15T11:02:00Z'), ps, true).mostRecent, undefined);
  assert.equal(rfc3339(mostRecentScheduleTime(bounded, at('2024-01-15T11:00:30Z'), ps, true).mostRecent!), '2024-01-15T11:00:00Z');
});

test('spec.timeZone reads the schedule in that zone, across daylight saving time', () => {
  assert.equal(isValidTimeZone('Europe/Paris'), true);
  assert.equal(isValidTimeZone('Mars/Olympus'), false);
  const cj = cronJob('0 9 * * *', { timeZone: 'Europe/Paris' });
  const ps = parseSchedule(cj);
  assert.equal(ps.tz, 'Europe/Paris');
  assert.equal(rfc3339(nextInZone(ps.sched, ps.tz, at('2024-01-15T00:00:00Z'))!), '2024-01-15T08:00:00Z');
  assert.equal(rfc3339(nextInZone(ps.sched, ps.tz, at('2024-07-15T00:00:00Z'))!), '2024-07-15T07:00:00Z');
  // The night clocks go forward (31 March 2024), 9:00 is still 9:00 local.
  assert.equal(rfc3339(nextInZone(ps.sched, ps.tz, at('2024-03-30T08:30:00Z'))!), '2024-03-31T07:00:00Z');
  assert.equal(zoneOffset(at('2024-01-15T00:00:00Z'), 'America/New_York'), -5 * 3600_000);
  assert.equal(formatInZone(at('2024-01-15T08:00:00Z'), 'Europe/Paris'), '2024-01-15T09:00:00+01:00');
  assert.equal(formatInZone(at('2024-01-15T08:00:00Z'), 'America/St_Johns'), '2024-01-15T04:30:00-03:30');
  assert.equal(formatInZone(at('2024-01-15T08:00:00Z'), undefined), '2024-01-15T08:00:00Z');
});

test('a TZ= prefix in the schedule is honoured and flagged', () => {
  const ps = parseSchedule(cronJob('TZ=Asia/Tokyo 30 6 * * *'));
  assert.equal(ps.inlineZone, true);
  assert.equal(ps.tz, 'Asia/Tokyo');
  assert.equal(rfc3339(nextInZone(ps.sched, ps.tz, at('2024-01-15T00:00:00Z'))!), '2024-01-15T21:30:00Z');
  assert.throws(() => parseSchedule(cronJob('61 * * * *')));
});

test('the Job for an activation: deterministic name, template labels, scheduled-timestamp annotation, owner', () => {
  const cj = cronJob('*/1 * * * *', { timeZone: 'Europe/Paris' });
  const t = at('2024-01-15T09:07:00Z');
  assert.equal(jobNameFor(cj, t), `hello-${t / 60_000}`);
  const job = jobFromTemplate(cj, t, 'Europe/Paris');
  assert.equal(job.metadata?.name, 'hello-28421827');
  assert.deepEqual(job.metadata?.labels, { team: 'a' });
  assert.equal(job.metadata?.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION], '2024-01-15T10:07:00+01:00');
  assert.deepEqual(job.metadata?.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', uid: 'cj-uid', controller: true, blockOwnerDeletion: true }]);
  assert.equal(job.spec?.template.spec?.restartPolicy, 'OnFailure');
});

test('a fake clock drives the schedule: every minute, one activation per minute', () => {
  const clock = new FakeClock(at('2024-01-15T09:00:30Z'));
  const cj = cronJob('* * * * *');
  const ps = parseSchedule(cj);
  const fired: string[] = [];
  for (let i = 0; i < 5; i++) {
    clock.advance(nextScheduleDelay(cj, clock.now(), ps));
    const r = mostRecentScheduleTime(cj, clock.now(), ps, true);
    assert.ok(r.mostRecent !== undefined);
    fired.push(jobNameFor(cj, r.mostRecent));
    cj.status = { lastScheduleTime: rfc3339(r.mostRecent) };
  }
  const base = at('2024-01-15T09:01:00Z') / 60_000;
  assert.deepEqual(fired, [0, 1, 2, 3, 4].map((i) => `hello-${base + i}`));
});
