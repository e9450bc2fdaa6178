import { mkdirSync, openSync, readSync, closeSync, fstatSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Container, Pod, PodStatus } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from '../client/rest.js';
import type { ContainerStatus, PodSandboxStatus, RuntimeService } from '../runtime/interface.js';
import { Backoff } from './backoff.js';
import { buildContainerConfig, containerHash } from './container.js';
import { containerFieldPath } from './containerref.js';
import { ContainerConfigError, resolveEnv, type EnvSources } from './env.js';
import { runHook } from './hooks.js';
import { ImageError, type ImagePuller } from './images.js';
import { ANN_HASH, ANN_TERMINATION_FILE, ANN_TERMINATION_POLICY, LABEL_CONTAINER_NAME, errorMessage, goDuration, isSidecar, isTerminalPhase, podDesc, restartPolicy, shouldRestart } from './meta.js';
import { computePodStatus, statusPatch } from './podstatus.js';
import type { ProbeManager, RunningContainer } from './probes.js';
import { podRequests } from './resources.js';
import { sandboxConfig, type DnsSettings } from './sandbox.js';
import type { VolumeManager } from './types.js';
import type { PodRecord, SyncResult } from './workers.js';

// syncPod: one level-based pass over a pod, as the kubelet's SyncPod/SyncTerminatingPod: compare what the
// spec wants with what the runtime shows and take the next steps (admit, mount, sandbox, init containers in
// order, app containers, restarts with back-off, probes' verdicts), then report the status if it changed.

const PODS = resource('', 'v1', 'pods');
const TERMINATION_MESSAGE_MAX = 4096;
const FALLBACK_LOG_BYTES = 2048;
const FALLBACK_LOG_LINES = 80;
const DEFAULT_GRACE_SECONDS = 30;

/** Records an event on the pod; `fieldPath` names the container it is about (see containerFieldPath). */
export type EventFn = (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string) => void;

export interface SyncDeps {
  client: RestClient;
  runtime: RuntimeService;
  volumes: VolumeManager;
  puller: ImagePuller;
  probes: ProbeManager;
  event: EventFn;
  env: EnvSources;
  dns: DnsSettings;
  hostIP: string;
  dataDir: string;
  crashBackoff: Backoff;
  /** A container that ran this long before exiting restarts without back-off. */
  backoffResetMs: number;
  volumeRefreshMs: number;
  allocatable: { cpuMilli: number; memoryBytes: number; pods: number };
  /** Other pods admitted on this node (for the resource fit check). */
  admittedPods(exceptUid: string): Pod[];
  /** "docker.io/library/x@sha256:…" for an image ID (cached by the caller). */
  imageRef(imageId: string): string;
  log(msg: string): void;
}

/** The runtime's view of one pod. */
export interface Observed {
  sandboxes: PodSandboxStatus[];
  /** Instances per container name, latest attempt first. */
  instances: Map<string, ContainerStatus[]>;
  all: ContainerStatus[];
}

export function containerName(cs: ContainerStatus): string {
  return cs.labels[LABEL_CONTAINER_NAME] ?? cs.name;
}

export class PodSyncer {
  private readonly messages = new Map<string, string | undefined>();

  constructor(private readonly d: SyncDeps) {}

  podDir(uid: string): string {
    return join(this.d.dataDir, 'pods', uid);
  }

  logDir(pod: Pod): string {
    return join(this.d.dataDir, 'logs', `${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`);
  }

  async observe(uid: string): Promise<Observed> {
    const sandboxes = (await this.d.runtime.listPodSandboxes()).filter((s) => s.podUid === uid).sort((a, b) => b.createdAt - a.createdAt);
    const all: ContainerStatus[] = [];
    for (const sb of sandboxes) all.push(...(await this.d.runtime.listContainers({ sandboxId: sb.id })));
    const instances = new Map<string, ContainerStatus[]>();
    for (const cs of all) {
      const n = containerName(cs);
      let l = instances.get(n);
      if (!l) instances.set(n, (l = []));
      l.push(cs);
    }
    for (const l of instances.values()) l.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
    return { sandboxes, instances, all };
  }

