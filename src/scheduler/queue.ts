import { Heap } from './heap.js';
import type { PodInfo } from './podinfo.js';

// kube-scheduler's scheduling queue: an active heap ordered by priority then time in the queue, a back-off
// heap for pods that failed (1 s doubling to 10 s), and an unschedulable pool whose pods go back when a
// cluster event could help them (a node added, a pod deleted...), or after five minutes regardless. Pods
// with scheduling gates wait apart until the gates are gone.

export interface QueuedPod {
  info: PodInfo;
  /** When the pod entered the queue, or last failed: orders equal priorities and times the back-off. */
  timestamp: number;
  attempts: number;
  /** Plugins that rejected the pod in its last attempt; undefined after an error (any event helps). */
  rejectors?: ReadonlySet<string>;
  seq: number;
}

/** A change in the cluster, described by the plugins whose verdict it may change. */
export interface ClusterEvent {
  /** 'all' for events every rejection may depend on (a new node). */
  plugins: ReadonlySet<string> | 'all';
  /** Pods (uids) the event concerns whatever rejected them (preemptors nominated to a node a pod left). */
  alsoPods?: Iterable<string>;
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a pod may sit in the unschedulable pool before it is retried anyway. */
  maxUnschedulableMs?: number;
  now?: () => number;
}

type Where = 'active' | 'backoff' | 'unschedulable' | 'gated';

/** Pods nominated to nodes by preemption: their room is kept for them while victims terminate. */
export class Nominator {
  private readonly byNode = new Map<string, Map<string, PodInfo>>();
  private readonly nodeOf = new Map<string, string>();

  set(info: PodInfo, nodeName: string | undefined): void {
    const prev = this.nodeOf.get(info.uid);
    if (prev !== undefined && prev !== nodeName) this.delete(info.uid);
    if (!nodeName) return;
    let m = this.byNode.get(nodeName);
    if (!m) this.byNode.set(nodeName, (m = new Map()));
    m.set(info.uid, info);
    this.nodeOf.set(info.uid, nodeName);
  }

  delete(uid: string): void {
    const node = this.nodeOf.get(uid);
    if (node === undefined) return;
    this.nodeOf.delete(uid);
    const m = this.byNode.get(node);
    m?.delete(uid);
    if (m && m.size === 0) this.byNode.delete(node);
  }

  nodeFor(uid: string): string | undefined {
    return this.nodeOf.get(uid);
  }

  podsOn(nodeName: string): Iterable<PodInfo> {
    return this.byNode.get(nodeName)?.values() ?? [];
  }

  get size(): number {
    return this.nodeOf.size;
  }
}

function activeLess(a: QueuedPod, b: QueuedPod): boolean {
  if (a.info.priority !== b.info.priority) return a.info.priority > b.info.priority;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
  return a.seq < b.seq;
}

export class SchedulingQueue {
  readonly nominator = new Nominator();
  private readonly active = new Heap<QueuedPod>(activeLess);
  private readonly backoff: Heap<QueuedPod>;
  private readonly unschedulable = new Map<string, QueuedPod>();
  // Unschedulable pods by the plugins that rejected them, so an event only visits the pods it may help.
  private readonly byRejector = new Map<string, Set<QueuedPod>>();
  private readonly rejectedByError = new Set<QueuedPod>();
  private readonly gated = new Map<string, QueuedPod>();
  private readonly where = new Map<string, { qp: QueuedPod; q: Where }>();
  private readonly waiters: Array<() => void> = [];
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly now: () => number;
  private seq = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private backoffTimerAt = Infinity;
  private readonly flushTimer: NodeJS.Timeout;
  private closed = false;

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
    this.backoff = new Heap<QueuedPod>((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
    this.flushTimer = setInterval(() => this.flushUnschedulableLeftover(), 30_000);
    this.flushTimer.unref();
  }

  get length(): number {
    return this.active.size;
  }

  counts(): { active: number; backoff: number; unschedulable: number; gated: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, gated: this.gated.size };
  }

