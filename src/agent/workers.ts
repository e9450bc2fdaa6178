import type { Pod } from 'kubernetes-types/core/v1.js';
import type { PodStatus } from 'kubernetes-types/core/v1.js';
import type { Waiting } from './podstatus.js';
import type { VolumeMount } from './types.js';

// The kubelet's pod workers: one per pod UID, syncs strictly one at a time, woken by informer events,
// runtime events, probe results, requeues after back-off, and a periodic resync. A sync that reports
// `finished` (the pod is gone and cleaned up) ends the worker.

export interface PodRecord {
  uid: string;
  /** The latest version the API showed (or the last one, once it was removed). */
  pod: Pod;
  /** Removed from the API (or never seen there: an orphan found in the runtime). */
  gone: boolean;
  admitted?: boolean;
  /** Rejected at admission, or killed for its active deadline: the phase and reason to report. */
  override?: { phase: 'Failed' | 'Succeeded'; reason?: string; message?: string };
  volumes?: Map<string, VolumeMount>;
  volumesAt: number;
  mountFailures: number;
  /** Why containers are not running, by container name. */
  waiting: Map<string, Waiting>;
  /** The status this agent last wrote. */
  lastStatus?: PodStatus;
  /** Containers stopped and sandbox released after the pod reached Succeeded/Failed. */
  released: boolean;
  /** When termination began, so resyncs during it do not restart the grace period. */
  terminatingSince?: number;
}

export interface SyncResult {
  /** Sync again after this many ms (back-off expiry, deadlines). */
  requeueMs?: number;
  /** The pod is gone and everything of it was removed: end the worker. */
  finished?: boolean;
}

interface WorkerState {
  running: boolean;
  again: boolean;
  timer?: NodeJS.Timeout;
  due?: number;
  done?: Promise<void>;
}

export class PodWorkers {
  private readonly records = new Map<string, PodRecord>();
  private readonly state = new Map<string, WorkerState>();
  private stopped = false;
  /** Pods whose worker finished: a late delete event must not start their clean-up again. */
  private readonly finished = new Set<string>();

  constructor(
    private readonly syncPod: (rec: PodRecord) => Promise<SyncResult>,
    private readonly log: (msg: string) => void,
    private readonly errorRetryMs = 2000,
  ) {}

  get(uid: string): PodRecord | undefined {
    return this.records.get(uid);
  }

  all(): PodRecord[] {
    return [...this.records.values()];
  }

  /** A pod seen in the API (added or updated). */
  update(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (!uid) return;
    const rec = this.records.get(uid);
    if (rec) {
      rec.pod = pod;
      rec.gone = false;
    } else this.records.set(uid, { uid, pod, gone: false, volumesAt: 0, mountFailures: 0, waiting: new Map(), released: false });
    this.trigger(uid);
  }

  /** A pod removed from the API; `lastKnown` is used when no worker exists yet (orphans). */
  remove(uid: string, lastKnown?: Pod): void {
    let rec = this.records.get(uid);
    if (!rec && this.finished.has(uid)) return;
    if (!rec && lastKnown) {
      rec = { uid, pod: lastKnown, gone: true, volumesAt: 0, mountFailures: 0, waiting: new Map(), released: false };
      this.records.set(uid, rec);
    }
    if (!rec) return;
    rec.gone = true;
    this.trigger(uid);
  }

  /** Schedules a sync; an earlier request wins over a later one. */
  trigger(uid: string, delayMs = 0): void {
    if (this.stopped || !this.records.has(uid)) return;
    let st = this.state.get(uid);
    if (!st) this.state.set(uid, (st = { running: false, again: false }));
    if (delayMs <= 0) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = undefined;
      st.due = undefined;
      if (st.running) st.again = true;
      else st.done = this.run(uid, st);
      return;
    }
    const due = Date.now() + delayMs;
    if (st.due !== undefined && st.due <= due) return;
    if (st.timer) clearTimeout(st.timer);
    st.due = due;
    st.timer = setTimeout(() => {
      st!.timer = undefined;
      st!.due = undefined;
      this.trigger(uid);
    }, delayMs);
    st.timer.unref();
  }

  private async run(uid: string, st: WorkerState): Promise<void> {
    st.running = true;
    try {
      do {
        st.again = false;
        const rec = this.records.get(uid);
        if (!rec || this.stopped) break;
        let res: SyncResult;
        try {
          res = await this.syncPod(rec);
        } catch (e) {
          this.log(`sync of pod ${rec.pod.metadata?.namespace}/${rec.pod.metadata?.name} failed: ${(e as Error).message}; retrying`);
          res = { requeueMs: this.errorRetryMs };
        }
        if (res.finished) {
          this.records.delete(uid);
          this.finished.add(uid);
          if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value!);
          if (st.timer) clearTimeout(st.timer);
          this.state.delete(uid);
          return;
        }
        if (res.requeueMs !== undefined && Number.isFinite(res.requeueMs)) this.trigger(uid, Math.max(1, res.requeueMs));
      } while (st.again && !this.stopped);
    } finally {
      st.running = false;
    }
  }

  /** Stops scheduling and waits for syncs in progress; containers keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const st of this.state.values()) if (st.timer) clearTimeout(st.timer);
    await Promise.all([...this.state.values()].map((s) => s.done?.catch(() => undefined)));
  }
}