  async sync(rec: PodRecord): Promise<SyncResult> {
    const pod = rec.pod;
    let obs = await this.observe(rec.uid);
    if (rec.gone || pod.metadata?.deletionTimestamp) return this.terminate(rec, obs);

    const apiPhase = pod.status?.phase;
    if (isTerminalPhase(apiPhase) || isTerminalPhase(rec.lastStatus?.phase) || rec.override) {
      // The phase is final: nothing starts again. Keep reporting what was reported.
      if (!rec.override && isTerminalPhase(apiPhase)) rec.override = { phase: apiPhase as 'Failed' | 'Succeeded', reason: pod.status?.reason, message: pod.status?.message };
      await this.release(rec, obs);
      await this.writeStatus(rec);
      return {};
    }

    if (rec.admitted === undefined) {
      const reject = obs.all.length > 0 || apiPhase === 'Running' ? undefined : this.admit(pod);
      rec.admitted = !reject;
      if (reject) {
        rec.override = { phase: 'Failed', ...reject };
        this.d.event(pod, 'Warning', reject.reason, reject.message);
        await this.writeStatus(rec);
        return {};
      }
    }

    let requeue = Infinity;
    const after = (ms: number) => (requeue = Math.min(requeue, ms));

    const deadline = pod.spec?.activeDeadlineSeconds;
    const startMs = Date.parse(pod.status?.startTime ?? rec.lastStatus?.startTime ?? '');
    if (deadline !== undefined && Number.isFinite(startMs)) {
      const left = startMs + deadline * 1000 - Date.now();
      if (left <= 0) {
        const message = 'Pod was active on the node longer than the specified deadline';
        rec.override = { phase: 'Failed', reason: 'DeadlineExceeded', message };
        this.d.event(pod, 'Normal', 'DeadlineExceeded', message);
        await this.release(rec, obs);
        await this.writeStatus(rec);
        return {};
      }
      after(left + 10);
    }

    // Volumes: every volume is ready before any container starts.
    if (!rec.volumes) {
      try {
        rec.volumes = await this.d.volumes.setUp(pod);
        rec.volumesAt = Date.now();
        rec.mountFailures = 0;
      } catch (e) {
        rec.mountFailures++;
        this.d.event(pod, 'Warning', (e as { reason?: string }).reason ?? 'FailedMount', errorMessage(e));
        await this.writeStatus(rec);
        return { requeueMs: Math.min(1000 * 2 ** Math.min(rec.mountFailures, 5), 30_000) };
      }
    } else if (Date.now() - rec.volumesAt >= this.d.volumeRefreshMs) {
      rec.volumesAt = Date.now();
      await this.d.volumes.refresh(pod).catch((e: unknown) => this.d.log(`refreshing volumes of ${podDesc(pod)}: ${errorMessage(e)}`));
    }

    // Sandbox.
    let sandbox = obs.sandboxes.find((s) => s.state === 'Ready');
    if (!sandbox) {
      if (obs.all.length > 0 && restartPolicy(pod) === 'Never' && obs.sandboxes.length > 0) {
        // The kubelet does not re-create the sandbox of a Never pod whose containers already ran.
        await this.writeStatus(rec);
        return {};
      }
      if (obs.sandboxes.length > 0) {
        this.d.event(pod, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
        for (const cs of obs.all) if (cs.state === 'Running') await this.d.runtime.stopContainer(cs.id, 0).catch(() => undefined);
      }
      const attempt = obs.sandboxes.length ? Math.max(...obs.sandboxes.map((s) => s.attempt)) + 1 : 0;
      try {
        sandbox = await this.d.runtime.runPodSandbox(sandboxConfig(pod, attempt, this.d.dns));
      } catch (e) {
        this.d.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${errorMessage(e)}`);
        await this.writeStatus(rec);
        return { requeueMs: 5000 };
      }
      obs = await this.observe(rec.uid);
    }

    const policy = restartPolicy(pod);
    const inSandbox = (name: string) => (obs.instances.get(name) ?? []).filter((c) => c.sandboxId === sandbox!.id);
    const nextAttempt = (name: string) => (obs.instances.get(name)?.[0]?.attempt ?? -1) + 1;

    // Init containers, in order, each to completion.
    let initDone = true;
    for (const c of pod.spec?.initContainers ?? []) {
      const latest = inSandbox(c.name)[0];
      if (isSidecar(c)) {
        if (latest?.state === 'Running') {
          if (await this.checkRunning(rec, c, latest)) after(0);
          if (this.d.probes.started(latest.id, c)) continue;
        } else await this.startOrRestart(rec, c, true, latest, nextAttempt(c.name), sandbox, after);
        initDone = false;
        break;
      }
      if (latest && latest.state === 'Exited' && (latest.exitCode ?? 0) === 0) continue;
      initDone = false;
      if (latest?.state === 'Running') break;
      if (latest?.state === 'Exited' && !shouldRestart(policy, latest.exitCode ?? 0)) {
        rec.waiting.delete(c.name);
        break;
      }
      await this.startOrRestart(rec, c, true, latest, nextAttempt(c.name), sandbox, after);
      break;
    }

    if (initDone) {
      for (const c of pod.spec?.containers ?? []) {
        const latest = inSandbox(c.name)[0];
        if (latest?.state === 'Running') {
          if (await this.checkRunning(rec, c, latest)) after(0);
          continue;
        }
        if (latest?.state === 'Exited' && !shouldRestart(policy, latest.exitCode ?? 0)) {
          rec.waiting.delete(c.name);
          continue;
        }
        await this.startOrRestart(rec, c, false, latest, nextAttempt(c.name), sandbox, after);
      }
    }

    obs = await this.observe(rec.uid);
    this.updateProbes(pod, sandbox, obs);
    await this.removeOldInstances(obs);
    await this.writeStatus(rec, obs);
    return { requeueMs: requeue };
  }

  /** Acts on a running container's probe verdicts and spec changes; true when it was killed. */
  private async checkRunning(rec: PodRecord, c: Container, cs: ContainerStatus): Promise<boolean> {
    const pod = rec.pod;
    let why: string | undefined;
    const failed = this.d.probes.failed(cs.id);
    if (failed) why = `Container ${c.name} failed ${failed} probe, will be restarted`;
    else if (cs.annotations[ANN_HASH] && cs.annotations[ANN_HASH] !== containerHash(c)) why = `Container ${c.name} definition changed, will be restarted`;
    if (!why) return false;
    this.d.event(pod, 'Normal', 'Killing', why, containerFieldPath(pod, c.name));
    await this.killContainer(pod, c, cs, this.graceSeconds(pod));
    return true;
  }

  private async startOrRestart(rec: PodRecord, c: Container, init: boolean, latest: ContainerStatus | undefined, attempt: number, sandbox: PodSandboxStatus, after: (ms: number) => void): Promise<void> {
    const pod = rec.pod;
    if (latest?.state === 'Created' || latest?.state === 'Unknown') {
      // Left half-made (the agent stopped between create and start): start over.
      await this.d.runtime.removeContainer(latest.id).catch(() => undefined);
      latest = undefined;
    }
    if (latest?.state === 'Exited') {
      const key = `${rec.uid}/${c.name}`;
      const ran = (latest.finishedAt ?? 0) - (latest.startedAt ?? latest.finishedAt ?? 0);
      if (ran >= this.d.backoffResetMs) this.d.crashBackoff.reset(key);
      const left = this.d.crashBackoff.remaining(key, latest.finishedAt ?? Date.now());
      if (left > 0) {
        const delay = goDuration(this.d.crashBackoff.delay(key));
        rec.waiting.set(c.name, { reason: 'CrashLoopBackOff', message: `back-off ${delay} restarting failed container=${c.name} pod=${podDesc(pod)}` });
        this.d.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podDesc(pod)}`, containerFieldPath(pod, c.name));
        after(left + 5);
        return;
      }
      this.d.crashBackoff.next(key);
    }
    await this.startContainer(rec, c, init, attempt, sandbox, after);
  }

