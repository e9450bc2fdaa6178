import type { KubeObject } from '../object.js';
import { clone } from '../object.js';

// HorizontalPodAutoscaler is stored as autoscaling/v2 and served as v1 too: `kubectl autoscale` writes v1,
// `kubectl get hpa` reads v2. v1 carries only the CPU utilisation target; whatever else v2 holds rides in the
// annotations kube-apiserver uses for the round trip.

interface MetricSpec {
  type?: string;
  resource?: { name?: string; target?: { type?: string; averageUtilization?: number } };
}
interface MetricStatus {
  type?: string;
  resource?: { name?: string; current?: { averageUtilization?: number } };
}

const METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';

export function hpaV1ToV2(v1: KubeObject): KubeObject {
  const out = clone(v1);
  out.apiVersion = 'autoscaling/v2';
  const spec = (out.spec ?? {}) as Record<string, unknown>;
  const target = spec.targetCPUUtilizationPercentage as number | undefined;
  delete spec.targetCPUUtilizationPercentage;
  if (target !== undefined) spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: target } } }];
  const extra = out.metadata.annotations?.[METRICS_ANNOTATION];
  if (extra) {
    try {
      spec.metrics = [...((spec.metrics as unknown[]) ?? []), ...(JSON.parse(extra) as unknown[])];
    } catch {
      // A malformed round-trip annotation carries nothing we can use.
    }
    delete out.metadata.annotations![METRICS_ANNOTATION];
  }
  out.spec = spec;
  if (out.status) {
    const st = out.status as Record<string, unknown>;
    const cur = st.currentCPUUtilizationPercentage as number | undefined;
    delete st.currentCPUUtilizationPercentage;
    if (cur !== undefined) st.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cur } } }];
  }
  return out;
}

export function hpaV2ToV1(v2: KubeObject): KubeObject {
  const out = clone(v2);
  out.apiVersion = 'autoscaling/v1';
  const spec = (out.spec ?? {}) as Record<string, unknown>;
  const metrics = (spec.metrics as MetricSpec[] | undefined) ?? [];
  delete spec.metrics;
  delete spec.behavior;
  const cpu = metrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu' && m.resource.target?.type === 'Utilization');
  if (cpu) spec.targetCPUUtilizationPercentage = cpu.resource!.target!.averageUtilization;
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) out.metadata.annotations = { ...(out.metadata.annotations ?? {}), [METRICS_ANNOTATION]: JSON.stringify(others) };
  out.spec = spec;
  if (out.status) {
    const st = out.status as Record<string, unknown>;
    const cur = ((st.currentMetrics as MetricStatus[] | undefined) ?? []).find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    delete st.currentMetrics;
    delete st.conditions;
    if (cur?.resource?.current?.averageUtilization !== undefined) st.currentCPUUtilizationPercentage = cur.resource.current.averageUtilization;
  }
  return out;
}
