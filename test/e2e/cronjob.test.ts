import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CronJob, Job } from 'kubernetes-types/batch/v1.js';
import type { Event } from 'kubernetes-types/core/v1.js';
import { startCluster, waitFor, type Cluster } from '../helpers/cluster.js';
import { PodSim } from '../helpers/podsim.js';
import { RestClient, configFromKubeconfig } from '../../src/client/rest.js';
import { InformerFactory } from '../../src/client/informer.js';
import { EventRecorder } from '../../src/client/events.js';
import { FakeClock } from '../../src/controllers/batch/clock.js';
import { CRONJOBS, CronJobController } from '../../src/controllers/batch/cronjob.js';
import { JOBS } from '../../src/controllers/batch/job.js';

// CronJobs against a real `kite server`: a one-minute schedule really fires (so this test waits for the
// next minute boundary, at most about 70 s), and finished Jobs beyond the history limit are pruned.

async function getJson<T>(c: Cluster, ...args: string[]): Promise<T> {
  return JSON.parse(await c.k('get', ...args, '-o', 'json')) as T;
}

async function cronEvents(c: Cluster, name: string): Promise<Array<[string, string, string]>> {
  const list = await getJson<{ items: Event[] }>(c, 'events', '--field-selector', `involvedObject.kind=CronJob,involvedObject.name=${name}`);
  return list.items.map((e) => [e.type ?? '', e.reason ?? '', e.message ?? '']);
}

test('CronJobs: a one-minute schedule fires, and history limits prune finished Jobs', async (t) => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  const sim = await PodSim.start({ kubeconfig: c.kubeconfig, nodes: ['n1'] });
  try {
    await t.test('a "* * * * *" schedule creates a Job named after the scheduled minute, which completes', async () => {
      await c.k('create', 'cronjob', 'tick', '--image=busybox', '--schedule=* * * * *', '--', 'date');
      const out = await c.k('get', 'cronjobs');
      assert.match(out, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE\n/);
      assert.match(out, /\ntick\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\d+s\n/);

      const job = await waitFor(
        'the first scheduled Job',
        async () => (await getJson<{ items: Job[] }>(c, 'jobs')).items.find((j) => /^tick-\d+$/.test(j.metadata?.name ?? '')),
        80_000,
        500,
      );
      const minutes = Number(job.metadata!.name!.slice('tick-'.length));
      const scheduled = job.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'];
      assert.equal(scheduled, new Date(minutes * 60_000).toISOString().replace('.000Z', 'Z'));
      assert.deepEqual(job.metadata?.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['CronJob', 'tick', true]]);
      assert.equal(job.spec?.template.spec?.restartPolicy, 'OnFailure');

      await c.k('wait', '--for=condition=complete', `job/${job.metadata!.name}`, '--timeout=60s');
      const cj = await waitFor(
        'the CronJob to record the success',
        async () => {
          const x = await getJson<CronJob>(c, 'cronjob', 'tick');
          return x.status?.lastSuccessfulTime && !x.status.active?.length ? x : undefined;
        },
        30_000,
      );
      assert.equal(cj.status?.lastScheduleTime, scheduled);
      assert.match(await c.k('get', 'cronjob', 'tick'), /tick\s+\* \* \* \* \*\s+<none>\s+False\s+0\s+\d+s\s+\d+/);
      await waitFor('the CronJob events', async () => {
        const evs = await cronEvents(c, 'tick');
        return (
          evs.some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulCreate' && msg === `Created job ${job.metadata!.name}`) &&
          evs.some(([type, reason, msg]) => type === 'Normal' && reason === 'SawCompletedJob' && msg === `Saw completed job: ${job.metadata!.name}, status: Complete`)
        );
      });
      await c.k('patch', 'cronjob', 'tick', '--type=merge', '-p', '{"spec":{"suspend":true}}');
    });

    await t.test('finished Jobs beyond successfulJobsHistoryLimit are deleted, oldest first', async () => {
      await c.kubectl(['apply', '-f', '-'], {
        input: `
apiVersion: batch/v1
kind: CronJob
metadata: { name: hist }
spec:
  schedule: "0 0 1 1 *"
  successfulJobsHistoryLimit: 1
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [ { name: c, image: sim/succeed } ]
`,
      });
      const cj = await getJson<CronJob>(c, 'cronjob', 'hist');
      for (const n of [1, 2, 3]) {
        // Jobs the CronJob owns but did not create: they count toward its history all the same.
        await c.kubectl(['apply', '-f', '-'], {
          input: `
apiVersion: batch/v1
kind: Job
metadata:
  name: hist-${n}
  ownerReferences: [ { apiVersion: batch/v1, kind: CronJob, name: hist, uid: ${cj.metadata?.uid}, controller: true } ]
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [ { name: c, image: sim/succeed } ]
`,
        });
        await c.k('wait', '--for=condition=complete', `job/hist-${n}`, '--timeout=60s');
      }
      await waitFor(
        'only the newest Job to remain',
        async () => {
          const names = (await getJson<{ items: Job[] }>(c, 'jobs')).items.map((j) => j.metadata?.name).filter((n) => n?.startsWith('hist-'));
          return names.length === 1 && names[0] === 'hist-3';
        },
        30_000,
      );
      await waitFor('the SuccessfulDelete events', async () => {
        const evs = await cronEvents(c, 'hist');
        return ['hist-1', 'hist-2'].every((n) => evs.some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulDelete' && msg === `Deleted job ${n}`));
      });
    });

    assert.deepEqual(sim.errors, []);
  } finally {
    await sim.stop();
    await c.stop();
  }
});

