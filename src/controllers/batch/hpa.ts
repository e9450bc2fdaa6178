import type { HorizontalPodAutoscaler, HorizontalPodAutoscalerCondition, MetricSpec, MetricStatus } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { canonicalizeQuantity, parseQuantity, quantityMilliValue } from '../../api/quantity.js';
import { findKind } from '../../api/resources.js';
import { matchesLabels, parseLabelSelector, type LabelSelector } from '../../api/selectors.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { resource, resourcePath, type RestClient } from '../../client/rest.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { PODS, asObject, asPod } from '../apps/podutil.js';
import { Requeuer } from '../apps/requeue.js';
import { realClock, rfc3339, type Clock } from './clock.js';
import { ScalingHistory, averageValueReplicas, resourceReplicas, type PodMetrics, type ReplicaProposal } from './hpacalc.js';

// The HorizontalPodAutoscaler (autoscaling/v2): every sync period it reads the target's scale, asks the
// resource metrics API (metrics.k8s.io) for the pods' usage, computes the replicas each metric wants,
// stabilises and rate-limits the result, and writes the target's scale. When the metrics API is not
// served it says so in its conditions and events, with the messages Kubernetes writes.

export const HPAS = resource('autoscaling', 'v2', 'horizontalpodautoscalers');
export const SYNC_PERIOD_MS = 15_000;

