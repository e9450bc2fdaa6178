import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';

// Taints and tolerations as the node controllers read them (the same matching rules as the scheduler's).

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

/** Same key and effect: the identity of a taint on a node (its value may change). */
export function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

export function hasTaint(taints: Taint[] | undefined, t: Taint): boolean {
  return (taints ?? []).some((x) => sameTaint(x, t));
}

export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  switch (tol.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
    case '':
      return (tol.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** Whether every taint is tolerated, and for each taint the first toleration that does so. */
export function matchingTolerations(taints: Taint[], tolerations: Toleration[] | undefined): { all: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const tol = (tolerations ?? []).find((t) => toleratesTaint(t, taint));
    if (!tol) return { all: false, used: [] };
    used.push(tol);
  }
  return { all: true, used };
}

/** How long the pod may stay: 0 = evict now, undefined = forever (no toleration sets a limit). */
export function minTolerationSeconds(used: Toleration[]): number | undefined {
  if (used.length === 0) return 0;
  let min: number | undefined;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    if (min === undefined || t.tolerationSeconds < min) min = t.tolerationSeconds;
  }
  return min;
}

export function noExecuteTaints(taints: Taint[] | undefined): Taint[] {
  return (taints ?? []).filter((t) => t.effect === 'NoExecute');
}

/** `taints` with `add` put in (replacing same key and effect unless the value matches too, so an existing
 *  taint keeps its timeAdded) and `remove` taken out. */
export function swapTaints(taints: Taint[] | undefined, add: Taint[], remove: Taint[]): Taint[] {
  const current = taints ?? [];
  const fresh = add.filter((a) => !current.some((t) => sameTaint(a, t) && (t.value ?? '') === (a.value ?? '')));
  const out = current.filter((t) => !remove.some((r) => sameTaint(r, t)) && !fresh.some((a) => sameTaint(a, t)));
  return [...out, ...fresh];
}

export function taintsEqual(a: Taint[] | undefined, b: Taint[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}
