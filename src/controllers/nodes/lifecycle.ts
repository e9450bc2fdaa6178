import type { Node, NodeCondition, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { KubeObject } from '../../api/object.js';
import { clone } from '../../api/object.js';
import type { Informer } from '../../client/informer.js';
import { objectKey } from '../../client/informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { EventRecorder } from '../../client/events.js';
import type { Controller, ControllerContext } from '../runtime.js';
import { RateLimitedQueue, TokenBucket } from './ratelimit.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE, hasTaint, sameTaint } from './taints.js';
import { LEASES, NODES, NODE_LEASE_NAMESPACE, PODS, asNode, asPod, indexPodsByNode, isCode, mapLimit, nodeCondition, parseTime, patchPodCondition, podCondition, podsOnNode, timestamp, updateNodeTaints } from './util.js';

// kube-controller-manager's node lifecycle controller. Kubelets prove they are alive by renewing their
// Lease (and posting status); a node silent for longer than the grace period gets its conditions set to
// Unknown, and a node whose Ready is not True is tainted NoExecute (unreachable or not-ready) so the taint
// eviction controller moves its pods away. Times are this process's own observations of change, never the
// timestamps written by the node, so clock skew between machines does not matter. Tainting is rate-limited
// per zone, slowed or stopped when a zone loses many nodes at once, and stopped entirely when every node
// is down (more likely a partition of the control plane than the death of every machine).

const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: 'NoExecute' };

/** Condition type → (status → the NoSchedule taint that says so). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

/** The conditions a silent kubelet can no longer vouch for (NetworkUnavailable belongs to the network). */
const KUBELET_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

const EXCLUDE_DISRUPTION_LABEL = 'node.kubernetes.io/exclude-disruption';
const BETA_LABELS: Array<[string, string]> = [
  ['kubernetes.io/os', 'beta.kubernetes.io/os'],
  ['kubernetes.io/arch', 'beta.kubernetes.io/arch'],
];

type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

interface NodeHealth {
  /** When this process last saw a sign of life (status heartbeat or lease renewal). */
  probeMs: number;
  readyTransitionMs: number;
  ready: NodeCondition | undefined;
  leaseRenewMs: number | undefined;
}

export interface NodeLifecycleOptions {
  /** How often node health is checked (default: an eighth of the grace period, between 100 ms and 5 s). */
  monitorPeriodMs?: number;
  /** Grace for a node that never posted status, counted from its creation (default: the grace period). */
  startupGracePeriodMs?: number;
  /** Nodes tainted per second per zone (kube-controller-manager --node-eviction-rate, 0.1). */
  evictionQPS?: number;
  /** The same in a partially disrupted zone of a large cluster (--secondary-node-eviction-rate, 0.01). */
  secondaryEvictionQPS?: number;
  /** Zones with at most this many nodes stop tainting when partially disrupted (--large-cluster-size-threshold, 50). */
  largeClusterThreshold?: number;
  /** Share of not-ready nodes (more than 2) that makes a zone partially disrupted (--unhealthy-zone-threshold, 0.55). */
  unhealthyZoneThreshold?: number;
}

function zoneKey(node: Node): string {
  const l = node.metadata?.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region || zone ? `${region}:\x00:${zone}` : '';
}

function sameCondition(a: NodeCondition | undefined, b: NodeCondition | undefined): boolean {
  if (!a || !b) return a === b;
  return a.status === b.status && a.reason === b.reason && a.message === b.message && a.lastHeartbeatTime === b.lastHeartbeatTime && a.lastTransitionTime === b.lastTransitionTime;
}

/** Zone health from its nodes' Ready conditions: how many are not ready, and the resulting state. */
export function computeZoneState(readyConditions: Array<NodeCondition | undefined>, unhealthyThreshold: number): [number, ZoneState] {
  let ready = 0;
  let notReady = 0;
  for (const c of readyConditions) {
    if (c?.status === 'True') ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return [notReady, 'FullDisruption'];
  if (notReady > 2 && notReady / (notReady + ready) >= unhealthyThreshold) return [notReady, 'PartialDisruption'];
  return [notReady, 'Normal'];
}

function nodeRef(node: Node): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: node.metadata?.name, uid: node.metadata?.uid } };
}

