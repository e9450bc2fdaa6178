import type { Pod, PodAffinityTerm, Toleration, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { matchesLabels, selectorFromLabelSelector, NOTHING, type LabelSelector, type MetaLabelSelector } from '../api/selectors.js';
import { podRequests, type Resources } from './resources.js';
import { compileNodeSelector } from './matching.js';

// Everything the scheduler needs to know about a pod, computed once when the pod is seen: requests, host
// ports, parsed affinity terms, priority. Filters and scores then work on numbers and compiled matchers.

export interface AffinityTerm {
  selector: LabelSelector;
  /** Namespaces named by the term (the pod's own when it names none and has no namespaceSelector). */
  namespaces: ReadonlySet<string>;
  namespaceSelector?: LabelSelector;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** Labels of a namespace, for terms with a namespaceSelector. */
export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

export interface PodInfo {
  readonly pod: Pod;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  /** "namespace/name" */
  readonly key: string;
  readonly labels: Record<string, string>;
  readonly priority: number;
  /** Requests as the fit filter counts them (max rule for init containers, overhead included). */
  readonly requests: Resources;
  /** cpu and memory with defaults for containers that state none, as scoring counts them. */
  readonly nonZeroCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[];
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinity: readonly WeightedAffinityTerm[];
  readonly tolerations: readonly Toleration[];
  /** Whether the node's labels and name satisfy nodeSelector and required node affinity. */
  readonly matchesNodeSelector: (labels: Record<string, string>, nodeName: string) => boolean;
  readonly hasNodeSelector: boolean;
  readonly terminating: boolean;
  /** When the pod started (status.startTime, else its creation), in ms; older pods are more important. */
  readonly startTime: number;
  readonly nodeName: string;
}

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

function affinityTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  let selector: LabelSelector;
  try {
    selector = selectorFromLabelSelector(t.labelSelector as MetaLabelSelector | undefined);
  } catch {
    selector = NOTHING;
  }
  let namespaceSelector: LabelSelector | undefined;
  if (t.namespaceSelector) {
    try {
      namespaceSelector = selectorFromLabelSelector(t.namespaceSelector as MetaLabelSelector);
    } catch {
      namespaceSelector = undefined;
    }
  }
  const names = t.namespaces ?? [];
  const namespaces = new Set(names.length === 0 && !t.namespaceSelector ? [pod.metadata?.namespace ?? 'default'] : names);
  return { selector, namespaces, namespaceSelector, topologyKey: t.topologyKey };
}

function weighted(pod: Pod, terms: WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] {
  return (terms ?? []).map((w) => ({ ...affinityTerm(pod, w.podAffinityTerm), weight: w.weight }));
}

function hostPorts(pod: Pod): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

function timeOf(s: string | undefined): number {
  if (!s) return 0;
  const t = Date.parse(s);
  return Number.isNaN(t) ? 0 : t;
}

export function newPodInfo(pod: Pod, priorityOf: (pod: Pod) => number = (p) => p.spec?.priority ?? 0): PodInfo {
  const meta = pod.metadata ?? {};
  const spec = pod.spec;
  const namespace = meta.namespace ?? 'default';
  const name = meta.name ?? '';
  const aff = spec?.affinity;
  const nonZero = podRequests(spec, true);
  const nodeSelector = spec?.nodeSelector ?? {};
  const nsKeys = Object.keys(nodeSelector);
  const requiredTerms = aff?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const termsMatch = requiredTerms ? compileNodeSelector(requiredTerms) : undefined;
  const matchesNodeSelector = (labels: Record<string, string>, nodeName: string): boolean => {
    for (const k of nsKeys) if (labels[k] !== nodeSelector[k]) return false;
    return termsMatch ? termsMatch(labels, nodeName) : true;
  };
  return {
    pod,
    uid: meta.uid ?? `${namespace}/${name}`,
    namespace,
    name,
    key: `${namespace}/${name}`,
    labels: meta.labels ?? {},
    priority: priorityOf(pod),
    requests: podRequests(spec, false),
    nonZeroCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    hostPorts: hostPorts(pod),
    requiredAffinity: (aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => affinityTerm(pod, t)),
    requiredAntiAffinity: (aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => affinityTerm(pod, t)),
    preferredAffinity: weighted(pod, aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinity: weighted(pod, aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    tolerations: spec?.tolerations ?? [],
    matchesNodeSelector,
    hasNodeSelector: nsKeys.length > 0 || termsMatch !== undefined,
    terminating: !!meta.deletionTimestamp,
    startTime: timeOf(pod.status?.startTime) || timeOf(meta.creationTimestamp),
    nodeName: spec?.nodeName ?? '',
  };
}

/** Whether an affinity term selects `pod` (its namespace, then its labels). */
export function termMatches(term: AffinityTerm, pod: PodInfo, nsLabels: NamespaceLabels | undefined): boolean {
  if (!term.namespaces.has(pod.namespace)) {
    if (!term.namespaceSelector) return false;
    if (!matchesLabels(term.namespaceSelector, nsLabels?.(pod.namespace) ?? {})) return false;
  }
  return matchesLabels(term.selector, pod.labels);
}

export function hasAffinity(p: PodInfo): boolean {
  return p.requiredAffinity.length > 0 || p.requiredAntiAffinity.length > 0 || p.preferredAffinity.length > 0 || p.preferredAntiAffinity.length > 0;
}

/** Priority first, then the pod that has been running longer (kube-scheduler's MoreImportantPod). */
export function moreImportant(a: PodInfo, b: PodInfo): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.startTime < b.startTime;
}
