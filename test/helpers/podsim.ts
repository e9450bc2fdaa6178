import type { Node, Pod, Taint } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../src/api/object.js';
import { StatusError } from '../../src/api/errors.js';
import { Informer } from '../../src/client/informer.js';
import { RestClient, configFromKubeconfig, resource } from '../../src/client/rest.js';
import { matchesRequiredNodeAffinity, untoleratedTaint } from '../../src/controllers/apps/nodefit.js';

// A tiny stand-in for kubelets (and, when asked, the scheduler) so workload tests see pods progress:
// registers Ready nodes that heartbeat through Leases, binds unbound pods, moves pods on its nodes to
// Running and Ready, finishes run-to-completion pods, and removes deleted pods at once.
//
// Pod behaviour follows the first container's image:
//   sim/fail     the pod fails (exit code 1) after runMs, whatever its restartPolicy
//   sim/succeed  the pod succeeds (exit code 0) after runMs, whatever its restartPolicy
//   sim/run      the pod runs (Ready) until deleted, whatever its restartPolicy
//   sim/unready  the pod runs but never becomes Ready
//   anything else: restartPolicy Never/OnFailure pods succeed after runMs, others run forever.

const PODS = resource('', 'v1', 'pods');
const NODES = resource('', 'v1', 'nodes');
const NAMESPACES = resource('', 'v1', 'namespaces');
const LEASES = resource('coordination.k8s.io', 'v1', 'leases');

export interface SimNode {
  name: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

export interface PodSimOptions {
  kubeconfig: string;
  nodes?: Array<string | SimNode>;
  /** Bind pods that have no node (when no scheduler runs). Default true. */
  bind?: boolean;
  /** How long run-to-completion pods run. Default 200 ms. */
  runMs?: number;
  /** Renew node Leases every this many ms (0: never). Default 10 s. */
  heartbeatMs?: number;
}

function rfc3339(t = Date.now()): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function microTime(t = Date.now()): string {
  return new Date(t).toISOString().replace(/Z$/, '000Z');
}

function ignore404(e: unknown): void {
  if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
}

export class PodSim {
  readonly client: RestClient;
  private readonly informer: Informer;
  private readonly nodes = new Map<string, { spec: SimNode; ip: string; pods: number }>();
  private readonly inFlight = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  private ipSeq = 0;
  readonly errors: string[] = [];

  private constructor(private readonly opts: PodSimOptions) {
    this.client = new RestClient(configFromKubeconfig(opts.kubeconfig, 'podsim'));
    this.informer = new Informer(this.client, PODS);
  }

  static async start(opts: PodSimOptions): Promise<PodSim> {
    const sim = new PodSim(opts);
    await sim.client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-node-lease' } }).catch(ignore404);
    for (const n of opts.nodes ?? []) await sim.addNode(typeof n === 'string' ? { name: n } : n);
    sim.informer.addHandlers({ add: (p) => sim.handle(p), update: (_o, p) => sim.handle(p) });
    sim.informer.start();
    await sim.informer.waitForSync();
    const every = opts.heartbeatMs ?? 10_000;
    if (every > 0) {
      sim.heartbeat = setInterval(() => void sim.renewLeases(), every);
      sim.heartbeat.unref();
    }
    return sim;
  }

