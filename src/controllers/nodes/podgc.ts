import type { Pod } from 'kubernetes-types/core/v1.js';
import type { Informer } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../runtime.js';
import { TAINT_OUT_OF_SERVICE } from './taints.js';
import { NODES, PODS, asNode, asPod, indexPodsByNode, isCode, isNodeReady, mapLimit, parseTime, podsOnNode, timestamp } from './util.js';

// kube-controller-manager's pod garbage collector. Force-deletes pods no kubelet will ever finish: those
// bound to a node that no longer exists (after a quarantine, and a direct GET, in case the informer lags),
// terminating pods on a node marked out-of-service, terminating pods that were never scheduled, and the
// oldest finished pods beyond --terminated-pod-gc-threshold. Pods not yet finished are first marked Failed,
// since no kubelet is left to say so.

export interface PodGCOptions {
  /** Finished pods kept before the oldest are deleted (12500; 0 turns this off). */
  terminatedPodThreshold?: number;
  /** How long a node must stay missing before its pods go (default: the node-monitor grace period, at most 40 s). */
  quarantineMs?: number;
  /** How often the sweep runs (default: half the quarantine, at most 20 s). */
  periodMs?: number;
}

function isTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Pending' && phase !== 'Running' && phase !== 'Unknown';
}

function isEvicted(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' && pod.status?.reason === 'Evicted';
}

export class PodGCController implements Controller {
  readonly name = 'podgc';
  private ctx!: ControllerContext;
  private nodes!: Informer;
  private pods!: Informer;
  /** Names of nodes seen missing, released after the quarantine. */
  private readonly suspects = new WorkQueue();
  private readonly matured = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private quarantineMs = 40_000;
  private periodMs = 20_000;

  constructor(private readonly opts: PodGCOptions = {}) {}

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.quarantineMs = this.opts.quarantineMs ?? Math.min(40_000, ctx.options.nodeMonitorGracePeriodMs);
    this.periodMs = this.opts.periodMs ?? Math.max(100, Math.min(20_000, this.quarantineMs / 2));
    this.nodes = ctx.informers.for(NODES);
    this.pods = ctx.informers.for(PODS);
    indexPodsByNode(this.pods);
    // A deleted node starts its quarantine at once rather than at the next sweep.
    this.nodes.addHandlers({ delete: (o) => this.suspects.addAfter(o.metadata.name ?? '', this.quarantineMs) });
    void this.collectMatured();
    void this.run();
  }

  /** Quiet once stopped: requests still in flight then fail by design. */
  private log(msg: string): void {
    if (!this.stopped) this.ctx.log(msg);
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
    this.suspects.shutdown();
  }

  private async run(): Promise<void> {
    await Promise.all([this.nodes.waitForSync(), this.pods.waitForSync()]);
    while (!this.stopped) {
      try {
        await this.gc();
      } catch (e) {
        this.log(`${this.name}: ${(e as Error)?.message ?? String(e)}`);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.periodMs);
      });
      clearTimeout(this.timer);
      this.wake = undefined;
    }
  }

  /** Nodes whose quarantine ended are checked against the API by a sweep that starts at once. */
  private async collectMatured(): Promise<void> {
    for (;;) {
      const name = await this.suspects.get();
      if (name === undefined) return;
      this.matured.add(name);
      this.suspects.done(name);
      this.wake?.();
    }
  }

  private async gc(): Promise<void> {
    const pods = this.pods.list().map(asPod);
    const threshold = this.opts.terminatedPodThreshold ?? 12_500;
    if (threshold > 0) await this.gcTerminated(pods, threshold);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: Pod[], threshold: number): Promise<void> {
    const terminated = pods.filter(isTerminated);
    const excess = terminated.length - threshold;
    if (excess <= 0) return;
    terminated.sort((a, b) => {
      if (isEvicted(a) !== isEvicted(b)) return isEvicted(a) ? -1 : 1;
      const ta = parseTime(a.metadata?.creationTimestamp) ?? 0;
      const tb = parseTime(b.metadata?.creationTimestamp) ?? 0;
      return ta !== tb ? ta - tb : (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
    });
    this.log(`${this.name}: garbage collecting ${excess} finished pods`);
    await mapLimit(terminated.slice(0, excess), 16, (p) => this.forceDelete(p));
  }

  private async gcTerminating(pods: Pod[]): Promise<void> {
    const victims = pods.filter((p) => {
      if (!p.metadata?.deletionTimestamp || !p.spec?.nodeName) return false;
      const obj = this.nodes.get(p.spec.nodeName);
      if (!obj) return false;
      const node = asNode(obj);
      return !isNodeReady(node) && (node.spec?.taints ?? []).some((t) => t.key === TAINT_OUT_OF_SERVICE);
    });
    await mapLimit(victims, 16, (p) => this.forceDelete(p));
  }

  private async gcOrphaned(pods: Pod[]): Promise<void> {
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (node && !this.nodes.get(node) && !this.matured.has(node)) this.suspects.addAfter(node, this.quarantineMs);
    }
    const gone = new Set<string>();
    for (const name of [...this.matured]) {
      this.matured.delete(name);
      if (this.nodes.get(name)) continue;
      try {
        await this.ctx.client.get(NODES, undefined, name);
      } catch (e) {
        if (isCode(e, 404)) gone.add(name);
        else this.log(`${this.name}: checking node ${name}: ${(e as Error).message}`);
      }
    }
    for (const name of gone) {
      await mapLimit(podsOnNode(this.pods, name), 16, async (p) => {
        await this.forceDelete(p, { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' });
        this.log(`${this.name}: deleted pod ${p.metadata?.namespace}/${p.metadata?.name} bound to node ${name}, which no longer exists`);
      });
    }
  }

  private async gcUnscheduledTerminating(pods: Pod[]): Promise<void> {
    await mapLimit(
      pods.filter((p) => p.metadata?.deletionTimestamp && !p.spec?.nodeName),
      16,
      (p) => this.forceDelete(p),
    );
  }

  /** Mark a pod that has not finished Failed (with `condition`), then delete it with no grace period. */
  private async forceDelete(pod: Pod, condition?: { type: string; status: string; reason: string; message: string }): Promise<void> {
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid;
    try {
      if (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
        const conditions = condition ? [{ ...condition, lastTransitionTime: timestamp() }] : undefined;
        await this.ctx.client.patch(PODS, ns, name, 'strategic', { metadata: { uid }, status: { phase: 'Failed', ...(conditions ? { conditions } : {}) } }, { subresource: 'status' });
      }
      await this.ctx.client.delete(PODS, ns, name, { gracePeriodSeconds: 0, ...(uid ? { preconditions: { uid } } : {}) });
    } catch (e) {
      if (!isCode(e, 404, 409)) this.log(`${this.name}: deleting pod ${ns}/${name}: ${(e as Error).message}`);
    }
  }
}