  private async startContainer(rec: PodRecord, c: Container, init: boolean, attempt: number, sandbox: PodSandboxStatus, after: (ms: number) => void): Promise<void> {
    const pod = rec.pod;
    const { runtime, event } = this.d;
    const ref = containerFieldPath(pod, c.name);
    let image;
    try {
      image = await this.d.puller.ensure(pod, c);
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      rec.waiting.set(c.name, { reason: e.reason, message: e.message });
      const wait = this.d.puller.retryInMs(pod, c);
      if (wait > 0) after(wait + 5);
      return;
    }
    let config;
    try {
      const resolved = await resolveEnv(pod, c, { podIP: sandbox.ip, podIPs: sandbox.ip ? [sandbox.ip] : [], hostIP: this.d.hostIP, hostIPs: [this.d.hostIP] }, this.d.env);
      for (const s of resolved.skipped) event(pod, 'Warning', 'InvalidEnvironmentVariableNames', `Keys [${s.keys.join(', ')}] from the EnvFrom ${s.source} were skipped since they are considered invalid environment variable names.`);
      const logDir = join(this.logDir(pod), c.name);
      mkdirSync(logDir, { recursive: true });
      config = buildContainerConfig({
        pod,
        container: c,
        init,
        attempt,
        image,
        env: resolved.env,
        volumes: rec.volumes ?? new Map(),
        paths: { containerDir: join(this.podDir(rec.uid), 'containers', c.name), logPath: join(logDir, `${attempt}.log`) },
      });
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      rec.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
      event(pod, 'Warning', 'Failed', `Error: ${e.message}`, ref);
      return;
    }
    let id: string;
    try {
      id = await runtime.createContainer(sandbox.id, config);
    } catch (e) {
      rec.waiting.set(c.name, { reason: 'CreateContainerError', message: errorMessage(e) });
      event(pod, 'Warning', 'Failed', `Error: ${errorMessage(e)}`, ref);
      return;
    }
    event(pod, 'Normal', 'Created', `Created container: ${c.name}`, ref);
    try {
      await runtime.startContainer(id);
    } catch (e) {
      const msg = `failed to start container "${id}": ${errorMessage(e)}`;
      rec.waiting.set(c.name, { reason: 'RunContainerError', message: msg });
      event(pod, 'Warning', 'Failed', `Error: ${msg}`, ref);
      return;
    }
    event(pod, 'Normal', 'Started', `Started container ${c.name}`, ref);
    rec.waiting.delete(c.name);
    const post = c.lifecycle?.postStart;
    if (post) {
      const r = await runHook(runtime, post, pod, c, id, sandbox.ip, this.graceSeconds(pod) * 1000);
      if (!r.ok) {
        event(pod, 'Warning', 'FailedPostStartHook', r.output, ref);
        await runtime.stopContainer(id, this.graceSeconds(pod)).catch(() => undefined);
        after(0);
      }
    }
  }

