import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { Event, Pod } from 'kubernetes-types/core/v1.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { PodSim, PodWatch } from '../helpers/podsim.js';

// Jobs against a real `kite server` (scheduler off: the pod simulator binds and runs pods), driven by the
// real kubectl.

async function getJson<T>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

async function jobEvents(c: Cluster, name: string): Promise<Array<[string, string, string]>> {
  const list = await getJson<{ items: Event[] }>(c, 'events', '--field-selector', `involvedObject.kind=Job,involvedObject.name=${name}`);
  return list.items.map((e) => [e.type ?? '', e.reason ?? '', e.message ?? '']);
}

async function podsOf(c: Cluster, job: string): Promise<Pod[]> {
  return (await getJson<{ items: Pod[] }>(c, 'pods', '-l', `batch.kubernetes.io/job-name=${job}`)).items;
}

function jobYaml(name: string, spec: string, image = 'sim/succeed'): string {
  return `
apiVersion: batch/v1
kind: Job
metadata: { name: ${name} }
spec:
${spec
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
  template:
    spec:
      restartPolicy: Never
      containers: [ { name: main, image: ${image} } ]
`;
}

test('Jobs: completions, parallelism, failures, deadlines, Indexed mode, suspend and TTL', async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  const sim = await PodSim.start({ kubeconfig: c.kubeconfig, nodes: ['n1', 'n2'] });
  try {
    await t.test('kubectl create job runs to completion', async () => {
      await c.k('create', 'job', 'pi', '--image=busybox', '--', 'echo', 'hi');
      await c.k('wait', '--for=condition=complete', 'job/pi', '--timeout=60s');
      const out = await c.k('get', 'jobs');
      assert.match(out, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\n/);
      assert.match(out, /\npi\s+Complete\s+1\/1\s+\d+s\s+\d+s\n/);
      const job = await getJson<Job>(c, 'job', 'pi');
      assert.equal(job.status?.succeeded, 1);
      assert.equal(job.status?.active, 0);
      assert.deepEqual(job.status?.uncountedTerminatedPods, {});
      assert.ok(job.status?.startTime && job.status.completionTime);
      assert.deepEqual(
        job.status?.conditions?.map((x) => [x.type, x.status, x.reason, x.message]),
        [
          ['SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
          ['Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods'],
        ],
      );
      const [pod, ...rest] = await podsOf(c, 'pi');
      assert.equal(rest.length, 0);
      assert.match(pod!.metadata!.name!, /^pi-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(pod!.status?.phase, 'Succeeded');
      assert.deepEqual(pod!.metadata?.finalizers ?? [], [], 'the tracking finalizer is removed once counted');
      assert.deepEqual(pod!.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.controller, r.blockOwnerDeletion]), [['Job', 'pi', true, true]]);
      await waitFor('the Job events', async () => {
        const evs = await jobEvents(c, 'pi');
        return evs.some((e) => e[1] === 'Completed') ? evs : undefined;
      });
      const evs = await jobEvents(c, 'pi');
      assert.ok(evs.some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulCreate' && msg === `Created pod: ${pod!.metadata!.name}`), JSON.stringify(evs));
      assert.ok(evs.some(([type, reason, msg]) => type === 'Normal' && reason === 'Completed' && msg === 'Job completed'), JSON.stringify(evs));
    });

    await t.test('parallelism bounds the running pods until completions succeed', async () => {
      const watch = await PodWatch.start(c.kubeconfig, 'default', 'batch.kubernetes.io/job-name=par');
      try {
        await c.kubectl(['apply', '-f', '-'], { input: jobYaml('par', 'completions: 5\nparallelism: 2') });
        await c.k('wait', '--for=condition=complete', 'job/par', '--timeout=60s');
        const job = await getJson<Job>(c, 'job', 'par');
        assert.equal(job.status?.succeeded, 5);
        assert.equal((await podsOf(c, 'par')).length, 5);
        assert.match(await c.k('get', 'job', 'par'), /par\s+Complete\s+5\/5/);
        let maxRunning = 0;
        watch.replay((pods) => {
          const running = [...pods.values()].filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed' && !p.deleting).length;
          maxRunning = Math.max(maxRunning, running);
        });
        assert.ok(maxRunning <= 2, `at most 2 pods at once, saw ${maxRunning}`);
        assert.ok(maxRunning >= 1);
      } finally {
        watch.stop();
      }
    });

    await t.test('failed pods count against backoffLimit', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: jobYaml('flaky', 'backoffLimit: 1', 'sim/fail') });
      await c.k('wait', '--for=condition=failed', 'job/flaky', '--timeout=90s');
      const job = await getJson<Job>(c, 'job', 'flaky');
      assert.equal(job.status?.failed, 2);
      assert.equal(job.status?.succeeded ?? 0, 0);
      assert.deepEqual(
        job.status?.conditions?.map((x) => [x.type, x.status, x.reason, x.message]),
        [
          ['FailureTarget', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
          ['Failed', 'True', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit'],
        ],
      );
      assert.equal(job.status?.completionTime, undefined);
      const pods = await podsOf(c, 'flaky');
      assert.equal(pods.length, 2);
      assert.ok(pods.every((p) => p.status?.phase === 'Failed' && (p.metadata?.finalizers ?? []).length === 0));
      assert.match(await c.k('get', 'job', 'flaky'), /flaky\s+Failed\s+0\/1/);
      await waitFor('the BackoffLimitExceeded event', async () =>
        (await jobEvents(c, 'flaky')).some(([type, reason, msg]) => type === 'Warning' && reason === 'BackoffLimitExceeded' && msg === 'Job has reached the specified backoff limit'),
      );
    });

    await t.test('activeDeadlineSeconds fails the Job and stops its pods', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: jobYaml('slow', 'parallelism: 2\ncompletions: 2\nactiveDeadlineSeconds: 2', 'sim/run') });
      await c.k('wait', '--for=condition=failed', 'job/slow', '--timeout=60s');
      const job = await getJson<Job>(c, 'job', 'slow');
      const failed = job.status?.conditions?.find((x) => x.type === 'Failed');
      assert.equal(failed?.reason, 'DeadlineExceeded');
      assert.equal(failed?.message, 'Job was active longer than specified deadline');
      assert.equal(job.status?.active, 0);
      assert.equal(job.status?.failed, 2);
      await waitFor('the deadline-exceeded pods to be gone', async () => (await podsOf(c, 'slow')).length === 0);
      await waitFor('the DeadlineExceeded event', async () => (await jobEvents(c, 'slow')).some(([type, reason]) => type === 'Warning' && reason === 'DeadlineExceeded'));
    });

    await t.test('Indexed Jobs give each pod its completion index', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: jobYaml('idx', 'completions: 3\nparallelism: 3\ncompletionMode: Indexed') });
      await c.k('wait', '--for=condition=complete', 'job/idx', '--timeout=60s');
      const job = await getJson<Job>(c, 'job', 'idx');
      assert.equal(job.status?.completedIndexes, '0-2');
      assert.equal(job.status?.succeeded, 3);
      const pods = (await podsOf(c, 'idx')).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      assert.equal(pods.length, 3);
      pods.forEach((p, i) => {
        assert.match(p.metadata?.name ?? '', new RegExp(`^idx-${i}-[a-z0-9]{5}$`));
        assert.equal(p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'], String(i));
        assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], String(i));
        assert.equal(p.spec?.hostname, `idx-${i}`);
        assert.deepEqual(p.spec?.containers[0]?.env, [{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
      });
    });

    await t.test('a suspended Job starts no pods until resumed', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: jobYaml('later', 'suspend: true') });
      await waitFor('the Suspended condition', async () => {
        const job = await getJson<Job>(c, 'job', 'later');
        const s = job.status?.conditions?.find((x) => x.type === 'Suspended');
        return s?.status === 'True' && s.reason === 'JobSuspended' && s.message === 'Job suspended';
      });
      const job = await getJson<Job>(c, 'job', 'later');
      assert.equal(job.status?.startTime, undefined);
      assert.equal((await podsOf(c, 'later')).length, 0);
      assert.match(await c.k('get', 'job', 'later'), /later\s+Suspended\s+0\/1/);
      await c.k('patch', 'job', 'later', '--type=merge', '-p', '{"spec":{"suspend":false}}');
      await c.k('wait', '--for=condition=complete', 'job/later', '--timeout=60s');
      const done = await getJson<Job>(c, 'job', 'later');
      const s = done.status?.conditions?.find((x) => x.type === 'Suspended');
      assert.deepEqual([s?.status, s?.reason, s?.message], ['False', 'JobResumed', 'Job resumed']);
      const evs = await jobEvents(c, 'later');
      assert.ok(evs.some(([, reason, msg]) => reason === 'Suspended' && msg === 'Job suspended'), JSON.stringify(evs));
      assert.ok(evs.some(([, reason, msg]) => reason === 'Resumed' && msg === 'Job resumed'), JSON.stringify(evs));
    });

    await t.test('ttlSecondsAfterFinished deletes the finished Job', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: jobYaml('brief', 'ttlSecondsAfterFinished: 1') });
      // Foreground deletion: the Job is marked for deletion at once and removed once the garbage collector
      // has removed its pods.
      const state = await waitFor(
        'the Job to be deleted',
        async () => {
          const r = await c.kubectl(['get', 'job', 'brief', '-o', 'json']);
          if (r.code !== 0 && /NotFound/.test(r.stderr)) return 'gone';
          const job = JSON.parse(r.stdout) as Job;
          return job.metadata?.deletionTimestamp ? job : undefined;
        },
        30_000,
      );
      if (state === 'gone') assert.equal((await podsOf(c, 'brief')).length, 0);
      else assert.ok(state.metadata?.finalizers?.includes('foregroundDeletion'));
      // It was deleted after it completed (events outlive their object).
      await waitFor('the Completed event', async () => (await jobEvents(c, 'brief')).some(([, reason]) => reason === 'Completed'));
    });

    await t.test('deleting a running Job releases and removes its pods', async () => {
      await c.kubectl(['apply', '-f', '-'], { input: jobYaml('doomed', 'parallelism: 2\ncompletions: 2', 'sim/run') });
      await waitFor('two running pods', async () => (await podsOf(c, 'doomed')).filter((p) => p.status?.phase === 'Running').length === 2);
      assert.ok((await podsOf(c, 'doomed')).every((p) => p.metadata?.finalizers?.includes('batch.kubernetes.io/job-tracking')));
      await c.k('delete', 'job', 'doomed', '--wait=false');
      // The garbage collector deletes the pods; the Job controller drops the finalizer of pods whose Job is gone.
      await waitFor('the pods to be gone', async () => (await podsOf(c, 'doomed')).length === 0, 30_000);
    });

    assert.deepEqual(sim.errors, []);
  } finally {
    await sim.stop();
    await c.stop();
  }
});
