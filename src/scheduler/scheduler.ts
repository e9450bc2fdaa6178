import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import type { Node, Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { StatusError } from '../api/errors.js';
import { matchesLabels, selectorFromLabelSelector, selectorFromSet, type LabelRequirement, type LabelSelector, type MetaLabelSelector } from '../api/selectors.js';
import { RestClient } from '../client/rest.js';
import { EventRecorder } from '../client/events.js';
import type { Controller, ControllerContext } from '../controllers/runtime.js';
import { isGoneOrConflict, restApi, schedulerInformers, type ClusterLookups, type SchedulerApi } from './cluster.js';
import { SchedulerCache } from './cache.js';
import { FilterRun, fitErrorMessage, numFeasibleNodesToFind, preFilter, PreFilterFailure, scoreNodes, selectHost, unresolvable, type Diagnosis, type Status } from './framework.js';
import type { NodeInfo } from './nodeinfo.js';
import { DEFAULT_SCHEDULER_NAME, newPodInfo, type PodInfo } from './podinfo.js';
import { defaultProfile, type Profile } from './plugins/index.js';
import { DISRUPTION_TARGET, PREEMPTION_BY_SCHEDULER, filterWithNominated, preempt, type Candidate, type DisruptionBudget } from './preemption.js';
import { SchedulingQueue, type ClusterEvent, type QueuedPod } from './queue.js';
import { NODE_RESOURCES_FIT } from './plugins/noderesources.js';
import { NODE_PORTS } from './plugins/nodeports.js';
import { INTER_POD_AFFINITY } from './plugins/interpodaffinity.js';
import { POD_TOPOLOGY_SPREAD } from './plugins/podtopologyspread.js';
import { NODE_AFFINITY } from './plugins/nodeaffinity.js';
import { TAINT_TOLERATION } from './plugins/tainttoleration.js';
import { NODE_UNSCHEDULABLE } from './plugins/nodeunschedulable.js';

// kube-scheduler's loop: pop the most important pending pod, filter the nodes (a sample of them once the
// cluster is large), score the feasible ones, assume the pod onto the best and bind it in the background
// while the next pod is scheduled. A pod that fits nowhere may preempt lower-priority pods; either way it
// gets a FailedScheduling event and a PodScheduled=False condition, and waits for a cluster change.

/** Longest stretch the loop keeps the event loop to itself: the API server shares this process. */
const SLICE_MS = 4;
const EVENT_MESSAGE_LIMIT = 1024;
const SPREAD_SELECTOR_TTL_MS = 2000;
/** A burst of at least this many cycles gets a summary line once the queue stays empty for BURST_IDLE_MS. */
const BURST_SUMMARY_MIN_ATTEMPTS = 100;
const BURST_IDLE_MS = 1000;
const SYSTEM_PRIORITIES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };

export interface SchedulerOptions {
  /** Pods naming another scheduler are left alone. */
  schedulerName?: string;
  /** Share of nodes to find feasible before scoring; 0 is kube-scheduler's adaptive default. */
  percentageOfNodesToScore?: number;
  /** Bindings in flight at once while the next pods are scheduled. */
  maxInFlightBindings?: number;
  /** Write a `Scheduled` event for every bound pod (kube-scheduler does). */
  recordScheduledEvents?: boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often a summary line is logged while pods are being scheduled (0: never). */
  statsIntervalMs?: number;
  random?: () => number;
}

export interface SchedulerStats {
  /** Scheduling cycles run (one per pod attempt). */
  attempts: number;
  /** Bindings that succeeded. */
  scheduled: number;
  /** Attempts that found no node. */
  unschedulable: number;
  /** Attempts that failed for another reason (no nodes at all, binding errors). */
  errors: number;
  preemptions: number;
  /** Nodes run through the filters, and nodes scored, in the last cycle and in total. */
  lastEvaluatedNodes: number;
  lastScoredNodes: number;
  totalEvaluatedNodes: number;
  totalScoredNodes: number;
  /** Nodes in the cluster at the last cycle. */
  lastClusterNodes: number;
  bindingsInFlight: number;
}

