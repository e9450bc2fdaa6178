import type { NodeInfo } from './nodeinfo.js';
import type { PodInfo } from './podinfo.js';

// kube-scheduler's framework, reduced to what kite runs: named extension points (preFilter, filter,
// preScore, score, normalize), one plugin per rule, each score normalised to 0..100 by its plugin and then
// weighted. A cycle is synchronous: plugins read the cache directly, nothing can change under them.

export const MAX_NODE_SCORE = 100;

/** Unschedulable: preemption might help. UnschedulableAndUnresolvable: removing pods cannot help. */
export type StatusCode = 'Unschedulable' | 'UnschedulableAndUnresolvable' | 'Error';

export interface Status {
  code: StatusCode;
  reasons: string[];
  plugin: string;
}

export function unschedulable(plugin: string, ...reasons: string[]): Status {
  return { code: 'Unschedulable', reasons, plugin };
}

export function unresolvable(plugin: string, ...reasons: string[]): Status {
  return { code: 'UnschedulableAndUnresolvable', reasons, plugin };
}

/** Returned by preFilter / preScore when the plugin has nothing to do for this pod. */
export const SKIP = Symbol('skip');
export type Skip = typeof SKIP;

/** Returned by preFilter when only some nodes can pass (a pod pinned to named nodes): the others are not
 *  even filtered. */
export class NodeSubset {
  constructor(
    readonly state: unknown,
    readonly nodeNames: ReadonlySet<string>,
  ) {}
}

/** Returned by preFilter when the pod fails the plugin on every node. */
export class PreFilterFailure {
  constructor(readonly failure: Status) {}
}

export interface FilterPlugin {
  readonly name: string;
  /**
   * Per-cycle state for filter(): anything (undefined included), SKIP when the pod cannot fail this
   * plugin anywhere, or a failure when it fails everywhere. `nodes` is every node of the cluster.
   */
  preFilter?(pod: PodInfo, nodes: readonly NodeInfo[]): unknown;
  filter(state: unknown, pod: PodInfo, node: NodeInfo): Status | undefined;
  /** Keep the state in step with a pod added to / removed from `node` in a simulation (preemption,
   *  nominated pods). Only plugins whose state depends on other pods implement these. */
  cloneState?(state: unknown): unknown;
  addPod?(state: unknown, pod: PodInfo, added: PodInfo, node: NodeInfo): void;
  removePod?(state: unknown, pod: PodInfo, removed: PodInfo, node: NodeInfo): void;
}

export interface ScorePlugin {
  readonly name: string;
  readonly weight: number;
  /** State for score(), or SKIP when this plugin has no opinion about the pod. `all` is every node. */
  preScore?(pod: PodInfo, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): unknown;
  /** Raw score; normalize() brings the list to 0..MAX_NODE_SCORE when the raw range differs. */
  score(state: unknown, pod: PodInfo, node: NodeInfo): number;
  normalize?(state: unknown, scores: number[], nodes: readonly NodeInfo[]): void;
}

/** The filters that apply to one pod in one cycle, with their states. */
export class FilterRun {
  constructor(
    readonly plugins: FilterPlugin[],
    readonly states: unknown[],
    /** When set, only these nodes can fit; `restrictedBy` names the plugins that said so. */
    readonly nodeNames?: ReadonlySet<string>,
    readonly restrictedBy: readonly string[] = [],
  ) {}

  run(pod: PodInfo, node: NodeInfo): Status | undefined {
    const { plugins, states } = this;
    for (let i = 0; i < plugins.length; i++) {
      const s = plugins[i].filter(states[i], pod, node);
      if (s) return s;
    }
    return undefined;
  }

  /** An independent copy for a simulation that adds or removes pods. */
  clone(): FilterRun {
    return new FilterRun(
      this.plugins,
      this.plugins.map((p, i) => (p.cloneState ? p.cloneState(this.states[i]) : this.states[i])),
      this.nodeNames,
      this.restrictedBy,
    );
  }

  addPod(pod: PodInfo, added: PodInfo, node: NodeInfo): void {
    this.plugins.forEach((p, i) => p.addPod?.(this.states[i], pod, added, node));
  }

  removePod(pod: PodInfo, removed: PodInfo, node: NodeInfo): void {
    this.plugins.forEach((p, i) => p.removePod?.(this.states[i], pod, removed, node));
  }
}