  has(uid: string): boolean {
    return this.where.has(uid);
  }

  /** Where a queued pod waits (for tests and diagnostics). */
  whereIs(uid: string): Where | undefined {
    return this.where.get(uid)?.q;
  }

  backoffExpiry(qp: QueuedPod): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < qp.attempts && d < this.maxBackoffMs; i++) d *= 2;
    return qp.timestamp + Math.min(d, this.maxBackoffMs);
  }

  /** A new pending pod (or one seen again): into the active heap, or aside while it has scheduling gates. */
  add(info: PodInfo): void {
    if (this.closed) return;
    const known = this.where.get(info.uid);
    if (known) return this.update(info, true);
    // Older pods first among equals: a new pod's place is its creation time (to the second; ties keep
    // the order the pods were seen in).
    const now = this.now();
    const qp: QueuedPod = { info, timestamp: info.startTime > 0 && info.startTime < now ? info.startTime : now, attempts: 0, seq: this.seq++ };
    this.nominator.set(info, info.pod.status?.nominatedNodeName);
    this.place(qp, isGated(info) ? 'gated' : 'active');
  }

  /**
   * The pod object changed. A change beyond status (specChanged) may make an unschedulable pod fit, so it
   * goes back to be tried; a status-only change (our own condition patch) leaves it where it is.
   */
  update(info: PodInfo, specChanged: boolean): void {
    const known = this.where.get(info.uid);
    if (!known) return this.add(info);
    const { qp, q } = known;
    const oldNominated = qp.info.pod.status?.nominatedNodeName;
    qp.info = info;
    const nominated = info.pod.status?.nominatedNodeName;
    // A nomination made in memory survives updates that do not carry one yet.
    if (nominated || oldNominated) this.nominator.set(info, nominated);
    else {
      const keep = this.nominator.nodeFor(info.uid);
      if (keep) this.nominator.set(info, keep);
    }
    if (q === 'gated') {
      if (!isGated(info)) this.move(qp, 'active');
      return;
    }
    if (q === 'active') return this.active.fix(qp);
    if (q === 'backoff') return this.backoff.fix(qp);
    if (q === 'unschedulable' && specChanged) this.moveToActiveOrBackoff(qp);
  }

  delete(uid: string, nomination = true): void {
    if (nomination) this.nominator.delete(uid);
    const known = this.where.get(uid);
    if (!known) return;
    this.detach(known.qp, known.q);
  }

  /** Take the next pod to schedule, if any; it leaves the queue until requeued. */
  pop(): QueuedPod | undefined {
    const qp = this.active.pop();
    if (!qp) return undefined;
    this.where.delete(qp.info.uid);
    qp.attempts++;
    return qp;
  }

  /** Resolves when there is a pod to pop (or the queue is closed). */
  waitForWork(): Promise<void> {
    if (this.active.size > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The pod fits nowhere: park it until an event that one of `rejectors` cares about. */
  requeueUnschedulable(qp: QueuedPod, rejectors: ReadonlySet<string>): void {
    if (this.closed) return;
    this.delete(qp.info.uid, false);
    qp.timestamp = this.now();
    qp.rejectors = rejectors;
    this.place(qp, 'unschedulable');
  }

  /** Something went wrong (API error, bind failure): retry after the back-off. */
  requeueBackoff(qp: QueuedPod): void {
    if (this.closed) return;
    this.delete(qp.info.uid, false);
    qp.timestamp = this.now();
    qp.rejectors = undefined;
    this.place(qp, 'backoff');
  }

  /** Move the unschedulable pods this event may help to the active heap (or back-off, if still due). */
  onEvent(ev: ClusterEvent): number {
    if (this.unschedulable.size === 0) return 0;
    const hit = new Set<QueuedPod>();
    if (ev.plugins === 'all') for (const qp of this.unschedulable.values()) hit.add(qp);
    else {
      for (const qp of this.rejectedByError) hit.add(qp);
      for (const p of ev.plugins) for (const qp of this.byRejector.get(p) ?? []) hit.add(qp);
    }
    for (const uid of ev.alsoPods ?? []) {
      const qp = this.unschedulable.get(uid);
      if (qp) hit.add(qp);
    }
    for (const qp of hit) this.moveToActiveOrBackoff(qp);
    return hit.size;
  }

  /** Try this pod again now (e.g. its preemption finished). */
  activate(uid: string): void {
    const known = this.where.get(uid);
    if (known && (known.q === 'unschedulable' || known.q === 'backoff')) this.move(known.qp, 'active');
  }

  close(): void {
    this.closed = true;
    clearInterval(this.flushTimer);
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Move pods whose back-off is over to the active heap. */
  flushBackoff(): void {
    const now = this.now();
    for (;;) {
      const top = this.backoff.peek();
      if (!top || this.backoffExpiry(top) > now) break;
      this.move(top, 'active');
    }
    this.armBackoffTimer();
  }

  private flushUnschedulableLeftover(): void {
    const now = this.now();
    for (const qp of [...this.unschedulable.values()]) if (now - qp.timestamp >= this.maxUnschedulableMs) this.moveToActiveOrBackoff(qp);
  }

  private moveToActiveOrBackoff(qp: QueuedPod): void {
    this.move(qp, this.backoffExpiry(qp) > this.now() ? 'backoff' : 'active');
  }

  private move(qp: QueuedPod, to: Where): void {
    const known = this.where.get(qp.info.uid);
    if (known) this.detach(qp, known.q);
    this.place(qp, to);
  }

  private detach(qp: QueuedPod, q: Where): void {
    this.where.delete(qp.info.uid);
    if (q === 'active') this.active.remove(qp);
    else if (q === 'backoff') this.backoff.remove(qp);
    else if (q === 'unschedulable') {
      this.unschedulable.delete(qp.info.uid);
      this.indexRejectors(qp, false);
    } else this.gated.delete(qp.info.uid);
  }

  private indexRejectors(qp: QueuedPod, add: boolean): void {
    if (!qp.rejectors) {
      if (add) this.rejectedByError.add(qp);
      else this.rejectedByError.delete(qp);
      return;
    }
    for (const p of qp.rejectors) {
      let set = this.byRejector.get(p);
      if (!set) {
        if (!add) continue;
        this.byRejector.set(p, (set = new Set()));
      }
      if (add) set.add(qp);
      else set.delete(qp);
    }
  }

  private place(qp: QueuedPod, q: Where): void {
    const known = this.where.get(qp.info.uid);
    if (known) this.detach(known.qp, known.q);
    this.where.set(qp.info.uid, { qp, q });
    if (q === 'active') {
      this.active.push(qp);
      const w = this.waiters.shift();
      if (w) w();
    } else if (q === 'backoff') {
      this.backoff.push(qp);
      this.armBackoffTimer();
    } else if (q === 'unschedulable') {
      this.unschedulable.set(qp.info.uid, qp);
      this.indexRejectors(qp, true);
    } else this.gated.set(qp.info.uid, qp);
  }

  private armBackoffTimer(): void {
    const top = this.backoff.peek();
    if (!top || this.closed) return;
    const at = this.backoffExpiry(top);
    if (this.backoffTimer && at >= this.backoffTimerAt) return;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.backoffTimerAt = at;
    this.backoffTimer = setTimeout(
      () => {
        this.backoffTimer = undefined;
        this.backoffTimerAt = Infinity;
        this.flushBackoff();
      },
      Math.max(0, at - this.now()),
    );
    this.backoffTimer.unref();
  }
}

function isGated(info: PodInfo): boolean {
  return (info.pod.spec?.schedulingGates?.length ?? 0) > 0;
}