/** Counters of the scheduler running in this process (for benchmarks and diagnostics). */
export function schedulerStats(): (SchedulerStats & { queue: ReturnType<SchedulingQueue['counts']> }) | undefined {
  const s = Scheduler.running;
  return s ? { ...s.stats, queue: s.queue.counts() } : undefined;
}

function isAssigned(pod: Pod): boolean {
  return !!pod.spec?.nodeName;
}

function isTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function truncate(msg: string): string {
  return msg.length <= EVENT_MESSAGE_LIMIT ? msg : `${msg.slice(0, EVENT_MESSAGE_LIMIT - 3)}...`;
}

const ASSIGNED_POD_ADD: ClusterEvent = { plugins: new Set([INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD]) };
const ASSIGNED_POD_UPDATE: ClusterEvent = { plugins: new Set([INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD]) };
const NODE_ADD: ClusterEvent = { plugins: 'all' };
const POD_GONE_PLUGINS: ReadonlySet<string> = new Set([NODE_RESOURCES_FIT, NODE_PORTS, INTER_POD_AFFINITY, POD_TOPOLOGY_SPREAD]);

export class Scheduler implements Controller {
  /** The scheduler started in this process, if any. */
  static running: Scheduler | undefined;
  readonly name = 'scheduler';
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly stats: SchedulerStats = {
    attempts: 0,
    scheduled: 0,
    unschedulable: 0,
    errors: 0,
    preemptions: 0,
    lastEvaluatedNodes: 0,
    lastScoredNodes: 0,
    totalEvaluatedNodes: 0,
    totalScoredNodes: 0,
    lastClusterNodes: 0,
    bindingsInFlight: 0,
  };
  private readonly opts: Required<Omit<SchedulerOptions, 'random'>> & { random: () => number };
  private profile!: Profile;
  private api!: SchedulerApi;
  private lookups!: ClusterLookups;
  private log: (msg: string) => void = () => undefined;
  private nextStartNodeIndex = 0;
  private stopped = false;
  private bindWaiters: Array<() => void> = [];
  private readonly spreadSelectors = new Map<string, { at: number; selector: LabelSelector | undefined }>();
  private statsTimer: NodeJS.Timeout | undefined;
  /** The burst of cycles since the queue was last empty: when it began, and the counters then. */
  private burst: { startMs: number; endMs: number; attempts: number; scheduled: number; evaluated: number; scored: number; minScored: number; maxScored: number } | undefined;

  constructor(opts: SchedulerOptions = {}) {
    this.opts = {
      schedulerName: opts.schedulerName ?? DEFAULT_SCHEDULER_NAME,
      percentageOfNodesToScore: opts.percentageOfNodesToScore ?? 0,
      maxInFlightBindings: opts.maxInFlightBindings ?? 256,
      recordScheduledEvents: opts.recordScheduledEvents ?? true,
      initialBackoffMs: opts.initialBackoffMs ?? 1000,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      statsIntervalMs: opts.statsIntervalMs ?? 10_000,
      random: opts.random ?? Math.random,
    };
    this.queue = new SchedulingQueue({ initialBackoffMs: this.opts.initialBackoffMs, maxBackoffMs: this.opts.maxBackoffMs });
  }

  /** Wire the scheduler to what it writes and looks up; start() does this with the API and informers. */
  attach(api: SchedulerApi, lookups: ClusterLookups, log: (msg: string) => void = () => undefined): void {
    this.api = api;
    this.lookups = lookups;
    this.log = log;
    this.profile = defaultProfile({
      namespaceLabels: (ns) => lookups.namespaceLabels(ns),
      nodesWithAffinityPods: () => this.cache.nodesWithAffinityPods(),
      traits: () => this.cache.traits(),
      spreadCounts: (ns, sel, key, required) => this.cache.spread.counts(ns, sel, key, required),
      nodesWithRequiredAntiAffinityPods: () => this.cache.nodesWithRequiredAntiAffinityPods(),
      defaultSpreadSelector: (pod) => this.defaultSpreadSelector(pod),
    });
  }

