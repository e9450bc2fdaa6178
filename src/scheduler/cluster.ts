import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from '../client/rest.js';
import type { Informer, InformerFactory } from '../client/informer.js';
import type { EventRecorder, EventType } from '../client/events.js';
import type { PodInfo } from './podinfo.js';

// The scheduler's two faces towards the cluster, kept behind interfaces so the whole loop can run in
// tests and benchmarks without an API server: what it writes (bindings, pod status, evictions, events)
// and what it looks up in the informers' caches besides nodes and pods.

export const PODS = resource('', 'v1', 'pods');
export const NODES = resource('', 'v1', 'nodes');
const NAMESPACES = resource('', 'v1', 'namespaces');
const SERVICES = resource('', 'v1', 'services');
const REPLICATION_CONTROLLERS = resource('', 'v1', 'replicationcontrollers');
const REPLICA_SETS = resource('apps', 'v1', 'replicasets');
const STATEFUL_SETS = resource('apps', 'v1', 'statefulsets');
const PRIORITY_CLASSES = resource('scheduling.k8s.io', 'v1', 'priorityclasses');
const PDBS = resource('policy', 'v1', 'poddisruptionbudgets');

export interface SchedulerApi {
  /** POST pods/{name}/binding. */
  bind(pod: PodInfo, nodeName: string): Promise<void>;
  /** Strategic-merge patch of the pod's status (conditions merge by type). */
  patchStatus(pod: PodInfo, status: Record<string, unknown>): Promise<void>;
  /** Graceful deletion, guarded by the pod's uid. */
  deletePod(pod: PodInfo): Promise<void>;
  event(pod: Pod, type: EventType, reason: string, message: string): void;
  close(): void;
}

export type ControllerKind = 'ReplicationController' | 'ReplicaSet' | 'StatefulSet';

export interface ClusterLookups {
  pod(key: string): Pod | undefined;
  priorityClassValue(name: string): number | undefined;
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  services(namespace: string): readonly KubeObject[];
  controller(kind: ControllerKind, key: string): KubeObject | undefined;
  disruptionBudgets(): readonly KubeObject[];
}

/** Whether the error means the pod is gone or changed under us (nothing to retry). */
export function isGoneOrConflict(e: unknown): boolean {
  return e instanceof StatusError && (e.code === 404 || e.code === 409);
}

export function restApi(client: RestClient, recorder: EventRecorder): SchedulerApi {
  return {
    async bind(pod, nodeName) {
      await client.createSubresource(PODS, pod.namespace, pod.name, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
    },
    async patchStatus(pod, status) {
      await client.patch(PODS, pod.namespace, pod.name, 'strategic', { metadata: { uid: pod.uid }, status }, { subresource: 'status' });
    },
    async deletePod(pod) {
      await client.delete(PODS, pod.namespace, pod.name, { preconditions: { uid: pod.uid } });
    },
    event(pod, type, reason, message) {
      recorder.event({ ...(pod as unknown as KubeObject), apiVersion: 'v1', kind: 'Pod' }, type, reason, message);
    },
    close: () => client.close(),
  };
}

export interface SchedulerInformers {
  pods: Informer;
  nodes: Informer;
  all: Informer[];
  lookups: ClusterLookups;
}

/** The informers the scheduler reads, registered on the shared factory. */
export function schedulerInformers(f: InformerFactory): SchedulerInformers {
  const pods = f.for(PODS);
  const nodes = f.for(NODES);
  const namespaces = f.for(NAMESPACES);
  const services = f.for(SERVICES);
  const rcs = f.for(REPLICATION_CONTROLLERS);
  const rss = f.for(REPLICA_SETS);
  const sts = f.for(STATEFUL_SETS);
  const pcs = f.for(PRIORITY_CLASSES);
  const pdbs = f.for(PDBS);
  const byKind: Record<ControllerKind, Informer> = { ReplicationController: rcs, ReplicaSet: rss, StatefulSet: sts };
  return {
    pods,
    nodes,
    all: [pods, nodes, namespaces, services, rcs, rss, sts, pcs, pdbs],
    lookups: {
      pod: (key) => pods.get(key) as unknown as Pod | undefined,
      priorityClassValue: (name) => (pcs.get(name) as { value?: number } | undefined)?.value,
      namespaceLabels: (ns) => namespaces.get(ns)?.metadata.labels,
      services: (ns) => services.byIndex('namespace', ns),
      controller: (kind, key) => byKind[kind].get(key),
      disruptionBudgets: () => pdbs.list(),
    },
  };
}