  async addNode(spec: SimNode): Promise<void> {
    const index = this.nodes.size + 1;
    const ip = `10.0.${Math.floor(index / 250)}.${(index % 250) + 1}`;
    this.nodes.set(spec.name, { spec, ip, pods: 0 });
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: spec.name,
        labels: { 'kubernetes.io/hostname': spec.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...(spec.labels ?? {}) },
      },
      spec: { ...(spec.taints?.length ? { taints: spec.taints } : {}), ...(spec.unschedulable ? { unschedulable: true } : {}) },
    };
    await this.client.create(NODES, undefined, node as unknown as KubeObject).catch(ignore404);
    const now = rfc3339();
    const resources = { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' };
    const status = {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: spec.name },
      ],
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: now, lastTransitionTime: now },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: now, lastTransitionTime: now },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: now, lastTransitionTime: now },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0',
        kubeProxyVersion: 'v1.32.0',
        containerRuntimeVersion: 'sim://1.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'podsim',
        kernelVersion: '6.0.0',
        machineID: spec.name,
        systemUUID: spec.name,
        bootID: spec.name,
      },
    };
    await this.client.patch(NODES, undefined, spec.name, 'merge', { status }, { subresource: 'status' });
    await this.renewLease(spec.name);
  }

  private async renewLease(name: string): Promise<void> {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
    };
    try {
      await this.client.patch(LEASES, 'kube-node-lease', name, 'merge', { spec: lease.spec });
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
      await this.client.create(LEASES, 'kube-node-lease', lease).catch(ignore404);
    }
  }

  private async renewLeases(): Promise<void> {
    for (const name of this.nodes.keys()) {
      try {
        await this.renewLease(name);
      } catch (e) {
        this.errors.push(`lease ${name}: ${(e as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const t of this.timers) clearTimeout(t);
    await this.informer.stop();
    this.client.close();
  }

  /** Run `fn` once per key at a time; a failure lets a later event retry it. */
  private once(key: string, fn: () => Promise<void>): void {
    if (this.stopped || this.inFlight.has(key)) return;
    this.inFlight.add(key);
    fn().then(
      () => undefined,
      (e: unknown) => {
        this.inFlight.delete(key);
        if (!(e instanceof StatusError && e.code === 404)) this.errors.push(`${key}: ${(e as Error).message}`);
      },
    );
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(o: KubeObject): void {
    const pod = o as unknown as Pod;
    const uid = pod.metadata?.uid ?? '';
    const ns = pod.metadata?.namespace;
    const name = pod.metadata?.name ?? '';
    const nodeName = pod.spec?.nodeName;
    if (pod.metadata?.deletionTimestamp) {
      // A kubelet stops the containers, then deletes with grace 0; finalizers may still hold the object.
      if (nodeName && !this.nodes.has(nodeName)) return;
      this.once(`delete/${uid}/${pod.metadata.resourceVersion}`, async () => {
        await this.client.delete(PODS, ns, name, { gracePeriodSeconds: 0, preconditions: { uid } }).catch(ignore404);
      });
      return;
    }
    if (!nodeName) {
      if (this.opts.bind === false) return;
      if ((pod.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return;
      this.once(`bind/${uid}`, async () => {
        const target = this.chooseNode(pod);
        if (!target) {
          this.inFlight.delete(`bind/${uid}`);
          return;
        }
        this.nodes.get(target)!.pods++;
        await this.client.createSubresource(PODS, ns, name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace: ns }, target: { apiVersion: 'v1', kind: 'Node', name: target } });
      });
      return;
    }
    const node = this.nodes.get(nodeName);
    if (!node) return;
    const phase = pod.status?.phase ?? 'Pending';
    if (phase === 'Pending') {
      this.once(`start/${uid}`, () => this.run(pod, node.ip));
      return;
    }
    if (phase === 'Running') {
      const image = pod.spec?.containers?.[0]?.image ?? '';
      const runToCompletion = pod.spec?.restartPolicy === 'Never' || pod.spec?.restartPolicy === 'OnFailure';
      const outcome = image.startsWith('sim/fail')
        ? 'Failed'
        : image.startsWith('sim/succeed')
          ? 'Succeeded'
          : runToCompletion && !image.startsWith('sim/run') && !image.startsWith('sim/unready')
            ? 'Succeeded'
            : undefined;
      if (!outcome) return;
      this.once(`finish/${uid}`, async () => {
        this.later(this.opts.runMs ?? 200, () => {
          void this.finish(pod, outcome).catch((e: unknown) => {
            if (!(e instanceof StatusError && e.code === 404)) this.errors.push(`finish ${name}: ${(e as Error).message}`);
          });
        });
      });
    }
  }

  /** The least loaded node of this sim that the pod fits (selector, affinity, taints, cordon). */
  private chooseNode(pod: Pod): string | undefined {
    let best: string | undefined;
    let bestLoad = Infinity;
    for (const [name, n] of this.nodes) {
      const node = this.nodeObject(name);
      if (!node || node.spec?.unschedulable) continue;
      if (!matchesRequiredNodeAffinity(pod.spec, node)) continue;
      if (untoleratedTaint(node.spec?.taints, pod.spec?.tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) continue;
      if (n.pods < bestLoad) {
        best = name;
        bestLoad = n.pods;
      }
    }
    return best;
  }

  private nodeObject(name: string): Node | undefined {
    const n = this.nodes.get(name);
    if (!n) return undefined;
    const labels = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...(n.spec.labels ?? {}) };
    return { metadata: { name, labels }, spec: { taints: n.spec.taints, unschedulable: n.spec.unschedulable } };
  }

  private async run(pod: Pod, hostIP: string): Promise<void> {
    const now = rfc3339();
    const image = pod.spec?.containers?.[0]?.image ?? '';
    const ready = !image.startsWith('sim/unready');
    const seq = ++this.ipSeq;
    const podIP = `10.244.${Math.floor(seq / 250) % 250}.${(seq % 250) + 1}`;
    const cond = (type: string, status: string) => ({ type, status, lastProbeTime: null, lastTransitionTime: now });
    const status = {
      phase: 'Running',
      conditions: [cond('PodReadyToStartContainers', 'True'), cond('Initialized', 'True'), cond('Ready', ready ? 'True' : 'False'), cond('ContainersReady', ready ? 'True' : 'False'), cond('PodScheduled', 'True')],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: now,
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `sim://${c.image}`,
        containerID: `sim://${pod.metadata?.uid}/${c.name}`,
        ready,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      })),
    };
    await this.client.patch(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status }, { subresource: 'status' });
  }

  private async finish(pod: Pod, phase: 'Succeeded' | 'Failed'): Promise<void> {
    const now = rfc3339();
    const started = pod.status?.startTime ?? now;
    const exitCode = phase === 'Succeeded' ? 0 : 1;
    const reason = phase === 'Succeeded' ? 'Completed' : 'Error';
    const cond = (type: string, status: string, r?: string) => ({ type, status, lastProbeTime: null, lastTransitionTime: now, ...(r ? { reason: r } : {}) });
    const status = {
      phase,
      conditions: [
        cond('PodReadyToStartContainers', 'False'),
        cond('Initialized', 'True'),
        cond('Ready', 'False', 'PodCompleted'),
        cond('ContainersReady', 'False', 'PodCompleted'),
        cond('PodScheduled', 'True'),
      ],
      containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        imageID: `sim://${c.image}`,
        containerID: `sim://${pod.metadata?.uid}/${c.name}`,
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode, reason, startedAt: started, finishedAt: now, containerID: `sim://${pod.metadata?.uid}/${c.name}` } },
      })),
    };
    await this.client.patch(PODS, pod.metadata?.namespace, pod.metadata?.name ?? '', 'merge', { status }, { subresource: 'status' });
  }
}