/** Run every plugin's preFilter; a failure rules the pod out on every node. */
export function preFilter(plugins: readonly FilterPlugin[], pod: PodInfo, nodes: readonly NodeInfo[]): FilterRun | PreFilterFailure {
  const active: FilterPlugin[] = [];
  const states: unknown[] = [];
  let names: Set<string> | undefined;
  const restrictedBy: string[] = [];
  for (const p of plugins) {
    let st = p.preFilter ? p.preFilter(pod, nodes) : undefined;
    if (st === SKIP) continue;
    if (st instanceof PreFilterFailure) return st;
    if (st instanceof NodeSubset) {
      restrictedBy.push(p.name);
      names = names ? new Set([...names].filter((n) => st instanceof NodeSubset && st.nodeNames.has(n))) : new Set(st.nodeNames);
      st = st.state;
      if (names.size === 0) {
        const msg = restrictedBy.length === 1 ? `node(s) didn't satisfy plugin ${restrictedBy[0]}` : `node(s) didn't satisfy plugin(s) [${restrictedBy.join(' ')}] simultaneously`;
        return new PreFilterFailure(unschedulable(p.name, msg));
      }
    }
    active.push(p);
    states.push(st);
  }
  return new FilterRun(active, states, names, restrictedBy);
}

/** Weighted sum of every score plugin's normalised score, per feasible node. */
export function scoreNodes(plugins: readonly ScorePlugin[], pod: PodInfo, feasible: readonly NodeInfo[], all: readonly NodeInfo[]): number[] {
  const n = feasible.length;
  const total: number[] = new Array<number>(n);
  const raw: number[] = new Array<number>(n);
  let first = true;
  for (const p of plugins) {
    const st = p.preScore ? p.preScore(pod, feasible, all) : undefined;
    if (st === SKIP) continue;
    for (let i = 0; i < n; i++) raw[i] = p.score(st, pod, feasible[i]);
    if (p.normalize) p.normalize(st, raw, feasible);
    const w = p.weight;
    if (first) for (let i = 0; i < n; i++) total[i] = raw[i] * w;
    else for (let i = 0; i < n; i++) total[i] += raw[i] * w;
    first = false;
  }
  if (first) total.fill(0);
  return total;
}

/** Index of the highest score; ties are broken uniformly at random (reservoir sampling). */
export function selectHost(scores: readonly number[], random: () => number = Math.random): number {
  let best = -1;
  let bestScore = -Infinity;
  let ties = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s > bestScore) {
      bestScore = s;
      best = i;
      ties = 1;
    } else if (s === bestScore) {
      ties++;
      if (Math.floor(random() * ties) === 0) best = i;
    }
  }
  return best;
}

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * How many feasible nodes to look for before scoring (kube-scheduler's percentageOfNodesToScore). 0 means
 * adaptive: 50% for small clusters, shrinking by 1% per 125 nodes, never under 5% nor 100 nodes.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentageOfNodesToScore;
  if (pct <= 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (pct >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** Why a pod fits nowhere, in the words kube-scheduler uses. */
export interface Diagnosis {
  numAllNodes: number;
  /** Failure status per node name. */
  statuses: Map<string, Status>;
  preFilterMsg?: string;
  postFilterMsg?: string;
  /** Plugins that rejected the pod somewhere: which cluster events are worth a retry. */
  plugins: Set<string>;
}

/**
 * `0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: ...`:
 * a histogram of reasons ("<count> <reason>") sorted as strings, each section closed by a period.
 */
export function fitErrorMessage(d: Diagnosis): string {
  let msg = `0/${d.numAllNodes} nodes are available:`;
  if (d.preFilterMsg) msg += ` ${d.preFilterMsg}.`;
  else {
    const counts = new Map<string, number>();
    for (const s of d.statuses.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const parts = [...counts].map(([r, n]) => `${n} ${r}`);
    parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** Normalise raw scores linearly so the highest becomes MAX_NODE_SCORE (optionally reversed). */
export function defaultNormalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(MAX_NODE_SCORE);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    let s = Math.trunc((MAX_NODE_SCORE * scores[i]) / max);
    if (reverse) s = MAX_NODE_SCORE - s;
    scores[i] = s;
  }
}
