import { readdirSync } from 'node:fs';
import type { Node, NodeCondition } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from '../client/rest.js';
import { readMachine, type MachineFacts } from './machine.js';
import { microTimestamp, timestamp } from './meta.js';

// The node's own objects: registration (capacity, addresses, nodeInfo, pod CIDR), the four kubelet
// conditions with their pressure signals, and the Lease in kube-node-lease that says "alive".

const NODES = resource('', 'v1', 'nodes');
const LEASES = resource('coordination.k8s.io', 'v1', 'leases');
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const KUBELET_VERSION = 'v1.32.0+kite';
const LEASE_DURATION_SECONDS = 40;
const EVICTION_MEMORY_BYTES = 100 * 1024 * 1024;
const EVICTION_NODEFS_PERCENT = 10;

export interface NodeParams {
  name: string;
  podCidr: string;
  kubeletPort: number;
  runtimeVersion: string;
  controlPlane: boolean;
  dataDir: string;
  nodeIP?: string;
  /** Pods this node accepts (the kubelet's maxPods). */
  maxPods: number;
}

export interface Pressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

const ki = (bytes: number) => `${Math.floor(bytes / 1024)}Ki`;

export function capacityOf(m: MachineFacts, maxPods: number): { capacity: Record<string, string>; allocatable: Record<string, string> } {
  const base = { cpu: String(m.cpus), 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', pods: String(maxPods) };
  return {
    capacity: { ...base, 'ephemeral-storage': ki(m.storageBytes), memory: ki(m.memoryBytes) },
    // The kubelet holds back its hard eviction thresholds: 100Mi of memory and 10 % of the node filesystem.
    allocatable: { ...base, 'ephemeral-storage': String(Math.floor((m.storageBytes * (100 - EVICTION_NODEFS_PERCENT)) / 100)), memory: ki(Math.max(0, m.memoryBytes - EVICTION_MEMORY_BYTES)) },
  };
}

export function pressureOf(m: MachineFacts, processes: number): Pressure {
  return {
    memory: m.memoryAvailableBytes > 0 && m.memoryAvailableBytes < EVICTION_MEMORY_BYTES,
    disk: m.storageBytes > 0 && (m.storageAvailableBytes * 100) / m.storageBytes < EVICTION_NODEFS_PERCENT,
    pid: processes > m.pidMax * 0.9,
  };
}

export function nodeConditions(p: Pressure, current: NodeCondition[] | undefined, now = Date.now()): NodeCondition[] {
  const want: Array<[string, boolean, string, string, string, string]> = [
    ['MemoryPressure', p.memory, 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
    ['DiskPressure', p.disk, 'KubeletHasDiskPressure', 'kubelet has disk pressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
    ['PIDPressure', p.pid, 'KubeletHasInsufficientPID', 'kubelet has insufficient PID available', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ];
  const t = timestamp(now);
  const make = (type: string, status: string, reason: string, message: string): NodeCondition => {
    const old = current?.find((c) => c.type === type);
    return { type, status, lastHeartbeatTime: t, lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : t, reason, message };
  };
  return [...want.map(([type, bad, r1, m1, r0, m0]) => (bad ? make(type, 'True', r1, m1) : make(type, 'False', r0, m0))), make('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')];
}

export function nodeStatus(p: NodeParams, m: MachineFacts, pressure: Pressure, current?: NodeCondition[]): NonNullable<Node['status']> {
  return {
    ...capacityOf(m, p.maxPods),
    addresses: [
      { type: 'InternalIP', address: m.internalIP },
      { type: 'Hostname', address: p.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: p.kubeletPort } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.systemUUID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: p.runtimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
    conditions: nodeConditions(pressure, current),
  };
}

export function nodeLabels(p: NodeParams): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': p.name,
    'kubernetes.io/os': 'linux',
    // k3s marks the node that runs the control plane.
    ...(p.controlPlane ? { 'node-role.kubernetes.io/control-plane': 'true' } : {}),
  };
}

function processCount(): number {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  } catch {
    return 0;
  }
}

function isCode(e: unknown, ...codes: number[]): boolean {
  return e instanceof StatusError && codes.includes(e.code);
}

/** Registration, status reports and lease renewals of this node. */
export class NodeReporter {
  uid?: string;
  private conditions: NodeCondition[] | undefined;
  private lastReport = 0;
  private leaseExists = false;
  machine: MachineFacts;

  constructor(
    private readonly client: RestClient,
    readonly params: NodeParams,
    private readonly log: (msg: string) => void,
    private readonly reportEveryMs = 60_000,
  ) {
    this.machine = readMachine(params.dataDir, params.nodeIP);
  }

  get hostIP(): string {
    return this.machine.internalIP;
  }

  private pressure(): Pressure {
    return pressureOf(this.machine, processCount());
  }

  /** Creates the Node, or adopts an existing one and reports fresh status (a restarted kubelet). */
  async register(): Promise<Node> {
    const p = this.params;
    const status = nodeStatus(p, this.machine, this.pressure());
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: p.name, labels: nodeLabels(p), annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
      spec: { podCIDR: p.podCidr, podCIDRs: [p.podCidr] },
      status,
    };
    let out: Node;
    try {
      out = (await this.client.create(NODES, undefined, node as unknown as KubeObject)) as unknown as Node;
      // Status on create may be dropped by the API; report it through the subresource as well.
      out = (await this.client.patch(NODES, undefined, p.name, 'strategic', { status }, { subresource: 'status' })) as unknown as Node;
    } catch (e) {
      if (!isCode(e, 409)) throw e;
      const existing = (await this.client.get(NODES, undefined, p.name)) as unknown as Node;
      const patch: Record<string, unknown> = { metadata: { labels: nodeLabels(p) } };
      if (!existing.spec?.podCIDR) patch.spec = { podCIDR: p.podCidr, podCIDRs: [p.podCidr] };
      else if (existing.spec.podCIDR !== p.podCidr) this.log(`node ${p.name} already has podCIDR ${existing.spec.podCIDR}; --pod-cidr ${p.podCidr} is ignored (podCIDR cannot change)`);
      await this.client.patch(NODES, undefined, p.name, 'strategic', patch);
      const st = nodeStatus(p, this.machine, this.pressure(), existing.status?.conditions);
      out = (await this.client.patch(NODES, undefined, p.name, 'strategic', { status: st }, { subresource: 'status' })) as unknown as Node;
    }
    this.uid = out.metadata?.uid;
    this.conditions = out.status?.conditions;
    this.lastReport = Date.now();
    await this.renewLease();
    return out;
  }

  /** Re-reads the machine and posts status when a condition changed or the report is due. */
  async updateStatus(): Promise<void> {
    this.machine = readMachine(this.params.dataDir, this.params.nodeIP);
    const conds = nodeConditions(this.pressure(), this.conditions);
    const changed = conds.some((c) => {
      const o = this.conditions?.find((x) => x.type === c.type);
      return !o || o.status !== c.status || o.reason !== c.reason;
    });
    if (!changed && Date.now() - this.lastReport < this.reportEveryMs) return;
    const st = nodeStatus(this.params, this.machine, this.pressure(), this.conditions);
    const out = (await this.client.patch(NODES, undefined, this.params.name, 'strategic', { status: st }, { subresource: 'status' })) as unknown as Node;
    this.conditions = out.status?.conditions;
    this.lastReport = Date.now();
  }

  /** The node controller marked us Unknown: report again at once. */
  observe(node: Node): void {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True' || ready.reason !== 'KubeletReady') this.lastReport = 0;
    this.conditions = node.status?.conditions;
  }

  async renewLease(): Promise<void> {
    const name = this.params.name;
    const now = Date.now();
    if (this.leaseExists) {
      try {
        await this.client.patch(LEASES, NODE_LEASE_NAMESPACE, name, 'merge', { spec: { holderIdentity: name, renewTime: microTimestamp(now) } });
        return;
      } catch (e) {
        if (!isCode(e, 404)) throw e;
        this.leaseExists = false;
      }
    }
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: NODE_LEASE_NAMESPACE, ...(this.uid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: this.uid }] } : {}) },
      spec: { holderIdentity: name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTimestamp(now) },
    };
    try {
      await this.client.create(LEASES, NODE_LEASE_NAMESPACE, lease as unknown as KubeObject);
    } catch (e) {
      if (!isCode(e, 409)) throw e;
      await this.client.patch(LEASES, NODE_LEASE_NAMESPACE, name, 'merge', { spec: lease.spec });
    }
    this.leaseExists = true;
  }
}
