import type { Pod } from 'kubernetes-types/core/v1.js';
import { matchesLabels, type LabelSelector } from '../api/selectors.js';
import { fitErrorMessage, unresolvable, type Diagnosis, type FilterRun, type Status } from './framework.js';
import type { NodeInfo } from './nodeinfo.js';
import { moreImportant, type PodInfo } from './podinfo.js';
import type { Nominator } from './queue.js';

// DefaultPreemption: when a pod fits nowhere, look for a node where evicting lower-priority pods makes
// room. On each candidate node every lower-priority pod is removed in a simulation, then pods are given
// back most important first while the preemptor still fits; those left are the victims. The node whose
// victims matter least wins (fewest PodDisruptionBudget violations, lowest top priority, lowest priority
// sum, fewest pods, most recently started).

export const DEFAULT_PREEMPTION = 'DefaultPreemption';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';
export const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const DISRUPTION_TARGET = 'DisruptionTarget';
export const PREEMPTION_BY_SCHEDULER = 'PreemptionByScheduler';

const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE = 100;

export interface DisruptionBudget {
  namespace: string;
  selector: LabelSelector;
  disruptionsAllowed: number;
  /** Pods already counted as disrupted by the budget's controller. */
  disruptedPods: ReadonlySet<string>;
}

export interface Candidate {
  nodeName: string;
  victims: PodInfo[];
  numPDBViolations: number;
}

/** A node to preempt on, or why not; `clearNomination` when an earlier nomination should be dropped. */
export type PreemptionOutcome = { candidate: Candidate } | { message: string; clearNomination?: boolean };

/**
 * Filters on `node` as if the pods nominated there with at least the pod's priority were already running
 * (their room is promised), then as it really is.
 */
export function filterWithNominated(run: FilterRun, pod: PodInfo, node: NodeInfo, nominator: Nominator): Status | undefined {
  if (nominator.size > 0) {
    let withNominated: NodeInfo | undefined;
    let runWith: FilterRun | undefined;
    for (const np of nominator.podsOn(node.name)) {
      if (np.uid === pod.uid || np.priority < pod.priority) continue;
      if (!withNominated) {
        withNominated = node.clone();
        runWith = run.clone();
      }
      withNominated.addPod(np);
      runWith!.addPod(pod, np, withNominated);
    }
    if (withNominated) {
      const s = runWith!.run(pod, withNominated);
      if (s) return s;
    }
  }
  return run.run(pod, node);
}

function terminatingByPreemption(pod: Pod): boolean {
  if (!pod.metadata?.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === DISRUPTION_TARGET && c.reason === PREEMPTION_BY_SCHEDULER && c.status === 'True');
}

/** Why the pod may not preempt, or undefined when it may. */
export function notEligible(pod: PodInfo, diagnosis: Diagnosis, nodeByName: (name: string) => NodeInfo | undefined): string | undefined {
  if (pod.pod.spec?.preemptionPolicy === 'Never') return 'not eligible due to preemptionPolicy=Never.';
  const nominated = pod.pod.status?.nominatedNodeName;
  if (nominated) {
    // A nominated node that can no longer take the pod at all does not hold the preemptor back.
    if (diagnosis.statuses.get(nominated)?.code === 'UnschedulableAndUnresolvable') return undefined;
    const node = nodeByName(nominated);
    if (node?.pods.some((p) => p.priority < pod.priority && terminatingByPreemption(p.pod))) return 'not eligible due to a terminating pod on the nominated node.';
  }
  return undefined;
}

function splitByBudget(pods: PodInfo[], budgets: readonly DisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = budgets.map((b) => b.disruptionsAllowed);
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const p of pods) {
    let violates = false;
    budgets.forEach((b, i) => {
      if (b.namespace !== p.namespace || b.selector.nothing || b.selector.requirements.length === 0) return;
      if (!matchesLabels(b.selector, p.labels) || b.disruptedPods.has(p.name)) return;
      allowed[i]--;
      if (allowed[i] < 0) violates = true;
    });
    (violates ? violating : nonViolating).push(p);
  }
  return { violating, nonViolating };
}

