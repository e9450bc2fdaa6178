import type { NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from 'kubernetes-types/core/v1.js';

// The matching rules the filters share: tolerations against taints, and node selector terms (node
// affinity) against a node's labels and name. Terms are compiled once per pod, then matched per node.

export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const op = t.operator || 'Equal';
  // An empty key matches every key (validation only lets it through with Exists).
  if (t.key && t.key !== taint.key) return false;
  if (op === 'Exists') return true;
  if (op !== 'Equal') return false;
  return (t.value ?? '') === (taint.value ?? '');
}

export function tolerates(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint with one of `effects` that no toleration covers. */
export function firstUntoleratedTaint(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined, effects: ReadonlySet<string>): Taint | undefined {
  for (const taint of taints) {
    if (!effects.has(taint.effect)) continue;
    if (!tolerates(tolerations, taint)) return taint;
  }
  return undefined;
}

type Match = (labels: Record<string, string>, nodeName: string) => boolean;

const INT_RE = /^[+-]?\d+$/;

function compileRequirement(r: NodeSelectorRequirement, field: boolean): Match {
  const values = r.values ?? [];
  const get = field
    ? (_labels: Record<string, string>, name: string): string | undefined => (r.key === 'metadata.name' ? name : undefined)
    : (labels: Record<string, string>): string | undefined => (Object.prototype.hasOwnProperty.call(labels, r.key) ? labels[r.key] : undefined);
  switch (r.operator) {
    case 'In': {
      const set = new Set(values);
      return (l, n) => {
        const v = get(l, n);
        return v !== undefined && set.has(v);
      };
    }
    case 'NotIn': {
      const set = new Set(values);
      return (l, n) => {
        const v = get(l, n);
        return v === undefined || !set.has(v);
      };
    }
    case 'Exists':
      if (field) return () => false;
      return (l, n) => get(l, n) !== undefined;
    case 'DoesNotExist':
      if (field) return () => false;
      return (l, n) => get(l, n) === undefined;
    case 'Gt':
    case 'Lt': {
      if (field || values.length !== 1 || !INT_RE.test(values[0])) return () => false;
      const bound = Number(values[0]);
      const gt = r.operator === 'Gt';
      return (l, n) => {
        const v = get(l, n);
        if (v === undefined || !INT_RE.test(v)) return false;
        return gt ? Number(v) > bound : Number(v) < bound;
      };
    }
    default:
      return () => false;
  }
}

/** A node selector term as a predicate; undefined for an empty term, which selects no node. */
export function compileNodeSelectorTerm(term: NodeSelectorTerm | undefined): Match | undefined {
  if (!term) return undefined;
  const parts: Match[] = [];
  for (const r of term.matchExpressions ?? []) parts.push(compileRequirement(r, false));
  for (const r of term.matchFields ?? []) parts.push(compileRequirement(r, true));
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return (l, n) => {
    for (const p of parts) if (!p(l, n)) return false;
    return true;
  };
}

/** Terms are ORed; a selector whose terms are all empty selects nothing. */
export function compileNodeSelector(terms: readonly NodeSelectorTerm[]): Match {
  const compiled = terms.map(compileNodeSelectorTerm).filter((m): m is Match => m !== undefined);
  if (compiled.length === 0) return () => false;
  return (l, n) => {
    for (const m of compiled) if (m(l, n)) return true;
    return false;
  };
}
