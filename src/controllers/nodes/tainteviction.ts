import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import type { Informer } from '../../client/informer.js';
import { objectKey, splitKey } from '../../client/informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { EventRecorder } from '../../client/events.js';
import type { Controller, ControllerContext } from '../runtime.js';
import { matchingTolerations, minTolerationSeconds, noExecuteTaints } from './taints.js';
import { NODES, PODS, asNode, asPod, indexPodsByNode, isCode, parseTime, patchPodCondition, podCondition, podsOnNode } from './util.js';

// kube-controller-manager's taint eviction controller (the NoExecute taint manager): a pod on a node with a
// NoExecute taint it does not tolerate is deleted at once; one that tolerates it for tolerationSeconds is
// deleted when that time has passed since the taint was added; one that tolerates it forever stays. Removing
// the taint, or a pod change that makes it tolerated, cancels a scheduled deletion.

interface Scheduled {
  uid: string;
  fireAt: number;
  timer: NodeJS.Timeout;
}

function sameTolerations(a: Pod, b: Pod): boolean {
  return JSON.stringify(a.spec?.tolerations ?? []) === JSON.stringify(b.spec?.tolerations ?? []);
}

function podRef(namespace: string | undefined, name: string, uid?: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, uid } };
}

/** When the clock for the pod's tolerations started: the taints' timeAdded, or the pod's binding if later. */
export function evictionClockStart(taints: Taint[], pod: Pod, now = Date.now()): number {
  let start: number | undefined;
  for (const t of taints) {
    const added = parseTime(t.timeAdded);
    if (added !== undefined && (start === undefined || added < start)) start = added;
  }
  if (start === undefined) return now;
  const scheduled = parseTime(podCondition(pod, 'PodScheduled')?.lastTransitionTime);
  if (scheduled !== undefined && scheduled > start) start = scheduled;
  return Math.min(start, now);
}

export class TaintEvictionController implements Controller {
  readonly name = 'taint-eviction-controller';
  private ctx!: ControllerContext;
  private nodes!: Informer;
  private pods!: Informer;
  private recorder!: EventRecorder;
  /** NoExecute taints per node, as last seen. */
  private readonly tainted = new Map<string, Taint[]>();
  private readonly scheduled = new Map<string, Scheduled>();
  /** Pods whose time is up, by key, with the UID that was judged (a pod of the same name may replace it). */
  private readonly due = new Map<string, string>();
  private readonly queue = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 10_000 });

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder('taint-eviction-controller');
    this.nodes = ctx.informers.for(NODES);
    this.pods = ctx.informers.for(PODS);
    indexPodsByNode(this.pods);
    this.nodes.addHandlers({
      add: (o) => this.nodeChanged(asNode(o)),
      update: (old, o) => {
        if (JSON.stringify(noExecuteTaints(asNode(old).spec?.taints)) !== JSON.stringify(noExecuteTaints(asNode(o).spec?.taints))) this.nodeChanged(asNode(o));
      },
      delete: (o) => this.tainted.delete(o.metadata.name ?? ''),
    });
    this.pods.addHandlers({
      add: (o) => this.podChanged(asPod(o)),
      update: (old, o) => {
        const [a, b] = [asPod(old), asPod(o)];
        if (a.spec?.nodeName === b.spec?.nodeName && sameTolerations(a, b) && !!a.metadata?.deletionTimestamp === !!b.metadata?.deletionTimestamp) return;
        this.podChanged(b);
      },
      delete: (o) => this.cancel(objectKey(o), false),
    });
    void runWorkers(this.queue, 8, (k) => this.evict(k), (k, e) => this.log(`${this.name}: deleting pod ${k}: ${(e as Error)?.message ?? String(e)}`));
  }

  private stopped = false;

  private log(msg: string): void {
    if (!this.stopped) this.ctx.log(msg);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.scheduled.values()) clearTimeout(s.timer);
    this.scheduled.clear();
    this.queue.shutdown();
  }

  private nodeChanged(node: Node): void {
    const name = node.metadata?.name ?? '';
    const taints = noExecuteTaints(node.spec?.taints);
    if (taints.length === 0) this.tainted.delete(name);
    else this.tainted.set(name, taints);
    for (const pod of podsOnNode(this.pods, name)) {
      if (taints.length === 0) this.cancel(objectKey(pod as unknown as KubeObject), true);
      else this.processPodOnNode(pod, taints);
    }
  }

  private podChanged(pod: Pod): void {
    const taints = this.tainted.get(pod.spec?.nodeName ?? '');
    if (!taints) return;
    this.processPodOnNode(pod, taints);
  }

  private processPodOnNode(pod: Pod, taints: Taint[]): void {
    const key = objectKey(pod as unknown as KubeObject);
    // Already on its way out; deleting it again changes nothing.
    if (pod.metadata?.deletionTimestamp) {
      this.cancel(key, false);
      return;
    }
    const uid = pod.metadata?.uid ?? '';
    const now = Date.now();
    const { all, used } = matchingTolerations(taints, pod.spec?.tolerations);
    let fireAt: number;
    if (!all) fireAt = now;
    else {
      const seconds = minTolerationSeconds(used);
      if (seconds === undefined) {
        this.cancel(key, true);
        return;
      }
      fireAt = evictionClockStart(taints, pod, now) + seconds * 1000;
    }
    const existing = this.scheduled.get(key);
    if (existing && existing.uid === uid && existing.fireAt === fireAt) return;
    if (existing) this.cancel(key, existing.uid === uid && fireAt > now);
    const timer = setTimeout(
      () => {
        this.scheduled.delete(key);
        this.due.set(key, uid);
        this.queue.add(key);
      },
      Math.max(0, fireAt - now),
    );
    this.scheduled.set(key, { uid, fireAt, timer });
  }

  private cancel(key: string, withEvent: boolean): void {
    this.due.delete(key);
    const s = this.scheduled.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    this.scheduled.delete(key);
    if (withEvent) {
      const { namespace, name } = splitKey(key);
      this.recorder.event(podRef(namespace, name, s.uid), 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
    }
  }

  private async evict(key: string): Promise<void> {
    const uid = this.due.get(key);
    if (uid === undefined) return;
    const { namespace, name } = splitKey(key);
    const cached = this.pods.get(key);
    const pod = cached ? asPod(cached) : undefined;
    if (!pod || pod.metadata?.uid !== uid || pod.metadata?.deletionTimestamp) {
      this.due.delete(key);
      return;
    }
    this.recorder.event(podRef(namespace, name, uid), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    try {
      const target = podCondition(pod, 'DisruptionTarget');
      if (target?.status !== 'True') await patchPodCondition(this.ctx.client, pod, { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' });
      await this.ctx.client.delete(PODS, namespace, name, { preconditions: { uid } });
      this.due.delete(key);
    } catch (e) {
      if (isCode(e, 404, 409)) {
        this.due.delete(key);
        return;
      }
      throw e;
    }
  }
}