function podRef(pod: Pod): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion } };
}

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  private ctx!: ControllerContext;
  private nodes!: Informer;
  private leases!: Informer;
  private pods!: Informer;
  private recorder!: EventRecorder;
  private readonly nodeQueue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 30_000 });
  private readonly podQueue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 30_000 });
  private readonly health = new Map<string, NodeHealth>();
  private readonly known = new Map<string, Node>();
  private readonly retry = new Set<string>();
  private readonly zoneStates = new Map<string, ZoneState>();
  private readonly tainters = new Map<string, RateLimitedQueue>();
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private graceMs = 40_000;
  private startupGraceMs = 40_000;
  private monitorPeriodMs = 5000;
  private readonly evictionQPS: number;
  private readonly secondaryEvictionQPS: number;
  private readonly largeClusterThreshold: number;
  private readonly unhealthyZoneThreshold: number;

  constructor(private readonly opts: NodeLifecycleOptions = {}) {
    this.evictionQPS = opts.evictionQPS ?? 0.1;
    this.secondaryEvictionQPS = opts.secondaryEvictionQPS ?? 0.01;
    this.largeClusterThreshold = opts.largeClusterThreshold ?? 50;
    this.unhealthyZoneThreshold = opts.unhealthyZoneThreshold ?? 0.55;
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.graceMs = ctx.options.nodeMonitorGracePeriodMs;
    this.startupGraceMs = this.opts.startupGracePeriodMs ?? this.graceMs;
    this.monitorPeriodMs = this.opts.monitorPeriodMs ?? Math.min(5000, Math.max(100, this.graceMs / 8));
    this.recorder = ctx.recorder('node-controller');
    this.nodes = ctx.informers.for(NODES);
    this.leases = ctx.informers.for(LEASES);
    this.pods = ctx.informers.for(PODS);
    indexPodsByNode(this.pods);
    this.nodes.addHandlers({
      add: (o) => this.nodeQueue.add(o.metadata.name ?? ''),
      update: (_, o) => this.nodeQueue.add(o.metadata.name ?? ''),
      delete: (o) => this.retry.delete(o.metadata.name ?? ''),
    });
    this.pods.addHandlers({
      add: (o) => this.podUpdated(undefined, asPod(o)),
      update: (old, o) => this.podUpdated(asPod(old), asPod(o)),
    });
    void this.run();
  }

  /** Quiet once stopped: requests still in flight then fail by design. */
  private log(msg: string): void {
    if (!this.stopped) this.ctx.log(msg);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.nodeQueue.shutdown();
    this.podQueue.shutdown();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers = this.timers.filter((x) => x !== t);
        resolve();
      }, ms);
      this.timers.push(t);
    });
  }

  private async run(): Promise<void> {
    await Promise.all([this.nodes.waitForSync(), this.leases.waitForSync(), this.pods.waitForSync()]);
    if (this.stopped) return;
    const onError = (what: string) => (key: string, e: unknown) => this.log(`${this.name}: ${what} ${key}: ${(e as Error)?.message ?? String(e)}`);
    void runWorkers(this.nodeQueue, 4, (k) => this.processNode(k), onError('node'));
    void runWorkers(this.podQueue, 2, (k) => this.processPod(k), onError('pod'));
    void this.loop('tainting', 100, () => this.doNoExecuteTaintingPass());
    void this.loop('health monitor', this.monitorPeriodMs, () => this.monitorNodeHealth());
  }

  private async loop(what: string, periodMs: number, fn: () => Promise<void>): Promise<void> {
    while (!this.stopped) {
      try {
        await fn();
      } catch (e) {
        this.log(`${this.name}: ${what}: ${(e as Error)?.message ?? String(e)}`);
      }
      await this.sleep(periodMs);
    }
  }

  // ---- node events: NoSchedule taints that mirror conditions, and the beta os/arch labels ----

  private async processNode(name: string): Promise<void> {
    const obj = this.nodes.get(name);
    if (!obj) return;
    const node = asNode(obj);
    const want: Taint[] = [];
    for (const c of node.status?.conditions ?? []) {
      const key = CONDITION_TAINTS[c.type]?.[c.status];
      if (key) want.push({ key, effect: 'NoSchedule' });
    }
    if (node.spec?.unschedulable) want.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
    const have = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' && (t.key === TAINT_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)));
    const add = want.filter((w) => !have.some((h) => sameTaint(h, w)));
    const remove = have.filter((h) => !want.some((w) => sameTaint(h, w)));
    if (add.length || remove.length) await updateNodeTaints(this.ctx.client, this.nodes, name, add, remove);

    const labels = node.metadata?.labels ?? {};
    const fix: Record<string, string> = {};
    for (const [primary, secondary] of BETA_LABELS) {
      if (labels[primary] !== undefined && labels[secondary] !== labels[primary]) fix[secondary] = labels[primary];
    }
    if (Object.keys(fix).length) {
      try {
        await this.ctx.client.patch(NODES, undefined, name, 'merge', { metadata: { labels: fix } });
      } catch (e) {
        if (!isCode(e, 404)) throw e;
      }
    }
  }

  // ---- pods bound to a node that is already not ready ----

  private podUpdated(old: Pod | undefined, pod: Pod): void {
    const node = pod.spec?.nodeName;
    if (node && (!old || old.spec?.nodeName !== node)) this.podQueue.add(objectKey(pod as unknown as KubeObject));
  }

  private async processPod(key: string): Promise<void> {
    const obj = this.pods.get(key);
    if (!obj) return;
    const pod = asPod(obj);
    const nodeName = pod.spec?.nodeName ?? '';
    const h = this.health.get(nodeName);
    if (!h) return;
    if (!this.nodes.get(nodeName)) throw new Error(`node ${nodeName} is not known yet`);
    if (h.ready && h.ready.status !== 'True') await this.markPodsNotReady([pod], nodeName);
  }

  private async markPodsNotReady(pods: Pod[], nodeName: string): Promise<void> {
    const errors: string[] = [];
    for (const pod of pods) {
      if (pod.spec?.nodeName !== nodeName) continue;
      const ready = podCondition(pod, 'Ready');
      if (!ready || ready.status === 'False') continue;
      try {
        await patchPodCondition(this.ctx.client, pod, { ...ready, status: 'False' });
        this.recorder.event(podRef(pod), 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (e) {
        if (!isCode(e, 404, 409)) errors.push(`${pod.metadata?.namespace}/${pod.metadata?.name}: ${(e as Error).message}`);
      }
    }
    if (errors.length) throw new Error(`marking pods not ready: ${errors.join('; ')}`);
  }

  // ---- the health monitor ----

  private zoneTainter(node: Node): RateLimitedQueue {
    const zone = zoneKey(node);
    let q = this.tainters.get(zone);
    if (!q) {
      this.zoneStates.set(zone, 'Initial');
      q = new RateLimitedQueue(new TokenBucket(this.evictionQPS, 1));
      this.tainters.set(zone, q);
    }
    return q;
  }

  private async monitorNodeHealth(): Promise<void> {
    this.monitoring = true;
    try {
      await this.monitorPass();
    } finally {
      this.monitoring = false;
    }
  }

  private async monitorPass(): Promise<void> {
    const nodes = this.nodes.list().map(asNode);
    const seen = new Set<string>();
    for (const node of nodes) {
      const name = node.metadata?.name ?? '';
      seen.add(name);
      this.zoneTainter(node);
      if (!this.known.has(name)) {
        this.known.set(name, node);
        this.recorder.event(nodeRef(node), 'Normal', 'RegisteredNode', `Node ${name} event: Registered Node ${name} in Controller`);
        await this.markNodeAsReachable(node).catch((e) => this.log(`${this.name}: untainting ${name}: ${(e as Error).message}`));
      }
    }
    for (const [name, node] of [...this.known]) {
      if (seen.has(name)) continue;
      this.known.delete(name);
      this.health.delete(name);
      this.recorder.event(nodeRef(node), 'Normal', 'RemovingNode', `Node ${name} event: Removing Node ${name} from Controller`);
    }

    const zoneConditions = new Map<string, Array<NodeCondition | undefined>>();
    await mapLimit(nodes, 8, async (informerNode) => {
      if (this.stopped) return;
      let node = informerNode;
      const name = node.metadata?.name ?? '';
      let result: { observed: NodeCondition; current: NodeCondition | undefined } | undefined;
      for (let attempt = 0; attempt < 3 && !result; attempt++) {
        try {
          result = await this.tryUpdateNodeHealth(node);
        } catch (e) {
          try {
            node = asNode(await this.ctx.client.get(NODES, undefined, name));
          } catch {
            return;
          }
          if (attempt === 2) this.log(`${this.name}: updating health of node ${name}: ${(e as Error).message}`);
        }
      }
      if (!result) return;
      const { observed, current } = result;
      if (node.metadata?.labels?.[EXCLUDE_DISRUPTION_LABEL] === undefined) {
        const zone = zoneKey(node);
        zoneConditions.set(zone, [...(zoneConditions.get(zone) ?? []), current]);
      }
      if (current) {
        await this.processTaintBasedEviction(node, observed);
        const transition = current.status !== 'True' && observed.status === 'True';
        if (transition) this.recorder.event(nodeRef(node), 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
        if (transition || (this.retry.has(name) && observed.status !== 'True')) {
          try {
            await this.markPodsNotReady(podsOnNode(this.pods, name), name);
          } catch (e) {
            this.log(`${this.name}: ${(e as Error).message}; will retry`);
            this.retry.add(name);
            return;
          }
        }
      }
      this.retry.delete(name);
    });
    if (!this.stopped) await this.handleDisruption(zoneConditions, nodes);
  }

  /** Compare the node's status and lease with what was seen before; past the grace period, mark it Unknown. */
  private async tryUpdateNodeHealth(node: Node): Promise<{ observed: NodeCondition; current: NodeCondition | undefined }> {
    const name = node.metadata?.name ?? '';
    const now = Date.now();
    let h = this.health.get(name);
    let current = nodeCondition(node, 'Ready');
    let observed: NodeCondition;
    let grace = this.graceMs;
    if (!current) {
      // Never posted status: count from the node's creation.
      const created = parseTime(node.metadata?.creationTimestamp) ?? now;
      observed = { type: 'Ready', status: 'Unknown', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: node.metadata?.creationTimestamp };
      grace = this.startupGraceMs;
      h = h ? { ...h, ready: undefined } : { probeMs: created, readyTransitionMs: created, ready: undefined, leaseRenewMs: undefined };
    } else {
      observed = { ...current };
      const saved = h?.ready;
      if (!h || !saved) {
        h = { probeMs: now, readyTransitionMs: now, ready: current, leaseRenewMs: h?.leaseRenewMs };
      } else if (saved.lastHeartbeatTime !== current.lastHeartbeatTime) {
        h = { probeMs: now, readyTransitionMs: saved.lastTransitionTime !== current.lastTransitionTime ? now : h.readyTransitionMs, ready: current, leaseRenewMs: h.leaseRenewMs };
      } else {
        h = { ...h, ready: current };
      }
    }
    const leaseObj = this.leases.get(`${NODE_LEASE_NAMESPACE}/${name}`);
    const renew = leaseObj ? parseTime((leaseObj as unknown as Lease).spec?.renewTime) : undefined;
    if (renew !== undefined && (h.leaseRenewMs === undefined || h.leaseRenewMs < renew)) h = { ...h, leaseRenewMs: renew, probeMs: now };
    this.health.set(name, h);

    if (now <= h.probeMs + grace) return { observed, current };
    const t = timestamp(now);
    const conditions: NodeCondition[] = (node.status?.conditions ?? []).map((c) =>
      KUBELET_CONDITIONS.includes(c.type) && c.status !== 'Unknown' ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: t } : c,
    );
    for (const type of KUBELET_CONDITIONS) {
      if (!conditions.some((c) => c.type === type)) {
        conditions.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: node.metadata?.creationTimestamp, lastTransitionTime: t });
      }
    }
    const updated: Node = { ...clone(node), status: { ...node.status, conditions } };
    current = nodeCondition(updated, 'Ready');
    if (!sameCondition(current, observed)) {
      await this.ctx.client.updateStatus(NODES, updated as unknown as KubeObject);
      this.health.set(name, { ...h, ready: current, readyTransitionMs: now });
    }
    return { observed, current };
  }

  private async processTaintBasedEviction(node: Node, observed: NodeCondition): Promise<void> {
    const name = node.metadata?.name ?? '';
    const taints = node.spec?.taints;
    const warn = (e: unknown) => this.log(`${this.name}: tainting node ${name}: ${(e as Error).message}; will retry`);
    switch (observed.status) {
      case 'False':
        if (hasTaint(taints, UNREACHABLE_NO_EXECUTE)) await updateNodeTaints(this.ctx.client, this.nodes, name, [NOT_READY_NO_EXECUTE], [UNREACHABLE_NO_EXECUTE]).catch(warn);
        else this.markNodeForTainting(node, 'False');
        break;
      case 'Unknown':
        if (hasTaint(taints, NOT_READY_NO_EXECUTE)) await updateNodeTaints(this.ctx.client, this.nodes, name, [UNREACHABLE_NO_EXECUTE], [NOT_READY_NO_EXECUTE]).catch(warn);
        else this.markNodeForTainting(node, 'Unknown');
        break;
      case 'True':
        await this.markNodeAsReachable(node).catch(warn);
        break;
      default:
        break;
    }
  }

  private markNodeForTainting(node: Node, status: 'False' | 'Unknown'): void {
    const name = node.metadata?.name ?? '';
    const q = this.zoneTainter(node);
    // A taint someone removed by hand is queued again.
    if (!hasTaint(node.spec?.taints, status === 'False' ? NOT_READY_NO_EXECUTE : UNREACHABLE_NO_EXECUTE)) q.remove(name);
    q.add(name, node.metadata?.uid ?? '');
  }

  private async markNodeAsReachable(node: Node): Promise<void> {
    const name = node.metadata?.name ?? '';
    // The informer's copy may be newer than the caller's (a taint added since the pass began).
    const latest = this.nodes.get(name);
    const taints = (latest ? asNode(latest) : node).spec?.taints;
    if (hasTaint(taints, UNREACHABLE_NO_EXECUTE) || hasTaint(taints, NOT_READY_NO_EXECUTE)) await updateNodeTaints(this.ctx.client, this.nodes, name, [], [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE]);
    this.zoneTainter(node).remove(name);
  }

  private tainting = false;

  private monitoring = false;

  private async doNoExecuteTaintingPass(): Promise<void> {
    // Wait for the health pass to finish: it may yet find the whole zone down and stop all tainting.
    if (this.tainting || this.monitoring) return;
    this.tainting = true;
    try {
      for (const q of this.tainters.values()) {
        await q.try(async (name) => {
          const obj = this.nodes.get(name);
          if (!obj) return [true, 0];
          const node = asNode(obj);
          const ready = nodeCondition(node, 'Ready');
          if (!ready) return [false, 50];
          let add: Taint;
          let opposite: Taint;
          if (ready.status === 'False') [add, opposite] = [NOT_READY_NO_EXECUTE, UNREACHABLE_NO_EXECUTE];
          else if (ready.status === 'Unknown') [add, opposite] = [UNREACHABLE_NO_EXECUTE, NOT_READY_NO_EXECUTE];
          else return [true, 0];
          try {
            await updateNodeTaints(this.ctx.client, this.nodes, name, [add], [opposite]);
            return [true, 0];
          } catch (e) {
            this.log(`${this.name}: tainting node ${name}: ${(e as Error).message}`);
            return [false, 0];
          }
        });
      }
    } finally {
      this.tainting = false;
    }
  }

  private setLimiterInZone(zone: string, size: number, state: ZoneState): void {
    const q = this.tainters.get(zone);
    if (!q) return;
    if (state === 'PartialDisruption') q.swapLimiter(size > this.largeClusterThreshold ? this.secondaryEvictionQPS : 0);
    else if (state === 'Normal' || state === 'FullDisruption') q.swapLimiter(this.evictionQPS);
  }

  private async handleDisruption(zoneConditions: Map<string, Array<NodeCondition | undefined>>, nodes: Node[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allFullyDisrupted = true;
    for (const [zone, conds] of zoneConditions) {
      const [, state] = computeZoneState(conds, this.unhealthyZoneThreshold);
      if (state !== 'FullDisruption') allFullyDisrupted = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    }
    let allWereFullyDisrupted = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWereFullyDisrupted = false;
        break;
      }
    }
    if (allFullyDisrupted && allWereFullyDisrupted) {
      // Still no evictions; a taint that raced with entering this mode is taken off too.
      for (const node of nodes) await this.markNodeAsReachable(node).catch(() => undefined);
      return;
    }
    if (allFullyDisrupted) {
      this.log(`${this.name}: every node is not ready: entering master disruption mode (no evictions)`);
      for (const zone of this.zoneStates.keys()) {
        this.tainters.get(zone)?.swapLimiter(0);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      for (const node of nodes) await this.markNodeAsReachable(node).catch(() => undefined);
      return;
    }
    if (allWereFullyDisrupted) {
      this.log(`${this.name}: some nodes are ready again: leaving master disruption mode`);
      const now = Date.now();
      for (const node of nodes) {
        const name = node.metadata?.name ?? '';
        const h = this.health.get(name);
        if (h) this.health.set(name, { ...h, probeMs: now, readyTransitionMs: now });
      }
      for (const zone of this.zoneStates.keys()) {
        const state = newStates.get(zone) ?? 'Normal';
        this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, state);
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, state] of [...this.zoneStates]) {
      const next = newStates.get(zone) ?? state;
      if (next === state) continue;
      if (state !== 'Initial') this.log(`${this.name}: zone "${zone.replace('\x00', '')}" is now ${next}`);
      this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, next);
      this.zoneStates.set(zone, next);
    }
  }
}