function asHpa(o: KubeObject): HorizontalPodAutoscaler {
  return o as unknown as HorizontalPodAutoscaler;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Where pod usage comes from: the resource metrics API by default, anything in tests. */
export interface MetricsSource {
  /** Usage per pod name of `resource` (milli-units), optionally of one container. */
  podMetrics(namespace: string, selector: string, resource: string, container?: string): Promise<PodMetrics>;
}

function parseWindow(s: string | undefined): number {
  const m = /^([0-9.]+)(ms|s|m)$/.exec(s ?? '');
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

interface PodMetricsItem {
  metadata?: { name?: string };
  timestamp?: string;
  window?: string;
  containers?: Array<{ name?: string; usage?: Record<string, string> }>;
}

/** The resource metrics API (metrics.k8s.io/v1beta1 PodMetrics), as the HPA's metrics client reads it. */
export class ResourceMetricsClient implements MetricsSource {
  constructor(private readonly client: RestClient) {}

  async podMetrics(namespace: string, selector: string, resourceName: string, container?: string): Promise<PodMetrics> {
    let list: { items?: PodMetricsItem[] };
    try {
      const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
      list = await this.client.request('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods${q}`);
    } catch (e) {
      // client-go's wording for a resource the server does not serve.
      const why = e instanceof StatusError && e.code === 404 ? 'the server could not find the requested resource (get pods.metrics.k8s.io)' : errMessage(e);
      throw new Error(`unable to fetch metrics from resource metrics API: ${why}`);
    }
    const items = list.items ?? [];
    if (items.length === 0) throw new Error('no metrics returned from resource metrics API');
    const out: PodMetrics = new Map();
    for (const item of items) {
      let sum = 0;
      let complete = true;
      let any = false;
      for (const c of item.containers ?? []) {
        if (container && c.name !== container) continue;
        const u = c.usage?.[resourceName];
        if (u === undefined) {
          complete = false;
          break;
        }
        sum += Number(quantityMilliValue(parseQuantity(u)));
        any = true;
      }
      if (!complete || !any) continue;
      out.set(item.metadata?.name ?? '', { value: sum, timestamp: Date.parse(item.timestamp ?? '') || Date.now(), windowMs: parseWindow(item.window) });
    }
    return out;
  }
}

function setCondition(hpa: HorizontalPodAutoscaler, type: string, status: string, reason: string, message: string, now: number): void {
  const st = (hpa.status ??= { desiredReplicas: 0 });
  const list = (st.conditions ??= []);
  let c = list.find((x) => x.type === type);
  if (!c) {
    c = { type, status: '' } as HorizontalPodAutoscalerCondition;
    list.push(c);
  }
  if (c.status !== status) c.lastTransitionTime = rfc3339(now);
  c.status = status;
  c.reason = reason;
  c.message = message;
}

interface MetricResult {
  replicas: number;
  metricName: string;
  status: MetricStatus;
}

class MetricError extends Error {
  constructor(
    message: string,
    readonly condition: { reason: string; message: string },
  ) {
    super(message);
  }
}

export class HorizontalPodAutoscalerController extends QueueController {
  readonly name = 'horizontalpodautoscaling';
  private hpas!: Informer;
  private pods!: Informer;
  private recorder!: EventRecorder;
  private requeue!: Requeuer;
  private metrics!: MetricsSource;
  private readonly history: ScalingHistory;

  constructor(private readonly opts: { clock?: Clock; metrics?: MetricsSource; syncPeriodMs?: number } = {}) {
    super();
    this.history = new ScalingHistory(() => this.clock.now());
  }

  private get clock(): Clock {
    return this.opts.clock ?? realClock;
  }

  override stop(): void {
    super.stop();
    this.requeue?.stop();
  }

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('horizontal-pod-autoscaler');
    this.requeue = new Requeuer(this.queue);
    this.metrics = this.opts.metrics ?? new ResourceMetricsClient(ctx.client);
    this.hpas = ctx.informers.for(HPAS);
    this.pods = ctx.informers.for(PODS);
    this.hpas.addHandlers({
      add: (o) => this.enqueue(o),
      // Status writes come back as updates; only a spec change warrants a sync before the next period.
      update: (o, n) => {
        if (o.metadata.generation !== n.metadata.generation) this.enqueue(n);
      },
    });
  }

  protected async reconcile(key: string): Promise<void> {
    const o = this.hpas.get(key);
    if (!o) {
      this.history.forget(key);
      this.requeue.forget(key);
      return;
    }
    try {
      await this.reconcileAutoscaler(structuredClone(asHpa(o)), key);
    } finally {
      this.requeue.after(key, this.opts.syncPeriodMs ?? SYNC_PERIOD_MS);
    }
  }

  private event(hpa: HorizontalPodAutoscaler, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event(asObject(hpa), type, reason, message);
  }

  private async writeStatusIfChanged(hpa: HorizontalPodAutoscaler, before: string): Promise<void> {
    if (JSON.stringify(hpa.status ?? {}) === before) return;
    await this.ctx.client.updateStatus(HPAS, asObject(hpa));
  }

  private async reconcileAutoscaler(hpa: HorizontalPodAutoscaler, key: string): Promise<void> {
    const before = JSON.stringify(hpa.status ?? {});
    const now = this.clock.now();
    const spec = hpa.spec!;
    const ref = spec.scaleTargetRef;
    const reference = `${ref.kind}/${ref.name}`;
    const [group, version] = ref.apiVersion?.includes('/') ? ref.apiVersion.split('/') : ['', ref.apiVersion ?? 'v1'];
    const info = findKind(group ?? '', version ?? 'v1', ref.kind);
    const ns = hpa.metadata?.namespace ?? 'default';

    let scale: { spec?: { replicas?: number }; status?: { replicas?: number; selector?: string } };
    try {
      if (!info || !info.subresources?.some((s) => s.name === 'scale')) throw new Error(`no matches for kind "${ref.kind}" in group "${group}"`);
      scale = await this.ctx.client.request('GET', resourcePath(info, ns, ref.name, 'scale'));
    } catch (e) {
      const msg = e instanceof StatusError && e.code === 404 ? `${info?.resource ?? ref.kind}.${group || 'core'} "${ref.name}" not found` : errMessage(e);
      this.event(hpa, 'Warning', 'FailedGetScale', msg);
      setCondition(hpa, 'AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${msg}`, now);
      await this.writeStatusIfChanged(hpa, before);
      return;
    }
    setCondition(hpa, 'AbleToScale', 'True', 'SucceededGetScale', "the HPA controller was able to get the target's current scale", now);
    const current = scale.spec?.replicas ?? 0;
    this.history.recordInitial(key, current);

    const min = spec.minReplicas ?? 1;
    const max = spec.maxReplicas;
    let desired = 0;
    let rescale = true;
    let reason = '';
    let statuses: MetricStatus[] = hpa.status?.currentMetrics ?? [];
    if (current === 0 && min !== 0) {
      desired = 0;
      rescale = false;
      setCondition(hpa, 'ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero', now);
    } else if (current > max) {
      reason = 'Current number of replicas above Spec.MaxReplicas';
      desired = max;
    } else if (current < min) {
      reason = 'Current number of replicas below Spec.MinReplicas';
      desired = min;
    } else {
      const r = await this.computeReplicasForMetrics(hpa, scale, spec.metrics ?? [], now);
      statuses = r.statuses;
      if (r.error && r.replicas === -1) {
        this.setStatus(hpa, current, hpa.status?.desiredReplicas ?? 0, statuses, false, now);
        await this.writeStatusIfChanged(hpa, before);
        this.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', r.error);
        return;
      }
      if (r.error) this.ctx.log(`horizontalpodautoscaling: ${key}: ${r.error}`);
      desired = Math.max(desired, r.replicas);
      if (desired > current) reason = `${r.metricName} above target`;
      if (desired < current) reason = 'All metrics below target';
      const n = spec.behavior ? this.history.normalizeWithBehavior(key, current, desired, min, max, spec.behavior) : this.history.normalize(key, current, desired, min, max);
      setCondition(hpa, 'AbleToScale', n.ableToScale.status, n.ableToScale.reason, n.ableToScale.message, now);
      setCondition(hpa, 'ScalingLimited', n.scalingLimited.status, n.scalingLimited.reason, n.scalingLimited.message, now);
      desired = n.replicas;
      rescale = desired !== current;
    }

    if (rescale) {
      try {
        await this.ctx.client.patch(info!, ns, ref.name, 'merge', { spec: { replicas: desired } }, { subresource: 'scale' });
      } catch (e) {
        this.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${reason}; error: ${errMessage(e)}`);
        setCondition(hpa, 'AbleToScale', 'False', 'FailedUpdateScale', `the HPA controller was unable to update the target scale: ${errMessage(e)}`, now);
        this.setStatus(hpa, current, hpa.status?.desiredReplicas ?? 0, statuses, false, now);
        await this.writeStatusIfChanged(hpa, before);
        return;
      }
      setCondition(hpa, 'AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`, now);
      this.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
      this.history.recordScale(key, spec.behavior, current, desired);
      this.ctx.log(`horizontalpodautoscaling: ${key}: ${reference} scaled ${current} -> ${desired} (${reason})`);
    }
    this.setStatus(hpa, current, desired, statuses, rescale, now);
    await this.writeStatusIfChanged(hpa, before);
  }

  private setStatus(hpa: HorizontalPodAutoscaler, current: number, desired: number, statuses: MetricStatus[], rescale: boolean, now: number): void {
    const old = hpa.status ?? { desiredReplicas: 0 };
    hpa.status = {
      currentReplicas: current,
      desiredReplicas: desired,
      ...(old.lastScaleTime ? { lastScaleTime: old.lastScaleTime } : {}),
      ...(statuses.length ? { currentMetrics: statuses } : {}),
      ...(old.conditions ? { conditions: old.conditions } : {}),
    };
    if (rescale) hpa.status.lastScaleTime = rfc3339(now);
  }

  private parseSelector(hpa: HorizontalPodAutoscaler, selector: string | undefined, now: number): LabelSelector {
    if (!selector) {
      this.event(hpa, 'Warning', 'SelectorRequired', 'selector is required');
      setCondition(hpa, 'ScalingActive', 'False', 'InvalidSelector', "the HPA target's scale is missing a selector", now);
      throw new Error('selector is required');
    }
    try {
      return parseLabelSelector(selector);
    } catch (e) {
      const msg = `couldn't convert selector into a corresponding internal selector object: ${errMessage(e)}`;
      this.event(hpa, 'Warning', 'InvalidSelector', msg);
      setCondition(hpa, 'ScalingActive', 'False', 'InvalidSelector', msg, now);
      throw new Error(msg);
    }
  }

  private async computeReplicasForMetrics(
    hpa: HorizontalPodAutoscaler,
    scale: { spec?: { replicas?: number }; status?: { selector?: string } },
    specs: MetricSpec[],
    now: number,
  ): Promise<{ replicas: number; metricName: string; statuses: MetricStatus[]; error?: string }> {
    let selector: LabelSelector;
    try {
      selector = this.parseSelector(hpa, scale.status?.selector, now);
    } catch (e) {
      return { replicas: -1, metricName: '', statuses: hpa.status?.currentMetrics ?? [], error: errMessage(e) };
    }
    const specReplicas = scale.spec?.replicas ?? 0;
    // A metric that fails keeps an empty status entry, so printers still line statuses up with specs.
    const statuses: MetricStatus[] = specs.map(() => ({ type: '' }));
    const pods = this.pods
      .byIndex('namespace', hpa.metadata?.namespace ?? '')
      .map(asPod)
      .filter((p) => matchesLabels(selector, p.metadata?.labels));
    let replicas = 0;
    let metricName = '';
    let invalid = 0;
    let firstError: MetricError | undefined;
    for (let i = 0; i < specs.length; i++) {
      try {
        const r = await this.computeReplicasForMetric(hpa, specs[i]!, specReplicas, scale.status?.selector ?? '', pods, now);
        statuses[i] = r.status;
        if (replicas === 0 || r.replicas > replicas) {
          replicas = r.replicas;
          metricName = r.metricName;
        }
      } catch (e) {
        const me = e instanceof MetricError ? e : new MetricError(errMessage(e), { reason: 'InvalidMetricSourceType', message: `the HPA was unable to compute the replica count: ${errMessage(e)}` });
        if (invalid === 0) firstError = me;
        invalid++;
      }
    }
    if (invalid >= specs.length || (invalid > 0 && replicas < specReplicas)) {
      setCondition(hpa, 'ScalingActive', 'False', firstError!.condition.reason, firstError!.condition.message, now);
      return { replicas: -1, metricName: '', statuses, error: `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError!.message}` };
    }
    setCondition(hpa, 'ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${metricName}`, now);
    return { replicas, metricName, statuses, error: firstError?.message };
  }

  /** Fail one metric: the event and ScalingActive condition name the cause, the error travels up. */
  private metricFailure(hpa: HorizontalPodAutoscaler, reason: string, inner: string, outer: string): MetricError {
    this.event(hpa, 'Warning', reason, inner);
    return new MetricError(outer, { reason, message: `the HPA was unable to compute the replica count: ${inner}` });
  }

  private async computeReplicasForMetric(hpa: HorizontalPodAutoscaler, spec: MetricSpec, specReplicas: number, selector: string, pods: Pod[], now: number): Promise<MetricResult> {
    const ns = hpa.metadata?.namespace ?? 'default';
    switch (spec.type) {
      case 'Resource':
      case 'ContainerResource': {
        const isContainer = spec.type === 'ContainerResource';
        const src = isContainer ? spec.containerResource : spec.resource;
        const name = src?.name ?? '';
        const container = isContainer ? spec.containerResource?.container : undefined;
        const reason = isContainer ? 'FailedGetContainerResourceMetric' : 'FailedGetResourceMetric';
        const outerPrefix = isContainer ? `failed to get ${name} container metric value` : `failed to get ${name} resource metric value`;
        const target = src?.target;
        let proposal: ReplicaProposal;
        let utilization = false;
        try {
          const fetch = async () => {
            try {
              return await this.metrics.podMetrics(ns, selector, name, container);
            } catch (e) {
              throw new Error(`unable to get metrics for resource ${name}: ${errMessage(e)}`);
            }
          };
          if (target?.averageValue !== undefined) {
            const milli = Number(quantityMilliValue(parseQuantity(target.averageValue)));
            try {
              proposal = averageValueReplicas(specReplicas, milli, name, pods, await fetch(), now);
            } catch (e) {
              throw new Error(`failed to get ${name} usage: ${errMessage(e)}`);
            }
          } else if (target?.averageUtilization !== undefined) {
            utilization = true;
            try {
              proposal = resourceReplicas(specReplicas, target.averageUtilization, name, pods, await fetch(), now, container);
            } catch (e) {
              throw new Error(`failed to get ${name} utilization: ${errMessage(e)}`);
            }
          } else {
            throw new Error('invalid resource metric source: neither a utilization target nor a value target was set');
          }
        } catch (e) {
          throw this.metricFailure(hpa, reason, errMessage(e), `${outerPrefix}: ${errMessage(e)}`);
        }
        const current = {
          averageValue: canonicalizeQuantity(`${proposal.rawAverage}m`),
          ...(utilization ? { averageUtilization: proposal.current } : {}),
        };
        const status: MetricStatus = isContainer
          ? { type: 'ContainerResource', containerResource: { name, container: container ?? '', current } }
          : { type: 'Resource', resource: { name, current } };
        const metricName = `${name}${isContainer ? ' container' : ''} resource${utilization ? ' utilization (percentage of request)' : ''}`;
        return { replicas: proposal.replicas, metricName, status };
      }
      case 'Pods': {
        const m = spec.pods?.metric.name ?? '';
        const inner = `unable to get metric ${m}: unable to fetch metrics from custom metrics API: the server could not find the requested resource (get pods.custom.metrics.k8s.io *)`;
        throw this.metricFailure(hpa, 'FailedGetPodsMetric', inner, `failed to get pods metric value: ${inner}`);
      }
      case 'Object': {
        const m = spec.object?.metric.name ?? '';
        const inner = `unable to get metric ${m}: ${spec.object?.describedObject.kind}/${spec.object?.describedObject.name}: unable to fetch metrics from custom metrics API: the server could not find the requested resource`;
        throw this.metricFailure(hpa, 'FailedGetObjectMetric', inner, `failed to get object metric value: ${inner}`);
      }
      case 'External': {
        const m = spec.external?.metric.name ?? '';
        const inner = `unable to get external metric ${ns}/${m}/nil: unable to fetch metrics from external metrics API: the server could not find the requested resource (get ${m}.external.metrics.k8s.io)`;
        throw this.metricFailure(hpa, 'FailedGetExternalMetric', inner, `failed to get external metric value: ${inner}`);
      }
      default: {
        const inner = `unknown metric source type "${spec.type}"`;
        this.event(hpa, 'Warning', 'InvalidMetricSourceType', inner);
        throw new MetricError(inner, { reason: 'InvalidMetricSourceType', message: `the HPA was unable to compute the replica count: ${inner}` });
      }
    }
  }
}