/** The fewest, least important pods on `node` whose removal lets the pod fit, or why there are none. */
export function selectVictimsOnNode(pod: PodInfo, node: NodeInfo, run: FilterRun, nominator: Nominator, budgets: readonly DisruptionBudget[]): Candidate | Status {
  if (!node.pods.some((p) => p.priority < pod.priority)) return unresolvable(DEFAULT_PREEMPTION, NO_VICTIMS);
  const sim = node.clone();
  const simRun = run.clone();
  const potential = sim.pods.filter((p) => p.priority < pod.priority);
  for (const p of potential) {
    sim.removePod(p.uid);
    simRun.removePod(pod, p, sim);
  }
  const fails = filterWithNominated(simRun, pod, sim, nominator);
  if (fails) return fails;
  potential.sort((a, b) => (moreImportant(a, b) ? -1 : moreImportant(b, a) ? 1 : 0));
  const { violating, nonViolating } = splitByBudget(potential, budgets);
  const victims: PodInfo[] = [];
  let numPDBViolations = 0;
  const reprieve = (p: PodInfo, violates: boolean) => {
    sim.addPod(p);
    simRun.addPod(pod, p, sim);
    if (!filterWithNominated(simRun, pod, sim, nominator)) return;
    sim.removePod(p.uid);
    simRun.removePod(pod, p, sim);
    victims.push(p);
    if (violates) numPDBViolations++;
  };
  for (const p of violating) reprieve(p, true);
  for (const p of nonViolating) reprieve(p, false);
  victims.sort((a, b) => (moreImportant(a, b) ? -1 : moreImportant(b, a) ? 1 : 0));
  return { nodeName: node.name, victims, numPDBViolations };
}

/** kube-scheduler's order of preference among candidate nodes; the first one left wins. */
export function pickCandidate(candidates: readonly Candidate[]): Candidate | undefined {
  let left = candidates.slice();
  const by = (score: (c: Candidate) => number) => {
    if (left.length <= 1) return;
    let best = -Infinity;
    let keep: Candidate[] = [];
    for (const c of left) {
      const s = score(c);
      if (s > best) {
        best = s;
        keep = [c];
      } else if (s === best) keep.push(c);
    }
    left = keep;
  };
  by((c) => -c.numPDBViolations);
  by((c) => -(c.victims[0]?.priority ?? 0));
  by((c) => -c.victims.reduce((s, v) => s + v.priority + 2 ** 31, 0));
  by((c) => -c.victims.length);
  by((c) => {
    // The earliest start among the highest-priority victims: later is better (less work lost).
    const top = c.victims[0]?.priority;
    let earliest = Infinity;
    for (const v of c.victims) if (v.priority === top && v.startTime < earliest) earliest = v.startTime;
    return earliest;
  });
  return left[0];
}

export interface PreemptArgs {
  pod: PodInfo;
  run: FilterRun;
  nodes: readonly NodeInfo[];
  diagnosis: Diagnosis;
  nominator: Nominator;
  budgets?: readonly DisruptionBudget[];
  random?: () => number;
}

/** Find the node to preempt on and its victims, or the message saying why preemption cannot help. */
export function preempt(a: PreemptArgs): PreemptionOutcome {
  const byName = new Map(a.nodes.map((n) => [n.name, n]));
  const why = notEligible(a.pod, a.diagnosis, (n) => byName.get(n));
  if (why) return { message: why };
  const potential = a.nodes.filter((n) => a.diagnosis.statuses.get(n.name)?.code === 'Unschedulable');
  const statuses = new Map<string, Status>();
  const candidates: Candidate[] = [];
  if (potential.length) {
    const want = Math.min(potential.length, Math.max(MIN_CANDIDATE_NODES_ABSOLUTE, Math.trunc((potential.length * MIN_CANDIDATE_NODES_PERCENTAGE) / 100)));
    const offset = Math.floor((a.random ?? Math.random)() * potential.length);
    let clean = 0;
    for (let i = 0; i < potential.length; i++) {
      const node = potential[(offset + i) % potential.length];
      const r = selectVictimsOnNode(a.pod, node, a.run, a.nominator, a.budgets ?? []);
      if ('code' in r) {
        statuses.set(node.name, r);
        continue;
      }
      candidates.push(r);
      if (r.numPDBViolations === 0) clean++;
      if (clean > 0 && candidates.length >= want) break;
    }
  }
  const best = pickCandidate(candidates);
  if (best) return { candidate: best };
  for (const n of a.nodes) if (!statuses.has(n.name)) statuses.set(n.name, unresolvable(DEFAULT_PREEMPTION, NOT_HELPFUL));
  return { message: fitErrorMessage({ numAllNodes: a.nodes.length, statuses, plugins: new Set() }), clearNomination: true };
}