  start(ctx: ControllerContext): void {
    Scheduler.running = this;
    // Bindings and events get their own connection pool: the shared client's sockets are mostly held by
    // long-running watches, and its requests queue behind them.
    const client = new RestClient({ ...ctx.client.config, userAgent: 'kube-scheduler' });
    const inf = schedulerInformers(ctx.informers);
    // Events have a pool of their own again, so that a burst of Scheduled events never delays a binding.
    const eventClient = new RestClient({ ...ctx.client.config, userAgent: 'kube-scheduler' });
    const api = restApi(client, new EventRecorder(eventClient, this.opts.schedulerName));
    this.attach({ ...api, close: () => (api.close(), eventClient.close()) }, inf.lookups, ctx.log);
    inf.nodes.addHandlers({
      add: (o) => this.nodeAdded(o as unknown as Node),
      update: (a, b) => this.nodeUpdated(a as unknown as Node, b as unknown as Node),
      delete: (o) => this.nodeDeleted(o as unknown as Node),
    });
    inf.pods.addHandlers({
      add: (o) => this.podAdded(o as unknown as Pod),
      update: (a, b) => this.podUpdated(a as unknown as Pod, b as unknown as Pod),
      delete: (o) => this.podDeleted(o as unknown as Pod),
    });
    if (this.opts.statsIntervalMs > 0) {
      let last = 0;
      let lastScored = 0;
      this.statsTimer = setInterval(() => {
        const s = this.stats;
        if (s.attempts === last) return;
        const cycles = s.attempts - last;
        const avg = Math.round((s.totalScoredNodes - lastScored) / Math.max(1, cycles));
        last = s.attempts;
        lastScored = s.totalScoredNodes;
        const q = this.queue.counts();
        ctx.log(
          `scheduler: ${cycles} attempts in the last ${this.opts.statsIntervalMs / 1000}s (${s.scheduled} bound, ${s.unschedulable} unschedulable, ${s.errors} errors in all); ` +
            `nodes scored per cycle: ${avg} on average, ${s.lastScoredNodes} of ${s.lastClusterNodes} last; queue: ${q.active} active, ${q.backoff} backing off, ${q.unschedulable} unschedulable`,
        );
      }, this.opts.statsIntervalMs);
      this.statsTimer.unref();
    }
    void Promise.all([inf.pods.waitForSync(), inf.nodes.waitForSync()])
      .then(() => this.run())
      .catch((e) => ctx.log(`scheduler: loop stopped: ${(e as Error).stack ?? String(e)}`));
  }

  stop(): void {
    this.stopped = true;
    this.queue.close();
    if (this.statsTimer) clearInterval(this.statsTimer);
    for (const w of this.bindWaiters.splice(0)) w();
    if (Scheduler.running === this) Scheduler.running = undefined;
    // Let bindings in flight finish before the sockets go.
    const close = () => (this.stats.bindingsInFlight > 0 ? setTimeout(close, 50).unref() : this.api?.close());
    close();
  }

  /** Schedule the next pod in the queue, if any, synchronously (bindings still complete later). */
  scheduleNext(): boolean {
    const qp = this.queue.pop();
    if (!qp) return false;
    try {
      this.scheduleOne(qp);
    } catch (e) {
      this.log(`scheduler: scheduling ${qp.info.key}: ${(e as Error).stack ?? String(e)}`);
      this.stats.errors++;
      this.queue.requeueBackoff(qp);
    }
    return true;
  }

  // ---- informer handlers -------------------------------------------------------------------------------