  private graceSeconds(pod: Pod): number {
    return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  }

  /** preStop, then TERM and KILL after what is left of the grace period. */
  private async killContainer(pod: Pod, c: Container | undefined, cs: ContainerStatus, graceSeconds: number): Promise<void> {
    const deadline = Date.now() + graceSeconds * 1000;
    const pre = c?.lifecycle?.preStop;
    if (pre && cs.state === 'Running' && graceSeconds > 0) {
      const sandbox = await this.d.runtime.podSandboxStatus(cs.sandboxId).catch(() => undefined);
      const r = await runHook(this.d.runtime, pre, pod, c!, cs.id, sandbox?.ip, graceSeconds * 1000);
      if (!r.ok) this.d.event(pod, 'Warning', 'FailedPreStopHook', r.output, containerFieldPath(pod, c!.name));
    }
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    await this.d.runtime.stopContainer(cs.id, left);
  }

  private specOf(pod: Pod, name: string): Container | undefined {
    return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === name);
  }

  /** Stops every running container with the grace period; Killing events as the kubelet writes them. */
  private async stopAll(pod: Pod, obs: Observed, graceSeconds: number): Promise<void> {
    await Promise.all(
      obs.all
        .filter((cs) => cs.state === 'Running' || cs.state === 'Created')
        .map(async (cs) => {
          const name = containerName(cs);
          this.d.event(pod, 'Normal', 'Killing', `Stopping container ${name}`, containerFieldPath(pod, name));
          await this.killContainer(pod, this.specOf(pod, name), cs, graceSeconds).catch((e: unknown) => this.d.log(`stopping container ${name} of ${podDesc(pod)}: ${errorMessage(e)}`));
        }),
    );
  }

  /** A pod whose phase is final: stop what still runs, release the sandbox and volumes; keep the containers for logs. */
  private async release(rec: PodRecord, obs: Observed): Promise<void> {
    if (rec.released) return;
    await this.stopAll(rec.pod, obs, this.graceSeconds(rec.pod));
    this.d.probes.removePod(rec.uid);
    for (const sb of obs.sandboxes) await this.d.runtime.stopPodSandbox(sb.id);
    await this.d.volumes.tearDown(rec.uid);
    rec.volumes = undefined;
    rec.released = true;
  }

  /** Deletion: preStop and stop with the pod's grace period, remove everything, then the final delete. */
  private async terminate(rec: PodRecord, obs: Observed): Promise<SyncResult> {
    const pod = rec.pod;
    rec.terminatingSince ??= Date.now();
    const grace = Math.max(0, this.graceSeconds(pod) - Math.floor((Date.now() - rec.terminatingSince) / 1000));
    await this.stopAll(pod, obs, grace);
    this.d.probes.removePod(rec.uid);
    for (const sb of obs.sandboxes) {
      await this.d.runtime.stopPodSandbox(sb.id);
      await this.d.runtime.removePodSandbox(sb.id);
    }
    await this.d.volumes.tearDown(rec.uid);
    this.d.crashBackoff.forget(`${rec.uid}/`);
    this.d.puller.forgetPod(rec.uid);
    for (const cs of obs.all) this.messages.delete(cs.id);
    // Only what this agent wrote: the volume manager owns (and has removed) pods/<uid>/volumes.
    rmSync(join(this.podDir(rec.uid), 'containers'), { recursive: true, force: true });
    try {
      rmdirSync(this.podDir(rec.uid));
    } catch {
      // not empty or already gone
    }
    rmSync(this.logDir(pod), { recursive: true, force: true });
    if (!rec.gone) {
      try {
        await this.d.client.delete(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: rec.uid } });
      } catch (e) {
        if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
      }
    }
    return { finished: true };
  }

  private admit(pod: Pod): { reason: string; message: string } | undefined {
    const others = this.d.admittedPods(pod.metadata?.uid ?? '');
    const a = this.d.allocatable;
    if (others.length + 1 > a.pods) return { reason: 'OutOfpods', message: `Pod was rejected: Node didn't have enough resource: pods, requested: 1, used: ${others.length}, capacity: ${a.pods}` };
    const want = podRequests(pod);
    let cpu = 0;
    let mem = 0;
    for (const p of others) {
      const r = podRequests(p);
      cpu += r.cpuMilli;
      mem += r.memoryBytes;
    }
    if (want.cpuMilli > 0 && cpu + want.cpuMilli > a.cpuMilli) return { reason: 'OutOfcpu', message: `Pod was rejected: Node didn't have enough resource: cpu, requested: ${want.cpuMilli}, used: ${cpu}, capacity: ${a.cpuMilli}` };
    if (want.memoryBytes > 0 && mem + want.memoryBytes > a.memoryBytes) return { reason: 'OutOfmemory', message: `Pod was rejected: Node didn't have enough resource: memory, requested: ${want.memoryBytes}, used: ${mem}, capacity: ${a.memoryBytes}` };
    return undefined;
  }

  private updateProbes(pod: Pod, sandbox: PodSandboxStatus, obs: Observed): void {
    const running: RunningContainer[] = [];
    const prev = new Map([...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].map((s) => [s.containerID, s.ready]));
    for (const c of [...(pod.spec?.initContainers ?? []).filter(isSidecar), ...(pod.spec?.containers ?? [])]) {
      const cs = obs.instances.get(c.name)?.[0];
      if (cs?.state !== 'Running') continue;
      running.push({ container: c, id: cs.id, startedAt: cs.startedAt ?? cs.createdAt, initialReady: prev.get(`runc://${cs.id}`) === true });
    }
    this.d.probes.update(pod, sandbox.ip, running);
  }

  /** Keeps the last two instances of each container (current and --previous); older exited ones go. */
  private async removeOldInstances(obs: Observed): Promise<void> {
    for (const list of obs.instances.values())
      for (const cs of list.slice(2))
        if (cs.state === 'Exited') {
          await this.d.runtime.removeContainer(cs.id).catch(() => undefined);
          this.messages.delete(cs.id);
        }
  }

  /** terminated.message: the termination-log file, or the log tail with FallbackToLogsOnError. */
  terminationMessage(cs: ContainerStatus): string | undefined {
    if (cs.state !== 'Exited') return undefined;
    if (this.messages.has(cs.id)) return this.messages.get(cs.id);
    let msg = cs.message || readTail(cs.annotations[ANN_TERMINATION_FILE], TERMINATION_MESSAGE_MAX, false);
    if (!msg && cs.annotations[ANN_TERMINATION_POLICY] === 'FallbackToLogsOnError' && (cs.exitCode ?? 0) !== 0) msg = logTail(cs.logPath);
    this.messages.set(cs.id, msg || undefined);
    return msg || undefined;
  }

  /** Computes the status and patches it when something this agent owns changed. */
  async writeStatus(rec: PodRecord, obs?: Observed): Promise<void> {
    obs ??= await this.observe(rec.uid);
    const pod = rec.pod;
    const status = computePodStatus({
      pod,
      hostIP: this.d.hostIP,
      sandbox: obs.sandboxes.find((s) => s.state === 'Ready'),
      instances: obs.instances,
      waiting: rec.waiting,
      ready: (id, c) => this.d.probes.ready(id, c),
      started: (id, c) => this.d.probes.started(id, c),
      imageRef: (id) => this.d.imageRef(id),
      terminationMessage: (cs) => this.terminationMessage(cs),
      override: rec.override,
    });
    // The status manager never moves a pod out of a final phase.
    if (isTerminalPhase(pod.status?.phase) && status.phase !== pod.status?.phase) status.phase = pod.status!.phase;
    const current: PodStatus | undefined = rec.lastStatus ?? pod.status;
    const patch = statusPatch(current, status);
    if (!patch) return;
    try {
      await this.d.client.patch(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status: patch }, { subresource: 'status' });
      rec.lastStatus = status;
    } catch (e) {
      if (e instanceof StatusError && (e.code === 404 || e.code === 409)) return;
      throw e;
    }
  }
}

function readTail(path: string | undefined, max: number, tail = true): string {
  if (!path) return '';
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const n = Math.min(size, max);
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, tail ? size - n : 0);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The last lines of a CRI-format log ("<time> <stream> <P|F> <text>"), as the kubelet's fallback message. */
function logTail(path: string): string {
  const raw = readTail(path, 64 * 1024);
  const lines = raw.split('\n').filter(Boolean);
  const text = lines
    .slice(-FALLBACK_LOG_LINES)
    .map((l) => {
      const m = /^\S+ (?:stdout|stderr) ([PF]) (.*)$/.exec(l);
      return m ? (m[1] === 'F' ? `${m[2]}\n` : m[2]!) : `${l}\n`;
    })
    .join('');
  return text.length > FALLBACK_LOG_BYTES ? text.slice(-FALLBACK_LOG_BYTES) : text;
}