export interface PodEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  name: string;
  node?: string;
  phase?: string;
  ready: boolean;
  deleting: boolean;
  labels: Record<string, string>;
  image?: string;
}

/**
 * Records every pod event matching a label selector, in order, so tests can check orderings and
 * invariants "at every moment" rather than by sampling.
 */
export class PodWatch {
  readonly events: PodEvent[] = [];
  private handle: { stop(): void; done: Promise<void> } | undefined;

  private constructor(
    private readonly client: RestClient,
    private readonly namespace: string,
    private readonly selector: string,
  ) {}

  static async start(kubeconfig: string, namespace: string, selector: string): Promise<PodWatch> {
    const w = new PodWatch(new RestClient(configFromKubeconfig(kubeconfig, 'podwatch')), namespace, selector);
    const list = await w.client.list(PODS, namespace, { labelSelector: selector });
    for (const p of list.items) w.record('ADDED', p);
    w.handle = w.client.watch(PODS, namespace, { labelSelector: selector, resourceVersion: list.metadata.resourceVersion }, (ev) => {
      if (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED') w.record(ev.type, ev.object);
    });
    w.handle.done.catch(() => undefined);
    return w;
  }

  private record(type: PodEvent['type'], o: KubeObject): void {
    const p = o as unknown as Pod;
    this.events.push({
      type,
      name: p.metadata?.name ?? '',
      node: p.spec?.nodeName,
      phase: p.status?.phase,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      deleting: !!p.metadata?.deletionTimestamp,
      labels: p.metadata?.labels ?? {},
      image: p.spec?.containers?.[0]?.image,
    });
  }

  /** The state of every pod after each event: replay the log, calling `check` at each step. */
  replay(check: (pods: Map<string, PodEvent>, ev: PodEvent, index: number) => void): void {
    const pods = new Map<string, PodEvent>();
    this.events.forEach((ev, i) => {
      if (ev.type === 'DELETED') pods.delete(ev.name);
      else pods.set(ev.name, ev);
      check(pods, ev, i);
    });
  }

  stop(): void {
    this.handle?.stop();
    this.client.close();
  }
}
