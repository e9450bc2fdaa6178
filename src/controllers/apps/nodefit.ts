import type { DaemonSet } from 'kubernetes-types/apps/v1.js';
import type { Affinity, Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration } from 'kubernetes-types/core/v1.js';

// Whether a pod may run on a node, as far as a DaemonSet needs to know: node name, node selector,
// required node affinity, and taints against tolerations (with the tolerations every daemon pod gets).

export function tolerationMatches(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return (t.key ?? '') === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** The first taint (of the effects `filter` accepts) that no toleration matches. */
export function untoleratedTaint(taints: Taint[] | undefined, tolerations: Toleration[] | undefined, filter: (t: Taint) => boolean): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!filter(taint)) continue;
    if (!(tolerations ?? []).some((t) => tolerationMatches(t, taint))) return taint;
  }
  return undefined;
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined, has: boolean): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && values.includes(value!);
    case 'NotIn':
      return !has || !values.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || values.length !== 1 || !/^-?\d+$/.test(value!) || !/^-?\d+$/.test(values[0]!)) return false;
      return r.operator === 'Gt' ? BigInt(value!) > BigInt(values[0]!) : BigInt(value!) < BigInt(values[0]!);
    }
    default:
      return false;
  }
}

/** A node selector term: all label expressions and all field expressions (metadata.name) hold. Empty matches nothing. */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const r of exprs) if (!requirementMatches(r, labels[r.key], Object.prototype.hasOwnProperty.call(labels, r.key))) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    if (!requirementMatches(r, node.metadata?.name, true)) return false;
  }
  return true;
}

/** spec.nodeSelector and the required node affinity (terms are ORed). */
export function matchesRequiredNodeAffinity(spec: PodSpec | undefined, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec?.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
}

/** The tolerations Kubernetes adds to every daemon pod, so node trouble does not evict it. */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t = (key: string, effect: string): Toleration => ({ key, operator: 'Exists', effect });
  const list = [
    t('node.kubernetes.io/not-ready', 'NoExecute'),
    t('node.kubernetes.io/unreachable', 'NoExecute'),
    t('node.kubernetes.io/disk-pressure', 'NoSchedule'),
    t('node.kubernetes.io/memory-pressure', 'NoSchedule'),
    t('node.kubernetes.io/pid-pressure', 'NoSchedule'),
    t('node.kubernetes.io/unschedulable', 'NoSchedule'),
  ];
  if (hostNetwork) list.push(t('node.kubernetes.io/network-unavailable', 'NoSchedule'));
  return list;
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** Add the daemon tolerations to a pod spec; one equal in key/operator/value/effect replaces the pod's own. */
export function addDaemonTolerations(spec: PodSpec): void {
  let list = [...(spec.tolerations ?? [])];
  for (const d of daemonTolerations(spec.hostNetwork === true)) {
    const i = list.findIndex((t) => sameToleration(t, d));
    if (i >= 0) list[i] = d;
    else list = [...list, d];
  }
  spec.tolerations = list;
}

/** Pin a pod to one node through required node affinity on metadata.name, replacing other required terms. */
export function pinToNode(affinity: Affinity | undefined, nodeName: string): Affinity {
  const term: NodeSelectorTerm = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const a = structuredClone(affinity ?? {});
  const na = (a.nodeAffinity ??= {});
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
  return a;
}

/** The node a daemon pod belongs to: where it is bound, else the node its affinity pins it to. */
export function targetNodeName(spec: PodSpec | undefined): string | undefined {
  if (spec?.nodeName) return spec.nodeName;
  for (const term of spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** The pod spec a DaemonSet would create on a node (tolerations added), for the fit checks. */
export function daemonPodSpec(ds: DaemonSet): PodSpec {
  const spec = structuredClone(ds.spec?.template?.spec ?? { containers: [] });
  addDaemonTolerations(spec);
  return spec;
}

/**
 * [shouldRun, shouldContinueRunning]: a node gets a daemon pod if it matches the node name, selector and
 * affinity and every NoSchedule/NoExecute taint is tolerated; an existing pod may stay unless a NoExecute
 * taint is not tolerated.
 */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet, spec: PodSpec = daemonPodSpec(ds)): [boolean, boolean] {
  const name = node.metadata?.name;
  if (spec.nodeName && spec.nodeName !== name) return [false, false];
  if (!matchesRequiredNodeAffinity(spec, node)) return [false, false];
  const taints = node.spec?.taints;
  if (untoleratedTaint(taints, spec.tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) {
    return [false, !untoleratedTaint(taints, spec.tolerations, (t) => t.effect === 'NoExecute')];
  }
  return [true, true];
}
