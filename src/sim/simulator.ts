import { randomUUID } from 'node:crypto';
import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { RestClient, resource, type ClientConfig } from '../client/rest.js';
import { Informer, objectKey } from '../client/informer.js';
import { WorkQueue, runWorkers } from '../client/workqueue.js';
import { FIRST_POD_OFFSET, LAST_POD_OFFSET, nodeAddresses, offsetInBlock, type NodeAddresses } from './addresses.js';
import { Limiter } from './limiter.js';
import { buildLease, buildNode, finishedPodStatus, healthyConditions, looksRunning, microTimestamp, nodeStatusFacts, runningPodStatus, NODE_LEASE_NAMESPACE, SIM_LABEL, SIM_LABEL_VALUE, type SimNodeSpec } from './objects.js';

// `kite sim`: many simulated kubelets in one process. Each node registers, heartbeats through its Lease,
// and reports its status; one pod informer serves all of them: bound pods start at once, run-to-completion
// pods succeed after a while, deleted pods go away. Work is batched so thousands of nodes stay cheap: one
// timer spreads lease renewals evenly over the interval, and requests in flight are bounded.

const NODES = resource('', 'v1', 'nodes');
const LEASES = resource('coordination.k8s.io', 'v1', 'leases');
const PODS = resource('', 'v1', 'pods');

export interface SimulatorOptions {
  nodes: number;
  namePrefix: string;
  cpu: string;
  memory: string;
  pods: number;
  ephemeralStorage: string;
  extendedResources: Record<string, string>;
  labels: Record<string, string>;
  taints: Taint[];
  /** How long pods with restartPolicy Never or OnFailure run before they succeed. */
  podRunSeconds: number;
  /** Lease renewal period of every node (the kubelet's is 10 s). */
  heartbeatIntervalMs: number;
  /** How often an unchanged node status is re-posted (the kubelet's nodeStatusReportFrequency, 5 min). */
  statusReportIntervalMs: number;
  /** Requests in flight for heartbeats, and separately for pod work. */
  maxInFlight: number;
  /** Progress lines for the user (stdout). */
  progress(msg: string): void;
  /** Problems (stderr). */
  log(msg: string): void;
}

export const DEFAULT_SIM_OPTIONS: Omit<SimulatorOptions, 'nodes' | 'progress' | 'log'> = {
  namePrefix: 'sim-',
  cpu: '4',
  memory: '16Gi',
  pods: 110,
  ephemeralStorage: '100Gi',
  extendedResources: {},
  labels: {},
  taints: [],
  podRunSeconds: 1,
  heartbeatIntervalMs: 10_000,
  statusReportIntervalMs: 5 * 60_000,
  maxInFlight: 32,
};

interface SimNode {
  name: string;
  spec: SimNodeSpec;
  addresses: NodeAddresses;
  uid?: string;
  registered: boolean;
  /** The Lease as this node last wrote it (undefined until written, or after a failed renewal). */
  lease?: KubeObject;
  busy: boolean;
  lastStatusMs: number;
  /** The API shows a status this kubelet would not report (the node controller marked it Unknown). */
  statusDirty: boolean;
  /** The Node object was deleted: a kubelet does not re-register by itself, it just fails. */
  gone: boolean;
  /** Pod IP offsets in use, to pod UID. */
  ips: Map<number, string>;
}

function isCode(e: unknown, ...codes: number[]): boolean {
  return e instanceof StatusError && codes.includes(e.code);
}

/** Collapses repeated failures into one line per category every few seconds. */
class ErrorReporter {
  private readonly counts = new Map<string, { n: number; last: string }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly log: (msg: string) => void) {}

  report(what: string, e: unknown): void {
    if (this.stopped) return;
    const c = this.counts.get(what) ?? { n: 0, last: '' };
    c.n++;
    c.last = (e as Error)?.message ?? String(e);
    this.counts.set(what, c);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), 5000);
      this.timer.unref();
    }
  }

  flush(): void {
    this.timer = undefined;
    for (const [what, c] of this.counts) this.log(`${c.n} ${what} failed in the last 5s; last error: ${c.last}`);
    this.counts.clear();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.flush();
    this.stopped = true;
  }
}

