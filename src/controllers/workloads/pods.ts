import { parseTimestamp } from '../../api/duration.js';
import type { Pod } from './types.js';

// Pod facts the ReplicaSet controller counts and ranks by: active, ready, available, and the order in which
// surplus pods are deleted (kube-controller-manager's ActivePodsWithRanks, LogarithmicScaleDown on).

export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

/** Not finished (Succeeded/Failed) and not being deleted: counts toward a controller's replicas. */
export function isPodActive(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !p.metadata.deletionTimestamp;
}

function readyCondition(p: Pod) {
  return p.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(p: Pod): boolean {
  return readyCondition(p)?.status === 'True';
}

/** Ready for at least minReadySeconds at `now`. */
export function isPodAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  const c = readyCondition(p);
  if (c?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = parseTimestamp(c.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 < now;
}

/** When a ready pod last became ready (undefined when not ready or unknown). */
function readySince(p: Pod): number | undefined {
  const c = readyCondition(p);
  return c?.status === 'True' ? parseTimestamp(c.lastTransitionTime) : undefined;
}

function phaseOrdinal(p: Pod): number {
  switch (p.status?.phase) {
    case 'Unknown':
      return 1;
    case 'Running':
      return 2;
    default:
      return 0;
  }
}

function deletionCost(p: Pod): number {
  const v = p.metadata.annotations?.[POD_DELETION_COST];
  const n = v === undefined ? 0 : Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : 0;
}

function maxRestarts(p: Pod): number {
  let m = 0;
  for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) m = Math.max(m, s.restartCount ?? 0);
  return m;
}

/** floor(log2(age in ns)) buckets: pods of similar age are interchangeable, so scale-down spreads randomly. */
function logRank(t: number, now: number): number {
  const d = (now - t) * 1e6;
  return d <= 0 ? -1 : Math.floor(Math.log2(d));
}

/** Compare two timestamps so that the more recent (or missing) one sorts first. */
function newerFirst(a: Pod, b: Pod, ta: number | undefined, tb: number | undefined, now: number): number {
  if (ta === tb) return 0;
  if (ta === undefined) return -1;
  if (tb === undefined) return 1;
  const diff = logRank(ta, now) - logRank(tb, now);
  if (diff !== 0) return diff;
  const ua = a.metadata.uid ?? '';
  const ub = b.metadata.uid ?? '';
  return ua < ub ? -1 : ua > ub ? 1 : 0;
}

/**
 * Negative when `a` is less valuable than `b` and should be deleted first: unscheduled before scheduled,
 * Pending before Unknown before Running, not ready before ready, lower deletion cost first, pods doubled
 * up on a node with related pods first (higher rank), recently ready before long ready, more restarts
 * first, newer before older.
 */
export function comparePodsForDeletion(a: Pod, b: Pod, rankA: number, rankB: number, now: number): number {
  const sa = !!a.spec?.nodeName;
  const sb = !!b.spec?.nodeName;
  if (sa !== sb) return sa ? 1 : -1;
  const pa = phaseOrdinal(a);
  const pb = phaseOrdinal(b);
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (rankA !== rankB) return rankB - rankA;
  if (ra && rb) {
    const c = newerFirst(a, b, readySince(a), readySince(b), now);
    if (c !== 0) return c;
  }
  const xa = maxRestarts(a);
  const xb = maxRestarts(b);
  if (xa !== xb) return xb - xa;
  return newerFirst(a, b, parseTimestamp(a.metadata.creationTimestamp), parseTimestamp(b.metadata.creationTimestamp), now);
}

/**
 * The `count` pods to delete from `pods`: each is ranked by how many active `related` pods (the same
 * owner's, or its siblings') share its node, then sorted least valuable first.
 */
export function podsToDelete(pods: Pod[], related: Pod[], count: number, now = Date.now()): Pod[] {
  if (count >= pods.length) return pods.slice();
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked = pods.map((p) => ({ p, rank: onNode.get(p.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((x, y) => comparePodsForDeletion(x.p, y.p, x.rank, y.rank, now));
  return ranked.slice(0, count).map((x) => x.p);
}
