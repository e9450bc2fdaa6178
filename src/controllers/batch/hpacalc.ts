import type { HPAScalingRules, HorizontalPodAutoscalerBehavior } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity, quantityMilliValue } from '../../api/quantity.js';
import { parseTime } from './clock.js';

// The HorizontalPodAutoscaler's arithmetic: replicas from per-pod resource usage (with the tolerance and
// the special treatment of unready and unreported pods), then stabilisation windows and rate limits
// (the default rules, or spec.behavior's policies).

export const TOLERANCE = 0.1;
export const CPU_INITIALIZATION_PERIOD_MS = 5 * 60_000;
export const INITIAL_READINESS_DELAY_MS = 30_000;
export const DOWNSCALE_STABILIZATION_MS = 5 * 60_000;

export interface PodMetric {
  /** Usage in milli-units (millicores, milli-bytes). */
  value: number;
  timestamp: number;
  windowMs: number;
}

export type PodMetrics = Map<string, PodMetric>;

export interface PodGroups {
  readyCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

/** Sort the targeted pods into those whose samples count and those that are unready, unreported or gone. */
export function groupPods(pods: Pod[], metrics: PodMetrics, resource: string, now: number): PodGroups {
  const g: PodGroups = { readyCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Failed') {
      g.ignored.add(name);
      continue;
    }
    if (pod.status?.phase === 'Pending') {
      g.unready.add(name);
      continue;
    }
    const m = metrics.get(name);
    if (!m) {
      g.missing.add(name);
      continue;
    }
    if (resource === 'cpu') {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      const start = parseTime(pod.status?.startTime);
      let unready: boolean;
      if (!ready || start === undefined) unready = true;
      else {
        const transition = parseTime(ready.lastTransitionTime) ?? 0;
        if (start + CPU_INITIALIZATION_PERIOD_MS > now) {
          // Young pods: a sample taken before a full window since the last readiness change is not trusted.
          unready = ready.status === 'False' || m.timestamp < transition + m.windowMs;
        } else {
          // Older pods: ignore only those that have never become ready.
          unready = ready.status === 'False' && start + INITIAL_READINESS_DELAY_MS > transition;
        }
      }
      if (unready) {
        g.unready.add(name);
        continue;
      }
    }
    g.readyCount++;
  }
  return g;
}