function cronYaml(name: string, extra: string): string {
  return `
apiVersion: batch/v1
kind: CronJob
metadata: { name: ${name} }
spec:
  schedule: "* * * * *"
${extra
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [ { name: c, image: sim/run } ]
`;
}

test('CronJob concurrency policies, starting deadline and suspend, on a fake clock', async (t) => {
  // The server's CronJob controller is off. This one is driven by the test: its workers are stopped and
  // each sync is a direct reconcile on a clock the test moves, once its informers have caught up with the
  // server. Jobs and pods are handled by the server's Job controller and the pod simulator (sim/run pods
  // never finish, so Jobs stay active).
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler,cronjob'] });
  const sim = await PodSim.start({ kubeconfig: c.kubeconfig, nodes: ['n1'] });
  const client = new RestClient(configFromKubeconfig(c.kubeconfig, 'cronjob-test'));
  const informers = new InformerFactory(client);
  const clock = new FakeClock(Date.now());
  const controller = new CronJobController(clock);
  const cronInformer = informers.for(CRONJOBS);
  const jobInformer = informers.for(JOBS);
  const jobsOf = async (name: string) =>
    (await getJson<{ items: Job[] }>(c, 'jobs')).items.filter((j) => j.metadata?.ownerReferences?.[0]?.name === name && !j.metadata?.deletionTimestamp).map((j) => j.metadata?.name ?? '').sort();
  const active = async (name: string) => ((await getJson<CronJob>(c, 'cronjob', name)).status?.active ?? []).map((r) => r.name ?? '').sort();
  /** One sync of `name` at `seconds` past the next minute boundary, on caches that match the server. */
  const tick = async (name: string, seconds = 1) => {
    clock.set((Math.floor(clock.now() / 60_000) + 1) * 60_000 + seconds * 1000);
    const cj = await getJson<CronJob>(c, 'cronjob', name);
    const jobs = await jobsOf(name);
    await waitFor(`the informers to catch up with ${name}`, async () => {
      const cached = cronInformer.get(`default/${name}`);
      const cachedJobs = jobInformer
        .list()
        .filter((j) => j.metadata.ownerReferences?.[0]?.name === name && !j.metadata.deletionTimestamp)
        .map((j) => j.metadata.name ?? '')
        .sort();
      return cached?.metadata.resourceVersion === cj.metadata?.resourceVersion && cachedJobs.join() === jobs.join();
    });
    await (controller as unknown as { reconcile(key: string): Promise<void> }).reconcile(`default/${name}`);
    return `${name}-${Math.floor(clock.now() / 60_000)}`;
  };
  /** A new CronJob, created when the fake clock matches real time so no activation is already due. */
  const create = async (name: string, extra: string) => {
    clock.set(Date.now());
    await c.kubectl(['apply', '-f', '-'], { input: cronYaml(name, extra) });
  };
  try {
    controller.start({
      client,
      informers,
      recorder: (component) => new EventRecorder(client, component),
      log: () => undefined,
      options: { nodeMonitorGracePeriodMs: 40_000, defaultUnreachableTolerationSeconds: 300 },
    });
    // Handlers stay registered; the workers stop so that only the test's reconciles run.
    controller.stop();
    informers.start();

    await t.test('Allow runs activations side by side', async () => {
      await create('allow', 'concurrencyPolicy: Allow');
      const first = await tick('allow');
      assert.deepEqual(await active('allow'), [first]);
      const second = await tick('allow');
      assert.deepEqual(await active('allow'), [first, second].sort());
      assert.deepEqual(await jobsOf('allow'), [first, second].sort());
      const cj = await getJson<CronJob>(c, 'cronjob', 'allow');
      assert.equal(cj.status?.lastScheduleTime, new Date(Math.floor(clock.now() / 60_000) * 60_000).toISOString().replace('.000Z', 'Z'));
      // The same minute again creates nothing more.
      clock.advance(10_000);
      await (controller as unknown as { reconcile(key: string): Promise<void> }).reconcile('default/allow');
      assert.deepEqual(await jobsOf('allow'), [first, second].sort());
    });

    await t.test('Forbid skips an activation while a Job is still running', async () => {
      await create('forbid', 'concurrencyPolicy: Forbid');
      const first = await tick('forbid');
      assert.deepEqual(await active('forbid'), [first]);
      await tick('forbid');
      assert.deepEqual(await jobsOf('forbid'), [first]);
      await waitFor('the JobAlreadyActive event', async () =>
        (await cronEvents(c, 'forbid')).some(([type, reason, msg]) => type === 'Normal' && reason === 'JobAlreadyActive' && msg === 'Not starting job because prior execution is running and concurrency policy is Forbid'),
      );
    });

    await t.test('Replace deletes the running Job and starts the new one', async () => {
      await create('replace', 'concurrencyPolicy: Replace');
      const first = await tick('replace');
      assert.deepEqual(await active('replace'), [first]);
      const second = await tick('replace');
      assert.deepEqual(await active('replace'), [second]);
      await waitFor('the first Job to be deleted', async () => (await jobsOf('replace')).join() === second);
      await waitFor('the SuccessfulDelete event', async () => (await cronEvents(c, 'replace')).some(([type, reason, msg]) => type === 'Normal' && reason === 'SuccessfulDelete' && msg === `Deleted job ${first}`));
    });

    await t.test('an activation older than startingDeadlineSeconds is skipped', async () => {
      await create('late', 'startingDeadlineSeconds: 10');
      await tick('late', 30);
      assert.deepEqual(await jobsOf('late'), []);
      const inTime = await tick('late', 5);
      assert.deepEqual(await jobsOf('late'), [inTime]);
      // Without the deadline the same late sync starts the missed activation.
      await create('eager', '');
      const eager = await tick('eager', 30);
      assert.deepEqual(await jobsOf('eager'), [eager]);
    });

    await t.test('a suspended CronJob starts nothing until resumed', async () => {
      await create('paused', 'suspend: true');
      await tick('paused');
      await tick('paused');
      assert.deepEqual(await jobsOf('paused'), []);
      assert.equal((await getJson<CronJob>(c, 'cronjob', 'paused')).status?.lastScheduleTime, undefined);
      await c.k('patch', 'cronjob', 'paused', '--type=merge', '-p', '{"spec":{"suspend":false}}');
      const resumed = await tick('paused');
      assert.deepEqual(await jobsOf('paused'), [resumed]);
    });
    assert.deepEqual(sim.errors, []);
  } finally {
    await informers.stop();
    client.close();
    await sim.stop();
    await c.stop();
  }
});