  private podInfo(pod: Pod): PodInfo {
    return newPodInfo(pod, (p) => this.priorityOf(p));
  }

  private priorityOf(pod: Pod): number {
    const given = pod.spec?.priority;
    if (typeof given === 'number') return given;
    const name = pod.spec?.priorityClassName;
    if (name) {
      if (name in SYSTEM_PRIORITIES) return SYSTEM_PRIORITIES[name];
      return this.lookups.priorityClassValue(name) ?? 0;
    }
    return 0;
  }

  private responsible(pod: Pod): boolean {
    return (pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === this.opts.schedulerName;
  }

  nodeAdded(node: Node): void {
    this.cache.addNode(node);
    this.queue.onEvent(NODE_ADD);
  }

  nodeUpdated(old: Node, node: Node): void {
    this.cache.updateNode(node);
    const plugins = new Set<string>();
    if (!sameJson(old.status?.allocatable, node.status?.allocatable)) plugins.add(NODE_RESOURCES_FIT);
    if (!sameJson(old.metadata?.labels, node.metadata?.labels)) [NODE_AFFINITY, POD_TOPOLOGY_SPREAD, INTER_POD_AFFINITY].forEach((p) => plugins.add(p));
    if (!sameJson(old.spec?.taints, node.spec?.taints)) [TAINT_TOLERATION, POD_TOPOLOGY_SPREAD].forEach((p) => plugins.add(p));
    if (!!old.spec?.unschedulable !== !!node.spec?.unschedulable) plugins.add(NODE_UNSCHEDULABLE);
    if (plugins.size) this.queue.onEvent({ plugins });
  }

  nodeDeleted(node: Node): void {
    this.cache.removeNode(node.metadata?.name ?? '');
  }

  podAdded(pod: Pod): void {
    if (isAssigned(pod)) {
      if (isTerminal(pod)) return;
      const uid = pod.metadata?.uid ?? '';
      this.cache.addPod(this.podInfo(pod));
      this.queue.delete(uid);
      this.queue.onEvent(ASSIGNED_POD_ADD);
      return;
    }
    if (!this.responsible(pod) || pod.metadata?.deletionTimestamp) return;
    if (this.cache.isAssumed(pod.metadata?.uid ?? '')) return;
    this.queue.add(this.podInfo(pod));
  }

  podUpdated(old: Pod, pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (isAssigned(pod)) {
      if (isTerminal(pod)) {
        // A finished pod no longer holds its resources.
        if (this.cache.removePod(uid)) this.queue.onEvent(this.podGoneEvent(pod));
        this.queue.delete(uid);
        return;
      }
      this.cache.addPod(this.podInfo(pod));
      if (!isAssigned(old)) {
        this.queue.delete(uid);
        this.queue.onEvent(ASSIGNED_POD_ADD);
      } else if (!sameJson(old.metadata?.labels, pod.metadata?.labels)) this.queue.onEvent(ASSIGNED_POD_UPDATE);
      return;
    }
    if (this.cache.isAssumed(uid)) return;
    if (!this.responsible(pod) || pod.metadata?.deletionTimestamp) {
      this.queue.delete(uid);
      return;
    }
    const specChanged = !sameJson(old.spec, pod.spec) || !sameJson(old.metadata?.labels, pod.metadata?.labels);
    this.queue.update(this.podInfo(pod), specChanged);
  }

  podDeleted(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    if (this.cache.removePod(uid)) this.queue.onEvent(this.podGoneEvent(pod));
    this.queue.delete(uid);
  }

  /** A pod left a node: pods short of room or ports there, and preemptors nominated to it, may fit now. */
  private podGoneEvent(pod: Pod): ClusterEvent {
    const node = pod.spec?.nodeName;
    return {
      plugins: POD_GONE_PLUGINS,
      alsoPods: node ? [...this.queue.nominator.podsOn(node)].map((p) => p.uid) : [],
    };
  }

  // ---- the loop ----------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    let sliceStart = performance.now();
    // One wait for work at a time: the queue wakes one waiter per pod, and a waiter left behind by a timed-out
    // wait would swallow a wake-up meant for the loop.
    let work: Promise<boolean> | undefined;
    while (!this.stopped) {
      if (this.queue.length === 0) {
        work ??= this.queue.waitForWork().then(() => true);
        // Pods arriving a little slower than they are scheduled still make one burst.
        const woke = this.burst ? await Promise.race([work, sleep(BURST_IDLE_MS, false, { ref: false })]) : await work;
        if (woke) work = undefined;
        else if (this.queue.length === 0) this.endBurst();
        sliceStart = performance.now();
        continue;
      }
      if (this.stats.bindingsInFlight >= this.opts.maxInFlightBindings) {
        await new Promise<void>((r) => this.bindWaiters.push(r));
        sliceStart = performance.now();
        continue;
      }
      this.burst ??= { startMs: performance.now(), endMs: 0, attempts: this.stats.attempts, scheduled: this.stats.scheduled, evaluated: this.stats.totalEvaluatedNodes, scored: this.stats.totalScoredNodes, minScored: Infinity, maxScored: 0 };
      this.scheduleNext();
      this.burst.endMs = performance.now();
      if (performance.now() - sliceStart > SLICE_MS) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  }

  /**
   * The queue stayed empty: after a burst of cycles, say how many nodes each cycle filtered and scored (the
   * sample percentageOfNodesToScore allows), so large clusters show what a cycle costs.
   */
  private endBurst(): void {
    const b = this.burst;
    this.burst = undefined;
    if (!b) return;
    const s = this.stats;
    const cycles = s.attempts - b.attempts;
    if (cycles < BURST_SUMMARY_MIN_ATTEMPTS) return;
    const ms = b.endMs - b.startMs;
    const scoredRange = b.maxScored > 0 ? ` (${b.minScored}–${b.maxScored})` : '';
    this.log(
      `scheduler: queue drained: ${cycles} cycles in ${Math.round(ms)} ms (${Math.round((cycles * 1000) / Math.max(1, ms))}/s), ${s.scheduled - b.scheduled} bound so far; ` +
        `per cycle of ${s.lastClusterNodes} nodes: ${Math.round((s.totalEvaluatedNodes - b.evaluated) / cycles)} filtered, ${Math.round((s.totalScoredNodes - b.scored) / cycles)} scored${scoredRange} on average`,
    );
  }

  /** One scheduling cycle for one pod: filter, score, assume, and start the binding. */
  scheduleOne(qp: QueuedPod): void {
    const pod = qp.info;
    const nodes = this.cache.nodeList();
    this.stats.attempts++;
    this.stats.lastClusterNodes = nodes.length;
    if (nodes.length === 0) {
      this.stats.errors++;
      this.queue.requeueBackoff(qp);
      this.reportFailure(pod, 'SchedulerError', 'no nodes available to schedule pods');
      return;
    }
    const pre = preFilter(this.profile.filters, pod, nodes);
    if (pre instanceof PreFilterFailure) {
      const statuses = new Map(nodes.map((n) => [n.name, pre.failure]));
      const diagnosis: Diagnosis = { numAllNodes: nodes.length, statuses, preFilterMsg: pre.failure.reasons.join(', '), plugins: new Set([pre.failure.plugin]) };
      this.unschedulable(qp, diagnosis, undefined);
      return;
    }
    const { feasible, statuses, evaluated } = this.findFeasible(pod, pre, nodes);
    this.stats.lastEvaluatedNodes = evaluated;
    this.stats.totalEvaluatedNodes += evaluated;
    if (feasible.length === 0) {
      const plugins = new Set<string>();
      for (const s of statuses.values()) plugins.add(s.plugin);
      this.unschedulable(qp, { numAllNodes: nodes.length, statuses, plugins }, pre);
      return;
    }
    let chosen: NodeInfo;
    if (feasible.length === 1) chosen = feasible[0];
    else chosen = feasible[selectHost(scoreNodes(this.profile.scores, pod, feasible, nodes), this.opts.random)];
    this.stats.lastScoredNodes = feasible.length;
    this.stats.totalScoredNodes += feasible.length;
    if (this.burst) {
      if (feasible.length < this.burst.minScored) this.burst.minScored = feasible.length;
      if (feasible.length > this.burst.maxScored) this.burst.maxScored = feasible.length;
    }
    this.assumeAndBind(qp, chosen);
  }

  private findFeasible(pod: PodInfo, run: FilterRun, nodes: readonly NodeInfo[]): { feasible: NodeInfo[]; statuses: Map<string, Status>; evaluated: number } {
    const statuses = new Map<string, Status>();
    const nominator = this.queue.nominator;
    // A preemptor goes back to the node it made room on if it still fits there.
    const nominated = nominator.nodeFor(pod.uid) ?? pod.pod.status?.nominatedNodeName;
    if (nominated) {
      const node = this.cache.getNode(nominated);
      if (node && !filterWithNominated(run, pod, node, nominator)) return { feasible: [node], statuses, evaluated: 1 };
    }
    let candidates = nodes;
    if (run.nodeNames) {
      candidates = [];
      for (const name of run.nodeNames) {
        const node = this.cache.getNode(name);
        if (node) (candidates as NodeInfo[]).push(node);
      }
    }
    const n = candidates.length;
    const want = numFeasibleNodesToFind(n, this.opts.percentageOfNodesToScore);
    const start = run.nodeNames ? 0 : this.nextStartNodeIndex % Math.max(1, n);
    const feasible: NodeInfo[] = [];
    let evaluated = 0;
    const plain = nominator.size === 0;
    for (let i = 0; i < n; i++) {
      const node = candidates[(start + i) % n];
      evaluated++;
      const s = plain ? run.run(pod, node) : filterWithNominated(run, pod, node, nominator);
      if (s) statuses.set(node.name, s);
      else {
        feasible.push(node);
        if (feasible.length >= want) break;
      }
    }
    if (!run.nodeNames && n > 0) this.nextStartNodeIndex = (start + evaluated) % n;
    if (feasible.length === 0 && run.nodeNames) {
      // Nodes ruled out before filtering say which plugin narrowed the choice.
      const absent = unresolvable(run.restrictedBy[0] ?? '', `node(s) didn't satisfy plugin(s) [${run.restrictedBy.join(' ')}]`);
      for (const node of nodes) if (!statuses.has(node.name)) statuses.set(node.name, absent);
    }
    return { feasible, statuses, evaluated };
  }

  private unschedulable(qp: QueuedPod, diagnosis: Diagnosis, run: FilterRun | undefined): void {
    const pod = qp.info;
    this.stats.unschedulable++;
    let nominate: string | undefined;
    const outcome = preempt({
      pod,
      // After a preFilter failure (unresolvable everywhere) no node is a candidate: the run is never used.
      run: run ?? new FilterRun([], []),
      nodes: this.cache.nodeList(),
      diagnosis,
      nominator: this.queue.nominator,
      budgets: run ? this.budgets() : [],
      random: this.opts.random,
    });
    if ('message' in outcome) {
      diagnosis.postFilterMsg = `preemption: ${outcome.message}`;
      if (outcome.clearNomination) {
        nominate = '';
        this.queue.nominator.delete(pod.uid);
      }
    } else {
      nominate = outcome.candidate.nodeName;
      this.preemptOn(pod, outcome.candidate);
    }
    this.queue.requeueUnschedulable(qp, diagnosis.plugins);
    this.reportFailure(pod, 'Unschedulable', fitErrorMessage(diagnosis), nominate);
  }

  // ---- binding -----------------------------------------------------------------------------------------

  private assumeAndBind(qp: QueuedPod, node: NodeInfo): void {
    const pod = qp.info;
    this.cache.assumePod(pod, node.name);
    this.queue.nominator.delete(pod.uid);
    this.stats.bindingsInFlight++;
    void this.api
      .bind(pod, node.name)
      .then(
        () => {
          this.stats.scheduled++;
          if (this.opts.recordScheduledEvents) this.api.event(pod.pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.key} to ${node.name}`);
        },
        (e: unknown) => this.bindFailed(qp, node.name, e),
      )
      .finally(() => {
        this.stats.bindingsInFlight--;
        const w = this.bindWaiters.shift();
        if (w) w();
      });
  }

  private bindFailed(qp: QueuedPod, nodeName: string, e: unknown): void {
    const pod = qp.info;
    this.cache.forgetPod(pod.uid);
    this.stats.errors++;
    // Resources the assumption held are free again.
    this.queue.onEvent({ plugins: POD_GONE_PLUGINS });
    if (this.stopped) return;
    if (e instanceof StatusError && e.code === 404) return;
    const live = this.lookups.pod(pod.key);
    if (!live || live.metadata?.uid !== pod.uid || isAssigned(live) || live.metadata?.deletionTimestamp) return;
    this.log(`scheduler: binding ${pod.key} to ${nodeName}: ${(e as Error).message}`);
    qp.info = this.podInfo(live);
    this.queue.requeueBackoff(qp);
    this.reportFailure(qp.info, 'SchedulerError', `binding rejected: ${(e as Error).message}`);
  }

  // ---- failures and preemption -------------------------------------------------------------------------

  /** FailedScheduling event, and the PodScheduled condition (and nomination) when they change. */
  private reportFailure(pod: PodInfo, reason: string, message: string, nominate?: string): void {
    this.api.event(pod.pod, 'Warning', 'FailedScheduling', truncate(message));
    const cur = pod.pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const nominationChanges = nominate !== undefined && (pod.pod.status?.nominatedNodeName ?? '') !== nominate;
    if (cur && cur.status === 'False' && cur.reason === reason && cur.message === message && !nominationChanges) return;
    const condition: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      reason,
      message,
      lastTransitionTime: cur?.status === 'False' && cur.lastTransitionTime ? cur.lastTransitionTime : now(),
    };
    const status: Record<string, unknown> = { conditions: [{ ...condition, lastProbeTime: null }] };
    if (nominationChanges) status.nominatedNodeName = nominate || null;
    this.patchStatus(pod, status);
  }

  private patchStatus(pod: PodInfo, status: Record<string, unknown>): void {
    void this.api.patchStatus(pod, status).catch((e: unknown) => {
      if (!isGoneOrConflict(e)) this.log(`scheduler: updating the status of ${pod.key}: ${(e as Error).message}`);
    });
  }

  /** Nominate the preemptor and evict the victims, as kube-scheduler's prepareCandidate. */
  private preemptOn(preemptor: PodInfo, c: Candidate): void {
    this.stats.preemptions++;
    const nominator = this.queue.nominator;
    nominator.set(preemptor, c.nodeName);
    for (const victim of c.victims) {
      if (victim.terminating) continue;
      void this.evict(preemptor, victim, c.nodeName);
    }
    // Lower-priority pods nominated to this node may no longer fit there: let them look elsewhere.
    for (const np of [...nominator.podsOn(c.nodeName)]) {
      if (np.uid === preemptor.uid || np.priority >= preemptor.priority) continue;
      nominator.delete(np.uid);
      if (np.pod.status?.nominatedNodeName) this.patchStatus(np, { nominatedNodeName: null });
      this.queue.activate(np.uid);
    }
  }

  private async evict(preemptor: PodInfo, victim: PodInfo, nodeName: string): Promise<void> {
    try {
      const condition = {
        type: DISRUPTION_TARGET,
        status: 'True',
        reason: PREEMPTION_BY_SCHEDULER,
        message: `${this.opts.schedulerName}: preempting to accommodate a higher priority pod`,
        lastTransitionTime: now(),
      };
      await this.api.patchStatus(victim, { conditions: [condition] });
      await this.api.deletePod(victim);
      this.api.event(victim.pod, 'Normal', 'Preempted', `Preempted by pod ${preemptor.uid} on node ${nodeName}`);
    } catch (e) {
      if (isGoneOrConflict(e)) return;
      this.log(`scheduler: preempting ${victim.key}: ${(e as Error).message}`);
      // The preemptor should not wait for a victim that will not go: try it again soon.
      this.queue.activate(preemptor.uid);
    }
  }

  private budgets(): DisruptionBudget[] {
    const out: DisruptionBudget[] = [];
    for (const o of this.lookups.disruptionBudgets()) {
      const spec = o.spec as { selector?: MetaLabelSelector } | undefined;
      const status = o.status as { disruptionsAllowed?: number; disruptedPods?: Record<string, string> } | undefined;
      let selector: LabelSelector;
      try {
        selector = selectorFromLabelSelector(spec?.selector);
      } catch {
        continue;
      }
      out.push({ namespace: o.metadata.namespace ?? '', selector, disruptionsAllowed: status?.disruptionsAllowed ?? 0, disruptedPods: new Set(Object.keys(status?.disruptedPods ?? {})) });
    }
    return out;
  }

  /** The pods a constraint-less pod spreads with: those of its Services and of its controller. */
  private defaultSpreadSelector(pod: PodInfo): LabelSelector | undefined {
    // Every replica of a workload asks the same question: answers are kept briefly, per controller (or per
    // label set for pods without one). A Service created meanwhile is seen within SPREAD_SELECTOR_TTL_MS.
    const owner = pod.pod.metadata?.ownerReferences?.find((r) => r.controller);
    const key = owner ? `${pod.namespace}\0${owner.uid}` : `${pod.namespace}\0\0${JSON.stringify(pod.labels)}`;
    const now = Date.now();
    const hit = this.spreadSelectors.get(key);
    if (hit && now - hit.at < SPREAD_SELECTOR_TTL_MS) return hit.selector;
    if (this.spreadSelectors.size > 10_000) this.spreadSelectors.clear();
    const selector = this.computeDefaultSpreadSelector(pod);
    this.spreadSelectors.set(key, { at: now, selector });
    return selector;
  }

  private computeDefaultSpreadSelector(pod: PodInfo): LabelSelector | undefined {
    const set: Record<string, string> = {};
    for (const svc of this.lookups.services(pod.namespace)) {
      const sel = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
      if (!sel || Object.keys(sel).length === 0) continue;
      if (matchesLabels(selectorFromSet(sel), pod.labels)) Object.assign(set, sel);
    }
    const extra: LabelRequirement[] = [];
    const owner = pod.pod.metadata?.ownerReferences?.find((r) => r.controller);
    if (owner) {
      const key = `${pod.namespace}/${owner.name}`;
      if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
        const rc = this.lookups.controller('ReplicationController', key);
        Object.assign(set, (rc?.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {});
      } else if ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1') {
        const o = this.lookups.controller(owner.kind, key);
        const sel = (o?.spec as { selector?: MetaLabelSelector } | undefined)?.selector;
        if (sel) {
          try {
            extra.push(...selectorFromLabelSelector(sel).requirements);
          } catch {
            // An invalid selector adds nothing, as kube-scheduler ignores it.
          }
        }
      }
    }
    const base = selectorFromSet(set);
    if (base.requirements.length === 0 && extra.length === 0) return undefined;
    return { requirements: [...base.requirements, ...extra] };
  }
}

export function scheduler(opts: SchedulerOptions = {}): Scheduler {
  return new Scheduler(opts);
}