/** Each pod's request for `resource` in milli-units (regular and restartable init containers). */
export function podRequests(pods: Pod[], resource: string, container?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pod of pods) {
    let sum = 0;
    const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
    for (const c of containers) {
      if (container && c.name !== container) continue;
      const req = c.resources?.requests?.[resource];
      if (req === undefined) throw new Error(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata?.name}`);
      sum += Number(quantityMilliValue(parseQuantity(req)));
    }
    out.set(pod.metadata?.name ?? '', sum);
  }
  return out;
}

export interface Utilization {
  ratio: number;
  /** Percent of request, truncated. */
  utilization: number;
  /** Average usage of the pods with samples, in milli-units. */
  rawAverage: number;
}

export function utilizationRatio(metrics: PodMetrics, requests: Map<string, number>, target: number): Utilization {
  let used = 0;
  let requested = 0;
  let n = 0;
  for (const [name, m] of metrics) {
    const r = requests.get(name);
    if (r === undefined) continue;
    used += m.value;
    requested += r;
    n++;
  }
  if (requested === 0) throw new Error('no metrics returned matched known pods');
  const utilization = Math.trunc((used * 100) / requested);
  return { ratio: utilization / target, utilization, rawAverage: Math.trunc(used / n) };
}

function withoutPods(metrics: PodMetrics, names: Set<string>): PodMetrics {
  const m = new Map(metrics);
  for (const n of names) m.delete(n);
  return m;
}

function sample(value: number): PodMetric {
  return { value, timestamp: 0, windowMs: 0 };
}

export interface ReplicaProposal {
  replicas: number;
  /** Utilization percent (utilization targets) or average usage in milli-units (value targets). */
  current: number;
  rawAverage: number;
}

/** Desired replicas for a target utilization (percent of request) of `resource`. */
export function resourceReplicas(currentReplicas: number, target: number, resource: string, pods: Pod[], metricsIn: PodMetrics, now: number, container?: string): ReplicaProposal {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const g = groupPods(pods, metricsIn, resource, now);
  let metrics = withoutPods(withoutPods(metricsIn, g.ignored), g.unready);
  const requests = podRequests(pods, resource, container);
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const first = utilizationRatio(metrics, requests, target);
  const result = (replicas: number): ReplicaProposal => ({ replicas, current: first.utilization, rawAverage: first.rawAverage });
  const scaleUpWithUnready = g.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= TOLERANCE) return result(currentReplicas);
    return result(Math.ceil(first.ratio * g.readyCount));
  }
  metrics = new Map(metrics);
  if (g.missing.size > 0) {
    // Unreported pods are assumed to use everything on a scale-down and nothing on a scale-up.
    const fallback = Math.max(100, target);
    for (const n of g.missing) {
      if (first.ratio < 1) metrics.set(n, sample(Math.trunc(((requests.get(n) ?? 0) * fallback) / 100)));
      else if (first.ratio > 1) metrics.set(n, sample(0));
    }
  }
  if (scaleUpWithUnready) for (const n of g.unready) metrics.set(n, sample(0));
  const second = utilizationRatio(metrics, requests, target);
  if (Math.abs(1 - second.ratio) <= TOLERANCE || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) return result(currentReplicas);
  const replicas = Math.ceil(second.ratio * metrics.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}

function averageRatio(metrics: PodMetrics, targetMilli: number): { ratio: number; usage: number } {
  let sum = 0;
  for (const m of metrics.values()) sum += m.value;
  const usage = Math.trunc(sum / metrics.size);
  return { ratio: usage / targetMilli, usage };
}

/** Desired replicas for a target average usage per pod (milli-units). */
export function averageValueReplicas(currentReplicas: number, targetMilli: number, resource: string, pods: Pod[], metricsIn: PodMetrics, now: number): ReplicaProposal {
  if (pods.length === 0) throw new Error('no pods returned by selector while calculating replica count');
  const g = groupPods(pods, metricsIn, resource, now);
  let metrics = withoutPods(withoutPods(metricsIn, g.ignored), g.unready);
  if (metrics.size === 0) throw new Error('did not receive metrics for targeted pods (pods might be unready)');
  const first = averageRatio(metrics, targetMilli);
  const result = (replicas: number): ReplicaProposal => ({ replicas, current: first.usage, rawAverage: first.usage });
  const scaleUpWithUnready = g.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && g.missing.size === 0) {
    if (Math.abs(1 - first.ratio) <= TOLERANCE) return result(currentReplicas);
    return result(Math.ceil(first.ratio * g.readyCount));
  }
  metrics = new Map(metrics);
  for (const n of g.missing) {
    if (first.ratio < 1) metrics.set(n, sample(targetMilli));
    else if (first.ratio > 1) metrics.set(n, sample(0));
  }
  if (scaleUpWithUnready) for (const n of g.unready) metrics.set(n, sample(0));
  const second = averageRatio(metrics, targetMilli);
  if (Math.abs(1 - second.ratio) <= TOLERANCE || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) return result(currentReplicas);
  const replicas = Math.ceil(second.ratio * metrics.size);
  if ((second.ratio < 1 && replicas > currentReplicas) || (second.ratio > 1 && replicas < currentReplicas)) return result(currentReplicas);
  return result(replicas);
}

// -------------------------------------------------------------------------------------------------------
// Normalisation: stabilisation windows and scaling rates.

export interface ConditionVerdict {
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface Normalized {
  replicas: number;
  /** The AbleToScale condition (ScaleDownStabilized / ScaleUpStabilized / ReadyForNewScale). */
  ableToScale: ConditionVerdict;
  /** The ScalingLimited condition. */
  scalingLimited: ConditionVerdict;
}

interface Recommendation {
  replicas: number;
  at: number;
}

interface ScaleEvent {
  change: number;
  at: number;
  outdated: boolean;
}

/** What one controller remembers per HPA: recent recommendations and recent scale events. */
export class ScalingHistory {
  private readonly recommendations = new Map<string, Recommendation[]>();
  private readonly ups = new Map<string, ScaleEvent[]>();
  private readonly downs = new Map<string, ScaleEvent[]>();

  constructor(private readonly now: () => number = Date.now) {}

  forget(key: string): void {
    this.recommendations.delete(key);
    this.ups.delete(key);
    this.downs.delete(key);
  }

  /** Seed the history with the current size the first time an HPA is seen. */
  recordInitial(key: string, current: number): void {
    if (!this.recommendations.has(key)) this.recommendations.set(key, [{ replicas: current, at: this.now() }]);
  }

  /** Without spec.behavior: the highest recommendation of the downscale window, then the default limits. */
  normalize(key: string, current: number, desired: number, min: number, max: number): Normalized {
    const now = this.now();
    const recs = this.recommendations.get(key) ?? [];
    const cutoff = now - DOWNSCALE_STABILIZATION_MS;
    let stabilized = desired;
    let oldIndex = -1;
    recs.forEach((r, i) => {
      if (r.at < cutoff) oldIndex = i;
      else if (r.replicas > stabilized) stabilized = r.replicas;
    });
    if (oldIndex >= 0) recs[oldIndex] = { replicas: desired, at: now };
    else recs.push({ replicas: desired, at: now });
    this.recommendations.set(key, recs);
    const ableToScale: ConditionVerdict =
      stabilized !== desired
        ? { status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' }
        : { status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
    const limited = limitWithDefaultRules(current, stabilized, min, max);
    return {
      replicas: limited.replicas,
      ableToScale,
      scalingLimited: { status: limited.replicas === stabilized ? 'False' : 'True', reason: limited.reason, message: limited.message },
    };
  }

  /** With spec.behavior: both stabilisation windows, then the scaling policies over recent events. */
  normalizeWithBehavior(key: string, current: number, desired: number, min: number, max: number, behavior: HorizontalPodAutoscalerBehavior): Normalized {
    const now = this.now();
    const up = behavior.scaleUp ?? {};
    const down = behavior.scaleDown ?? {};
    const upCutoff = now - (up.stabilizationWindowSeconds ?? 0) * 1000;
    const downCutoff = now - (down.stabilizationWindowSeconds ?? DOWNSCALE_STABILIZATION_MS / 1000) * 1000;
    let upRec = desired;
    let downRec = desired;
    const recs = this.recommendations.get(key) ?? [];
    let oldIndex = -1;
    recs.forEach((r, i) => {
      if (r.at > upCutoff) upRec = Math.min(r.replicas, upRec);
      if (r.at > downCutoff) downRec = Math.max(r.replicas, downRec);
      if (r.at < upCutoff && r.at < downCutoff) oldIndex = i;
    });
    let stabilized = current;
    if (stabilized < upRec) stabilized = upRec;
    if (stabilized > downRec) stabilized = downRec;
    if (oldIndex >= 0) recs[oldIndex] = { replicas: desired, at: now };
    else recs.push({ replicas: desired, at: now });
    this.recommendations.set(key, recs);
    let ableToScale: ConditionVerdict = { status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
    if (stabilized !== desired) {
      ableToScale =
        stabilized < desired
          ? { status: 'True', reason: 'ScaleUpStabilized', message: 'recent recommendations were lower than current one, applying the lowest recent recommendation' }
          : { status: 'True', reason: 'ScaleDownStabilized', message: 'recent recommendations were higher than current one, applying the highest recent recommendation' };
    }
    const limited = this.limitWithBehavior(key, current, stabilized, min, max, up, down);
    return {
      replicas: limited.replicas,
      ableToScale,
      scalingLimited: { status: limited.replicas === stabilized ? 'False' : 'True', reason: limited.reason, message: limited.message },
    };
  }

  private changeInPeriod(events: ScaleEvent[] | undefined, periodSeconds: number): number {
    const cutoff = this.now() - periodSeconds * 1000;
    return (events ?? []).filter((e) => e.at > cutoff).reduce((n, e) => n + e.change, 0);
  }

  private limitWithBehavior(key: string, current: number, desired: number, min: number, max: number, up: HPAScalingRules, down: HPAScalingRules): { replicas: number; reason: string; message: string } {
    if (desired > current) {
      let limit = this.scaleUpLimit(key, current, up);
      if (limit < current) limit = current;
      let allowed = max;
      let reason = 'TooManyReplicas';
      let message = 'the desired replica count is more than the maximum replica count';
      if (allowed > limit) {
        allowed = limit;
        reason = 'ScaleUpLimit';
        message = 'the desired replica count is increasing faster than the maximum scale rate';
      }
      if (desired > allowed) return { replicas: allowed, reason, message };
    } else if (desired < current) {
      let limit = this.scaleDownLimit(key, current, down);
      if (limit > current) limit = current;
      let allowed = min;
      let reason = 'TooFewReplicas';
      let message = 'the desired replica count is less than the minimum replica count';
      if (allowed < limit) {
        allowed = limit;
        reason = 'ScaleDownLimit';
        message = 'the desired replica count is decreasing faster than the maximum scale rate';
      }
      if (desired < allowed) return { replicas: allowed, reason, message };
    }
    return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
  }

  private scaleUpLimit(key: string, current: number, rules: HPAScalingRules): number {
    const select = rules.selectPolicy ?? 'Max';
    if (select === 'Disabled') return current;
    let result = select === 'Min' ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
    for (const p of rules.policies ?? []) {
      const start = current - this.changeInPeriod(this.ups.get(key), p.periodSeconds) + this.changeInPeriod(this.downs.get(key), p.periodSeconds);
      const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
      result = select === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
    }
    return result;
  }

  private scaleDownLimit(key: string, current: number, rules: HPAScalingRules): number {
    const select = rules.selectPolicy ?? 'Max';
    if (select === 'Disabled') return current;
    let result = select === 'Min' ? Number.MIN_SAFE_INTEGER : Number.MAX_SAFE_INTEGER;
    for (const p of rules.policies ?? []) {
      const start = current - this.changeInPeriod(this.ups.get(key), p.periodSeconds) + this.changeInPeriod(this.downs.get(key), p.periodSeconds);
      const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
      result = select === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
    }
    return result;
  }

  /** Remember a rescale, for the rate policies (only when spec.behavior is set, as only they use it). */
  recordScale(key: string, behavior: HorizontalPodAutoscalerBehavior | undefined, from: number, to: number): void {
    if (!behavior || from === to) return;
    const upward = to > from;
    const rules = (upward ? behavior.scaleUp : behavior.scaleDown) ?? {};
    const longest = Math.max(0, ...(rules.policies ?? []).map((p) => p.periodSeconds));
    const map = upward ? this.ups : this.downs;
    const events = map.get(key) ?? [];
    const cutoff = this.now() - longest * 1000;
    let replaced = false;
    const ev: ScaleEvent = { change: Math.abs(to - from), at: this.now(), outdated: false };
    for (let i = 0; i < events.length; i++) {
      if (events[i]!.at <= cutoff) events[i]!.outdated = true;
    }
    for (let i = 0; i < events.length && !replaced; i++) {
      if (events[i]!.outdated) {
        events[i] = ev;
        replaced = true;
      }
    }
    if (!replaced) events.push(ev);
    map.set(key, events);
  }
}

/** The limits applied without spec.behavior: [min, max], and at most double (or 4) per step upwards. */
export function limitWithDefaultRules(current: number, desired: number, min: number, max: number): { replicas: number; reason: string; message: string } {
  const scaleUpLimit = Math.max(2 * current, 4);
  let maxAllowed: number;
  let reason: string;
  let message: string;
  if (max > scaleUpLimit) {
    maxAllowed = scaleUpLimit;
    reason = 'ScaleUpLimit';
    message = 'the desired replica count is increasing faster than the maximum scale rate';
  } else {
    maxAllowed = max;
    reason = 'TooManyReplicas';
    message = 'the desired replica count is more than the maximum replica count';
  }
  if (desired < min) return { replicas: min, reason: 'TooFewReplicas', message: 'the desired replica count is less than the minimum replica count' };
  if (desired > maxAllowed) return { replicas: maxAllowed, reason, message };
  return { replicas: desired, reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
}