export class Simulator {
  private readonly opts: SimulatorOptions;
  private readonly client: RestClient;
  private readonly podClient: RestClient;
  private readonly watchClient: RestClient;
  private readonly limiter: Limiter;
  private readonly nodes: SimNode[] = [];
  private readonly byName = new Map<string, SimNode>();
  private readonly podIPs = new Map<string, { node: SimNode; offset: number }>();
  /** Pods whose status this process wrote, by UID, until the watch shows the write. */
  private readonly wrote = new Map<string, string>();
  private readonly queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 10_000 });
  private readonly errors: ErrorReporter;
  private readonly bootID = randomUUID();
  private podInformer: Informer | undefined;
  private nodeInformer: Informer | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private tickStart = 0;
  private cursor = 0;
  private stopped = false;

  constructor(config: ClientConfig, options: Partial<SimulatorOptions> & Pick<SimulatorOptions, 'nodes'>) {
    this.opts = { ...DEFAULT_SIM_OPTIONS, progress: (m) => console.log(m), log: (m) => console.error(m), ...options };
    if (!Number.isInteger(this.opts.nodes) || this.opts.nodes < 1) throw new Error('the number of nodes must be a positive whole number');
    this.client = new RestClient({ ...config, userAgent: 'kubelet' });
    this.podClient = new RestClient({ ...config, userAgent: 'kubelet' });
    this.watchClient = new RestClient({ ...config, userAgent: 'kubelet' });
    this.limiter = new Limiter(this.opts.maxInFlight);
    this.errors = new ErrorReporter(this.opts.log);
    for (let i = 0; i < this.opts.nodes; i++) {
      const name = `${this.opts.namePrefix}${i}`;
      const addresses = nodeAddresses(this.opts.namePrefix, i);
      const spec: SimNodeSpec = {
        name,
        addresses,
        cpu: this.opts.cpu,
        memory: this.opts.memory,
        pods: this.opts.pods,
        ephemeralStorage: this.opts.ephemeralStorage,
        extendedResources: this.opts.extendedResources,
        labels: this.opts.labels,
        taints: this.opts.taints,
        bootID: this.bootID,
      };
      const n: SimNode = { name, spec, addresses, registered: false, busy: false, lastStatusMs: 0, statusDirty: false, gone: false, ips: new Map() };
      this.nodes.push(n);
      this.byName.set(name, n);
    }
  }

  get nodeNames(): string[] {
    return this.nodes.map((n) => n.name);
  }

  private get leaseDurationSeconds(): number {
    // The kubelet renews every quarter of the lease's duration.
    return Math.max(1, Math.ceil((4 * this.opts.heartbeatIntervalMs) / 1000));
  }

  /** Register every node (printing progress), then heartbeat and serve pods until stop(). */
  async start(): Promise<void> {
    this.startHeartbeats();
    const total = this.nodes.length;
    const step = total >= 10_000 ? 1000 : total >= 1000 ? 500 : total >= 100 ? 50 : total >= 10 ? 5 : 1;
    let done = 0;
    await Promise.all(
      this.nodes.map((n) =>
        this.limiter.run(async () => {
          if (this.stopped) return;
          await this.register(n);
          done++;
          if (done % step === 0 || done === total) this.opts.progress(`registered ${done}/${total} nodes`);
        }),
      ),
    );
    if (this.stopped) return;
    this.startInformers();
    await Promise.all([this.nodeInformer!.waitForSync(), this.podInformer!.waitForSync()]);
    this.opts.progress(`ready: ${total} simulated node${total === 1 ? '' : 's'} (${this.nodes[0]!.name}${total > 1 ? ` … ${this.nodes[total - 1]!.name}` : ''}), lease renewed every ${this.opts.heartbeatIntervalMs / 1000}s`);
  }

  /** Stop heartbeats and pod work; the nodes stay registered, as when a machine goes away. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    this.queue.shutdown();
    await Promise.all([this.podInformer?.stop(), this.nodeInformer?.stop()]);
    this.errors.stop();
    this.client.close();
    this.podClient.close();
    this.watchClient.close();
  }

  private async register(n: SimNode): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        try {
          const created = await this.client.create(NODES, undefined, buildNode(n.spec) as unknown as KubeObject);
          n.uid = created.metadata.uid;
        } catch (e) {
          if (!isCode(e, 409)) throw e;
          // Registered before (a restarted simulator): adopt it and report fresh status, as the kubelet does.
          const existing = (await this.client.get(NODES, undefined, n.name)) as unknown as Node;
          n.uid = existing.metadata?.uid;
          const status = { ...nodeStatusFacts(n.spec), conditions: healthyConditions(existing.status?.conditions) };
          await this.client.patch(NODES, undefined, n.name, 'strategic', { status }, { subresource: 'status' });
        }
        n.lastStatusMs = Date.now();
        await this.renewLease(n);
        n.registered = true;
        return;
      } catch (e) {
        if (this.stopped) return;
        this.errors.report('node registrations', e);
        await new Promise((r) => setTimeout(r, Math.min(10_000, 200 * 2 ** attempt)));
      }
    }
  }

  /** As the kubelet: PUT the Lease it last wrote with renewTime bumped (the server then sees unchanged
   *  managedFields and the resourceVersion it expects); on a conflict or 404 read it again, or create it. */
  private async renewLease(n: SimNode): Promise<void> {
    const now = Date.now();
    if (n.lease) {
      try {
        n.lease = await this.client.update(LEASES, this.renewed(n, n.lease, now));
        return;
      } catch (e) {
        n.lease = undefined;
        if (!isCode(e, 404, 409)) throw e;
      }
    }
    let current: KubeObject;
    try {
      current = await this.client.get(LEASES, NODE_LEASE_NAMESPACE, n.name);
    } catch (e) {
      if (!isCode(e, 404)) throw e;
      n.lease = await this.client.create(LEASES, NODE_LEASE_NAMESPACE, buildLease(n.name, n.uid, this.leaseDurationSeconds, now) as unknown as KubeObject);
      return;
    }
    n.lease = await this.client.update(LEASES, this.renewed(n, current, now));
  }

  /** A copy of `lease` held by this node for another lease duration from `now`, owned by its Node. */
  private renewed(n: SimNode, lease: KubeObject, now: number): KubeObject {
    const meta = lease.metadata;
    const owned = !n.uid || (meta.ownerReferences ?? []).some((r) => r.kind === 'Node' && r.uid === n.uid);
    const spec = (lease.spec ?? {}) as Record<string, unknown>;
    return {
      ...lease,
      metadata: owned ? meta : { ...meta, ownerReferences: buildLease(n.name, n.uid, 0).metadata!.ownerReferences },
      spec: { ...spec, holderIdentity: n.name, leaseDurationSeconds: this.leaseDurationSeconds, renewTime: microTimestamp(now) },
    };
  }

  private async postStatus(n: SimNode): Promise<void> {
    const current = this.nodeInformer?.get(n.name) as unknown as Node | undefined;
    try {
      await this.client.patch(NODES, undefined, n.name, 'strategic', { status: { conditions: healthyConditions(current?.status?.conditions) } }, { subresource: 'status' });
      n.lastStatusMs = Date.now();
      n.statusDirty = false;
    } catch (e) {
      if (isCode(e, 404)) this.markGone(n);
      else throw e;
    }
  }

  private markGone(n: SimNode): void {
    if (n.gone) return;
    n.gone = true;
    this.opts.log(`node ${n.name} was deleted: its heartbeats stop`);
  }

  /** One timer for every node: renewals spread evenly across the interval. */
  private startHeartbeats(): void {
    const count = this.nodes.length;
    const interval = this.opts.heartbeatIntervalMs;
    const period = Math.max(5, Math.min(250, interval / count));
    this.tickStart = Date.now();
    this.ticker = setInterval(() => {
      const target = Math.floor(((Date.now() - this.tickStart) / interval) * count);
      // After a stall, skip ahead rather than fire more than one round at once.
      if (target - this.cursor > count) this.cursor = target - count;
      while (this.cursor < target) {
        const n = this.nodes[this.cursor % count]!;
        this.cursor++;
        if (!n.registered || n.gone || n.busy) continue;
        n.busy = true;
        void this.limiter
          .run(() => this.heartbeat(n))
          .catch((e) => this.errors.report('heartbeats', e))
          .finally(() => (n.busy = false));
      }
    }, period);
  }

  private async heartbeat(n: SimNode): Promise<void> {
    if (this.stopped || n.gone) return;
    await this.renewLease(n);
    if (n.statusDirty || Date.now() - n.lastStatusMs >= this.opts.statusReportIntervalMs) await this.postStatus(n);
  }

  private startInformers(): void {
    this.nodeInformer = new Informer(this.watchClient, NODES, { labelSelector: `${SIM_LABEL}=${SIM_LABEL_VALUE}`, log: this.opts.log });
    this.nodeInformer.addHandlers({
      add: (o) => this.observeNode(o as unknown as Node),
      update: (_, o) => this.observeNode(o as unknown as Node),
      delete: (o) => {
        const n = this.byName.get(o.metadata.name ?? '');
        if (n && n.uid === o.metadata.uid) this.markGone(n);
      },
    });
    // A field selector cannot say "one of these N nodes": watch every bound pod and keep ours.
    this.podInformer = new Informer(this.watchClient, PODS, { fieldSelector: 'spec.nodeName!=', log: this.opts.log });
    this.podInformer.addHandlers({
      add: (o) => this.observePod(o),
      update: (_, o) => this.observePod(o),
      delete: (o) => {
        const uid = o.metadata.uid ?? '';
        this.releaseIP(uid);
        this.wrote.delete(uid);
      },
    });
    this.nodeInformer.start();
    this.podInformer.start();
    void runWorkers(this.queue, this.opts.maxInFlight, (k) => this.reconcilePod(k), (k, e) => this.errors.report('pod updates', e));
  }

  private observeNode(node: Node): void {
    const n = this.byName.get(node.metadata?.name ?? '');
    if (!n || n.gone || !n.registered || node.metadata?.uid !== n.uid) return;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True' || ready.reason !== 'KubeletReady') n.statusDirty = true;
  }

  private observePod(o: KubeObject): void {
    const pod = o as unknown as Pod;
    const n = this.byName.get(pod.spec?.nodeName ?? '');
    if (!n) return;
    const uid = pod.metadata?.uid ?? '';
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') this.releaseIP(uid);
    else {
      const offset = offsetInBlock(n.addresses.hostIP, pod.status?.podIP);
      if (offset !== undefined && offset >= FIRST_POD_OFFSET && !this.podIPs.has(uid)) {
        n.ips.set(offset, uid);
        this.podIPs.set(uid, { node: n, offset });
      }
    }
    if (this.wrote.get(uid) === phase) this.wrote.delete(uid);
    this.queue.add(objectKey(o));
  }

  private allocateIP(n: SimNode, uid: string): string {
    const known = this.podIPs.get(uid);
    if (known && known.node === n) return n.addresses.podIP(known.offset);
    let offset = FIRST_POD_OFFSET;
    while (offset <= LAST_POD_OFFSET && n.ips.has(offset)) offset++;
    // More pods than addresses in the /24: share one rather than fail; nothing routes to them anyway.
    if (offset > LAST_POD_OFFSET) offset = FIRST_POD_OFFSET + (n.ips.size % (LAST_POD_OFFSET - FIRST_POD_OFFSET + 1));
    n.ips.set(offset, uid);
    this.podIPs.set(uid, { node: n, offset });
    return n.addresses.podIP(offset);
  }

  private releaseIP(uid: string): void {
    const known = this.podIPs.get(uid);
    if (!known) return;
    this.podIPs.delete(uid);
    if (known.node.ips.get(known.offset) === uid) known.node.ips.delete(known.offset);
  }

  private async reconcilePod(key: string): Promise<void> {
    const obj = this.podInformer?.get(key);
    if (!obj || this.stopped) return;
    let pod = obj as unknown as Pod;
    const n = this.byName.get(pod.spec?.nodeName ?? '');
    if (!n || n.gone) return;
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid ?? '';
    if (pod.metadata?.deletionTimestamp) {
      // Containers stop at once here, so the grace period is over as soon as it starts.
      try {
        await this.podClient.delete(PODS, ns, name, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (e) {
        if (!isCode(e, 404, 409)) throw e;
      }
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    // Our last write has not come back through the watch yet: the informer's copy is older than it.
    if (this.wrote.has(uid)) return;
    if (!looksRunning(pod)) {
      const podIP = pod.spec?.hostNetwork ? n.addresses.hostIP : this.allocateIP(n, uid);
      const status = runningPodStatus(pod, { hostIP: n.addresses.hostIP, podIP });
      pod = (await this.podClient.patch(PODS, ns, name, 'merge', { status }, { subresource: 'status' })) as unknown as Pod;
      this.noteWrite(uid, 'Running', pod);
    }
    const now = Date.now();
    const started = Date.parse(pod.status?.startTime ?? '') || now;
    let due = Infinity;
    let outcome: 'Succeeded' | 'DeadlineExceeded' = 'Succeeded';
    const policy = pod.spec?.restartPolicy;
    if (policy === 'Never' || policy === 'OnFailure') due = started + this.opts.podRunSeconds * 1000;
    const deadline = pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && started + deadline * 1000 < due) {
      due = started + deadline * 1000;
      outcome = 'DeadlineExceeded';
    }
    if (due === Infinity) return;
    if (now < due) {
      this.queue.addAfter(key, due - now + 5);
      return;
    }
    const finished = (await this.podClient.patch(PODS, ns, name, 'merge', { status: finishedPodStatus(pod, outcome) }, { subresource: 'status' })) as unknown as Pod;
    this.noteWrite(uid, finished.status?.phase ?? '', finished);
    this.releaseIP(uid);
  }

  /** Remember a write until the informer catches up with it, unless it already has. */
  private noteWrite(uid: string, phase: string, written: Pod): void {
    const seen = this.podInformer?.get(objectKey(written as unknown as KubeObject)) as unknown as Pod | undefined;
    if (seen?.metadata?.resourceVersion === written.metadata?.resourceVersion) return;
    this.wrote.set(uid, phase);
  }
}
