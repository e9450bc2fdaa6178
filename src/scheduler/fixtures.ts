import type { Container, Node, Pod, PodSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { NodeInfo } from './nodeinfo.js';
import { newPodInfo, type PodInfo } from './podinfo.js';

// Builders of Node and Pod objects as the API would hold them, for the scheduler's tests and benchmarks.

export interface NodeOpts {
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  extra?: Record<string, string>;
}

export function makeNode(name: string, o: NodeOpts = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: String(o.pods ?? 110), ...(o.extra ?? {}) } },
  };
}

export interface PodOpts {
  ns?: string;
  cpu?: string;
  memory?: string;
  requests?: Record<string, string>;
  labels?: Record<string, string>;
  priority?: number;
  nodeName?: string;
  spec?: Partial<PodSpec>;
  containers?: Container[];
  tolerations?: Toleration[];
  start?: string;
  terminating?: boolean;
}

let uid = 0;

export function makePod(name: string, o: PodOpts = {}): Pod {
  const requests: Record<string, string> = { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}), ...(o.requests ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}-${++uid}`,
      labels: o.labels ?? {},
      creationTimestamp: o.start ?? '2024-01-01T00:00:00Z',
      ...(o.terminating ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: o.containers ?? [{ name: 'c', image: 'busybox', ...(Object.keys(requests).length ? { resources: { requests } } : {}) }],
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.spec ?? {}),
    },
    status: o.start ? { startTime: o.start } : {},
  };
}

export function pod(name: string, o: PodOpts = {}): PodInfo {
  return newPodInfo(makePod(name, o));
}

/** A node with pods already bound to it. */
export function node(name: string, o: NodeOpts = {}, pods: PodInfo[] = []): NodeInfo {
  const n = new NodeInfo(makeNode(name, o));
  for (const p of pods) n.addPod(p);
  return n;
}
