import type { Container, Pod, Probe } from 'kubernetes-types/core/v1.js';
import type { RuntimeService } from '../runtime/interface.js';
import { runProbe } from './probe.js';

// The prober: one timer per (container instance, probe kind). Startup gates liveness and readiness;
// consecutive results are counted against successThreshold/failureThreshold; a change of result wakes the
// pod's worker, which acts on it (restart on liveness/startup failure, Ready condition on readiness).

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

const KIND_TITLE: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface RunningContainer {
  container: Container;
  id: string;
  startedAt: number;
  /** Readiness to assume before the first probe (an adopted container that was ready stays ready). */
  initialReady?: boolean;
}

interface Worker {
  podUid: string;
  kind: ProbeKind;
  probe: Probe;
  container: Container;
  id: string;
  timer?: NodeJS.Timeout;
  successes: number;
  failures: number;
  result: boolean | undefined;
  /** A liveness/startup failure was reported: wait for the container to be replaced. */
  onHold: boolean;
  stopped: boolean;
}

export interface ProberDeps {
  runtime: RuntimeService;
  /** A failed probe (event Unhealthy). */
  unhealthy(pod: Pod, container: Container, message: string): void;
  /** A result changed: the pod's worker should sync. */
  changed(podUid: string): void;
}

export class ProbeManager {
  private readonly workers = new Map<string, Worker>();
  private readonly pods = new Map<string, Pod>();
  private readonly podIPs = new Map<string, string | undefined>();

  constructor(private readonly deps: ProberDeps) {}

  /** Ensures workers for the pod's running containers and stops those of containers that are gone. */
  update(pod: Pod, podIP: string | undefined, running: RunningContainer[]): void {
    const uid = pod.metadata?.uid ?? '';
    this.pods.set(uid, pod);
    this.podIPs.set(uid, podIP);
    const want = new Set<string>();
    for (const r of running) {
      for (const kind of ['startup', 'liveness', 'readiness'] as ProbeKind[]) {
        const probe = kind === 'startup' ? r.container.startupProbe : kind === 'liveness' ? r.container.livenessProbe : r.container.readinessProbe;
        if (!probe) continue;
        const key = `${r.id}/${kind}`;
        want.add(key);
        if (this.workers.has(key)) continue;
        const w: Worker = { podUid: uid, kind, probe, container: r.container, id: r.id, successes: 0, failures: 0, result: kind === 'readiness' ? (r.initialReady ?? false) : kind === 'liveness' ? true : undefined, onHold: false, stopped: false };
        this.workers.set(key, w);
        const delay = Math.max(0, r.startedAt + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now());
        this.schedule(w, delay);
      }
    }
    for (const [key, w] of this.workers) if (w.podUid === uid && !want.has(key)) this.stopWorker(key, w);
  }

  removePod(uid: string): void {
    for (const [key, w] of this.workers) if (w.podUid === uid) this.stopWorker(key, w);
    this.pods.delete(uid);
    this.podIPs.delete(uid);
  }

  stop(): void {
    for (const [key, w] of this.workers) this.stopWorker(key, w);
  }

  /** Whether the startup probe (if any) has succeeded. */
  started(id: string, c: Container): boolean {
    return !c.startupProbe || this.workers.get(`${id}/startup`)?.result === true;
  }

  ready(id: string, c: Container): boolean {
    if (!this.started(id, c)) return false;
    return !c.readinessProbe || this.workers.get(`${id}/readiness`)?.result === true;
  }

  /** The probe kind that wants this container restarted, if any. */
  failed(id: string): 'liveness' | 'startup' | undefined {
    if (this.workers.get(`${id}/startup`)?.result === false) return 'startup';
    if (this.workers.get(`${id}/liveness`)?.result === false) return 'liveness';
    return undefined;
  }

  private stopWorker(key: string, w: Worker): void {
    w.stopped = true;
    if (w.timer) clearTimeout(w.timer);
    this.workers.delete(key);
  }

  private schedule(w: Worker, delayMs: number): void {
    if (w.stopped) return;
    w.timer = setTimeout(() => void this.tick(w), delayMs);
    w.timer.unref();
  }

  private async tick(w: Worker): Promise<void> {
    const period = (w.probe.periodSeconds ?? 10) * 1000;
    const pod = this.pods.get(w.podUid);
    const gated = w.kind !== 'startup' && w.container.startupProbe && this.workers.get(`${w.id}/startup`)?.result !== true;
    if (!pod || w.onHold || gated) {
      this.schedule(w, period);
      return;
    }
    const r = await runProbe(this.deps.runtime, w.probe, { containerId: w.id, container: w.container, podIP: this.podIPs.get(w.podUid) });
    if (w.stopped) return;
    const before = w.result;
    if (r.ok) {
      w.failures = 0;
      w.successes++;
      if (w.successes >= (w.kind === 'readiness' ? (w.probe.successThreshold ?? 1) : 1)) w.result = true;
    } else {
      w.successes = 0;
      w.failures++;
      this.deps.unhealthy(pod, w.container, `${KIND_TITLE[w.kind]} probe failed: ${r.output.trim()}`);
      if (w.failures >= (w.probe.failureThreshold ?? 3)) {
        w.result = false;
        if (w.kind !== 'readiness') w.onHold = true;
      }
    }
    // Once started, a startup probe has done its job.
    if (w.kind === 'startup' && w.result === true) {
      if (before !== true) this.deps.changed(w.podUid);
      return;
    }
    if (before !== w.result) this.deps.changed(w.podUid);
    this.schedule(w, period);
  }
}
